// RUN: quant-opt %s --qc-outline-gpu-kernels | FileCheck %s --enable-var-scope
// RUN: quant-opt %s --qc-outline-gpu-kernels --qc-lower-gpu-launches | FileCheck %s --check-prefix=LAUNCH --enable-var-scope

// The frag family (buildWeightOnlyFragKernel) on sm_80: one variant per M
// tile, each lane's 16-byte load of an mma_frag unit straight into
// registers (an invariant, i.e. ld.global.nc, vector<4xi32> load),
// dequantized in f16x2 and fed to mma.sync as B fragments; activations
// staged by cp.async and read with ldmatrix; split_k > 1 adds the reduction
// kernel over an f32 workspace (sm_80 has no thread-block clusters; sm_90
// in frag.mlir).

// CHECK-LABEL: func.func @w4
// CHECK: qc.launch = #qc.launch<@qc_kernels_sm_80::@up_frag, block = 64, tile_n = 32, tile_m = 1, m_tiles = [16, 32], split_k = 2>
// Shared memory: max(3 stages x 16 rows x (2 warps x 64 x 2 + 16) B,
// 2 warps x 16 accumulators x 32 lanes x 4 B) = 13056 B for M tile 16; the
// M tile 32 variant keeps 3 stages too (26112 B).
// CHECK: llvm.mlir.global internal @up_frag_mt16_smem() {{.*}} : !llvm.array<13056 x i8>
// CHECK: gpu.func @up_frag_mt16(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>) kernel attributes {known_block_size = array<i32: 64, 1, 1>}
// The split count is the grid's: S = gridDim.x / channel tiles.
// CHECK: %[[GX:.*]] = gpu.grid_dim x
// CHECK: nvvm.cp.async.shared.global
// CHECK: nvvm.cp.async.commit.group
// CHECK: llvm.load %{{.*}} invariant {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xi32>
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 1
// CHECK: nvvm.barrier0
// The next unit's weights are loaded before this one is multiplied.
// CHECK: llvm.load %{{.*}} invariant {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xi32>
// CHECK: %[[W:.*]] = llvm.extractelement
// CHECK: arith.xori %[[W]]
// The group's f16 scale, then per pair: mask, OR 1024, HSUB2, HMUL2.
// CHECK: llvm.load %{{.*}} {alignment = 2 : i64} : !llvm.ptr<1> -> f16
// CHECK: nvvm.ldmatrix
// CHECK: arith.andi %{{.*}}, %{{.*}} : i32
// CHECK: arith.ori %{{.*}}, %{{.*}} : i32
// CHECK: arith.subf %{{.*}}, %{{.*}} : vector<2xf16>
// CHECK: arith.mulf %{{.*}}, %{{.*}} : vector<2xf16>
// CHECK: nvvm.mma.sync {{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 16>
// No weight byte goes through shared memory: the only shared stores are
// the warps' f32 partial sums after the loop.
// CHECK-NOT: llvm.store {{.*}} : i32, !llvm.ptr<3>
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : f32, !llvm.ptr<3>
// CHECK: gpu.return
// CHECK: llvm.mlir.global internal @up_frag_mt32_smem() {{.*}} : !llvm.array<26112 x i8>
// CHECK: gpu.func @up_frag_mt32(
// CHECK: gpu.func @up_frag_reduce(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// CHECK: llvm.load %{{.*}} {alignment = 8 : i64} : !llvm.ptr<1> -> vector<2xf32>
// CHECK: llvm.load %{{.*}} {alignment = 8 : i64} : !llvm.ptr<1> -> vector<2xf32>
// CHECK: arith.truncf %{{.*}} : vector<2xf32> to vector<2xf16>

// With split_k = 2: M <= 32 runs 2 CTAs per 32-channel tile (grid x 2 x 2)
// into a [2, M, 64] f32 workspace and the reduction (bias there); larger M
// one CTA per tile with the epilogue in the kernel.
// LAUNCH-LABEL: func.func @w4
// LAUNCH: %[[SMALL:.*]] = arith.cmpi ule, %{{.*}}, %c32
// LAUNCH: scf.if %[[SMALL]]
// LAUNCH: %[[WS:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<2x?x64xf32>
// LAUNCH: func.call @__qc_gpu_launch_{{[0-9]+}}({{.*}}, %[[WS]]) {qc.gpu_launch = {args = [0, 1, 2, "null", "null", "null", "m", 3], block = 64 : i64, grid = ["n", "m"], grid_tile = array<i64: 1, 1>, kernel = @qc_kernels_sm_80::@up_frag, m_tiles = array<i64: 16, 32>, n = 4 : i64}}
// LAUNCH: qc.gpu_launch = {args = [0, 1, 2, "dim:0:1"], block = 128 : i64, grid = ["n", "dim:0:1"], grid_tile = array<i64: 256, 1>, kernel = @qc_kernels_sm_80::@up_frag_reduce, n = 64 : i64}
// LAUNCH: } else {
// LAUNCH: qc.gpu_launch = {args = [0, 1, 2, "null", 3, 4, "m", "null"], block = 64 : i64, grid = ["n", "m"], grid_tile = array<i64: 1, 1>, kernel = @qc_kernels_sm_80::@up_frag, m_tiles = array<i64: 16, 32>, n = 2 : i64}

func.func @w4(%x: tensor<?x256xf16>, %d: tensor<8192xi8>, %s: tensor<64x2xf16>, %b: tensor<64xf16>) -> tensor<?x64xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<mma_frag>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>} : tensor<8192xi8>, tensor<64x2xf16> -> !qc.packed<64x256xi4>
  %y = qc.wo_matmul %x, %pw, %b {layer = "up", kernel = #qc.kernel<frag, target = "sm_80", frag = #qc.frag_tiling<warps_k = 2, n_blocks = 2, stages = 3, split_k = 2, prefetch = 1, step_units = 1, m_tiles = [16, 32]>>} : tensor<?x256xf16>, !qc.packed<64x256xi4>, tensor<64xf16> -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}

