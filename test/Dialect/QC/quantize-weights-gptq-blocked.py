# RUN: rm -rf %t && mkdir -p %t && %python %s %t | FileCheck %s
# CHECK: gptq 448x160 block=128 act_order=0: 4 layers match the reference, threads == serial
# CHECK: gptq 448x160 block=96 act_order=0: 4 layers match the reference, threads == serial
# CHECK: gptq 448x160 block=128 act_order=1: 4 layers match the reference, threads == serial
# CHECK: gptq 448x160 block=128 act_order=0 f32: 4 layers match the reference, threads == serial
# CHECK: gptq 448x160 block=128 act_order=1 f32: 4 layers match the reference, threads == serial
#
# GPTQ's blocked linear algebra (lib/Dialect/QC/Transforms/
# DenseLinearAlgebra.cpp: tiled Cholesky, triangular inverse and lazy-update
# GEMM, tiles of 128) on shapes that span several tiles with a remainder in
# both dimensions (K = 448 = 3 x 128 + 64 columns, N = 160 rows) and a block
# size that is not a tile multiple, against the independent unblocked numpy
# GPTQ; and the output with the context's threads equals the output with
# threading disabled, byte for byte (the tiling does not depend on the
# thread count). With gptq-precision=f32 (float32 factor and updates) the
# codes may round the other way near boundaries, and such a flip changes
# the error fed to the rest of its row: a looser bound on differing codes.

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
import numpy as np
import qcnum

seed, rng = qcnum.make_rng()
workdir = sys.argv[1]
N, K, T = 160, 448, 1024
DAMP = 0.01

x = rng.standard_normal((T, K // 4)) @ rng.standard_normal((K // 4, K))
x += 0.1 * rng.standard_normal((T, K))
x[:, rng.integers(0, K, 6)] *= 8.0
x[:, 300] = 0.0  # a dead channel in the third tile

configs = [(4, "per_group", 64, True), (4, "per_group", 32, False),
           (4, "per_channel", 0, False), (8, "per_channel", 0, True)]
layers, stats_path, ir = qcnum.gptq_problem(rng, workdir, x, configs, N, 0.25)

for block, act_order, prec in ((128, False, "f64"), (96, False, "f64"), (128, True, "f64"),
                               (128, False, "f32"), (128, True, "f32")):
    args = ["--qc-quantize-weights=algorithm=gptq stats=%s gptq-block-size=%d gptq-act-order=%d "
            "gptq-damp=%g gptq-precision=%s" % (stats_path, block, int(act_order), DAMP, prec)]
    text = qcnum.run_opt(args, ir, workdir)
    serial = qcnum.run_opt(args + ["--mlir-disable-threading"], ir, workdir)
    if text != serial:
        qcnum.fail(seed, "block=%d act_order=%d: the output with threads differs from the serial one"
                   % (block, int(act_order)))
    packed = qcnum.parse_packed(text)
    for name, (w, xi, bits, gran, gs, sym) in layers.items():
        pw = packed[name]
        q, s, z = qcnum.ref_gptq(w, xi.T @ xi / T, bits, gran, gs, sym, act_order, DAMP)
        got_q = pw["data"].astype(np.int64)
        if not sym:
            got_q &= 0xFF
        got_z = np.zeros(s.shape, np.int64) if sym else (pw["zeros"].astype(np.int64) & 0xFF)
        # Float64 in a different order (blocked vs unblocked): a code may
        # round the other way where a value sits on a rounding boundary.
        mism = np.mean(got_q != q)
        if mism > (0.002 if prec == "f64" else 0.02):
            qcnum.fail(seed, "%s block=%d act_order=%d: %.3f%% of integers differ from the reference"
                       % (name, block, act_order, 100 * mism))
        if prec == "f64" and np.max(np.abs(got_q - q)) > 1:
            qcnum.fail(seed, "%s: an integer differs by more than one step" % name)
        if prec == "f64":
            rel = np.max(np.abs(pw["scales"].astype(np.float64) - s) / s)
            if rel > 1e-6:
                qcnum.fail(seed, "%s: scales differ from the reference by %g (relative)" % (name, rel))
            if not sym and np.mean(got_z != z) > 0.01:
                qcnum.fail(seed, "%s: zero points differ" % name)
        else:
            # A flip feeds a different error to the rest of its row (and,
            # with dynamic groups, to the group parameters after it): the
            # layer's output error must stay that of the float64 reference.
            got_s = pw["scales"].astype(np.float64)
            wq = qcnum.dequant(got_q, got_s, got_z, N, K, gran, gs)
            wr = qcnum.dequant(q, s.astype(np.float64), z, N, K, gran, gs)
            err = np.linalg.norm(xi @ w.T - xi @ wq.T)
            err_ref = np.linalg.norm(xi @ w.T - xi @ wr.T)
            if err > 1.02 * err_ref:
                qcnum.fail(seed, "%s f32: output error %g is above the float64 reference's %g"
                           % (name, err, err_ref))
    print("gptq %dx%d block=%d act_order=%d%s: %d layers match the reference, threads == serial"
          % (K, N, block, int(act_order), "" if prec == "f64" else " " + prec, len(layers)))
