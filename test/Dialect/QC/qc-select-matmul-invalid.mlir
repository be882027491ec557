// RUN: quant-opt %s -split-input-file -verify-diagnostics --qc-select-matmul=target=sm_90
// RUN: echo "" | not quant-opt --qc-select-matmul=target=sm_70 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: echo "" | not quant-opt --qc-select-matmul="min-batch=8 max-batch=4" 2>&1 | FileCheck %s --check-prefix=RANGE

// TARGET: error: qc-select-matmul: unknown target 'sm_70'; expected host, sm_80 or sm_90
// RANGE: error: qc-select-matmul: need 1 <= min-batch <= max-batch, got 8 and 4

func.func @adaptive_int4(%x: tensor<?x4xf32>, %d: tensor<2x4xi8>, %s: tensor<2x1xf32>) -> tensor<?x2xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4>} : tensor<2x4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi4>
  // expected-error @+1 {{layer 'l': the batch-adaptive kernel needs a positive threshold and a symmetric per-channel i8 weight}}
  %y = qc.wo_matmul %x, %pw {layer = "l", qc.batch_threshold = 64 : i64} : tensor<?x4xf32>, !qc.packed<2x4xi4> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
