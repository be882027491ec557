# Real models for the GPU, compiled here (no GPU needed):
# - the int8 embedding table (import --embedding int8) is checked
#   numerically: the host module's @forward against the numpy reference
#   whose gather reads the table quantized by test/Python/Inputs/np_quant.py
#   (independent per-row RTN) while the tied LM head keeps the f32 table;
# - 1-block SmolLM2 (@forward, @decode: rank-4 KV caches, RoPE, GQA
#   attention, softmax, f32/W4 LM head) and 1-layer MiniLM (@forward,
#   @embed: L2 normalization = a reduction to a scalar) compile for sm_90.
# REQUIRES: quant-py, models, qcrt, qc-host, quantize-pipeline
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python -m quant import smollm2 -o %t/smol.mlir --layers 1 --max-seq 16 --embedding int8
# RUN: %python -m quant import minilm -o %t/mini.mlir --layers 1 --embedding int8
# RUN: %python %s %t | FileCheck %s
# CHECK: int8 embedding: forward matches the reference
# CHECK: smollm2 sm_90 (fp32 head): forward, decode
# CHECK: smollm2 sm_90 (W4 head): forward, decode; weights under 50 MB
# CHECK: minilm sm_90: forward, embed
# Errors: an unknown embedding storage.
# RUN: not %python -m quant import minilm -o %t/bad.mlir --embedding int4 2>&1 | FileCheck %s --check-prefix=BAD
# BAD: argument --embedding: invalid choice: 'int4' (choose from {{'?}}f32{{'?}}, {{'?}}int8{{'?}})
# RUN: not %python -c "import quant; quant.import_model('minilm', '%t/bad.mlir', embedding='int4')" 2>&1 | FileCheck %s --check-prefix=BADAPI
# BADAPI: --embedding int4: expected one of f32, int8

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent / "Inputs"))
import np_quant  # noqa: E402
import quant  # noqa: E402
from quant import reference  # noqa: E402
from quant.importers import Checkpoint, load_checkpoint  # noqa: E402

t = Path(sys.argv[1])
smol = quant.ModelIR.open(t / "smol.mlir")
mini = quant.ModelIR.open(t / "mini.mlir")

# Numerics of the int8 gather on the host.
ck = load_checkpoint(smol.source, layers=1)
table = ck.tensor("token_embd")
deq, _ = np_quant.rtn_dequant(table, 8, "per_channel")
ref_ck = Checkpoint(ck.arch, dict(ck.config, tied_embeddings=False),
                    dict(ck.tensors, token_embd=deq, output=table), ck.tokenizer, ck.source,
                    ck.meta)
ids = np.array(ck.tokenizer.encode("It is a truth universally acknowledged").ids, np.int64)
m = quant.load(quant.compile(smol, target="host", out=t / "smol.host"))
got = m.forward(ids)
ref = reference.llama_forward(ref_ck, ids)
err = np.abs(got - ref).max() / np.abs(ref).max()
assert err < 1e-4, f"int8 embedding forward: relative error {err:.2e}"
print(f"int8 embedding: forward matches the reference (rel. err {err:.1e})")


def entry_points(prefix):
    h = Path(str(prefix) + ".h").read_text()
    assert "GPU module: target sm_90" in h, h[:200]
    return [f for f in ("forward", "decode", "embed") if f"qc_entry_{f}(" in h]


p = quant.compile(smol, target="sm_90", out=t / "smol.fp32.sm_90")
print("smollm2 sm_90 (fp32 head):", ", ".join(entry_points(p)))
pol = t / "head4.yaml"
pol.write_text("""format: qc-policy
version: 1
rules:
  - match: "blk.*.attn_*"
    scheme: {weight: i8, granularity: per_channel}
  - match: "blk.*.ffn_*"
    scheme: {weight: i4, granularity: per_group, group_size: 64}
  - match: "output"
    scheme: {weight: i4, granularity: per_group, group_size: 64}
""")
p = quant.compile(smol, policy=pol, target="sm_90", out=t / "smol.head4.sm_90")
mb = os.path.getsize(str(p) + ".qcw") / 1e6
assert mb < 50, mb
print("smollm2 sm_90 (W4 head):", ", ".join(entry_points(p)) + "; weights under 50 MB")
p = quant.compile(mini, target="sm_90", out=t / "mini.sm_90")
print("minilm sm_90:", ", ".join(entry_points(p)))
