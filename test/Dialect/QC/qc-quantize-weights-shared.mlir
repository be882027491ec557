// RUN: quant-opt %s --qc-quantize-weights="remarks=1 record-errors=1" --verify-diagnostics | FileCheck %s

// @forward and @decode read the same weight under the same scheme and layer
// name: it is quantized once (the second linear reuses the codes and the
// recorded error; remarks=1 says so). A different scheme or layer name is
// quantized again.

// CHECK-LABEL: func.func @forward
// CHECK-DAG: %[[D:.*]] = arith.constant dense<{{\[\[}}32, -64, 16, 127], [127, 11, -32, 0]]> : tensor<2x4xi8>
// CHECK: qc.linear {{.*}} {layer = "l", qc.quant_error = [[$ERR:[0-9.e+-]+]] : f64, qc.quantized}
// CHECK-LABEL: func.func @decode
// CHECK-DAG: arith.constant dense<{{\[\[}}32, -64, 16, 127], [127, 11, -32, 0]]> : tensor<2x4xi8>
// CHECK: qc.linear {{.*}} {layer = "l", qc.quant_error = [[$ERR]] : f64, qc.quantized}
// CHECK: qc.linear {{.*}} {layer = "other", qc.quant_error = {{.*}}, qc.quantized}
// CHECK: qc.packed_weight {{.*}}scheme = #qc.scheme<weight = i4>
func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.125, -0.375, 0.0]]> : tensor<2x4xf32>
  %y = qc.linear %x, %w {layer = "l", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
func.func @decode(%x: tensor<?x4xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>) {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.125, -0.375, 0.0]]> : tensor<2x4xf32>
  // expected-remark@+1 {{layer 'l': reuses the quantization of the same weight}}
  %y = qc.linear %x, %w {layer = "l", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  %z = qc.linear %x, %w {layer = "other", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  %v = qc.linear %x, %w {layer = "l", scheme = #qc.scheme<weight = i4>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y, %z, %v : tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>
}
