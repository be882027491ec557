// RUN: quant-opt %s --qc-outline-gpu-kernels --split-input-file --verify-diagnostics | FileCheck %s

// A batch-adaptive matmul gets both kernel sets: the GEMV family (M <
// threshold), and the INT8 GEMM for per-token activations plus the dynamic
// activation quantization of its input (M >= threshold), each recorded
// under its own prefix.

// CHECK-LABEL: func.func @adaptive
// CHECK: qc.wo_matmul
// CHECK-SAME: qc.act_quant_launch = #qc.launch<@qc_kernels_sm_90::@ad_act_quant, block = 128>
// CHECK-SAME: qc.int8_launch = #qc.launch<@qc_kernels_sm_90::@ad_int8_mma, block = 256, tile_n = 128, tile_m = 128>
// CHECK-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90::@ad_gemv, block = 128, tile_n = 8, tile_m = 1, m_tiles = [1, 4]>
// CHECK: gpu.module @qc_kernels_sm_90
// CHECK: gpu.func @ad_gemv_mt1(
// CHECK: gpu.func @ad_gemv_mt4(
// CHECK: gpu.func @ad_int8_mma(
// CHECK: gpu.func @ad_act_quant(
func.func @adaptive(%x: tensor<?x64xf16>, %d: tensor<2048xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  %y = qc.wo_matmul %x, %pw {layer = "ad", kernel = #qc.kernel<adaptive, target = "sm_90", threshold = 16, gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 4]>>} : tensor<?x64xf16>, !qc.packed<32x64xi8> -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// -----

// The INT8 side needs K % 16 == 0 (qc-select-matmul refuses such layers;
// this is the builder's own check).
func.func @adaptive_k24(%x: tensor<?x24xf32>, %d: tensor<768xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<768xi8>, tensor<32x1xf32> -> !qc.packed<32x24xi8>
  // expected-error @below {{cannot build the int8_mma kernel for layer 'ad': K = 24 gives weight/activation rows that are not a whole number of 16-byte chunks (K must be a multiple of 16)}}
  %y = qc.wo_matmul %x, %pw {layer = "ad", kernel = #qc.kernel<adaptive, target = "sm_90", threshold = 16, gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 4]>>} : tensor<?x24xf32>, !qc.packed<32x24xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
