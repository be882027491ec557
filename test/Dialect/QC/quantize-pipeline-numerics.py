# RUN: rm -rf %t && mkdir -p %t && %python %s %S/Inputs %t | FileCheck %s
# CHECK: pipeline sm_90 rtn: quantized block within tolerance
# CHECK: pipeline host gptq tiled: quantized block within tolerance
# CHECK: pipeline w8a8 without smoothing: error above the smoothed one
#
# End to end: Inputs/block.mlir through qc-quantize-pipeline, then the
# quantized IR (packed int4/int8 weights, SmoothQuant, activation
# quantization, fused matmuls) is evaluated by an independent numpy
# interpreter of the documented op semantics and compared with the float
# block on fresh activations drawn like the calibration data (outlier
# channels 3 and 17). Also checks SmoothQuant helps W8A8 on these outliers.

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
import numpy as np
import qcnum

seed, rng = qcnum.make_rng()
inputs, workdir = sys.argv[1], sys.argv[2]
ir = open(os.path.join(inputs, "block.mlir")).read()
policy = os.path.join(inputs, "policy", "block.yaml")
stats = os.path.join(inputs, "block-stats.json")

x = rng.standard_normal((2, 24, 32))
x[..., [3, 17]] *= 20
ref = qcnum.interpret(qcnum.run_opt([], ir, workdir), "block", [x])[0]
base = np.linalg.norm(ref - x)  # the block's contribution on top of the residual


def check(label, opts, tol):
    # The numpy interpreter (Inputs/qcnum.py) has no tensor.dim /
    # tensor.extract_slice: sibling fusion is off here (it is bit-exact;
    # test/Integration/fuse-siblings.test compares fused and unfused).
    opts = (opts + " fuse-siblings=false").strip()
    out = qcnum.run_opt(["--qc-quantize-pipeline=" + opts], ir, workdir)
    if "qc.linear" in out:
        qcnum.fail(seed, "%s: a float linear survived" % label)
    got = qcnum.interpret(out, "block", [x])[0]
    err = np.linalg.norm(got - ref) / base
    if not err < tol:
        qcnum.fail(seed, "%s: relative error %g above %g" % (label, err, tol))
    return err


check("sm_90 rtn", "policy=%s stats=%s target=sm_90" % (policy, stats), 0.1)
print("pipeline sm_90 rtn: quantized block within tolerance")
check("host gptq tiled", "policy=%s stats=%s algorithm=gptq layout=tiled" % (policy, stats), 0.1)
print("pipeline host gptq tiled: quantized block within tolerance")

# All layers W8A8 static per-tensor: with and without SmoothQuant.
w8a8 = os.path.join(workdir, "w8a8.yaml")
with open(w8a8, "w") as f:
    f.write("format: qc-policy\nversion: 1\ndefault: {weight: i8, granularity: per_channel, act: static_per_tensor}\n")
smooth = check("w8a8 smoothed", "policy=%s stats=%s" % (w8a8, stats), 0.2)
out = qcnum.run_opt(["--qc-apply-policy=policy=" + w8a8,
                     "--qc-quantize-weights=stats=" + stats, "--qc-fuse-dequant"], ir, workdir)
plain = np.linalg.norm(qcnum.interpret(out, "block", [x])[0] - ref) / base
if not smooth < plain:
    qcnum.fail(seed, "SmoothQuant error %g is not below plain W8A8's %g" % (smooth, plain))
print("pipeline w8a8 without smoothing: error above the smoothed one")
