# `python -m quant chat --algorithm gptq` on a 2-block SmolLM2: calibrates
# (compiled observers with Hessians) on the first windows of Emma, compiles
# with GPTQ under the default policy and streams 3 tokens. Checked here
# against numpy: every linear is re-quantized with an independent,
# unblocked numpy GPTQ (test/Dialect/QC/Inputs/qcnum.py) on the Hessians of
# the statistics file; the chat's tokens must be the greedy tokens of the
# numpy reference model with those weights, the compiled @forward logits
# must match it within 1e-3 relative, and GPTQ's Hessian-weighted output
# error (report) must be below RTN's on every integer layer. A SmoothQuant
# policy calibrates without Hessians; bad calibration options are errors.
# REQUIRES: quant-py, models, qcrt, qc-host, quantize-pipeline
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python -m quant chat --layers 2 --max-tokens 3 --cache-dir %t/cache --print-ids \
# RUN:   --algorithm gptq --calib-windows 2 --calib-window 64 > %t/out.txt 2> %t/err.txt
# RUN: FileCheck %s --check-prefix=RUN1 < %t/err.txt
# RUN1: calibrate (2 x 64 tokens of Emma, with Hessians; compiled observers){{.*}}done in
# RUN1: compile with quant-compile (target host, policy policy-default.yaml, gptq)
# RUN: %python -m quant chat --layers 2 --max-tokens 3 --cache-dir %t/cache --print-ids \
# RUN:   --algorithm gptq --calib-windows 2 --calib-window 64 > %t/out2.txt 2> %t/err2.txt
# RUN: FileCheck %s --check-prefix=RUN2 < %t/err2.txt
# RUN2: calibration statistics: cached (2 x 64 tokens of Emma, with Hessians;
# RUN2: compile: cached
# RUN: %python %s %t/out.txt %t/cache | FileCheck %s
# CHECK: 14 layers re-quantized with numpy GPTQ
# CHECK: tokens match the numpy GPTQ reference
# CHECK: forward logits match the numpy GPTQ reference
# CHECK: GPTQ output error below RTN on 14 layers
#
# RUN: printf 'format: qc-policy\nversion: 1\nrules:\n  - match: "blk.*"\n    scheme: {weight: i8, granularity: per_channel, act: dynamic_per_token, alpha: 0.5}\n' > %t/sq.yaml
# RUN: %python -m quant chat --layers 2 --max-tokens 2 --cache-dir %t/sq --policy %t/sq.yaml \
# RUN:   --calib-windows 1 --calib-window 32 2>&1 | FileCheck %s --check-prefix=SQ
# SQ: calibrate (1 x 32 tokens of Emma; compiled observers){{.*}}done in
# SQ: compile with quant-compile (target host, policy sq.yaml, rtn)
# SQ: attn_q{{ +}}weight = i8, act = dynamic_per_token, alpha = 5.000000e-01
# RUN: not %python -m quant chat --layers 2 --cache-dir %t/sq --algorithm gptq \
# RUN:   --calib-window 1024 2>&1 | FileCheck %s --check-prefix=LONG
# LONG: quant: error: --calib-window 1024 is longer than --max-seq 512
# RUN: not %python -m quant chat --layers 2 --cache-dir %t/sq --algorithm gptq \
# RUN:   --calib-windows 0 2>&1 | FileCheck %s --check-prefix=ZERO
# ZERO: quant: error: --calib-windows must be at least 1 and --calib-window at least 2 (got 0 and 256)
# RUN: not %python -m quant chat --layers 2 --cache-dir %t/sq --algorithm gptq \
# RUN:   --calib-windows 2000 2>&1 | FileCheck %s --check-prefix=SHORT
# SHORT: quant: error: the calibration text has {{[0-9]+}} tokens, fewer than --calib-windows x --calib-window = 512000

import json
import sys
from pathlib import Path

import numpy as np
import yaml

root = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(root / "test" / "Dialect" / "QC" / "Inputs"))
sys.path.insert(0, str(Path(__file__).parent / "Inputs"))
import np_quant  # noqa: E402
import qcnum  # noqa: E402
from chat_check import check_chat  # noqa: E402
from quant import data  # noqa: E402
from quant.importers import load_checkpoint  # noqa: E402

out_txt, cache = Path(sys.argv[1]), Path(sys.argv[2])
policy = yaml.safe_load((root / "examples" / "policy-default.yaml").read_text())
ck = load_checkpoint(data.smollm2_gguf(), layers=2)
stats_file = next(cache.glob("stats/*.json"))
stats = json.loads(stats_file.read_text())

n = 0
for layer in ck.linear_layers():
    s = np_quant.scheme_for(policy, layer)
    if s is None:
        continue
    e = stats["layers"][layer]
    assert e["tokens"] == 2 * 64, e
    k = e["channels"]
    h = np.fromfile(stats_file.parent / e["hessian"]["file"], dtype="<f8", count=k * k,
                    offset=e["hessian"]["offset"]).reshape(k, k)
    w = ck.tensors[layer].astype(np.float64)
    bits = 4 if s["weight"] == "i4" else 8
    gran, gs = s.get("granularity", "per_channel"), s.get("group_size", 0)
    q, sc, z = qcnum.ref_gptq(w, h, bits, gran, gs, s.get("symmetric", True), False)
    ck.tensors[layer] = qcnum.dequant(q, sc.astype(np.float64), z, w.shape[0], w.shape[1],
                                      gran, gs).astype(np.float32)
    n += 1
print(f"{n} layers re-quantized with numpy GPTQ")

check_chat(ck, out_txt, cache, 3, 1e-3, "numpy GPTQ reference")

# The report's Hessian-weighted output error (computed by quant-compile on
# the same statistics) must drop with GPTQ; RTN's report has no Hessian, so
# compare with numpy: ||X (W - Wq)^T||^2 = tr((W - Wq) H (W - Wq)^T).
rep = json.loads(next(cache.glob("modules/*/report.json")).read_text())
ck_rtn = np_quant.quantize_checkpoint(load_checkpoint(data.smollm2_gguf(), layers=2), policy)
ck_fp = load_checkpoint(data.smollm2_gguf(), layers=2)
better = 0
for L in rep["layers"]:
    if L["quant_error"] is None:
        continue
    e = stats["layers"][L["layer"]]
    k = e["channels"]
    h = np.fromfile(stats_file.parent / e["hessian"]["file"], dtype="<f8", count=k * k,
                    offset=e["hessian"]["offset"]).reshape(k, k)
    w = ck_fp.tensors[L["layer"]].astype(np.float64)
    out_err = lambda wq: np.trace((w - wq) @ h @ (w - wq).T)
    e_g = out_err(ck.tensors[L["layer"]].astype(np.float64))
    e_r = out_err(ck_rtn.tensors[L["layer"]].astype(np.float64))
    assert e_g < e_r, (L["layer"], e_g, e_r)
    better += 1
print(f"GPTQ output error below RTN on {better} layers")
