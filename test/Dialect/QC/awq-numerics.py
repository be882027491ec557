# RUN: rm -rf %t && mkdir -p %t && %python %s %t | FileCheck %s
# CHECK: awq: strengths match the reference search, weights scaled, outputs unchanged, error below RTN
#
# qc-awq on fresh random weights and correlated activations with outlier
# channels (their Hessians X^T X in the statistics): for each layer group
# the chosen strength equals an independent numpy search (s_j = absmax_j^a
# / sqrt(max s * min s), f32; RTN of w * s dequantized, error sum d H d^T
# over the rows, d = Q(w s) / s - w; the pass's pick must be a minimizer
# within 1e-9 relative), the weights become f32(W * s), the function's
# output is unchanged (numpy interpreter, 1e-5 relative), and the output
# error of RTN after AWQ is below plain RTN's. Groups: q/k (W4 g32 sym,
# W4 per-channel asym) behind a folded RMSNorm, o (W8 per-channel) on a
# function argument (a qc.smooth is inserted).

import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
import numpy as np
import qcnum

seed, rng = qcnum.make_rng()
workdir = sys.argv[1]
K, N, T, GRID = 128, 48, 256, 20
SCHEMES = {"q": (4, "per_group", 32, True), "k": (4, "per_channel", 0, False),
           "o": (8, "per_channel", 0, True)}


def acts():
    x = rng.standard_normal((T, K // 4)) @ rng.standard_normal((K // 4, K)) * 0.3
    x += 0.1 * rng.standard_normal((T, K))
    x[:, rng.integers(0, K, 4)] *= 12.0
    x[:, 3] = 0.0  # never active: s = 1
    return x


X = {"n": acts(), "h": acts()}
INPUT = {"q": "n", "k": "n", "o": "h"}
W = {l: (rng.standard_normal((N, K)) * 0.05).astype(np.float32).astype(np.float64)
     for l in SCHEMES}
g = (rng.standard_normal(K) * 0.2 + 1.0).astype(np.float32)

hess_path = os.path.join(workdir, "stats.json.hessian.bin")
stats = {"format": "qc-stats", "version": 1, "layers": {}}
with open(hess_path, "wb") as hf:
    for layer, src in INPUT.items():
        off = hf.tell()
        hf.write(np.ascontiguousarray(X[src].T @ X[src], np.float64).tobytes())
        stats["layers"][layer] = {"channels": K, "tokens": T,
                                  "absmax": np.abs(X[src]).max(0).tolist(),
                                  "hessian": {"file": os.path.basename(hess_path), "offset": off}}
stats_path = os.path.join(workdir, "stats.json")
with open(stats_path, "w") as f:
    json.dump(stats, f)


def scheme_attr(bits, gran, gs, sym):
    gsz = ", group_size = %d" % gs if gs else ""
    return "#qc.scheme<weight = i%d, granularity = %s%s, symmetric = %s>" % (
        bits, gran, gsz, "true" if sym else "false")


def lin(res, x, layer):
    return ('  %%%s = qc.linear %%%s, %%w_%s {layer = "%s", scheme = %s} : (tensor<?x%dxf32>, '
            "tensor<%dx%dxf32>) -> tensor<?x%dxf32>" % (res, x, layer, layer,
                                                        scheme_attr(*SCHEMES[layer]), K, N, K, N))


ty = "tensor<?x%dxf32>" % N
lines = ["func.func @f(%%x: tensor<?x%dxf32>, %%h: tensor<?x%dxf32>) -> (%s, %s, %s) {" % (K, K, ty, ty, ty)]
lines += ["  %%w_%s = arith.constant %s : %s" % (l, qcnum.hex_dense(W[l], "f32"), qcnum.tensor_type((N, K), "f32"))
          for l in SCHEMES]
lines.append("  %%g = arith.constant %s : %s" % (qcnum.hex_dense(g, "f32"), qcnum.tensor_type((K,), "f32")))
lines.append("  %%n = qc.rms_norm %%x, %%g {epsilon = 1.0e-6 : f64} : tensor<?x%dxf32>, tensor<%dxf32>" % (K, K))
lines += [lin("q", "n", "q"), lin("k", "n", "k"), lin("o", "h", "o")]
lines += ["  return %%q, %%k, %%o : %s, %s, %s" % (ty, ty, ty), "}"]
ir = "\n".join(lines) + "\n"

before = qcnum.run_opt([], ir, workdir)
after = qcnum.run_opt(["--qc-awq=stats=%s grid=%d" % (stats_path, GRID)], ir, workdir)


def fake_quant(w, scheme):
    bits, gran, gs, sym = scheme
    q, s, z = qcnum.ref_rtn(w, bits, gran, gs, sym)
    return qcnum.dequant(q, s, z, w.shape[0], w.shape[1], gran, gs).astype(np.float32).astype(np.float64)


def scales(xmax, a):
    s = np.ones(K)
    on = xmax > 0
    s[on] = xmax[on] ** a
    s[on] = np.clip(s[on] / np.sqrt(s[on].max() * s[on].min()), 1e-4, 1e4)
    return s.astype(np.float32).astype(np.float64)


def loss(layers, s):
    total = 0.0
    for l in layers:
        h = X[INPUT[l]].T @ X[INPUT[l]]
        d = fake_quant(W[l] * s, SCHEMES[l]) / s - W[l]
        total += np.einsum("ri,ij,rj->", d, h, d)
    return total


GROUPS = {"n": ["q", "k"], "h": ["o"]}
scaled = {}
for src, layers in GROUPS.items():
    xmax = np.abs(X[src]).max(0)
    losses = [loss(layers, scales(xmax, i / GRID)) for i in range(GRID + 1)]
    line = [l for l in after.splitlines() if 'layer = "%s"' % layers[0] in l][0]
    got_a = float(re.search(r"qc.awq_alpha = ([-0-9.e+]+) : f64", line).group(1))
    i = int(round(got_a * GRID))
    if losses[i] > min(losses) * (1 + 1e-9):
        qcnum.fail(seed, "%s: alpha %g has error %g, the reference minimum is %g at alpha %g"
                   % (src, got_a, losses[i], min(losses), np.argmin(losses) / GRID))
    if i == 0:
        qcnum.fail(seed, "%s: AWQ chose no scaling on outlier activations (test is weak)" % src)
    s = scales(xmax, got_a)
    for l in layers:
        want = (W[l] * s).astype(np.float32)
        got = qcnum.parse_constants(after)
        # The scaled weight is the operand of this layer's linear.
        opnd = re.search(r"qc.linear %[\w]+, (%[\w]+)", [x for x in after.splitlines()
                                                         if 'layer = "%s"' % l in x][0]).group(1)
        if not np.array_equal(got[opnd].astype(np.float32), want):
            qcnum.fail(seed, "%s: scaled weight differs from f32(W * s)" % l)
        scaled[l] = want.astype(np.float64)
    ratio = float(re.search(r"qc.awq_loss_ratio = ([-0-9.e+]+) : f64", line).group(1))
    if not np.isclose(ratio, losses[i] / losses[0], rtol=1e-6):
        qcnum.fail(seed, "%s: loss ratio %g, reference %g" % (src, ratio, losses[i] / losses[0]))

if after.count("qc.smooth %") != 1:
    qcnum.fail(seed, "expected one qc.smooth (on %h) and the RMSNorm folded")
x = rng.standard_normal((T, K))
h = X["h"][:T]
ref = qcnum.interpret(before, "f", [x, h])
got = qcnum.interpret(after, "f", [x, h])
for name, r, o in zip(["q", "k", "o"], ref, got):
    err = np.max(np.abs(r - o)) / np.max(np.abs(r))
    if err > 1e-5:
        qcnum.fail(seed, "%s: output changed by %g (relative)" % (name, err))
print("awq: strengths match the reference search, weights scaled, outputs unchanged, error below RTN")
