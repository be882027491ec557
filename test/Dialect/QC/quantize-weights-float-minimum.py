# RUN: rm -rf %t && mkdir -p %t && %python %s %t | FileCheck %s
# CHECK: float minimum rtn: 16 layers bit-exact
# CHECK: float minimum gptq: 2 layers within the grid
#
# qc-quantize-weights (RTN) for float-minimum schemes (minimum = f16 | f32)
# against an independent numpy implementation of docs/passes.md, bit for bit
# (codes, f32 scales, f16/f32 minima), for int4/int8 x per_tensor /
# per_channel / per_group (32, 96) on fresh random weights (f32 and f16
# storage) with outlier columns, a constant row and an all-positive row
# (whose minimum is not clamped to 0, unlike integer zero points). GPTQ on
# the same grid: its codes lie on it and its minima are those of the groups.

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
import numpy as np
import qcnum

seed, rng = qcnum.make_rng()
workdir = sys.argv[1]
N, K = 12, 384
MT = {"f16": np.float16, "f32": np.float32}


def ref_rtn_min(w, bits, gran, gs, mdt):
    n, k = w.shape
    rows, groups, gsz = qcnum.group_view(n, k, gran, gs)
    if gran == "per_tensor":
        lo, hi = np.array([[w.min()]]), np.array([[w.max()]])
    else:
        g = w.reshape(n, groups, gsz)
        lo, hi = g.min(-1), g.max(-1)
    qmax = 2 ** bits - 1
    m = lo.astype(MT[mdt])  # round to nearest even, straight from f64
    m64 = m.astype(np.float64)
    s = ((hi - m64) / qmax).astype(np.float32)
    s[(hi <= m64) | (s == 0)] = 1.0
    rr = np.arange(n) if rows == n else np.zeros(n, np.int64)
    cols = np.arange(k) // gsz
    S = s[rr][:, cols].astype(np.float64)
    M = m64[rr][:, cols]
    q = np.clip(np.rint((w - M) / S), 0, qmax).astype(np.int64)
    return q, s, m


cases = []
for bits in (4, 8):
    for gran, gs in [("per_tensor", 0), ("per_channel", 0), ("per_group", 32), ("per_group", 96)]:
        for mdt in ("f16", "f32"):
            cases.append((bits, gran, gs, mdt, "f16" if len(cases) % 3 == 1 else "f32"))

lines = ["func.func @rtn(%x: tensor<?x384xf32>) {"]
weights = {}
for i, (bits, gran, gs, mdt, store) in enumerate(cases):
    w = rng.standard_normal((N, K)) * rng.uniform(0.01, 2.0) + rng.uniform(-0.5, 0.5)
    w[:, rng.integers(0, K, 3)] *= 20.0
    w[1] = rng.uniform(-1, 1)  # constant row: scale 1, every code 0
    w[2] = np.abs(w[2]) + 0.25  # positive row: the minimum stays positive
    w = w.astype(qcnum.DTYPES[store]).astype(np.float64)
    layer = "l%d" % i
    weights[layer] = (w, bits, gran, gs, mdt)
    wt = qcnum.tensor_type((N, K), store)
    g = ", group_size = %d" % gs if gs else ""
    scheme = ("#qc.scheme<weight = i%d, granularity = %s%s, symmetric = false, minimum = %s>"
              % (bits, gran, g, mdt))
    lines.append("  %%w%d = arith.constant %s : %s" % (i, qcnum.hex_dense(w, store), wt))
    lines.append('  %%y%d = qc.linear %%x, %%w%d {layer = "%s", scheme = %s} : '
                 "(tensor<?x384xf32>, %s) -> tensor<?x12xf32>" % (i, i, layer, scheme, wt))
lines += ["  return", "}"]

out = qcnum.run_opt(["--qc-quantize-weights"], "\n".join(lines) + "\n", workdir)
packed = qcnum.parse_packed(out)
checked = 0
for layer, (w, bits, gran, gs, mdt) in weights.items():
    pw = packed.get(layer)
    if pw is None:
        qcnum.fail(seed, "no packed weight for %s" % layer)
    q, s, m = ref_rtn_min(w, bits, gran, gs, mdt)
    what = "%s (%s)" % (layer, (bits, gran, gs, mdt))
    if not np.array_equal(pw["data"], qcnum.storage_i8(q)):
        bad = np.argwhere(pw["data"] != qcnum.storage_i8(q))[0]
        qcnum.fail(seed, "%s: code mismatch at %s" % (what, bad))
    if not np.array_equal(pw["scales"].view(np.uint32), s.view(np.uint32)):
        qcnum.fail(seed, "%s: scale mismatch" % what)
    z = pw["zeros"]
    if z is None or z.dtype != MT[mdt] or not np.array_equal(z, m):
        qcnum.fail(seed, "%s: minimum mismatch" % what)
    # The reference itself: within half a step of the weight (plus the
    # minimum's own rounding for f16).
    rows, groups, gsz = qcnum.group_view(N, K, gran, gs)
    rr = np.arange(N) if rows == N else np.zeros(N, np.int64)
    cols = np.arange(K) // gsz
    dq = q * s[rr][:, cols].astype(np.float64) + m[rr][:, cols].astype(np.float64)
    step = s[rr][:, cols].astype(np.float64)
    if (np.abs(dq - w) > 0.5 * step + np.abs(m[rr][:, cols]) * 1e-3 + 1e-12).any():
        qcnum.fail(seed, "%s: reconstruction error above half a step" % what)
    checked += 1
print("float minimum rtn: %d layers bit-exact" % checked)

# GPTQ on a float-minimum grid (identity-like Hessian from random data).
x = rng.standard_normal((256, K))
h = x.T @ x
gl = ["func.func @g(%x: tensor<?x384xf32>) {"]
gw = {}
for i, (bits, mdt) in enumerate([(4, "f16"), (8, "f32")]):
    w = rng.standard_normal((N, K)) + 0.3
    gw["g%d" % i] = (w, bits, mdt)
    scheme = ("#qc.scheme<weight = i%d, granularity = per_group, group_size = 32, "
              "symmetric = false, minimum = %s>" % (bits, mdt))
    gl.append("  %%w%d = arith.constant %s : tensor<12x384xf32>" % (i, qcnum.hex_dense(w, "f32")))
    gl.append('  %%y%d = qc.linear %%x, %%w%d {layer = "g%d", scheme = %s} : '
              "(tensor<?x384xf32>, tensor<12x384xf32>) -> tensor<?x12xf32>" % (i, i, i, scheme))
gl += ["  return", "}"]
import json
hb = os.path.join(workdir, "h.bin")
h.astype("<f8").tofile(hb)
layers = {"g%d" % i: {"channels": K, "tokens": 256, "absmax": [1.0] * K,
                      "hessian": {"file": "h.bin", "offset": 0}} for i in range(2)}
with open(os.path.join(workdir, "stats.json"), "w") as f:
    json.dump({"format": "qc-stats", "version": 1, "layers": layers}, f)
out = qcnum.run_opt(["--qc-quantize-weights=algorithm=gptq stats=%s" % os.path.join(workdir, "stats.json")],
                    "\n".join(gl) + "\n", workdir, name="g.mlir")
packed = qcnum.parse_packed(out)
for layer, (w, bits, mdt) in gw.items():
    pw = packed[layer]
    q = pw["data"].view(np.uint8).astype(np.int64)
    if q.max() > 2 ** bits - 1:
        qcnum.fail(seed, "%s: code above the grid" % layer)
    m, s = pw["zeros"], pw["scales"]
    if m is None or m.dtype != MT[mdt]:
        qcnum.fail(seed, "%s: minima missing or of the wrong type" % layer)
    dq = q * np.repeat(s, 32, 1).astype(np.float64) + np.repeat(m, 32, 1).astype(np.float64)
    rel = np.linalg.norm(dq - w) / np.linalg.norm(w)
    if not rel < 0.2 / (2 ** (bits - 4)):
        qcnum.fail(seed, "%s: GPTQ error %g" % (layer, rel))
print("float minimum gptq: %d layers within the grid" % len(gw))
