// RUN: quant-opt %s -split-input-file -verify-diagnostics --qc-fuse-dequant

func.func @escapes(%x: tensor<?x4xf32>) -> (tensor<?x2xf32>, tensor<2x4xf32>) {
  %d = arith.constant dense<1> : tensor<2x4xi8>
  %s = arith.constant dense<0.5> : tensor<2x1xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<2x4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi8>
  // expected-error @+1 {{a float copy of a quantized weight survives: qc.dequantize_weight is still used by 'func.return'}}
  %w = qc.dequantize_weight %pw : !qc.packed<2x4xi8> -> tensor<2x4xf32>
  %y = qc.linear %x, %w {layer = "l"} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  // expected-note @+1 {{used here}}
  return %y, %w : tensor<?x2xf32>, tensor<2x4xf32>
}
