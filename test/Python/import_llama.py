# Imports the first 2 blocks of SmolLM2-135M (real GGUF weights), verifies
# the IR with quant-opt, and runs it through the numpy interpreter of the
# emitted op subset against the independent reference forward pass.
# REQUIRES: quant-py, models
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t | FileCheck %s --check-prefix=NUM
# RUN: quant-opt %t/smol.mlir | FileCheck %s

# CHECK-LABEL: func.func @forward(%{{.*}}: tensor<?xi64>) -> tensor<?x49152xf32>
# CHECK: qc.external_weight "smol.bin" offset 0 : tensor<49152x576xf32>
# CHECK: qc.rms_norm %{{.*}}, %{{.*}} {epsilon = {{9\.99+[0-9]*E-6}} : f64} : tensor<?x576xf32>, tensor<576xf32>
# CHECK: qc.linear %{{.*}}, %{{.*}} {layer = "blk.0.attn_q"} : (tensor<?x576xf32>, tensor<576x576xf32>) -> tensor<?x576xf32>
# CHECK: qc.linear %{{.*}}, %{{.*}} {layer = "blk.0.attn_k"} : (tensor<?x576xf32>, tensor<192x576xf32>) -> tensor<?x192xf32>
# CHECK: linalg.batch_matmul
# CHECK: qc.linear {{.*}} {layer = "blk.1.ffn_down"} : (tensor<?x1536xf32>, tensor<576x1536xf32>) -> tensor<?x576xf32>
# CHECK: qc.linear {{.*}} {layer = "output"} : (tensor<?x576xf32>, tensor<49152x576xf32>) -> tensor<?x49152xf32>
# CHECK-LABEL: func.func @decode(%{{.*}}: tensor<?x?xi64>, %{{.*}}: tensor<?xi64>, %{{.*}}: tensor<2x?x3x16x64xf32>, %{{.*}}: tensor<2x?x3x16x64xf32>) -> (tensor<?x49152xf32>, tensor<2x?x3x16x64xf32>, tensor<2x?x3x16x64xf32>)
# CHECK: qc.cache_write %{{.*}} into %{{.*}} at %{{.*}} {layer = 0 : i64}
# CHECK: qc.cache_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {layer = 0 : i64, scale = 1.250000e-01 : f32}
# CHECK: qc.cache_write %{{.*}} into %{{.*}} at %{{.*}} {layer = 1 : i64}
# NUM: layers 15 first blk.0.attn_q last output
# NUM: forward ok
# NUM: decode ok
# NUM: range: token id out of range 0..49151
# NUM: generate ok
# NUM: aligned ok

import re
import sys

import numpy as np

from quant import data, mlir_interp, reference
from quant.importers import load_checkpoint
from quant.model_ir import emit

out = sys.argv[1]
ck = load_checkpoint(data.smollm2_gguf(), layers=2)
ir = emit(ck, f"{out}/smol.mlir", max_seq=16)
print("layers", len(ir.layers), "first", ir.layers[0], "last", ir.layers[-1])

ids = np.array(ck.tokenizer.encode("It is a truth universally acknowledged").ids)
assert len(ids) >= 5
m = mlir_interp.Module(ir.mlir)
(logits,) = m.run("forward", ids)
ref = reference.llama_forward(ck, ids)  # float64
err = np.abs(logits - ref).max() / np.abs(ref).max()
assert logits.shape == (len(ids), 49152), logits.shape
assert err < 1e-4, err
print("forward ok")

# @decode on a batch of two sequences: a prefill of 3 tokens each, then
# steps of one token at different positions (sequence 1 re-feeds position
# 2, overwriting its cache row), checked against the float64 reference.
# The compiled module updates the caches in place (here the interpreter
# returns them); rows past a sequence's position hold garbage and must not
# be read.
rng = np.random.default_rng(0)
kc = rng.normal(size=(2, 2, 3, 16, 64)).astype(np.float32)
vc = rng.normal(size=(2, 2, 3, 16, 64)).astype(np.float32)
seqs = [list(ids[:3]), list(ids[3:6])]
lg, kc, vc = m.run("decode", np.array(seqs), np.array([0, 0]), kc, vc)
assert lg.shape == (2, 49152), lg.shape


def check(lg):
    for b in range(2):
        r = reference.llama_forward(ck, seqs[b])[-1]
        assert np.abs(lg[b] - r).max() / np.abs(r).max() < 1e-4, (b, seqs[b])


check(lg)
cache = reference.KVCache(2)
reference.llama_forward(ck, seqs[0], cache=cache)
assert np.abs(kc[:, 0, :, :3] - np.stack(cache.k)).max() < 1e-3
assert np.abs(vc[:, 0, :, :3] - np.stack(cache.v)).max() < 1e-3
for step in range(3):
    t = [int(np.argmax(lg[0])), int(np.argmax(lg[1]))]
    pos = [len(seqs[0]), len(seqs[1]) - 1 if step == 0 else len(seqs[1])]
    if step == 0:
        seqs[1][-1] = t[1]  # position 2 again, another token
    else:
        seqs[1].append(t[1])
    seqs[0].append(t[0])
    lg, kc, vc = m.run("decode", np.array([[t[0]], [t[1]]]), np.array(pos), kc, vc)
    check(lg)
print("decode ok")

# quant.LoadedModel's greedy generation through @decode (the interpreter
# stands in for the runtime) agrees with the reference.
import quant

lm = quant.LoadedModel(ir.mlir, module=m, ir=ir)
prompt = ck.tokenizer.encode("The capital of France is").ids
assert lm.generate(prompt, 4) == reference.greedy_generate(ck, prompt, 4)
try:
    lm.forward([0, 49152])
except quant.QuantError as e:
    print("range:", e)
print("generate ok")

offs = [int(o) for o in re.findall(r"offset (\d+)", ir.mlir.read_text())]
assert offs and all(o % 64 == 0 for o in offs)
print("aligned ok")
