# `python -m quant chat --model <Hugging Face directory>` end to end on small
# random checkpoints (Inputs/hf_models.py) under the default policy
# (examples/policy-default.yaml: the canonical layer names blk.*.attn_* /
# blk.*.ffn_* / output apply to HF models too):
# - qwen2 (tokenizer_config.json has a ChatML chat template; EOS ids from
#   config.json and tokenizer_config.json);
# - llama2 (no chat template: the prompt is used as is, with the BOS its
#   tokenizer.json adds).
# The streamed ids must be the numpy reference's greedy ids (the test's own
# weights, RTN-quantized by the independent Inputs/np_quant.py, the prompt
# written out here), and the compiled @forward logits of the prompt within
# 1e-4 (relative 2-norm) of that reference. A second run is served from the
# caches.
# REQUIRES: quant-py, qcrt, qc-host, quantize-pipeline
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %S/Inputs/hf_models.py %t qwen2 llama2
# RUN: %python -m quant chat --model %t/qwen2 --max-tokens 4 --target host \
# RUN:   --cache-dir %t/cache --print-ids > %t/q1.txt 2> %t/q1.err
# RUN: FileCheck %s --check-prefix=ERR < %t/q1.err
# ERR: import qwen2 (all blocks)
# ERR: compile with quant-compile (target host, policy policy-default.yaml, rtn)
# RUN: FileCheck %s --check-prefix=OUT < %t/q1.txt
# OUT: > What is the capital of France?
# OUT: token ids: {{[0-9]+}}
# OUT: attn_q{{ +}}weight = i8{{ +}}host{{ +}}2
# OUT: ffn_down{{ +}}weight = i4, granularity = per_group, group_size = 64{{ +}}host{{ +}}2
# OUT: output{{ +}}none{{ +}}none{{ +}}1
# OUT: times: compile {{.*}} | target host, 2 blocks
# RUN: %python %s %t qwen2 %t/q1.txt | FileCheck %s --check-prefix=QWEN
# QWEN: qwen2: tokens match the reference
# QWEN: qwen2: forward logits match the reference
# RUN: %python -m quant chat --model %t/qwen2 --max-tokens 4 --target host \
# RUN:   --cache-dir %t/cache --print-ids > %t/q2.txt 2> %t/q2.err
# RUN: FileCheck %s --check-prefix=CACHED < %t/q2.err
# CACHED: import qwen2 (all blocks): cached
# CACHED: compile: cached
# RUN: grep "token ids" %t/q1.txt > %t/ids1 && grep "token ids" %t/q2.txt > %t/ids2
# RUN: diff %t/ids1 %t/ids2
# RUN: %python -m quant chat --model %t/llama2 --max-tokens 3 --target host \
# RUN:   --cache-dir %t/cache --print-ids > %t/l1.txt 2> %t/l1.err
# RUN: FileCheck %s --check-prefix=LERR < %t/l1.err
# LERR: no chat template in llama2: the prompt is used as is
# RUN: %python %s %t llama2 %t/l1.txt | FileCheck %s --check-prefix=LLAMA
# LLAMA: llama2: tokens match the reference
# LLAMA: llama2: forward logits match the reference

import json
import sys
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).parent / "Inputs"))
import hf_models  # noqa: E402
import np_quant  # noqa: E402
from quant import reference  # noqa: E402

out, variant, out_txt = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
d = out / variant
cfg, tensors = hf_models.make(variant, out / "again" / variant)  # same seed: same weights
root = Path(__file__).resolve().parents[2]
policy = yaml.safe_load((root / "examples" / "policy-default.yaml").read_text())
ck = np_quant.quantize_checkpoint(hf_models.reference_checkpoint(cfg, tensors), policy)

from tokenizers import Tokenizer  # noqa: E402
tok = Tokenizer.from_file(str(d / "tokenizer.json"))
user = "What is the capital of France?"
if variant == "qwen2":  # the ChatML template, written out
    ids = tok.encode(f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n",
                     add_special_tokens=False).ids
    stop = {tok.token_to_id("<|im_end|>"), tok.token_to_id("<|endoftext|>")}
else:  # no template: BOS + the prompt
    ids = [tok.token_to_id("<s>")] + tok.encode(user, add_special_tokens=False).ids
    stop = {tok.token_to_id("</s>")}
n = 4 if variant == "qwen2" else 3
ref = reference.greedy_generate(ck, ids, n, dtype=np.float64, stop=stop)
line = [ln for ln in out_txt.read_text().splitlines() if ln.startswith("token ids:")][0]
got = [int(t) for t in line.split(":")[1].split()]
assert got == ref, (got, ref)
print(f"{variant}: tokens match the reference", ref)

import quant  # noqa: E402
mods = [p for p in (out / "cache").glob("modules/*/model.quant.json")
        if json.loads(p.read_text())["source"] == str(d.resolve())]
assert len(mods) == 1, mods
m = quant.load(str(mods[0]).replace(".quant.json", ""))
lg = m.forward(ids)
lr = reference.llama_forward(ck, ids)
err = np.linalg.norm(lg - lr) / np.linalg.norm(lr)
assert err < 1e-4, err
print(f"{variant}: forward logits match the reference (relative error {err:.1e})")
