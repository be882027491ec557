// RUN: quant-opt %s -split-input-file --qc-fuse-dequant | FileCheck %s

// CHECK-LABEL: func @weight_only
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x4xf32>, %[[B:.*]]: tensor<2xf32>)
// CHECK: %[[PW:.*]] = qc.packed_weight
// CHECK-NOT: qc.dequantize_weight
// CHECK: %[[Y:.*]] = qc.wo_matmul %[[X]], %[[PW]], %[[B]] {layer = "up", qc.batch_threshold = 64 : i64} : tensor<?x?x4xf32>, !qc.packed<2x4xi8>, tensor<2xf32> -> tensor<?x?x2xf32>
// CHECK: return %[[Y]]
func.func @weight_only(%x: tensor<?x?x4xf32>, %b: tensor<2xf32>) -> tensor<?x?x2xf32> {
  %d = arith.constant dense<1> : tensor<2x4xi8>
  %s = arith.constant dense<0.5> : tensor<2x1xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<2x4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi8>
  %w = qc.dequantize_weight %pw : !qc.packed<2x4xi8> -> tensor<2x4xf32>
  %y = qc.linear %x, %w, %b {layer = "up", qc.quantized, qc.batch_threshold = 64 : i64} : (tensor<?x?x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<?x?x2xf32>
  return %y : tensor<?x?x2xf32>
}

// -----

// CHECK-LABEL: func @w8a8
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf16>)
// CHECK: %[[PW:.*]] = qc.packed_weight
// CHECK: %[[Q:.*]], %[[S:.*]] = qc.quantize_act %[[X]] dynamic_per_token
// CHECK-NOT: qc.dequantize_act
// CHECK: qc.int8_matmul %[[Q]], %[[S]], %[[PW]] {layer = "o"} : tensor<?x4xi8>, tensor<?xf32>, !qc.packed<2x4xi8> -> tensor<?x2xf16>
func.func @w8a8(%x: tensor<?x4xf16>) -> tensor<?x2xf16> {
  %d = arith.constant dense<1> : tensor<2x4xi8>
  %s = arith.constant dense<0.5> : tensor<2x1xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<2x4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi8>
  %w = qc.dequantize_weight %pw : !qc.packed<2x4xi8> -> tensor<2x4xf16>
  %q, %qs = qc.quantize_act %x dynamic_per_token : tensor<?x4xf16> -> tensor<?x4xi8>, tensor<?xf32>
  %xd = qc.dequantize_act %q, %qs : tensor<?x4xi8>, tensor<?xf32> -> tensor<?x4xf16>
  %y = qc.linear %xd, %w {layer = "o", qc.quantized} : (tensor<?x4xf16>, tensor<2x4xf16>) -> tensor<?x2xf16>
  return %y : tensor<?x2xf16>
}

// -----

// Quantized activations with an int4 weight cannot use the INT8 matmul:
// weight-only matmul on the dequantized activations.
// CHECK-LABEL: func @int4_with_int8_act
// CHECK: %[[XD:.*]] = qc.dequantize_act
// CHECK: qc.wo_matmul %[[XD]], %{{.*}} {layer = "l"}
func.func @int4_with_int8_act(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %d = arith.constant dense<1> : tensor<2x4xi8>
  %s = arith.constant dense<0.5> : tensor<2x1xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4>} : tensor<2x4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi4>
  %w = qc.dequantize_weight %pw : !qc.packed<2x4xi4> -> tensor<2x4xf32>
  %q, %qs = qc.quantize_act %x dynamic_per_token : tensor<?x4xf32> -> tensor<?x4xi8>, tensor<?xf32>
  %xd = qc.dequantize_act %q, %qs : tensor<?x4xi8>, tensor<?xf32> -> tensor<?x4xf32>
  %y = qc.linear %xd, %w {layer = "l"} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Float layers stay linear.
// CHECK-LABEL: func @float
// CHECK: qc.linear
func.func @float(%x: tensor<?x4xf32>, %w: tensor<2x4xf32>) -> tensor<?x2xf32> {
  %y = qc.linear %x, %w {layer = "f"} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
