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
# CHECK-LABEL: func.func @decode(%{{.*}}: tensor<1xi64>, %{{.*}}: tensor<i64>, %{{.*}}: tensor<2x3x16x64xf32>, %{{.*}}: tensor<2x3x16x64xf32>) -> (tensor<1x49152xf32>, tensor<2x3x16x64xf32>, tensor<2x3x16x64xf32>)
# CHECK: tensor.insert_slice
# CHECK: tensor.extract_slice {{.*}} to tensor<3x?x64xf32>

# NUM: layers 15 first blk.0.attn_q last output
# NUM: forward ok
# NUM: decode ok
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

kc = np.zeros((2, 3, 16, 64), np.float32)
vc = np.zeros_like(kc)
cache = reference.KVCache(2)
for p, t in enumerate(ids):
    lg, kc, vc = m.run("decode", np.array([t]), np.array(p), kc, vc)
    r = reference.llama_forward(ck, [t], cache=cache)
    assert np.abs(lg - r).max() / np.abs(r).max() < 1e-4, p
    assert np.abs(kc[:, :, :p + 1] - np.stack(cache.k)).max() < 1e-3
    assert not kc[:, :, p + 1:].any()
print("decode ok")

offs = [int(o) for o in re.findall(r"offset (\d+)", ir.mlir.read_text())]
assert offs and all(o % 64 == 0 for o in offs)
print("aligned ok")
