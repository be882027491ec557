// Tilings the tensor-core builders reject for a layer's shape, each with one
// diagnostic (tilings no shape can take are rejected by the #qc.mma_tiling
// verifier: invalid.mlir).
// RUN: quant-opt %s --split-input-file --verify-diagnostics --qc-outline-gpu-kernels | FileCheck %s

func.func @f(%q: tensor<?x256xi8>, %sx: tensor<?xf32>, %d: tensor<32768xi8>, %s: tensor<128x1xf32>) -> tensor<?x128xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<32768xi8>, tensor<128x1xf32> -> !qc.packed<128x256xi8>
  // expected-error @below {{cannot build the int8_mma kernel for layer 'o': tiles need 61440 bytes of shared memory, over the 48 KiB static limit}}
  %y = qc.int8_matmul %q, %sx, %pw {layer = "o", kernel = #qc.kernel<int8_mma, target = "sm_90", mma = #qc.mma_tiling<block_m = 128, block_n = 128, block_k = 64, warps_m = 2, warps_n = 4, stages = 3>>} : tensor<?x256xi8>, tensor<?xf32>, !qc.packed<128x256xi8> -> tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}

// -----

func.func @f(%q: tensor<?x256xi8>, %sx: tensor<?xf32>, %d: tensor<32768xi8>, %s: tensor<128x1xf32>) -> tensor<?x128xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<32768xi8>, tensor<128x1xf32> -> !qc.packed<128x256xi8>
  // expected-error @below {{cannot build the int8_mma kernel for layer 'o': block K 48 is not a multiple of the mma K 32}}
  %y = qc.int8_matmul %q, %sx, %pw {layer = "o", kernel = #qc.kernel<int8_mma, target = "sm_90", mma = #qc.mma_tiling<block_m = 128, block_n = 128, block_k = 48, warps_m = 2, warps_n = 4, stages = 2>>} : tensor<?x256xi8>, tensor<?xf32>, !qc.packed<128x256xi8> -> tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}

// -----

// The same tilings build with fewer bytes per stage or more warps:
// CHECK: llvm.mlir.global internal @o_int8_mma_smem() {{.*}} : !llvm.array<36864 x i8>
// CHECK: nvvm.cp.async.wait.group 1
func.func @f(%q: tensor<?x256xi8>, %sx: tensor<?xf32>, %d: tensor<32768xi8>, %s: tensor<128x1xf32>) -> tensor<?x128xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<32768xi8>, tensor<128x1xf32> -> !qc.packed<128x256xi8>
  %y = qc.int8_matmul %q, %sx, %pw {layer = "o", kernel = #qc.kernel<int8_mma, target = "sm_90", mma = #qc.mma_tiling<block_m = 128, block_n = 128, block_k = 32, warps_m = 2, warps_n = 4, stages = 3>>} : tensor<?x256xi8>, tensor<?xf32>, !qc.packed<128x256xi8> -> tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}

// -----

// CHECK: llvm.mlir.global internal @o_int8_mma_smem() {{.*}} : !llvm.array<36864 x i8>
// CHECK: nvvm.cp.async.wait.group 2
func.func @f(%q: tensor<?x256xi8>, %sx: tensor<?xf32>, %d: tensor<32768xi8>, %s: tensor<128x1xf32>) -> tensor<?x128xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<32768xi8>, tensor<128x1xf32> -> !qc.packed<128x256xi8>
  %y = qc.int8_matmul %q, %sx, %pw {layer = "o", kernel = #qc.kernel<int8_mma, target = "sm_90", mma = #qc.mma_tiling<block_m = 128, block_n = 64, block_k = 32, warps_m = 2, warps_n = 2, stages = 4>>} : tensor<?x256xi8>, tensor<?xf32>, !qc.packed<128x256xi8> -> tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}
