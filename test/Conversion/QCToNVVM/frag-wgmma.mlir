// RUN: quant-opt %s --qc-outline-gpu-kernels | FileCheck %s --enable-var-scope
// RUN: quant-opt %s --qc-outline-gpu-kernels --qc-lower-gpu-launches | FileCheck %s --check-prefix=LAUNCH --enable-var-scope

// The frag family's wgmma variant (buildWeightOnlyWgmmaKernel, sm_90a):
// recorded as qc.mma_launch next to the frag variants' qc.launch; a CTA of
// two warpgroups (256 threads) owns 128 channels and 128 tokens; four
// stages of 128 tokens x 128 bytes are dynamic shared memory (+1 KiB to
// align the base to the 128-byte swizzle's 1024-byte period).
// CHECK-LABEL: func.func @wg
// CHECK: qc.wo_matmul {{.*}}qc.launch = #qc.launch<@qc_kernels_sm_90a::@up_frag
// CHECK-SAME: qc.mma_launch = #qc.launch<@qc_kernels_sm_90a::@up_frag_wgmma, block = 256, tile_n = 128, tile_m = 128, shared_bytes = 66560>
// CHECK: gpu.module @qc_kernels_sm_90a [#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80">]
// CHECK: llvm.mlir.global external @up_frag_wgmma_smem() {addr_space = 3 : i32, alignment = 1024 : i64} : !llvm.array<0 x i8>
// CHECK: gpu.func @up_frag_wgmma(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK: %[[BASE:.*]] = arith.addi %{{.*}}, %c1023_i32 : i32
// CHECK-NEXT: arith.andi %[[BASE]], %c-1024_i32 : i32
// Activations: 16-byte cp.async chunks to chunk c ^ (row % 8) of their
// 128-byte row; the prologue fills stages - 1 = 3 steps.
// CHECK: %[[ROW:.*]] = arith.shrui %{{.*}}, %c3_i32{{.*}} : i32
// CHECK: %[[CHUNK:.*]] = arith.andi %{{.*}}, %c7_i32{{.*}} : i32
// CHECK: %[[ROW7:.*]] = arith.andi %[[ROW]], %c7_i32{{.*}} : i32
// CHECK-NEXT: %{{.*}} = arith.xori %[[CHUNK]], %[[ROW7]] : i32
// CHECK: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache =  cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.commit.group
// CHECK-NOT: nvvm.cp.async.commit.group
// CHECK: scf.for
// The main loop: wait for the oldest stage, one barrier, the next stage's
// copies, the weights straight from global memory into registers, the A
// fragments through wgmma.fence, four m64n128k16 wgmmas on the stage (the
// descriptor's start moves 32 bytes per k16), one commit group, its wait
// (the wgmma reads its register A operand asynchronously: the next step's
// dequantization must not redefine those registers before it is done).
// CHECK: nvvm.cp.async.wait.group 2
// CHECK-NEXT: nvvm.barrier0
// CHECK: llvm.load %{{.*}} invariant {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xi32>
// CHECK: llvm.inline_asm has_side_effects "wgmma.fence.sync.aligned;"
// The descriptor's fixed bits: swizzle mode 1 (128 bytes, bit 62), stride
// byte offset 1024 >> 4 (bits 32-45), leading byte offset 1 (bit 16).
// CHECK: %[[D0:.*]] = arith.ori %{{.*}}, %c4611686293305360384_i64{{.*}} : i64
// CHECK: llvm.inline_asm has_side_effects "{\0A.reg .pred p;\0Asetp.ne.b32 p, $133, 0;\0Awgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {$0, {{.*}}, $63}, {$128, $129, $130, $131}, $132, p, 1, 1, 0;\0A}", "=f,{{.*}},r,r,r,r,l,r" {{.*}}, %[[D0]], %{{.*}}
// CHECK: %{{.*}} = arith.addi %{{.*}}, %c32_i32
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16
// CHECK: llvm.inline_asm has_side_effects "wgmma.commit_group.sync.aligned;", ""
// CHECK: llvm.inline_asm has_side_effects "wgmma.wait_group.sync.aligned 0;"
// CHECK-NOT: wgmma.mma_async
// CHECK: scf.yield
// Epilogue from registers: f32 + bias, one f16 rounding, per token row.
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: arith.addf
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: gpu.return

// Lowering: M < threshold (48) launches the frag variants, else the wgmma
// kernel over ceil(N / 128) x ceil(M / 128) CTAs.
// LAUNCH-LABEL: func.func @wg
// LAUNCH: %[[M:.*]] = tensor.dim %arg0, %c0
// LAUNCH: %[[SMALL:.*]] = arith.cmpi slt, %[[M]], %c48 : index
// LAUNCH: scf.if %[[SMALL]] -> (tensor<?x128xf16>) {
// LAUNCH: qc.gpu_launch = {{{.*}}block = 128 : i64{{.*}}kernel = @qc_kernels_sm_90a::@up_frag, m_tiles = array<i64: 1, 16, 32>
// LAUNCH: } else {
// LAUNCH: qc.gpu_launch = {args = [0, 1, 2, "null", 3, 4, "m"], block = 256 : i64, grid = ["n", "m"], grid_tile = array<i64: 128, 128>, kernel = @qc_kernels_sm_90a::@up_frag_wgmma, n = 128 : i64, smem = 66560 : i64}
func.func @wg(%x: tensor<?x256xf16>, %d: tensor<16384xi8>, %s: tensor<128x2xf16>, %b: tensor<128xf16>) -> tensor<?x128xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<mma_frag>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>} : tensor<16384xi8>, tensor<128x2xf16> -> !qc.packed<128x256xi4>
  %y = qc.wo_matmul %x, %pw, %b {layer = "up", kernel = #qc.kernel<frag, target = "sm_90a", threshold = 48, mma = #qc.mma_tiling<block_m = 128, block_n = 128, block_k = 64, warps_m = 1, warps_n = 8, stages = 4>, frag = #qc.frag_tiling<warps_k = 4, n_blocks = 4, stages = 3, split_k = 1, prefetch = 1, step_units = 1, m_tiles = [1, 16, 32]>>} : tensor<?x256xf16>, !qc.packed<128x256xi4>, tensor<128xf16> -> tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}
