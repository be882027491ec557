// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90" --split-input-file --verify-diagnostics | FileCheck %s
// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90 attention-kernels=false" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=GLUE

// qc.cache_attention on a GPU target: flash-decoding kernels. H = 9, KV = 3
// (G = 3 query heads per KV head), S = 512, D = 64, f32: chunks of 8 keys
// (64 chunks x 3 KV heads = 192 CTAs >= 132 for one token), one warp per
// CTA, E = 2 head-dim elements per lane.

// CHECK-LABEL: func.func @attn
// CHECK: qc.cache_attention
// CHECK-SAME: qc.launch = #qc.attention_launch<@qc_kernels_sm_90::@cache_attention_l3, chunks = 64, kv_heads = 3, heads = 9, head_dim = 64, record = 68, max_split_t = 16>
// CHECK: gpu.module @qc_kernels_sm_90

// Partial: reads pos[b] on the device, works only for a chunk in use that
// starts before the last key, loads the 3 query heads once, streams K and
// V rows (one 8-byte vector per lane), butterfly dot products, online
// softmax in base 2, unnormalized partial + (m, l) to the workspace.
// CHECK: gpu.func @cache_attention_l3_partial(%[[Q:.*]]: !llvm.ptr<1>, %[[KC:.*]]: !llvm.ptr<1>, %[[VC:.*]]: !llvm.ptr<1>, %[[POS:.*]]: !llvm.ptr<1>, %[[WS:.*]]: !llvm.ptr<1>, %[[T:.*]]: i32, %[[CB:.*]]: i32) kernel attributes {known_block_size = array<i32: 32, 1, 1>}
// CHECK: %[[PP:.*]] = llvm.getelementptr %[[POS]][%{{.*}}] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i64
// CHECK: llvm.load %[[PP]] {alignment = 8 : i64} : !llvm.ptr<1> -> i64
// CHECK: %[[ACTIVE:.*]] = arith.andi
// CHECK: scf.if %[[ACTIVE]] {
// CHECK-COUNT-3: llvm.load %{{.*}} {alignment = 8 : i64} : !llvm.ptr<1> -> vector<2xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) : i32 {
// CHECK: %[[KP:.*]] = llvm.getelementptr %[[KC]][%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f32
// CHECK: llvm.load %[[KP]] {alignment = 8 : i64} : !llvm.ptr<1> -> vector<2xf32>
// CHECK: %[[VP:.*]] = llvm.getelementptr %[[VC]][%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f32
// CHECK: llvm.load %[[VP]] {alignment = 8 : i64} : !llvm.ptr<1> -> vector<2xf32>
// CHECK-COUNT-15: nvvm.shfl.sync bfly
// CHECK: llvm.intr.maxnum
// CHECK: llvm.inline_asm "ex2.approx.f32 $0, $1;"
// CHECK: scf.yield
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 8 : i64} : vector<2xf32>, !llvm.ptr<1>
// CHECK-NOT: nvvm.barrier0
// CHECK: gpu.return

// Combine: one thread per head-dim element; the valid chunks come from pos
// again; max of m, then 2^(m_c - M)-weighted sums, o / l in the query type.
// CHECK: gpu.func @cache_attention_l3_combine(%[[WS2:.*]]: !llvm.ptr<1>, %[[POS2:.*]]: !llvm.ptr<1>, %[[OUT:.*]]: !llvm.ptr<1>, %{{.*}}: i32) kernel attributes {known_block_size = array<i32: 64, 1, 1>}
// CHECK: llvm.getelementptr %[[POS2]]
// CHECK: %[[NC:.*]] = arith.ceildivui
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[NC]]
// CHECK: llvm.intr.maxnum
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[NC]]
// CHECK: llvm.inline_asm "ex2.approx.f32 $0, $1;"
// CHECK: arith.divf
// CHECK: %[[OP:.*]] = llvm.getelementptr %[[OUT]][%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f32
// CHECK: llvm.store %{{.*}}, %[[OP]] {alignment = 4 : i64} : f32, !llvm.ptr<1>

// GLUE-LABEL: func.func @attn
// GLUE-NOT: qc.launch
// GLUE-NOT: gpu.module
func.func @attn(%q: tensor<?x?x9x64xf32>, %kc: tensor<30x?x3x512x64xf32>, %vc: tensor<30x?x3x512x64xf32>, %pos: tensor<?xi64>) -> tensor<?x?x9x64xf32> {
  %o = qc.cache_attention %q, %kc, %vc, %pos {layer = 3 : i64, scale = 0.125 : f32} : tensor<?x?x9x64xf32>, tensor<30x?x3x512x64xf32>, tensor<30x?x3x512x64xf32>, tensor<?xi64> -> tensor<?x?x9x64xf32>
  return %o : tensor<?x?x9x64xf32>
}

// -----

// f16, D = 128, G = 4, S = 4096, KV = 8: 16-bit rows of 8 bytes per lane;
// chunks of 128 keys (32 x 8 = 256 CTAs); the result stored as f16. The
// tensor-core prefill kernel is built too (prefill-attention.mlir): 64 / G =
// 16 tokens per CTA.

// CHECK-LABEL: func.func @attn_f16
// CHECK: qc.cache_attention
// CHECK-SAME: qc.launch = #qc.attention_launch<@{{.*}}, chunks = 32, kv_heads = 8, heads = 32, head_dim = 128, record = 132, max_split_t = 16, prefill_tokens = 16>
// CHECK: gpu.func @cache_attention_l0_partial(
// CHECK: llvm.load %{{.*}} {alignment = 8 : i64} : !llvm.ptr<1> -> vector<4xf16>
// CHECK: gpu.func @cache_attention_l0_combine(
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 2 : i64} : f16, !llvm.ptr<1>
func.func @attn_f16(%q: tensor<1x1x32x128xf16>, %kc: tensor<1x1x8x4096x128xf16>, %vc: tensor<1x1x8x4096x128xf16>, %pos: tensor<1xi64>) -> tensor<1x1x32x128xf16> {
  %o = qc.cache_attention %q, %kc, %vc, %pos {layer = 0 : i64, scale = 0.088 : f32} : tensor<1x1x32x128xf16>, tensor<1x1x8x4096x128xf16>, tensor<1x1x8x4096x128xf16>, tensor<1xi64> -> tensor<1x1x32x128xf16>
  return %o : tensor<1x1x32x128xf16>
}
