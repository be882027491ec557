# RUN: rm -rf %t && mkdir -p %t && %python %s %t | FileCheck %s
# CHECK: smoothquant: factors match, outputs unchanged
#
# qc-smoothquant on fresh random weights and statistics with outlier
# channels: the factors equal an independent numpy computation of
# s_j = max|X_j|^a / max|W_j|^(1-a) (shared by q/k/v, clamped, f32) and the
# function's output is unchanged (numpy interpreter of the IR before and
# after; f32 weights: relative tolerance 1e-5). Covers a folded RMSNorm, a
# folded LayerNorm with bias, and a qc.smooth on a function argument.

import json
import re
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
import numpy as np
import qcnum

seed, rng = qcnum.make_rng()
workdir = sys.argv[1]
K, N, T = 64, 48, 10
ALPHA = {"q": 0.5, "k": 0.5, "v": 0.5, "up": 0.8, "o": 0.5}


def wmat():
    w = rng.standard_normal((N, K)) * 0.1
    w[:, rng.integers(0, K, 2)] *= 10
    return w.astype(np.float32).astype(np.float64)


stats = {"format": "qc-stats", "version": 1, "layers": {}}
absmax = {}
for layer in ALPHA:
    a = np.abs(rng.standard_normal(K)) + 0.1
    a[rng.integers(0, K, 3)] *= 50.0  # activation outliers
    if layer == "k":
        a[7] = 0.0  # a channel never active: s = 1
    absmax[layer] = a
    stats["layers"][layer] = {"channels": K, "tokens": T, "absmax": a.tolist()}
with open(os.path.join(workdir, "stats.json"), "w") as f:
    json.dump(stats, f)

W = {layer: wmat() for layer in ALPHA}
g = (rng.standard_normal(K) + 1.0).astype(np.float32)
g2 = (rng.standard_normal(K) + 1.0).astype(np.float32)
b2 = rng.standard_normal(K).astype(np.float32)
b_up = rng.standard_normal(N).astype(np.float32)


def c(name, arr, shape):
    return "  %%%s = arith.constant %s : %s" % (name, qcnum.hex_dense(arr, "f32"), qcnum.tensor_type(shape, "f32"))


def lin(res, x, layer, bias=None):
    scheme = "#qc.scheme<weight = i8, act = dynamic_per_token, alpha = %s : f32>" % ALPHA[layer]
    b = ", %%b_%s" % layer if bias is not None else ""
    bt = ", tensor<%dxf32>" % N if bias is not None else ""
    return ('  %%%s = qc.linear %%%s, %%w_%s%s {layer = "%s", scheme = %s} : (tensor<?x%dxf32>, tensor<%dx%dxf32>%s) -> tensor<?x%dxf32>'
            % (res, x, layer, b, layer, scheme, K, N, K, bt, N))


lines = ["func.func @f(%x: tensor<?x64xf32>, %h: tensor<?x64xf32>) -> (tensor<?x48xf32>, tensor<?x48xf32>, tensor<?x48xf32>, tensor<?x48xf32>, tensor<?x48xf32>) {"]
lines += [c("w_" + l, W[l], (N, K)) for l in ALPHA]
lines += [c("g", g, (K,)), c("g2", g2, (K,)), c("b2", b2, (K,)), c("b_up", b_up, (N,))]
lines.append("  %n = qc.rms_norm %x, %g {epsilon = 1.0e-6 : f64} : tensor<?x64xf32>, tensor<64xf32>")
lines += [lin("q", "n", "q"), lin("k", "n", "k"), lin("v", "n", "v")]
lines.append("  %n2 = qc.layer_norm %x, %g2, %b2 : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>")
lines.append(lin("up", "n2", "up", bias=b_up))
lines.append(lin("o", "h", "o"))
lines += ["  return %q, %k, %v, %up, %o : tensor<?x48xf32>, tensor<?x48xf32>, tensor<?x48xf32>, tensor<?x48xf32>, tensor<?x48xf32>", "}"]
ir = "\n".join(lines) + "\n"

before = qcnum.run_opt([], ir, workdir)
after = qcnum.run_opt(["--qc-smoothquant=stats=%s" % os.path.join(workdir, "stats.json")], ir, workdir)


def ref_s(layers, alpha):
    xm = np.max([absmax[l] for l in layers], 0)
    wm = np.max([np.abs(W[l]).max(0) for l in layers], 0)
    s = np.ones(K)
    ok = (xm > 0) & (wm > 0)
    s[ok] = np.clip(xm[ok] ** alpha / wm[ok] ** (1 - alpha), 1e-5, 1e5)
    return s.astype(np.float32)


expect = {"q": ref_s(["q", "k", "v"], 0.5), "up": ref_s(["up"], 0.8), "o": ref_s(["o"], 0.5)}
expect["k"] = expect["v"] = expect["q"]
group = {"q": ["q", "k", "v"], "k": ["q", "k", "v"], "v": ["q", "k", "v"], "up": ["up"], "o": ["o"]}
for layer, s in expect.items():
    line = [l for l in after.splitlines() if 'layer = "%s"' % layer in l][0]
    m = re.search(r"qc.smooth_factors = dense<(.*?)> : tensor<64xf32>", line)
    if not m:
        qcnum.fail(seed, "%s: no qc.smooth_factors" % layer)
    got = qcnum.parse_dense(m.group(1), (K,), "f32")
    if not np.allclose(got, s, rtol=2e-7, atol=0):
        qcnum.fail(seed, "%s: factors differ: max rel %g" % (layer, np.max(np.abs(got - s) / s)))
    amax = float(re.search(r"qc.act_absmax = ([-0-9.e+]+) : f64", line).group(1))
    if not np.isclose(amax, np.max(np.max([absmax[l] for l in group[layer]], 0) / s.astype(np.float64)), rtol=1e-6):
        qcnum.fail(seed, "%s: qc.act_absmax %g" % (layer, amax))

if after.count("qc.smooth %") != 1 or "qc.rms_norm" not in after:
    qcnum.fail(seed, "expected both norms folded and one qc.smooth (on %h)")

x = rng.standard_normal((T, K)) * absmax["q"] / 3
h = rng.standard_normal((T, K)) * absmax["o"] / 3
ref = qcnum.interpret(before, "f", [x, h])
got = qcnum.interpret(after, "f", [x, h])
for name, r, o in zip(["q", "k", "v", "up", "o"], ref, got):
    err = np.max(np.abs(r - o)) / np.max(np.abs(r))
    if err > 1e-5:
        qcnum.fail(seed, "%s: output changed by %g (relative)" % (name, err))
print("smoothquant: factors match, outputs unchanged")
