// RUN: quant-opt %s --qc-outline-gpu-kernels="m-tiles=1,4" --split-input-file --verify-diagnostics | FileCheck %s

// A batch-adaptive matmul gets both kernel sets: the GEMV family (M <
// threshold), and the INT8 GEMM for per-token activations plus the dynamic
// activation quantization of its input (M >= threshold), each recorded
// under its own prefix.

// CHECK-LABEL: func.func @adaptive
// CHECK: qc.wo_matmul
// CHECK-SAME: qc.act_quant_kernel_symbol = @qc_kernels_sm_90::@ad_act_quant, qc.act_quant_launch = {block = 128 : i64}
// CHECK-SAME: qc.int8_kernel_symbol = @qc_kernels_sm_90::@ad_int8_mma, qc.int8_launch = {block = 256 : i64, block_m = 128 : i64, block_n = 128 : i64}
// CHECK-SAME: qc.kernel_symbol = @qc_kernels_sm_90::@ad_gemv, qc.launch = {block = 128 : i64, m_tiles = array<i64: 1, 4>, rows_per_block = 8 : i64}
// CHECK: gpu.module @qc_kernels_sm_90
// CHECK: gpu.func @ad_gemv_mt1(
// CHECK: gpu.func @ad_gemv_mt4(
// CHECK: gpu.func @ad_int8_mma(
// CHECK: gpu.func @ad_act_quant(
func.func @adaptive(%x: tensor<?x64xf16>, %d: tensor<2048xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  %y = qc.wo_matmul %x, %pw {layer = "ad", kernel = #qc.kernel<adaptive, target = "sm_90", threshold = 16>} : tensor<?x64xf16>, !qc.packed<32x64xi8> -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// -----

// The INT8 side needs K % 16 == 0 (qc-select-matmul refuses such layers;
// this is the builder's own check).
func.func @adaptive_k24(%x: tensor<?x24xf32>, %d: tensor<768xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<768xi8>, tensor<32x1xf32> -> !qc.packed<32x24xi8>
  // expected-error @below {{cannot build the int8_mma kernel for layer 'ad': K = 24 gives weight/activation rows that are not a whole number of 16-byte chunks (K must be a multiple of 16)}}
  %y = qc.wo_matmul %x, %pw {layer = "ad", kernel = #qc.kernel<adaptive, target = "sm_90", threshold = 16>} : tensor<?x24xf32>, !qc.packed<32x24xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
