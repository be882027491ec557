# RUN: rm -rf %t && mkdir -p %t && %python %s %t | FileCheck %s
# CHECK: rtn: 32 layers bit-exact
#
# qc-quantize-weights (RTN) against an independent numpy implementation of
# docs/passes.md, bit for bit (integers, f32 scales, zero points), for
# int4/int8 x per_tensor/per_channel/per_group (32, 64, 128, 96, 3) x
# symmetric/asymmetric, on fresh random weights (f32 and f16 storage) with
# outlier columns, an all-zero row and an all-positive row.

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
import numpy as np
import qcnum

seed, rng = qcnum.make_rng()
workdir = sys.argv[1]
N, K = 12, 384

grans = [("per_tensor", 0), ("per_channel", 0), ("per_group", 32),
         ("per_group", 64), ("per_group", 128), ("per_group", 96),
         ("per_group", 3)]
cases = []
for bits in (4, 8):
    for gran, gs in grans:
        for sym in (True, False):
            cases.append((bits, gran, gs, sym, "f32"))
# f16 storage, a few combinations
cases += [(4, "per_group", 32, False, "f16"), (8, "per_channel", 0, True, "f16")]
# Integer-valued weights hit exact .5 ties of rint (round half to even).
cases += [(8, "per_channel", 0, True, "ties"), (4, "per_group", 64, False, "ties")]

lines = ["func.func @rtn(%x: tensor<?x384xf32>) {"]
weights = {}
for i, (bits, gran, gs, sym, elt) in enumerate(cases):
    w = rng.standard_normal((N, K)) * rng.uniform(0.01, 2.0)
    w[:, rng.integers(0, K, 3)] *= 20.0  # outlier input channels
    w[1] = 0.0  # zero row: scale 1
    w[2] = np.abs(w[2])  # positive row: asymmetric min clamps to 0
    store = "f32"
    if elt == "f16":
        store = "f16"
    if elt == "ties":
        w = rng.integers(-254, 255, (N, K)).astype(np.float64) / 2.0
    w = w.astype(qcnum.DTYPES[store]).astype(np.float64)
    layer = "l%d" % i
    weights[layer] = (w, bits, gran, gs, sym)
    wt = qcnum.tensor_type((N, K), store)
    g = ", group_size = %d" % gs if gs else ""
    scheme = "#qc.scheme<weight = i%d, granularity = %s%s, symmetric = %s>" % (
        bits, gran, g, "true" if sym else "false")
    lines.append("  %%w%d = arith.constant %s : %s" % (i, qcnum.hex_dense(w, store), wt))
    lines.append('  %%y%d = qc.linear %%x, %%w%d {layer = "%s", scheme = %s} : '
                 "(tensor<?x384xf32>, %s) -> tensor<?x12xf32>" % (i, i, layer, scheme, wt))
lines += ["  return", "}"]

out = qcnum.run_opt(["--qc-quantize-weights"], "\n".join(lines) + "\n", workdir)
packed = qcnum.parse_packed(out)

checked = 0
for layer, (w, bits, gran, gs, sym) in weights.items():
    pw = packed.get(layer)
    if pw is None:
        qcnum.fail(seed, "no packed weight for %s" % layer)
    if "layout = #qc.layout<unpacked>" not in pw["attrs"]:
        qcnum.fail(seed, "%s: expected the unpacked layout" % layer)
    q, s, z = qcnum.ref_rtn(w, bits, gran, gs, sym)
    rows, groups, _ = qcnum.group_view(N, K, gran, gs)
    if pw["data"].shape != (N, K) or pw["scales"].shape != (rows, groups):
        qcnum.fail(seed, "%s: shapes %s %s" % (layer, pw["data"].shape, pw["scales"].shape))
    if not np.array_equal(pw["data"], qcnum.storage_i8(q)):
        bad = np.argwhere(pw["data"] != qcnum.storage_i8(q))[0]
        qcnum.fail(seed, "%s (%s): integer mismatch at %s: got %d want %d" % (
            layer, (bits, gran, gs, sym), bad, pw["data"][tuple(bad)], qcnum.storage_i8(q)[tuple(bad)]))
    if not np.array_equal(pw["scales"].view(np.uint32), s.astype(np.float32).view(np.uint32)):
        qcnum.fail(seed, "%s: scale mismatch" % layer)
    if sym:
        if pw["zeros"] is not None:
            qcnum.fail(seed, "%s: symmetric weight has zero points" % layer)
    else:
        if pw["zeros"] is None or not np.array_equal(pw["zeros"], qcnum.storage_i8(z)):
            qcnum.fail(seed, "%s: zero point mismatch" % layer)
    # Sanity of the reference itself: the dequantized weight is close.
    dq = qcnum.dequant(q, s, z, N, K, gran, gs)
    if np.max(np.abs(dq - w)) > np.max(s) * 1.0 + 1e-12:
        qcnum.fail(seed, "%s: reconstruction error above one step" % layer)
    checked += 1

print("rtn: %d layers bit-exact" % checked)
