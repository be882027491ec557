# quant.compile(ir, policy=dict): the policy document given as a Python dict
# (issue 14) gives the same module as the same policy in a YAML file: the
# .qcw weights are byte-identical and the logits equal bit for bit on a
# small random Llama 3 checkpoint (Inputs/hf_models.py); the dict is checked
# before anything is compiled (an unknown scheme field is one error).
# REQUIRES: quant-py, qcrt, qc-host
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t | FileCheck %s
# CHECK: weights identical: True
# CHECK: policy applied: True
# CHECK: logits equal: True
# CHECK: policy file: {{.*}}dict.policy.json
# CHECK: refused: {{.*}}bad.policy.json:{{[0-9]+}}:{{[0-9]+}}: invalid policy: unknown key 'bitz' in scheme

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent / "Inputs"))
import hf_models  # noqa: E402
import quant  # noqa: E402

out = Path(sys.argv[1])
d = out / "llama3"
cfg, _ = hf_models.make("llama3", d, seed=11)
ir = quant.import_model(d, out / "llama3.mlir", max_seq=16)
policy = {"format": "qc-policy", "version": 1,
          "rules": [{"match": "blk.*.attn_v", "scheme": {"weight": "i8",
                                                         "granularity": "per_channel"}},
                    {"match": "blk.*", "scheme": {"weight": "i4", "granularity": "per_group",
                                                  "group_size": 32}}]}
yaml_path = out / "policy.yaml"
yaml_path.write_text(
    "format: qc-policy\nversion: 1\nrules:\n"
    "  - match: \"blk.*.attn_v\"\n    scheme: {weight: i8, granularity: per_channel}\n"
    "  - match: \"blk.*\"\n    scheme: {weight: i4, granularity: per_group, group_size: 32}\n")
p_file = quant.compile(ir, policy=yaml_path, out=out / "file")
p_dict = quant.compile(ir, policy=policy, out=out / "dict")
same = (Path(str(p_file) + ".qcw").read_bytes() == Path(str(p_dict) + ".qcw").read_bytes())
print("weights identical:", same)
# The policy took effect: the module without it (the checkpoint's bf16
# block linears) is larger by most of the block linears' bf16 bytes (i4
# codes + scales, v in i8).
p_none = quant.compile(ir, out=out / "none")
lin = 2 * 2 * (64 * 64 * 2 + 64 * 32 * 2 + 64 * 128 * 3)  # 2 blocks, bf16
saved = Path(str(p_none) + ".qcw").stat().st_size - Path(str(p_dict) + ".qcw").stat().st_size
print("policy applied:", 0.5 * lin < saved < lin)
prompt = [int(t) for t in np.random.default_rng(5).integers(0, cfg["vocab_size"], 9)]
a, b = quant.load(p_file).forward(prompt), quant.load(p_dict).forward(prompt)
print("logits equal:", np.array_equal(a, b))
print("policy file:", Path(str(p_dict) + ".policy.json"))
try:
    quant.compile(ir, policy={"format": "qc-policy", "version": 1,
                                   "rules": [{"match": "*", "scheme": {"weight": "i4",
                                                                     "bitz": 3}}]}, out=out / "bad")
    print("refused: NO")
except quant.QuantError as e:
    print("refused:", e)
