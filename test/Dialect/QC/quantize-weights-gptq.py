# RUN: rm -rf %t && mkdir -p %t && %python %s %t | FileCheck %s
# CHECK: gptq block=128 act_order=0: 6 layers match, error below RTN
# CHECK: gptq block=16 act_order=0: 6 layers match, error below RTN
# CHECK: gptq block=128 act_order=1: 6 layers match, error below RTN
#
# qc-quantize-weights algorithm=gptq against an independent, unblocked numpy
# GPTQ (the blocked/lazy C++ version must agree with it), on fresh random
# correlated activations with outlier channels and one dead channel. Also
# checks that GPTQ's layer output error ||X W^T - X Wq^T|| is below RTN's.

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
import numpy as np
import qcnum

seed, rng = qcnum.make_rng()
workdir = sys.argv[1]
N, K, T = 32, 128, 512
DAMP = 0.01


# Correlated activations: mixed latent factors, a few outlier channels, one
# channel that is never active.
x = rng.standard_normal((T, K // 4)) @ rng.standard_normal((K // 4, K))
x += 0.1 * rng.standard_normal((T, K))
x[:, rng.integers(0, K, 4)] *= 8.0
x[:, 5] = 0.0

configs = [(4, "per_channel", 0, True), (4, "per_group", 32, False),
           (4, "per_group", 64, True), (8, "per_channel", 0, True),
           (4, "per_tensor", 0, False), (8, "per_group", 32, False)]
# Each layer sees a differently scaled copy of X, its Hessian at its own
# offset in one Hessian file.
layers, stats_path, ir = qcnum.gptq_problem(rng, workdir, x, configs, N, 0.5)

for block, act_order in ((128, False), (16, False), (128, True)):
    args = ["--qc-quantize-weights=algorithm=gptq stats=%s gptq-block-size=%d gptq-act-order=%d gptq-damp=%g"
            % (stats_path, block, int(act_order), DAMP)]
    packed = qcnum.parse_packed(qcnum.run_opt(args, ir, workdir))
    for name, (w, xi, bits, gran, gs, sym) in layers.items():
        pw = packed[name]
        h = xi.T @ xi / T
        q, s, z = qcnum.ref_gptq(w, h, bits, gran, gs, sym, act_order, DAMP)
        got_q = pw["data"].astype(np.int64)
        if not sym:
            got_q &= 0xFF
        got_z = np.zeros(s.shape, np.int64) if sym else (pw["zeros"].astype(np.int64) & 0xFF)
        mism = np.mean(got_q != q)
        if mism > 0.002:
            qcnum.fail(seed, "%s block=%d act_order=%d: %.2f%% of integers differ from the reference"
                       % (name, block, act_order, 100 * mism))
        if np.max(np.abs(got_q - q)) > 1:
            qcnum.fail(seed, "%s: an integer differs by more than one step" % name)
        rel = np.max(np.abs(pw["scales"].astype(np.float64) - s) / s)
        if rel > 1e-6:
            qcnum.fail(seed, "%s: scales differ from the reference by %g (relative)" % (name, rel))
        if not sym and np.mean(got_z != z) > 0.01:
            qcnum.fail(seed, "%s: zero points differ" % name)
        wq = qcnum.dequant(got_q, pw["scales"].astype(np.float64), got_z, N, K, gran, gs)
        qr, sr, zr = qcnum.ref_rtn(w, bits, gran, gs, sym)
        wr = qcnum.dequant(qr, sr.astype(np.float64), zr, N, K, gran, gs)
        err_g = np.linalg.norm(xi @ w.T - xi @ wq.T)
        err_r = np.linalg.norm(xi @ w.T - xi @ wr.T)
        if not err_g < err_r:
            qcnum.fail(seed, "%s: GPTQ output error %g is not below RTN's %g" % (name, err_g, err_r))
    print("gptq block=%d act_order=%d: %d layers match, error below RTN" % (block, int(act_order), len(layers)))
