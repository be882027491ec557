// The multi-layer block (Inputs/block.mlir) through the whole pipeline,
// layer by layer (fuse-siblings=false; the FUSED run below fuses q/k/v and
// gate/up, test/Dialect/QC/qc-fuse-sibling-matmuls.mlir tests the pass).
// RUN: quant-opt %S/Inputs/block.mlir --qc-quantize-pipeline="policy=%S/Inputs/policy/block.yaml stats=%S/Inputs/block-stats.json target=sm_90 fuse-siblings=false" --mlir-elide-elementsattrs-if-larger=4 | FileCheck %s
// RUN: quant-opt %S/Inputs/block.mlir --qc-quantize-pipeline="policy=%S/Inputs/policy/block.yaml stats=%S/Inputs/block-stats.json algorithm=gptq layout=tiled max-batch=4096 fuse-siblings=false" --mlir-elide-elementsattrs-if-larger=4 2>&1 | FileCheck %s --check-prefix=GPTQ
// RUN: quant-opt %S/Inputs/block.mlir --qc-quantize-pipeline --mlir-elide-elementsattrs-if-larger=4 | FileCheck %s --check-prefix=NOPOLICY
// RUN: not quant-opt %S/Inputs/block.mlir --qc-quantize-pipeline="policy=%S/Inputs/policy/block.yaml algorithm=gptq" 2>&1 | FileCheck %s --check-prefix=NOSTATS
// RUN: quant-opt %S/Inputs/block.mlir --qc-quantize-pipeline="policy=%S/Inputs/policy/block.yaml stats=%S/Inputs/block-stats.json target=sm_90" --mlir-elide-elementsattrs-if-larger=4 | FileCheck %s --check-prefix=FUSED

// By default q/k/v (weight-only) and gate/up (W8A8, one CSE'd activation
// quantization) are fused before kernel selection.
// FUSED-LABEL: func.func @block
// FUSED: %[[N1:.*]] = qc.rms_norm
// FUSED: qc.wo_matmul %[[N1]], %{{.*}} {fused_layers = [{{.*}}], kernel = #qc.kernel<gemv, target = "sm_90", gemv = <{{.*}}>>, layer = "blk0.attn.q+blk0.attn.k+blk0.attn.v"} : tensor<?x?x32xf32>, !qc.packed<96x32xi4> -> tensor<?x?x96xf32>
// FUSED: qc.int8_matmul {{.*}}layer = "blk0.attn.o"
// FUSED: %[[QG:.*]], %[[SG:.*]] = qc.quantize_act
// FUSED-NOT: qc.quantize_act
// FUSED: qc.int8_matmul %[[QG]], %[[SG]], %{{.*}} {fused_layers = [{{.*}}], kernel = #qc.kernel<int8_mma, target = "sm_90", mma = <{{.*}}>>, layer = "blk0.mlp.gate+blk0.mlp.up"} : tensor<?x?x32xi8>, tensor<?x?xf32>, !qc.packed<128x32xi8> -> tensor<?x?x128xf32>

// CHECK-LABEL: func.func @block
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
// No float linear and no float copy of a weight is left.
// CHECK-NOT: qc.linear
// CHECK-NOT: qc.dequantize_weight
// q/k/v: the first norm keeps its weight (they are weight-only); int4
// asymmetric groups of 16, packed two per byte.
// CHECK: %[[N1:.*]] = qc.rms_norm %[[X]]
// CHECK: %[[PQ:.*]] = qc.packed_weight {{.*}} {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 16, symmetric = false>} : tensor<512xi8>, tensor<32x2xf32>, tensor<32x2xi8> -> !qc.packed<32x32xi4>
// CHECK: qc.wo_matmul %[[N1]], %[[PQ]] {kernel = #qc.kernel<gemv, target = "sm_90", gemv = <warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 2, 4, 8]>>, layer = "blk0.attn.q"} : tensor<?x?x32xf32>, !qc.packed<32x32xi4> -> tensor<?x?x32xf32>
// CHECK: layer = "blk0.attn.k"
// CHECK: layer = "blk0.attn.v"
// o reads elementwise glue: SmoothQuant inserts qc.smooth; static scale.
// CHECK: %[[SM:.*]] = qc.smooth
// CHECK: %[[QO:.*]], %[[SO:.*]] = qc.quantize_act %[[SM]] static_per_tensor scale {{.*}} : tensor<?x?x32xf32> -> tensor<?x?x32xi8>, tensor<1xf32>
// CHECK: qc.int8_matmul %[[QO]], %[[SO]], %{{.*}} {kernel = #qc.kernel<int8_mma, target = "sm_90", mma = <{{.*}}>>, layer = "blk0.attn.o"}
// gate/up share the second norm: smoothing folded into its weight, one
// dynamic per-token quantization (CSE) for both.
// CHECK: %[[N2:.*]] = qc.rms_norm
// CHECK: %[[QG:.*]], %[[SG:.*]] = qc.quantize_act %[[N2]] dynamic_per_token : tensor<?x?x32xf32> -> tensor<?x?x32xi8>, tensor<?x?xf32>
// CHECK: qc.int8_matmul %[[QG]], %[[SG]], %{{.*}} {{.*}}layer = "blk0.mlp.gate"
// CHECK: qc.int8_matmul %[[QG]], %[[SG]], %{{.*}} {{.*}}layer = "blk0.mlp.up"
// CHECK-NOT: qc.smooth
// CHECK: qc.wo_matmul {{.*}} {kernel = #qc.kernel<adaptive, target = "sm_90", threshold = 16, gemv = <{{.*}}>, mma = <{{.*}}>>, layer = "blk0.mlp.down"}
// CHECK-NOT: qc.batch_threshold

// The default 16x64 tiles do not fit K = 32: row_major with a warning.
// GPTQ: warning: tile 16x64 does not divide the 32x32 weight; using row_major
// GPTQ-LABEL: func.func @block
// GPTQ-NOT: qc.linear
// GPTQ: layout = #qc.layout<row_major>{{.*}} -> !qc.packed<32x32xi4>
// GPTQ: qc.wo_matmul {{.*}} {kernel = #qc.kernel<host>, layer = "blk0.attn.q"}
// GPTQ: qc.int8_matmul {{.*}} {kernel = #qc.kernel<host>, layer = "blk0.attn.o"}
// GPTQ: qc.wo_matmul {{.*}} {kernel = #qc.kernel<adaptive, threshold = 16>, layer = "blk0.mlp.down"}

// Without a policy nothing carries a scheme: the block stays in float.
// NOPOLICY-LABEL: func.func @block
// NOPOLICY-NOT: qc.packed_weight
// NOPOLICY: qc.linear

// NOSTATS: error: qc-quantize-weights: algorithm=gptq needs stats=<file> with Hessians
