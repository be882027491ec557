# Bad Hugging Face checkpoints through the CLI (`python -m quant import`, and
# `chat --model` for two of them): each gives exactly one
# `quant: error: <file>: <problem>` line on stderr, exit status 1, no
# traceback and no output file. The checkpoints are variants of the random
# ones of Inputs/hf_models.py, broken by this test.
# REQUIRES: quant-py
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t | FileCheck %s
# CHECK: noconfig -> quant: error: {{.*}}noconfig: no config.json
# CHECK: badjson -> quant: error: {{.*}}badjson/config.json: not valid JSON
# CHECK: gpt2 -> quant: error: {{.*}}gpt2/config.json: unknown architecture 'gpt2' (supported: bert, llama, mistral, qwen2)
# CHECK: seqcls -> quant: error: {{.*}}seqcls/config.json: unsupported architecture 'LlamaForSequenceClassification' for model_type 'llama' (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)
# CHECK: gelu -> quant: error: {{.*}}gelu/config.json: unsupported hidden_act 'gelu_pytorch_tanh' (supported: silu)
# CHECK: yarn -> quant: error: {{.*}}yarn/config.json: unsupported rope_scaling type 'yarn' (supported: default, linear, llama3)
# CHECK: nokey -> quant: error: {{.*}}nokey/config.json: missing key 'intermediate_size'
# CHECK: noweights -> quant: error: {{.*}}noweights: no model.safetensors or model.safetensors.index.json
# CHECK: missing -> quant: error: {{.*}}missing/model.safetensors: missing tensor 'model.layers.1.mlp.up_proj.weight'
# CHECK: nohead -> quant: error: {{.*}}nohead/model.safetensors: missing tensor 'lm_head.weight'
# CHECK: shape -> quant: error: {{.*}}shape/model.safetensors: tensor 'model.layers.0.self_attn.k_proj.weight' has shape [64, 64], expected [32, 64] from config.json
# CHECK: truncated -> quant: error: {{.*}}truncated/model.safetensors: truncated safetensors file (tensor '{{.*}}' ends at byte {{[0-9]+}}, the file has {{[0-9]+}})
# CHECK: tiny -> quant: error: {{.*}}tiny/model.safetensors: truncated safetensors file (5 bytes, no header)
# CHECK: header -> quant: error: {{.*}}header/model.safetensors: truncated safetensors file (header of {{[0-9]+}} bytes, file of 100 bytes)
# CHECK: garbage -> quant: error: {{.*}}garbage/model.safetensors: not a safetensors file (header does not parse
# CHECK: f64 -> quant: error: {{.*}}f64/model.safetensors: tensor 'model.embed_tokens.weight' has unsupported dtype F64 (supported: F32, F16, BF16)
# CHECK: int8 -> quant: error: {{.*}}int8/model.safetensors: tensor 'model.embed_tokens.weight' has unsupported dtype I8 (supported: F32, F16, BF16)
# CHECK: noshard -> quant: error: {{.*}}noshard/model.safetensors.index.json: shard 'model-00002-of-00002.safetensors' (tensor '{{.*}}') does not exist
# CHECK: notok -> quant: error: {{.*}}notok: no tokenizer.json (a sentencepiece tokenizer.model alone is not supported)
# CHECK: bigtok -> quant: error: {{.*}}bigtok/tokenizer.json: tokenizer has 265 tokens but model.embed_tokens has 200 rows
# CHECK: layers -> quant: error: {{.*}}good/config.json: --layers 3 out of range 1..2
# CHECK: window -> quant: error: {{.*}}window: --max-seq 128 is longer than the model's limit of 64 positions (config.json sliding_window: attention beyond the window is not implemented); use --max-seq 64 or less
# CHECK: chat window -> quant: error: {{.*}}window: --max-seq 512 is longer than the model's limit of 64 positions
# CHECK: chat gpt2 -> quant: error: {{.*}}gpt2/config.json: unknown architecture 'gpt2'
# CHECK: all 24 cases ok

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "Inputs"))
import hf_models  # noqa: E402

d = Path(sys.argv[1])


def variant(name, base="llama3", config=None, drop=(), dtype=None):
    """A copy of a good checkpoint with config changes / weights dropped or
    stored as another dtype."""
    p = d / name
    cfg, t = hf_models.make(base, p)
    if config is not None:
        cfg = config(cfg) or cfg
        (p / "config.json").write_text(json.dumps(cfg))
    if drop or dtype:
        for f in p.glob("*.safetensors"):
            f.unlink()
        t = {k: v for k, v in t.items() if k not in drop}
        hf_models.write_safetensors(p / "model.safetensors", t, dtype or "F32")
    return p


good = variant("good")
shutil.copytree(good, d / "noconfig")
(d / "noconfig" / "config.json").unlink()
shutil.copytree(good, d / "badjson")
(d / "badjson" / "config.json").write_text('{"model_type": "llama",')
variant("gpt2", config=lambda c: dict(c, model_type="gpt2"))
variant("seqcls", config=lambda c: dict(c, architectures=["LlamaForSequenceClassification"]))
variant("gelu", config=lambda c: dict(c, hidden_act="gelu_pytorch_tanh"))
variant("yarn", config=lambda c: dict(c, rope_scaling={"rope_type": "yarn", "factor": 4.0}))
variant("nokey", config=lambda c: {k: v for k, v in c.items() if k != "intermediate_size"})
shutil.copytree(good, d / "noweights")
(d / "noweights" / "model.safetensors").unlink()
variant("missing", drop=("model.layers.1.mlp.up_proj.weight",))
variant("nohead", drop=("lm_head.weight",))
variant("shape", config=lambda c: dict(c, num_key_value_heads=2), base="llama2")
trunc = variant("truncated")
size = (trunc / "model.safetensors").stat().st_size
with open(trunc / "model.safetensors", "r+b") as f:
    f.truncate(size - 1000)
shutil.copytree(good, d / "tiny")
(d / "tiny" / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00")
shutil.copytree(good, d / "header")
(d / "header" / "model.safetensors").write_bytes((4096).to_bytes(8, "little") + b"{" * 92)
shutil.copytree(good, d / "garbage")
(d / "garbage" / "model.safetensors").write_bytes((8).to_bytes(8, "little") + b"not json" * 4)
variant("f64", dtype="F64")
variant("int8", dtype="I8")
shard = variant("noshard", base="mistral")
(shard / "model-00002-of-00002.safetensors").unlink()
shutil.copytree(good, d / "notok")
(d / "notok" / "tokenizer.json").unlink()


def small_vocab(c):
    return dict(c, vocab_size=200)


big = variant("bigtok", config=small_vocab)
cfg, t = hf_models.make("llama3", d / "bigtok-src")
cfg = small_vocab(cfg)
t = {k: (v[:200] if k in ("model.embed_tokens.weight", "lm_head.weight") else v)
     for k, v in t.items()}
(big / "model.safetensors").unlink()
hf_models.write_safetensors(big / "model.safetensors", t, "F32")
variant("window", base="mistral")

o = str(d / "out.mlir")
cases = [(n, ["import", str(d / n), "-o", o]) for n in (
    "noconfig", "badjson", "gpt2", "seqcls", "gelu", "yarn", "nokey", "noweights", "missing",
    "nohead", "shape", "truncated", "tiny", "header", "garbage", "f64", "int8", "noshard",
    "notok", "bigtok")]
cases += [("layers", ["import", str(good), "--layers", "3", "-o", o]),
          ("window", ["import", str(d / "window"), "--max-seq", "128", "-o", o]),
          ("chat window", ["chat", "--model", str(d / "window"), "--cache-dir",
                           str(d / "cache"), "--target", "host"]),
          ("chat gpt2", ["chat", "--model", str(d / "gpt2"), "--cache-dir", str(d / "cache"),
                         "--target", "host"])]

env = dict(os.environ)
env.pop("QUANT_DEBUG", None)
ok = 0
for name, args in cases:
    r = subprocess.run([sys.executable, "-m", "quant"] + args, capture_output=True, text=True,
                       env=env, timeout=300)
    lines = [ln for ln in r.stderr.splitlines()
             if ln.strip() and ln != "quant chat" and not ln.startswith("  ")]  # chat progress
    bad = []
    if r.returncode != 1:
        bad.append(f"exit {r.returncode}")
    if len(lines) != 1 or not lines[0].startswith("quant: error: "):
        bad.append(f"stderr {r.stderr!r}")
    left = [p.name for p in d.glob("out*")] + [p.name for p in (d / "cache").glob("modules/*")]
    if left:
        bad.append(f"left files {left}")
    if bad:
        print("FAIL", name, "; ".join(bad))
    else:
        ok += 1
        print(name, "->", lines[0])
if ok == len(cases):
    print(f"all {ok} cases ok")
