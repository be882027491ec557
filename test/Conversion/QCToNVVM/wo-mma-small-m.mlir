// The tiling comes from qc-select-matmul's options, through #qc.kernel.
// RUN: quant-opt %s --qc-select-matmul="target=sm_90 weight-only-kernel=mma mma-block-m=16 mma-block-n=128 mma-block-k-bytes=128 mma-warps-m=1 mma-warps-n=4 mma-stages=4" --qc-outline-gpu-kernels | FileCheck %s
// RUN: not quant-opt %s --qc-select-matmul="target=sm_90 weight-only-kernel=mma mma-block-m=16 mma-block-n=128 mma-block-k-bytes=256 mma-warps-m=1 mma-warps-n=4 mma-stages=4" --qc-outline-gpu-kernels 2>&1 | FileCheck %s --check-prefix=SMEM

// A small-M tiling of the weight-only mma kernel (block M 16, one warp along
// M, 4 stages of K 64). Its shared memory counts the weight stages packed:
// 4 x (A 16 x 144 B + raw B 128 x 32 B) + the f16 B tile 128 x 144 B =
// 44032 B, under the 48 KiB static limit (an f16 B stage would need 82944).
// CHECK: qc.wo_matmul {{.*}}kernel = #qc.kernel<mma, target = "sm_90", mma = <block_m = 16, block_n = 128, block_k = 64, warps_m = 1, warps_n = 4, stages = 4>>{{.*}}qc.launch = #qc.launch<@{{.*}}, block = 128, tile_n = 128, tile_m = 16>
// CHECK: llvm.mlir.global internal @up_wo_mma_smem() {{.*}} : !llvm.array<44032 x i8>
// CHECK: nvvm.cp.async.wait.group 2
// CHECK: nvvm.mma.sync

// Twice the K per stage does not fit.
// SMEM: error: cannot build the mma kernel for layer 'up': tiles need 84992 bytes of shared memory, over the 48 KiB static limit

func.func @f(%x: tensor<?x4096xf16>, %d: tensor<2097152xi8>, %s: tensor<1024x32xf16>) -> tensor<?x1024xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>} : tensor<2097152xi8>, tensor<1024x32xf16> -> !qc.packed<1024x4096xi4>
  %y = qc.wo_matmul %x, %pw {layer = "up"} : tensor<?x4096xf16>, !qc.packed<1024x4096xi4> -> tensor<?x1024xf16>
  return %y : tensor<?x1024xf16>
}
