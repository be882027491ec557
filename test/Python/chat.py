# `python -m quant chat` end to end on a 2-block SmolLM2: import, compile
# under the default policy (examples/policy-default.yaml), stream 3 tokens
# through the compiled @decode. The tokens must be the greedy tokens of the
# numpy reference run on the same truncated model with weights quantized
# here (independent numpy RTN), and the compiled @forward logits of the
# prompt must match that reference within 1e-4 relative. A second run uses
# the cached module.
# REQUIRES: quant-py, models, qcrt, qc-host, quantize-pipeline
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python -m quant chat --layers 2 --max-tokens 3 --cache-dir %t/cache --print-ids \
# RUN:   > %t/out1.txt 2> %t/err1.txt
# RUN: FileCheck %s --check-prefix=RUN1 < %t/err1.txt
# RUN1: import SmolLM2-135M-Instruct.Q4_1.gguf (2 blocks)
# RUN1: compile with quant-compile (target host, policy policy-default.yaml, rtn)
# RUN1: quantize (policy, quantize/pack weights, select kernels){{.*}} done in {{[0-9.]+}} s
# RUN1: lower to the LLVM dialect{{.*}} done in
# RUN1: optimize (-O3), emit the object, link, write weights{{.*}} done in
# RUN: FileCheck %s --check-prefix=OUT < %t/out1.txt
# OUT: > What is the capital of France?
# OUT: token ids: {{[0-9]+ [0-9]+ [0-9]+$}}
# OUT: layers{{ +}}scheme{{ +}}kernel{{ +}}count
# OUT: attn_q{{ +}}weight = i8{{ +}}host{{ +}}2
# OUT: ffn_down{{ +}}weight = i4, granularity = per_group, group_size = 64{{ +}}host{{ +}}2
# OUT: output{{ +}}none{{ +}}none{{ +}}1
# OUT: linear weights: {{[0-9.]+}} MB = {{[0-9.]+}} of fp32 ({{[0-9.]+}} MB), {{[0-9.]+}} of fp16 ({{[0-9.]+}} MB); saved {{[0-9.]+}} MB vs fp32
# OUT: times: compile {{[0-9.]+}} s | load {{.*}} | prefill {{[0-9]+}} tokens {{.*}} tok/s) | decode 2 tokens {{.*}} tok/s) | target host, 2 blocks
# RUN: %python %s %t/out1.txt %t/cache | FileCheck %s
# CHECK: tokens match the reference
# CHECK: forward logits match the reference
# RUN: %python -m quant chat --layers 2 --max-tokens 3 --cache-dir %t/cache --print-ids \
# RUN:   > %t/out2.txt 2> %t/err2.txt
# RUN: FileCheck %s --check-prefix=RUN2 < %t/err2.txt
# RUN2: import SmolLM2-135M-Instruct.Q4_1.gguf (2 blocks): cached
# RUN2: compile: cached
# RUN: grep "token ids" %t/out1.txt > %t/ids1 && grep "token ids" %t/out2.txt > %t/ids2
# RUN: diff %t/ids1 %t/ids2
# Sampling (--temperature/--top-k/--seed, the module's @sample): the tokens
# of the reference's sampled generation with qc.sample's recipe
# (quant.reference.sample_generate); a rerun with the same seed repeats them.
# RUN: %python -m quant chat --layers 2 --max-tokens 4 --cache-dir %t/cache --print-ids \
# RUN:   --temperature 0.9 --top-k 40 --seed 11 > %t/out3.txt 2>/dev/null
# RUN: %python %s %t/out3.txt %t/cache sample | FileCheck %s --check-prefix=SAMPLE
# SAMPLE: sampled tokens match the reference
# RUN: %python -m quant chat --layers 2 --max-tokens 4 --cache-dir %t/cache --print-ids \
# RUN:   --temperature 0.9 --top-k 40 --seed 11 > %t/out4.txt 2>/dev/null
# RUN: grep "token ids" %t/out3.txt > %t/ids3 && grep "token ids" %t/out4.txt > %t/ids4
# RUN: diff %t/ids3 %t/ids4

# Errors of the chat path: a policy naming layers the model does not have,
# an unknown architecture, --max-tokens 0.
# RUN: printf 'format: qc-policy\nversion: 1\nrules:\n  - match: "model.layers.*.mlp.*"\n    scheme: {weight: i8}\n' > %t/bad-policy.yaml
# RUN: not %python -m quant chat --layers 2 --cache-dir %t/cache --policy %t/bad-policy.yaml 2>&1 \
# RUN:   | FileCheck %s --check-prefix=POLICY
# POLICY: quant: error: {{.*}}bad-policy.yaml:4:5: invalid policy: rule 1 ('model.layers.*.mlp.*') matches no layer of the model
# RUN: not %python -m quant chat --layers 2 --cache-dir %t/cache --policy %t/nope.yaml 2>&1 \
# RUN:   | FileCheck %s --check-prefix=NOPOLICY
# NOPOLICY: quant: error: {{.*}}nope.yaml: no such policy file
# RUN: not %python -m quant chat --layers 2 --cache-dir %t/cache --max-tokens 0 2>&1 \
# RUN:   | FileCheck %s --check-prefix=NTOK
# NTOK: quant: error: --max-tokens must be at least 1 (got 0)
# RUN: not %python -m quant chat --layers 99 --cache-dir %t/cache 2>&1 \
# RUN:   | FileCheck %s --check-prefix=LAYERS
# LAYERS: quant: error: {{.*}}: --layers 99 out of range 1..30
# Bad checkpoints through chat: one clear error each, before any compile.
# RUN: mkdir -p %t/bad && %python %S/Inputs/make_bad_models.py %t/bad
# RUN: not %python -m quant chat --model %t/bad/gpt2.gguf --cache-dir %t/c2 2>&1 \
# RUN:   | FileCheck %s --check-prefix=ARCH
# ARCH: quant: error: {{.*}}gpt2.gguf: unknown architecture 'gpt2' (supported: llama)
# RUN: not %python -m quant chat --model %t/bad/missing.gguf --cache-dir %t/c2 2>&1 \
# RUN:   | FileCheck %s --check-prefix=MISSING
# MISSING: quant: error: {{.*}}missing.gguf: missing tensor 'blk.0.ffn_up.weight'
# RUN: not %python -m quant chat --model %t/bad/vocab.gguf --cache-dir %t/c2 2>&1 \
# RUN:   | FileCheck %s --check-prefix=VOCAB
# VOCAB: quant: error: {{.*}}vocab.gguf: tokenizer has 10 tokens but token_embd has 12 rows
# RUN: test ! -e %t/c2/modules

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent / "Inputs"))
import np_quant  # noqa: E402
from chat_check import check_chat  # noqa: E402
from quant import data  # noqa: E402
from quant.importers import load_checkpoint  # noqa: E402

out_txt, cache = Path(sys.argv[1]), Path(sys.argv[2])
root = Path(__file__).resolve().parents[2]
policy = yaml.safe_load((root / "examples" / "policy-default.yaml").read_text())
ck = np_quant.quantize_checkpoint(load_checkpoint(data.smollm2_gguf(), layers=2), policy)
if len(sys.argv) > 3 and sys.argv[3] == "sample":
    import numpy as np
    from quant import reference
    from chat_check import PROMPT
    ids = ck.tokenizer.encode(PROMPT).ids
    want = reference.sample_generate(ck, ids, 4, 0.9, 40, 11, dtype=np.float64)
    line = [ln for ln in out_txt.read_text().splitlines() if ln.startswith("token ids:")][0]
    got = [int(t) for t in line.split(":")[1].split()]
    assert got == want, (got, want)
    print("sampled tokens match the reference", want)
else:
    check_chat(ck, out_txt, cache, 3, 1e-4, "reference")
