// RUN: quant-opt %s --qc-outline-gpu-kernels | FileCheck %s --check-prefix=DOT --enable-var-scope
// RUN: quant-opt %s --qc-outline-gpu-kernels=weight-prefetch | FileCheck %s --check-prefix=PF --enable-var-scope
// RUN: quant-opt %s --qc-outline-gpu-kernels | FileCheck %s --check-prefix=CLUSTER --enable-var-scope
// RUN: quant-opt %s --qc-outline-gpu-kernels --qc-lower-gpu-launches | FileCheck %s --check-prefix=CLAUNCH --enable-var-scope

// The frag family (buildWeightOnlyFragKernel) on sm_90: the dot path for M
// tiles below 16, and split_k > 1 through a thread-block cluster (CLUSTER
// below). The tensor-core tiles and the workspace split: frag-sm80.mlir.

// The dot path (M tile 1): no cp.async stage, no ldmatrix, no mma and no
// barrier in the main loop. Per unit: the lane's 16-byte weight load per
// channel block, its 4-byte activation pairs (ld.global.nc), the same
// dequantization (HSUB2, HMUL2), packed f16x2 products added into one
// f16x2 partial, widened into the f32 accumulator. Shared memory holds only
// the warps' sums: 2 warps x (1 row x 2 blocks x 2 tiles) x 32 lanes x 4 B.
// DOT: llvm.mlir.global internal @dn_frag_mt1_smem() {{.*}} : !llvm.array<1024 x i8>
// With weight-prefetch on sm_90 (dependent launch) thread 0 of the first M
// tile first prefetches the CTA's units of each channel block into L2, in
// an scf.if marked for qc-gpu-dependent-launch's wait to follow.
// PF-LABEL: gpu.func @dn_frag_mt1(
// PF: scf.if
// PF: nvvm.cp.async.bulk.prefetch %{{.*}}, %{{.*}} : <1>
// PF: nvvm.cp.async.bulk.prefetch %{{.*}}, %{{.*}} : <1>
// PF: } {qc.dependent_wait_after}
// PF-NOT: nvvm.cp.async
// PF: llvm.load %{{.*}} invariant {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xi32>
// DOT-LABEL: gpu.func @dn_frag_mt1(
// DOT-NOT: nvvm.cp.async
// DOT: llvm.load %{{.*}} invariant {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xi32>
// DOT: scf.for
// DOT-NOT: nvvm.barrier0
// DOT: llvm.load %{{.*}} invariant {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xi32>
// DOT: %[[XP:.*]] = llvm.load %{{.*}} invariant {alignment = 4 : i64} : !llvm.ptr<1> -> vector<2xf16>
// DOT: %[[XS:.*]] = arith.select %{{.*}}, %[[XP]], %{{.*}} : vector<2xf16>
// DOT: %[[Q:.*]] = arith.subf %{{.*}}, %{{.*}} : vector<2xf16>
// DOT: %[[WV:.*]] = arith.mulf %[[Q]], %{{.*}} : vector<2xf16>
// DOT: %[[P:.*]] = arith.mulf %[[WV]], %[[XS]] fastmath<contract> : vector<2xf16>
// DOT: arith.addf %{{.*}}, %{{.*}} fastmath<contract> : vector<2xf16>
// DOT: arith.extf %{{.*}} : f16 to f32
// DOT: scf.yield
// DOT-NOT: nvvm.mma.sync
// The 4 lanes of a channel, then the warps.
// DOT: nvvm.shfl.sync bfly %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : f32 -> f32
// DOT: nvvm.barrier0
// DOT: arith.truncf %{{.*}} : f32 to f16
// DOT: gpu.return
// DOT-LABEL: gpu.func @dn_frag_mt16(
// DOT: nvvm.mma.sync
func.func @dot(%x: tensor<?x256xf16>, %d: tensor<8192xi8>, %s: tensor<64x8xf16>, %b: tensor<64xf16>) -> tensor<?x64xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<mma_frag>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32>} : tensor<8192xi8>, tensor<64x8xf16> -> !qc.packed<64x256xi4>
  %y = qc.wo_matmul %x, %pw, %b {layer = "dn", kernel = #qc.kernel<frag, target = "sm_90", frag = #qc.frag_tiling<warps_k = 2, n_blocks = 2, stages = 3, split_k = 1, prefetch = 2, step_units = 1, m_tiles = [1, 16]>>} : tensor<?x256xf16>, !qc.packed<64x256xi4>, tensor<64xf16> -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}

// sm_90: the split_k = 2 CTAs of a channel tile form one thread-block
// cluster. No reduction kernel and no workspace argument use: each CTA's
// warp 0 stores its sums into its shared memory, a cluster barrier, split
// 0's warp 0 adds split 1's (mapa + a load through the cluster window) and
// runs the epilogue, a second cluster barrier. One split (M past the
// largest tile) runs the epilogue directly.
// CLUSTER-LABEL: gpu.func @upc_frag_mt16(
// CLUSTER: nvvm.mma.sync
// CLUSTER: %[[SINGLE:.*]] = arith.cmpi eq, %{{.*}}, %c1_i32{{[_0-9]*}} : i32
// CLUSTER: scf.if %[[SINGLE]] {
// CLUSTER: arith.truncf
// CLUSTER: } else {
// CLUSTER: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : f32, !llvm.ptr<3>
// CLUSTER: %[[SEVERAL:.*]] = arith.cmpi ne, %{{.*}}, %c1_i32{{[_0-9]*}} : i32
// CLUSTER: scf.if %[[SEVERAL]] {
// CLUSTER: nvvm.cluster.arrive
// CLUSTER: nvvm.cluster.wait
// Split 1's sums (split_k = 2) are loaded through the cluster window
// before the adds.
// CLUSTER: %[[C1:.*]] = arith.constant 1 : i32
// CLUSTER: %[[REMOTE:.*]] = nvvm.mapa %{{.*}}, %[[C1]] : !llvm.ptr<3> -> !llvm.ptr<7>
// CLUSTER: %[[PART:.*]] = llvm.load %[[REMOTE]] {alignment = 4 : i64} : !llvm.ptr<7> -> f32
// CLUSTER: arith.addf %{{.*}}, %[[PART]] : f32
// CLUSTER: arith.truncf
// CLUSTER: nvvm.cluster.arrive
// CLUSTER: nvvm.cluster.wait
// CLUSTER: gpu.return
// CLUSTER-NOT: gpu.func @upc_frag_reduce
// CLAUNCH-LABEL: func.func @w4c
// CLAUNCH: %[[SMALL:.*]] = arith.cmpi ule, %{{.*}}, %c32
// CLAUNCH: scf.if %[[SMALL]]
// CLAUNCH-NOT: memref.alloc{{.*}}xf32>
// CLAUNCH: qc.gpu_launch = {args = [0, 1, 2, "null", 3, 4, "m", "null"], block = 64 : i64, cluster = 2 : i64, grid = ["n", "m"], grid_tile = array<i64: 1, 1>, kernel = @qc_kernels_sm_90::@upc_frag, m_tiles = array<i64: 16, 32>, n = 4 : i64}
// CLAUNCH: } else {
// CLAUNCH: qc.gpu_launch = {args = [0, 1, 2, "null", 3, 4, "m", "null"], block = 64 : i64, grid = ["n", "m"], grid_tile = array<i64: 1, 1>, kernel = @qc_kernels_sm_90::@upc_frag, m_tiles = array<i64: 16, 32>, n = 2 : i64}
func.func @w4c(%x: tensor<?x256xf16>, %d: tensor<8192xi8>, %s: tensor<64x2xf16>, %b: tensor<64xf16>) -> tensor<?x64xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<mma_frag>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>} : tensor<8192xi8>, tensor<64x2xf16> -> !qc.packed<64x256xi4>
  %y = qc.wo_matmul %x, %pw, %b {layer = "upc", kernel = #qc.kernel<frag, target = "sm_90", frag = #qc.frag_tiling<warps_k = 2, n_blocks = 2, stages = 3, split_k = 2, prefetch = 1, step_units = 1, m_tiles = [16, 32]>>} : tensor<?x256xf16>, !qc.packed<64x256xi4>, tensor<64xf16> -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}
