// RUN: quant-opt %s -split-input-file -verify-diagnostics --qc-select-matmul=target=sm_90
// RUN: echo "" | not quant-opt --qc-select-matmul=target=sm_70 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: echo "" | not quant-opt --qc-select-matmul="min-batch=8 max-batch=4" 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: echo "" | not quant-opt --qc-select-matmul="weight-only-kernel=int8" 2>&1 | FileCheck %s --check-prefix=KIND

// TARGET: error: qc-select-matmul: unknown target 'sm_70'; expected host, sm_80, sm_90 or sm_90a
// RANGE: error: qc-select-matmul: need 1 <= min-batch <= max-batch, got 8 and 4
// KIND: error: qc-select-matmul: unknown weight-only-kernel 'int8'; expected auto, gemv, mma, gemv_mma or frag

func.func @adaptive_int4(%x: tensor<?x4xf32>, %d: tensor<2x4xi8>, %s: tensor<2x1xf32>) -> tensor<?x2xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4>} : tensor<2x4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi4>
  // expected-error @+1 {{layer 'l': the batch-adaptive kernel needs a positive threshold and a symmetric per-channel i8 weight}}
  %y = qc.wo_matmul %x, %pw {layer = "l", qc.batch_threshold = 64 : i64} : tensor<?x4xf32>, !qc.packed<2x4xi4> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// The only GPU INT8 kernel needs K % 16 == 0 (16-byte cp.async rows).
func.func @int8_k24(%q: tensor<?x24xi8>, %qs: tensor<?xf32>, %d: tensor<8x24xi8>, %s: tensor<8x1xf32>) -> tensor<?x8xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<8x24xi8>, tensor<8x1xf32> -> !qc.packed<8x24xi8>
  // expected-error @+1 {{layer 'w8a8': no GPU kernel for this W8A8 matmul on sm_90: K = 24 gives weight/activation rows that are not a whole number of 16-byte chunks (K must be a multiple of 16)}}
  %y = qc.int8_matmul %q, %qs, %pw {layer = "w8a8"} : tensor<?x24xi8>, tensor<?xf32>, !qc.packed<8x24xi8> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// The batch-adaptive kernel runs the INT8 GEMM for large M: same limit.
func.func @adaptive_k24(%x: tensor<?x24xf32>, %d: tensor<8x24xi8>, %s: tensor<8x1xf32>) -> tensor<?x8xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<8x24xi8>, tensor<8x1xf32> -> !qc.packed<8x24xi8>
  // expected-error @+1 {{layer 'ad': the batch-adaptive kernel on sm_90 needs the int8_mma kernel: K = 24 gives}}
  %y = qc.wo_matmul %x, %pw {layer = "ad", qc.batch_threshold = 4 : i64} : tensor<?x24xf32>, !qc.packed<8x24xi8> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
