# Wrong inputs give one clear error each, a non-zero exit and no output.
# REQUIRES: quant-py
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %S/Inputs/make_bad_models.py %t

# A valid synthetic model imports and verifies.
# RUN: %python -m quant import %t/good.gguf -o %t/good.mlir | FileCheck %s --check-prefix=GOOD
# GOOD: wrote {{.*}}good.mlir (+ good.bin, good.json): llama, 8 linear layers, entry points forward, decode
# RUN: quant-opt %t/good.mlir -o /dev/null

# RUN: not %python -m quant import %t/gpt2.gguf -o %t/o1.mlir 2>&1 | FileCheck %s --check-prefix=ARCH
# ARCH: quant: error: {{.*}}gpt2.gguf: unknown architecture 'gpt2' (supported: llama)
# RUN: test ! -e %t/o1.mlir && test ! -e %t/o1.bin

# RUN: not %python -m quant import %t/missing.gguf -o %t/o2.mlir 2>&1 | FileCheck %s --check-prefix=MISSING
# MISSING: quant: error: {{.*}}missing.gguf: missing tensor 'blk.0.ffn_up.weight'
# RUN: test ! -e %t/o2.mlir

# RUN: not %python -m quant import %t/vocab.gguf -o %t/o3.mlir 2>&1 | FileCheck %s --check-prefix=VOCAB
# VOCAB: quant: error: {{.*}}vocab.gguf: tokenizer has 10 tokens but token_embd has 12 rows

# RUN: not %python -m quant import %t/good.gguf --layers 3 -o %t/o4.mlir 2>&1 | FileCheck %s --check-prefix=LAYERS
# LAYERS: quant: error: {{.*}}good.gguf: --layers 3 out of range 1..1

# RUN: not %python -m quant import %t/bert-roberta -o %t/o5.mlir 2>&1 | FileCheck %s --check-prefix=BERTARCH
# BERTARCH: quant: error: {{.*}}config.json: unknown architecture 'roberta' (supported: bert, llama, mistral, qwen2)

# RUN: not %python -m quant import %t/bert-missing -o %t/o6.mlir 2>&1 | FileCheck %s --check-prefix=BERTMISSING
# BERTMISSING: quant: error: {{.*}}model.safetensors: missing tensor 'encoder.layer.0.attention.self.query.weight'

# RUN: not %python -m quant import %t/nothing.bin -o %t/o7.mlir 2>&1 | FileCheck %s --check-prefix=NOFILE
# NOFILE: quant: error: {{.*}}nothing.bin: no such file or directory

# The policy checks are the compiler's (quant-compile --check-policy, the
# one policy reader): Python relays its message.
# RUN: %python %s %t | FileCheck %s
# CHECK: policy layers: {{.*}}policy-bad-layer.yaml:{{[0-9]+}}:{{[0-9]+}}: invalid policy: rule 2 ('model.layers.*.self_attn.q_proj') matches no layer of the model (layers look like: blk.0.attn_q, blk.0.attn_k, blk.0.attn_v, ...)
# CHECK: policy parse: {{.*}}policy-broken.yaml:{{[0-9]+}}:{{[0-9]+}}: invalid policy: syntax error
# CHECK: policy missing: {{.*}}no-such.yaml: no such policy file
# CHECK: policy ok: blk.0.ffn_up {'act': 'none', 'granularity': 'per_channel', 'symmetric': True, 'weight': 'i8'} blk.0.attn_q none needs_stats False
# RUN: not %python -m quant compile %t/good.mlir --policy %t/policy-bad-layer.yaml -o %t/m 2>&1 | FileCheck %s --check-prefix=CLIPOLICY
# CLIPOLICY: quant: error: {{.*}}rule 2 ('model.layers.*.self_attn.q_proj') matches no layer

import sys

from quant import policy
from quant.errors import PolicyError

d = sys.argv[1]
mlir = f"{d}/good.mlir"
for label, name in (("policy layers", "policy-bad-layer.yaml"),
                    ("policy parse", "policy-broken.yaml"),
                    ("policy missing", "no-such.yaml")):
    try:
        policy.check(f"{d}/{name}", mlir)
        print(label, "no error")
    except PolicyError as e:
        print(f"{label}:", e)
ok = policy.check(f"{d}/policy-ok.yaml", mlir)
print("policy ok: blk.0.ffn_up", policy.scheme_of(ok, "blk.0.ffn_up"), "blk.0.attn_q",
      policy.scheme_of(ok, "blk.0.attn_q"), "needs_stats", ok["needs_stats"])
