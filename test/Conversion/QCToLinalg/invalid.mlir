// RUN: quant-opt %s --convert-qc-to-linalg --split-input-file --verify-diagnostics

func.func @packed_from_argument(%x: tensor<?x64xf32>, %pw: !qc.packed<32x64xi8>) -> tensor<?x32xf32> {
  // expected-error @+1 {{'qc.wo_matmul' op weight must be produced by qc.packed_weight to be lowered on the host}}
  %y = qc.wo_matmul %x, %pw {layer = "a"} : tensor<?x64xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

func.func @int8_packed_from_argument(%q: tensor<?x64xi8>, %s: tensor<?xf32>, %pw: !qc.packed<32x64xi8>) -> tensor<?x32xf32> {
  // expected-error @+1 {{'qc.int8_matmul' op weight must be produced by qc.packed_weight}}
  %y = qc.int8_matmul %q, %s, %pw {layer = "a"} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

func.func @dequantize_from_argument(%pw: !qc.packed<32x64xi4>) -> tensor<32x64xf32> {
  // expected-error @+1 {{'qc.dequantize_weight' op weight must be produced by qc.packed_weight}}
  %w = qc.dequantize_weight %pw : !qc.packed<32x64xi4> -> tensor<32x64xf32>
  return %w : tensor<32x64xf32>
}

// -----

func.func @int4_odd_group(%x: tensor<?x6xf32>, %d: tensor<6xi8>, %s: tensor<2x2xf32>) -> tensor<?x2xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 3>} : tensor<6xi8>, tensor<2x2xf32> -> !qc.packed<2x6xi4>
  // expected-error @+1 {{'qc.wo_matmul' op cannot lower this packed weight on the host: int4 packing with an odd tile_k or group_size puts one byte across two tiles or groups}}
  %y = qc.wo_matmul %x, %pw {layer = "t"} : tensor<?x6xf32>, !qc.packed<2x6xi4> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

func.func @packed_escapes(%d: tensor<32x64xi8>, %s: tensor<32x1xf32>) -> !qc.packed<32x64xi8> {
  // expected-error @+1 {{'qc.packed_weight' op packed weight is still used after lowering}}
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<32x64xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  return %pw : !qc.packed<32x64xi8>
}
