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

# RUN: %python %s %t | FileCheck %s
# CHECK: policy layers: {{.*}}policy-bad-layer.yaml: rule 1 ('model.layers.*.self_attn.q_proj') matches no layer of the model
# CHECK: policy parse: {{.*}}policy-broken.yaml: does not parse
# CHECK: policy minimum: policy-min: default: minimum 'bf16' is not one of ['f16', 'f32']
# CHECK: policy ok
# RUN: not %python -m quant compile %t/good.mlir --policy %t/policy-bad-layer.yaml -o %t/m 2>&1 | FileCheck %s --check-prefix=CLIPOLICY
# CLIPOLICY: quant: error: {{.*}}rule 1 ('model.layers.*.self_attn.q_proj') matches no layer

import sys

from quant.errors import PolicyError
from quant.model_ir import ModelIR
from quant.policy import check_policy_layers, load_policy, resolve

d = sys.argv[1]
layers = ModelIR.open(f"{d}/good.mlir").layers
try:
    check_policy_layers(load_policy(f"{d}/policy-bad-layer.yaml"), layers,
                        f"{d}/policy-bad-layer.yaml")
    print("no error")
except PolicyError as e:
    print("policy layers:", e)
try:
    load_policy(f"{d}/policy-broken.yaml")
except PolicyError as e:
    print("policy parse:", e)
from quant.policy import check_policy
try:
    check_policy({"format": "qc-policy", "version": 1,
                  "default": {"weight": "i4", "symmetric": False, "minimum": "bf16"}},
                 "policy-min")
except PolicyError as e:
    print("policy minimum:", e)
check_policy({"format": "qc-policy", "version": 1,
              "default": {"weight": "i4", "symmetric": False, "minimum": "f16"}})
ok = load_policy(f"{d}/policy-ok.yaml")
check_policy_layers(ok, layers)
assert resolve(ok, "blk.0.ffn_up") == {"weight": "i8"}
assert resolve(ok, "blk.0.attn_q") == "none"
print("policy ok")
