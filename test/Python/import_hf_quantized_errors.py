# Bad or unsupported GPTQ / AWQ Hugging Face checkpoints through the CLI
# (`python -m quant import --quantized keep`): each gives exactly one
# `quant: error:` line naming the setting or tensor, exit status 1, no
# traceback and no output file. The checkpoints are the random ones of
# Inputs/hf_quant_models.py, broken by this test. A g_idx whose groups are
# uneven has no exact qc grid but dequantizes exactly (checked last).
# REQUIRES: quant-py
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t | FileCheck %s
# CHECK: bits3 -> quant: error: {{.*}}bits3/config.json: 3-bit GPTQ is not supported (supported: 4, 8)
# CHECK: bitsword -> quant: error: {{.*}}bitsword/config.json: quantization 'bits' is 'four', expected an integer
# CHECK: group0 -> quant: error: {{.*}}group0/config.json: quantization group_size 0 (expected -1 or a positive size)
# CHECK: marlin -> quant: error: {{.*}}marlin/config.json: GPTQ checkpoint_format 'marlin' is not supported (supported: gptq, gptq_v2)
# CHECK: marlin_legacy -> quant: error: {{.*}}marlin_legacy/quantize_config.json: GPTQ checkpoint_format 'marlin' is not supported (supported: gptq, gptq_v2)
# CHECK: badjson -> quant: error: {{.*}}badjson/quantize_config.json: not valid JSON
# CHECK: gemv -> quant: error: {{.*}}gemv/config.json: AWQ version 'gemv' is not supported (supported: gemm)
# CHECK: awq8 -> quant: error: {{.*}}awq8/config.json: 8-bit AWQ is not supported (supported: 4)
# CHECK: nozp -> quant: error: {{.*}}nozp/config.json: AWQ without zero points (zero_point False) is not supported
# CHECK: bnb -> quant: error: {{.*}}bnb/config.json: unsupported quantization method 'bitsandbytes' (supported: gptq, awq)
# CHECK: exl2 -> quant: error: {{.*}}exl2/config.json: unsupported quantization method 'exl2' (supported: gptq, awq)
# CHECK: noqconfig -> quant: error: {{.*}}noqconfig/model.safetensors: tensor 'lm_head.qweight' is a quantized linear but {{.*}}noqconfig/config.json has no quantization_config (nor is there a quantize_config.json or quant_config.json)
# CHECK: bitsmismatch -> quant: error: {{.*}}bitsmismatch/model.safetensors: tensor 'model.layers.0.self_attn.q_proj.qweight' has shape [32, 256], expected [64, 256] (GPTQ, 256 outputs x 256 inputs)
# CHECK: awqshape -> quant: error: {{.*}}awqshape/model.safetensors: tensor 'model.layers.0.self_attn.q_proj.qweight' has shape [256, 64], expected [256, 32] (AWQ, 256 outputs x 256 inputs)
# CHECK: groupdiv -> quant: error: {{.*}}groupdiv/quantize_config.json: group_size 96 does not divide the 256 inputs of 'model.layers.0.self_attn.q_proj' (qc needs whole groups)
# CHECK: groupmismatch -> quant: error: {{.*}}groupmismatch/model.safetensors: tensor 'model.layers.0.self_attn.q_proj.qzeros' has shape [4, 32], expected [2, 32] (4-bit, 2 group(s) of 128)
# CHECK: zerosdtype -> quant: error: {{.*}}zerosdtype/model.safetensors: tensor 'model.layers.0.self_attn.q_proj.qzeros' has dtype F32, expected I32
# CHECK: noscales -> quant: error: {{.*}}noscales/model.safetensors: missing tensor 'model.layers.0.mlp.up_proj.scales'
# CHECK: nozeros -> quant: error: {{.*}}nozeros/model.safetensors: missing tensor 'model.layers.0.mlp.down_proj.qzeros'
# CHECK: gidxshape -> quant: error: {{.*}}gidxshape/model.safetensors: tensor 'model.layers.0.self_attn.k_proj.g_idx' has shape [255], expected [256] (4-bit, 4 group(s) of 64)
# CHECK: gidxuneven -> quant: error: {{.*}}gidxuneven/model.safetensors: tensor 'model.layers.0.self_attn.v_proj.g_idx' puts 65 columns in group 0, not 64: no column order makes its groups whole (qc represents act-order as a permutation into groups of group_size; import with --quantized dequantize)
# CHECK: gidxrange -> quant: error: {{.*}}gidxrange/model.safetensors: tensor 'model.layers.0.mlp.gate_proj.g_idx' has group indices outside 0..3
# CHECK: all 22 cases ok
# CHECK: gidxuneven dequantize: exact

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

sys.path.insert(0, str(Path(__file__).parent / "Inputs"))
import hf_quant_models as hq  # noqa: E402

d = Path(sys.argv[1])
good = {v: hq.make(v, d / ("good-" + v)) for v in ("gptq4_act_g64", "gptq4_sym_g128",
                                                    "awq_g128")}


def variant(name, base="gptq4_act_g64", qc=None, tensors=None, files=None):
    """A copy of a good checkpoint with its quantization_config changed
    (`qc(dict) -> dict`, None to drop it), tensors changed
    (`tensors(dict)`), or extra files written."""
    p = d / name
    shutil.copytree(d / ("good-" + base), p)
    if qc is not None:
        cfg = json.loads((p / "config.json").read_text())
        new = qc(dict(cfg["quantization_config"]))
        if new is None:
            del cfg["quantization_config"]
        else:
            cfg["quantization_config"] = new
        (p / "config.json").write_text(json.dumps(cfg))
    if tensors is not None:
        t = load_file(str(p / "model.safetensors"))
        tensors(t)
        save_file(t, str(p / "model.safetensors"))
    for fn, text in (files or {}).items():
        (p / fn).write_text(text)


variant("bits3", qc=lambda c: dict(c, bits=3))
variant("bitsword", qc=lambda c: dict(c, bits="four"))
variant("group0", qc=lambda c: dict(c, group_size=0))
variant("marlin", qc=lambda c: dict(c, checkpoint_format="marlin"))
variant("marlin_legacy", base="gptq4_sym_g128",
        files={"quantize_config.json": json.dumps({"bits": 4, "group_size": 128,
                                                   "desc_act": False, "sym": True,
                                                   "is_marlin_format": True})})
variant("badjson", base="gptq4_sym_g128", files={"quantize_config.json": '{"bits": 4,'})
variant("gemv", base="awq_g128", qc=lambda c: dict(c, version="gemv"))
variant("awq8", base="awq_g128", qc=lambda c: dict(c, bits=8))
variant("nozp", base="awq_g128", qc=lambda c: dict(c, zero_point=False))
variant("bnb", qc=lambda c: {"quant_method": "bitsandbytes", "load_in_4bit": True})
variant("exl2", qc=lambda c: {"quant_method": "exl2", "bits": 4.0})
variant("noqconfig", qc=lambda c: None)
variant("bitsmismatch", base="gptq4_sym_g128",
        files={"quantize_config.json": json.dumps({"bits": 8, "group_size": 128,
                                                   "desc_act": False, "sym": True})})


def awq_wide(t):
    q = t["model.layers.0.self_attn.q_proj.qweight"]
    t["model.layers.0.self_attn.q_proj.qweight"] = np.concatenate([q, q], axis=1)


variant("awqshape", base="awq_g128", tensors=awq_wide)
variant("groupdiv", base="gptq4_sym_g128",
        files={"quantize_config.json": json.dumps({"bits": 4, "group_size": 96,
                                                   "desc_act": False, "sym": True})})
variant("groupmismatch", base="gptq4_sym_g128",
        files={"quantize_config.json": json.dumps({"bits": 4, "group_size": 128,
                                                   "desc_act": False, "sym": True})},
        tensors=lambda t: t.update({"model.layers.0.self_attn.q_proj.qzeros": np.zeros(
            (4, 32), np.int32)}))
variant("zerosdtype", tensors=lambda t: t.update({
    "model.layers.0.self_attn.q_proj.qzeros":
        t["model.layers.0.self_attn.q_proj.qzeros"].astype(np.float32)}))
variant("noscales", tensors=lambda t: t.pop("model.layers.0.mlp.up_proj.scales"))
variant("nozeros", tensors=lambda t: t.pop("model.layers.0.mlp.down_proj.qzeros"))
variant("gidxshape", tensors=lambda t: t.update({
    "model.layers.0.self_attn.k_proj.g_idx": t["model.layers.0.self_attn.k_proj.g_idx"][:-1]}))


def uneven(t):
    g = t["model.layers.0.self_attn.v_proj.g_idx"].copy()
    g[np.flatnonzero(g == 1)[0]] = 0
    t["model.layers.0.self_attn.v_proj.g_idx"] = g


def out_of_range(t):
    g = t["model.layers.0.mlp.gate_proj.g_idx"].copy()
    g[5] = 4
    t["model.layers.0.mlp.gate_proj.g_idx"] = g


variant("gidxuneven", tensors=uneven)
variant("gidxrange", tensors=out_of_range)

o = str(d / "out.mlir")
names = ["bits3", "bitsword", "group0", "marlin", "marlin_legacy", "badjson", "gemv", "awq8",
         "nozp", "bnb", "exl2", "noqconfig", "bitsmismatch", "awqshape", "groupdiv",
         "groupmismatch", "zerosdtype", "noscales", "nozeros", "gidxshape", "gidxuneven"]
cases = [(n, ["import", str(d / n), "--quantized", "keep", "-o", o]) for n in names]
cases += [("gidxrange", ["import", str(d / "gidxrange"), "--quantized", "keep", "-o", o])]

env = dict(os.environ)
env.pop("QUANT_DEBUG", None)
ok = 0
for name, args in cases:
    r = subprocess.run([sys.executable, "-m", "quant"] + args, capture_output=True, text=True,
                       env=env)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    bad = []
    if r.returncode != 1:
        bad.append(f"exit {r.returncode}")
    if len(lines) != 1 or not lines[0].startswith("quant: error: "):
        bad.append(f"stderr {r.stderr!r}")
    left = [p.name for p in d.glob("out*")]
    if left:
        bad.append(f"left files {left}")
    if bad:
        print("FAIL", name, "; ".join(bad))
    else:
        ok += 1
        print(name, "->", lines[0])
print(f"all {ok} cases ok" if ok == len(cases) else f"{ok} of {len(cases)} cases ok")

# Dequantized, a g_idx with uneven groups is exact: (q - z[g]) * s[g].
from quant.importers import load_checkpoint  # noqa: E402
q, z, s, _ = good["gptq4_act_g64"][2]["model.layers.0.self_attn.v_proj"]
g = load_file(str(d / "gidxuneven" / "model.safetensors"))[
    "model.layers.0.self_attn.v_proj.g_idx"].astype(np.int64)
w = ((q - z[:, g]) * s.astype(np.float64)[:, g]).astype(np.float32)
got = load_checkpoint(d / "gidxuneven").tensor("blk.0.attn_v")
print("gidxuneven dequantize:", "exact" if np.array_equal(got, w) else "DIFFERS")
