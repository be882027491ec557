// qc-quantize-weights record-errors=true: the relative weight error
// ||W - What|| / ||W|| as qc.quant_error (hand-computed below); off by
// default.
// RUN: quant-opt %s -split-input-file --qc-quantize-weights=record-errors=true | FileCheck %s
// RUN: quant-opt %s -split-input-file --qc-quantize-weights | FileCheck %s --check-prefix=OFF

// Symmetric i8 per channel: both rows have amax 127, so s = 1 and q = rint(w):
// only 0.5 rounds (to 0, half to even). ||dW|| = 0.5,
// ||W||^2 = 127^2 + 64^2 + 32^2 + 127^2 + 0.25 = 37378.25 -> 0.5 / 193.3346... = 2.58619e-3.
// CHECK-LABEL: func.func @i8
// CHECK: qc.linear {{.*}}layer = "l", qc.quant_error = 0.00258619{{[0-9]*}} : f64, qc.quantized}
// OFF-LABEL: func.func @i8
// OFF: qc.linear {{.*}}{layer = "l", qc.quantized}
func.func @i8(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[127.0, 64.0, 32.0, 0.0], [127.0, 0.5, 0.0, 0.0]]> : tensor<2x4xf32>
  %y = qc.linear %x, %w {layer = "l", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// f16: every value is exact in f16, so the error is exactly 0.
// CHECK-LABEL: func.func @f16
// CHECK: qc.linear {{.*}}qc.quant_error = 0.000000e+00 : f64
// OFF-LABEL: func.func @f16
// OFF-NOT: qc.quant_error
func.func @f16(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.125, -0.375, 0.0]]> : tensor<2x4xf32>
  %y = qc.linear %x, %w {layer = "h", scheme = #qc.scheme<weight = f16>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
