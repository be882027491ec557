# Automatic mixed precision (quant.mixed, python -m quant mixed): on a small
# random Llama 3 checkpoint (Inputs/hf_models.py) calibrated with Hessians,
# with one layer made sensitive (blk.0.attn_v: a few weights 60x larger, so
# 4-bit groups lose its small weights):
# - the chosen weight bytes never exceed the budget (4.6, 5, 6, 9 bits per
#   weight) and the predicted loss falls as the budget grows;
# - the sensitive layer gets a wider scheme than most layers at 4.6 bits;
# - the written policy compiles, and the compiled module's per-layer report
#   has the chosen scheme on every layer;
# - a budget given as "the bytes of uniform W4 g64" (budget_scheme, CLI
#   --like) over the blk.* layers equals the bytes a compile of uniform
#   W4 g64 reports for them, is respected, and leaves the head without a rule;
# - a budget below the narrowest choice is one error, as is a --like that is
#   not a scheme mapping.
# REQUIRES: quant-py, qcrt, qc-host
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t | FileCheck %s
# RUN: %python -m quant mixed %t/m.mlir --bits 5 --stats %t/stats.json -o %t/cli.yaml | FileCheck %s --check-prefix=CLI
# RUN: not %python -m quant mixed %t/m.mlir --bits 1 --stats %t/stats.json -o %t/no.yaml 2>&1 | FileCheck %s --check-prefix=LOW
# RUN: test ! -e %t/no.yaml
# RUN: %python -m quant mixed %t/m.mlir --like '{weight: i4, granularity: per_group, group_size: 32}' --layers 'blk.*' --stats %t/stats.json -o %t/like.yaml | FileCheck %s --check-prefix=LIKE
# RUN: not grep -q '"output"' %t/like.yaml
# RUN: not %python -m quant mixed %t/m.mlir --like 'i4' --stats %t/stats.json -o %t/bad.yaml 2>&1 | FileCheck %s --check-prefix=BADLIKE
# RUN: test ! -e %t/bad.yaml
# LIKE: blk.0.attn_q
# LIKE: total {{[0-9]+}} weight bytes
# BADLIKE: quant: error: --like: not a scheme mapping with a weight: 'i4'
# CHECK: budgets respected: True
# CHECK: loss falls with the budget: True
# CHECK: sensitive layer wider: True
# CHECK: compiled schemes match: True
# CHECK: like-W4g64 budget = uniform W4 g64 bytes: True, respected: True, head free: True
# CLI: blk.0.attn_v
# CLI: total {{[0-9]+}} weight bytes ({{[0-9.]+}} bits per weight; budget {{[0-9]+}}), predicted loss
# LOW: quant: error: the budget of {{[0-9]+}} weight bytes is below the smallest choice

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent / "Inputs"))
import hf_models  # noqa: E402
import quant  # noqa: E402
from quant import mixed  # noqa: E402

out = Path(sys.argv[1])
cfg, dtype, shards, style = hf_models.VARIANTS["llama3"]
cfg = json.loads(json.dumps(cfg))
cfg["torch_dtype"] = "float32"
rng = np.random.default_rng(3)
tensors = hf_models.hf_tensors(cfg, rng, "F32")
v = tensors["model.layers.0.self_attn.v_proj.weight"]
v[:, rng.integers(0, v.shape[1], 3)] *= 60.0
(out / "ck").mkdir()
(out / "ck" / "config.json").write_text(json.dumps(cfg))
hf_models.write_weights(out / "ck", tensors, "F32", 1)
hf_models.write_tokenizer(out / "ck", style)
ir = quant.import_model(out / "ck", out / "m.mlir", max_seq=64)
ids = [int(x) for x in rng.integers(0, cfg["vocab_size"], 256)]
quant.calibrate(ir, ids, out / "stats.json", window=64, max_windows=4, hessian=True,
                progress=False)

results = {b: mixed.choose(ir, budget_bits=b, stats=out / "stats.json",
                           out=out / f"mixed{b}.yaml") for b in (4.6, 5.0, 6.0, 9.0)}
print("budgets respected:", all(r["bytes"] <= r["budget_bytes"] for r in results.values()))
losses = [results[b]["predicted_loss"] for b in sorted(results)]
print("loss falls with the budget:", all(a >= b for a, b in zip(losses, losses[1:]))
      and losses[0] > losses[-1])
r = results[4.6]["layers"]
bpw = {l: 8 * v["bytes"] for l, v in r.items()}
sens = r["blk.0.attn_v"]
narrow = sum(1 for l, v in r.items() if v["scheme"]["weight"] == "i4"
             and v["scheme"].get("group_size", 0) >= 64)
print("sensitive layer wider:", sens["scheme"]["weight"] == "i8"
      or sens["scheme"].get("group_size", 128) < 64, "(narrow layers:", narrow, ")")
prefix = quant.compile(ir, policy=out / "mixed5.0.yaml", out=out / "mixed5",
                       extra_args=["--report", str(out / "mixed5.report.json")])
rep = {e["layer"]: e for e in json.loads((out / "mixed5.report.json").read_text())["layers"]}
ok = True
for l, v in results[5.0]["layers"].items():
    s = v["scheme"]
    text = rep[l]["scheme"]
    ok &= ("weight = i8" in text if s["weight"] == "i8" else
           f"group_size = {s['group_size']}" in text)
    ok &= rep[l]["weight_bytes"] == v["bytes"]
print("compiled schemes match:", ok)

w4g64 = {"weight": "i4", "granularity": "per_group", "group_size": 64}
like = mixed.choose(ir, budget_scheme=w4g64, layers=["blk.*"], stats=out / "stats.json",
                    out=out / "like64.yaml")
(out / "u64.yaml").write_text('format: qc-policy\nversion: 1\nrules:\n'
                              '  - match: "blk.*"\n'
                              '    scheme: {weight: i4, granularity: per_group, group_size: 64}\n')
quant.compile(ir, policy=out / "u64.yaml", out=out / "u64",
              extra_args=["--report", str(out / "u64.report.json")])
u64 = sum(e["weight_bytes"] for e in json.loads((out / "u64.report.json").read_text())["layers"]
          if e["layer"].startswith("blk."))
print("like-W4g64 budget = uniform W4 g64 bytes:", f"{like['budget_bytes'] == u64},",
      "respected:", f"{like['bytes'] <= u64},",
      "head free:", "output" not in like["layers"] and '"output"' not in like["policy"])
