// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90" --split-input-file --verify-diagnostics | FileCheck %s
// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90 attention-prefill=false" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=OFF

// qc.cache_attention with f16 queries and caches, D = 128, G = 4: the
// decode pair and the tensor-core prefill kernel (FlashAttention-2 forward,
// causal) for T > max_split_t: 64 / G = 16 tokens per CTA of 4 warps.

// CHECK-LABEL: func.func @prefill_f16
// CHECK: qc.cache_attention
// CHECK-SAME: qc.launch = #qc.attention_launch<@qc_kernels_sm_90::@cache_attention_l0, chunks = 32, kv_heads = 8, heads = 32, head_dim = 128, record = 132, max_split_t = 16, prefill_tokens = 16>
// CHECK: gpu.module @qc_kernels_sm_90
// CHECK: gpu.func @cache_attention_l0_partial(
// CHECK: gpu.func @cache_attention_l0_combine(
// One K and one V tile of 64 keys x (256 + 16) bytes.
// CHECK: llvm.mlir.global internal @cache_attention_l0_prefill_smem() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<34816 x i8>
// CHECK: gpu.func @cache_attention_l0_prefill(%[[Q:.*]]: !llvm.ptr<1>, %[[KC:.*]]: !llvm.ptr<1>, %[[VC:.*]]: !llvm.ptr<1>, %[[POS:.*]]: !llvm.ptr<1>, %[[OUT:.*]]: !llvm.ptr<1>, %[[T:.*]]: i32, %[[CB:.*]]: i32) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// Query tiles from the last one (most keys) down; pos[b] read on the device.
// CHECK: gpu.grid_dim y
// CHECK: %[[PP:.*]] = llvm.getelementptr %[[POS]][%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, i64
// CHECK: llvm.load %[[PP]] {alignment = 8 : i64} : !llvm.ptr<1> -> i64
// Q fragments once: 8 k16 steps x 4 registers.
// CHECK-COUNT-32: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<1> -> i32
// Key tile 0 in flight (zero fill past the last visible key).
// CHECK: scf.if
// CHECK: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg, %{{.*}}
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32,
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.barrier0
// CHECK-COUNT-8: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg, %{{.*}}
// S = Q K^T: K through ldmatrix.x4 (not transposed), mma.sync m16n8k16 f16.
// CHECK: nvvm.ldmatrix %{{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, num = 4 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>}
// CHECK: nvvm.mma.sync {{.*}} {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// The element-wise causal mask only on tiles past the first token's keys.
// CHECK: %[[NEED:.*]] = arith.cmpi sgt
// CHECK: scf.if %[[NEED]] -> (f32,
// CHECK: arith.cmpi sle
// CHECK: arith.select
// Online softmax: quad max, ex2.approx, P to f16 pairs.
// CHECK: nvvm.shfl.sync bfly
// CHECK: llvm.inline_asm "ex2.approx.ftz.f32 $0, $1;"
// CHECK: arith.truncf %{{.*}} : vector<2xf32> to vector<2xf16>
// V tile in; K tile j + 1 in flight during P V (V through ldmatrix.trans).
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.barrier0
// CHECK: scf.if
// CHECK: nvvm.cp.async.shared.global
// CHECK: nvvm.ldmatrix %{{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<col>, num = 4 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>}
// CHECK: nvvm.mma.sync
// CHECK: scf.yield
// o / l of the valid rows as f16 pairs.
// CHECK: arith.divf
// CHECK: scf.if
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : i32, !llvm.ptr<1>
// CHECK: gpu.return

// OFF-LABEL: func.func @prefill_f16
// OFF: qc.cache_attention
// OFF-SAME: max_split_t = 16>
// OFF-NOT: _prefill
func.func @prefill_f16(%q: tensor<?x?x32x128xf16>, %kc: tensor<1x?x8x4096x128xf16>, %vc: tensor<1x?x8x4096x128xf16>, %pos: tensor<?xi64>) -> tensor<?x?x32x128xf16> {
  %o = qc.cache_attention %q, %kc, %vc, %pos {layer = 0 : i64, scale = 0.088 : f32} : tensor<?x?x32x128xf16>, tensor<1x?x8x4096x128xf16>, tensor<1x?x8x4096x128xf16>, tensor<?xi64> -> tensor<?x?x32x128xf16>
  return %o : tensor<?x?x32x128xf16>
}

// -----

// bf16, D = 64, G = 3: 21 tokens per CTA (63 of its 64 rows), bf16
// operands (i32 registers) and rows of 128 + 16 bytes.

// CHECK-LABEL: func.func @prefill_bf16
// CHECK: qc.cache_attention
// CHECK-SAME: max_split_t = 16, prefill_tokens = 21>
// CHECK: llvm.mlir.global internal @cache_attention_l2_prefill_smem() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<18432 x i8>
// CHECK: gpu.func @cache_attention_l2_prefill(
// CHECK-COUNT-16: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<1> -> i32
// CHECK: nvvm.mma.sync {{.*}} {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK: arith.truncf %{{.*}} : vector<2xf32> to vector<2xbf16>
func.func @prefill_bf16(%q: tensor<?x?x9x64xbf16>, %kc: tensor<4x?x3x512x64xbf16>, %vc: tensor<4x?x3x512x64xbf16>, %pos: tensor<?xi64>) -> tensor<?x?x9x64xbf16> {
  %o = qc.cache_attention %q, %kc, %vc, %pos {layer = 2 : i64, scale = 0.125 : f32} : tensor<?x?x9x64xbf16>, tensor<4x?x3x512x64xbf16>, tensor<4x?x3x512x64xbf16>, tensor<?xi64> -> tensor<?x?x9x64xbf16>
  return %o : tensor<?x?x9x64xbf16>
}

// -----

// Shapes and types the prefill kernel does not take keep the decode pair
// for every T (no prefill_tokens, no _prefill kernel): f32 queries, D = 32,
// f16 queries over a bf16 cache.

// CHECK-LABEL: func.func @decode_only
// CHECK: qc.launch = #qc.attention_launch<@qc_kernels_sm_90::@cache_attention_l1, {{.*}}, max_split_t = 16>,
// CHECK: qc.launch = #qc.attention_launch<@qc_kernels_sm_90::@cache_attention_l0, {{.*}}, max_split_t = 16>,
// CHECK: qc.launch = #qc.attention_launch<@qc_kernels_sm_90::@cache_attention_l0_1, {{.*}}, max_split_t = 16>,
// CHECK-NOT: _prefill
func.func @decode_only(%q: tensor<?x?x4x64xf32>, %kc: tensor<2x?x2x256x64xf32>, %vc: tensor<2x?x2x256x64xf32>, %pos: tensor<?xi64>,
                       %q2: tensor<?x?x4x32xf16>, %kc2: tensor<1x?x2x256x32xf16>, %vc2: tensor<1x?x2x256x32xf16>,
                       %q3: tensor<?x?x4x64xf16>, %kc3: tensor<1x?x2x256x64xbf16>, %vc3: tensor<1x?x2x256x64xbf16>)
    -> (tensor<?x?x4x64xf32>, tensor<?x?x4x32xf16>, tensor<?x?x4x64xf16>) {
  %o = qc.cache_attention %q, %kc, %vc, %pos {layer = 1 : i64, scale = 0.125 : f32} : tensor<?x?x4x64xf32>, tensor<2x?x2x256x64xf32>, tensor<2x?x2x256x64xf32>, tensor<?xi64> -> tensor<?x?x4x64xf32>
  %o2 = qc.cache_attention %q2, %kc2, %vc2, %pos {layer = 0 : i64, scale = 0.17 : f32} : tensor<?x?x4x32xf16>, tensor<1x?x2x256x32xf16>, tensor<1x?x2x256x32xf16>, tensor<?xi64> -> tensor<?x?x4x32xf16>
  %o3 = qc.cache_attention %q3, %kc3, %vc3, %pos {layer = 0 : i64, scale = 0.125 : f32} : tensor<?x?x4x64xf16>, tensor<1x?x2x256x64xbf16>, tensor<1x?x2x256x64xbf16>, tensor<?xi64> -> tensor<?x?x4x64xf16>
  return %o, %o2, %o3 : tensor<?x?x4x64xf32>, tensor<?x?x4x32xf16>, tensor<?x?x4x64xf16>
}
