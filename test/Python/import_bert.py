# Imports 2 layers of all-MiniLM-L6-v2 (real safetensors weights), verifies
# the IR with quant-opt and checks its semantics (numpy interpreter) against
# the independent reference.
# REQUIRES: quant-py, models
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t | FileCheck %s --check-prefix=NUM
# RUN: quant-opt %t/bert.mlir | FileCheck %s
# BERT is emitted with f32 activations only: one error, no output.
# RUN: not %python -m quant import minilm --layers 2 --activations f16 -o %t/f16.mlir 2>&1 \
# RUN:   | FileCheck %s --check-prefix=F16
# RUN: not ls %t/f16.mlir %t/f16.bin
# F16: quant: error: --activations f16: only Llama-family models can be emitted with f16 activations (bert is f32)

# CHECK-LABEL: func.func @forward(%{{.*}}: tensor<?xi64>) -> tensor<?x384xf32>
# CHECK: qc.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {epsilon = {{9\.99+[0-9]*E-13}} : f64} : tensor<?x384xf32>, tensor<384xf32>, tensor<384xf32>
# CHECK: qc.linear %{{.*}}, %{{.*}}, %{{.*}} {layer = "encoder.layer.0.attention.self.query"} : (tensor<?x384xf32>, tensor<384x384xf32>, tensor<384xf32>) -> tensor<?x384xf32>
# CHECK: math.erf
# CHECK: qc.linear {{.*}} {layer = "encoder.layer.1.output.dense"} : (tensor<?x1536xf32>, tensor<384x1536xf32>, tensor<384xf32>) -> tensor<?x384xf32>
# CHECK-LABEL: func.func @embed(%{{.*}}: tensor<?xi64>) -> tensor<384xf32>
# CHECK: math.sqrt

# NUM: layers 12
# NUM: forward ok
# NUM: embed ok

import sys

import numpy as np

from quant import data, mlir_interp, reference
from quant.importers import load_checkpoint
from quant.model_ir import emit

out = sys.argv[1]
ck = load_checkpoint(data.minilm_dir(), layers=2)
ir = emit(ck, f"{out}/bert.mlir")
print("layers", len(ir.layers))
ids = np.array(ck.tokenizer.encode("A man is playing a guitar.").ids)
m = mlir_interp.Module(ir.mlir)
(h,) = m.run("forward", ids)
r = reference.bert_forward(ck, ids)
assert h.shape == r.shape == (len(ids), 384)
assert np.abs(h - r).max() / np.abs(r).max() < 1e-4
print("forward ok")
(e,) = m.run("embed", ids)
re_ = reference.bert_embed(ck, ids)
assert e.shape == (384,) and abs(np.linalg.norm(e) - 1) < 1e-5
assert np.abs(e - re_).max() < 1e-5
print("embed ok")
