// Tilings the tensor-core builders reject, each with one diagnostic.
// RUN: not quant-opt %s --qc-outline-gpu-kernels="mma-stages=3" 2>&1 | FileCheck %s --check-prefix=SMEM
// RUN: not quant-opt %s --qc-outline-gpu-kernels="mma-stages=1" 2>&1 | FileCheck %s --check-prefix=STAGES
// RUN: not quant-opt %s --qc-outline-gpu-kernels="mma-warps-n=3" 2>&1 | FileCheck %s --check-prefix=WARPS
// RUN: not quant-opt %s --qc-outline-gpu-kernels="mma-block-k-bytes=48" 2>&1 | FileCheck %s --check-prefix=BLOCKK
// The same tilings build with fewer bytes per stage or more warps:
// RUN: quant-opt %s --qc-outline-gpu-kernels="mma-stages=3 mma-block-k-bytes=32" | FileCheck %s --check-prefix=OK3
// RUN: quant-opt %s --qc-outline-gpu-kernels="mma-stages=4 mma-block-k-bytes=32 mma-block-n=64 mma-warps-n=2" | FileCheck %s --check-prefix=OK4

// SMEM: error: cannot build the int8_mma kernel for layer 'o': tiles need 61440 bytes of shared memory, over the 48 KiB static limit
// STAGES: error: cannot build the int8_mma kernel for layer 'o': the cp.async pipeline needs at least 2 stages
// WARPS: error: cannot build the int8_mma kernel for layer 'o': block N must be a multiple of 16 x warps along N
// BLOCKK: error: cannot build the int8_mma kernel for layer 'o': block K 48 is not a multiple of the mma K 32

// OK3: llvm.mlir.global internal @o_int8_mma_smem() {{.*}} : !llvm.array<36864 x i8>
// OK3: nvvm.cp.async.wait.group 1
// OK4: llvm.mlir.global internal @o_int8_mma_smem() {{.*}} : !llvm.array<36864 x i8>
// OK4: nvvm.cp.async.wait.group 2

func.func @f(%q: tensor<?x256xi8>, %sx: tensor<?xf32>, %d: tensor<32768xi8>, %s: tensor<128x1xf32>) -> tensor<?x128xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<32768xi8>, tensor<128x1xf32> -> !qc.packed<128x256xi8>
  %y = qc.int8_matmul %q, %sx, %pw {layer = "o", kernel = #qc.kernel<int8_mma, target = "sm_90">} : tensor<?x256xi8>, tensor<?xf32>, !qc.packed<128x256xi8> -> tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}
