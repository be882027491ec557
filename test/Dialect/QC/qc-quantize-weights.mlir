// RUN: quant-opt %s -split-input-file --qc-quantize-weights | FileCheck %s
// RUN: quant-opt %s -split-input-file --qc-quantize-weights --verify-roundtrip > /dev/null
// The arithmetic is checked bit-exactly by quantize-weights-rtn.py and
// quantize-weights-gptq.py; this file checks the IR the pass produces.

// Hand-computed: row 0 s = 2/127, row 1 s = 1.5/127; -63.5 rounds to even.
// CHECK-LABEL: func @w8_per_channel
// CHECK-DAG: %[[D:.*]] = arith.constant dense<{{\[\[}}32, -64, 16, 127], [127, 11, -32, 0]]> : tensor<2x4xi8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<{{\[\[}}0.0157480314], [0.0118110236]]> : tensor<2x1xf32>
// CHECK: %[[PW:.*]] = qc.packed_weight %[[D]], %[[S]] {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<2x4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi8>
// CHECK: %[[W:.*]] = qc.dequantize_weight %[[PW]] : !qc.packed<2x4xi8> -> tensor<2x4xf32>
// CHECK: qc.linear %{{.*}}, %[[W]] {layer = "l", qc.quantized} : (tensor<?x?x4xf32>, tensor<2x4xf32>) -> tensor<?x?x2xf32>
func.func @w8_per_channel(%x: tensor<?x?x4xf32>) -> tensor<?x?x2xf32> {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.125, -0.375, 0.0]]> : tensor<2x4xf32>
  %y = qc.linear %x, %w {layer = "l", scheme = #qc.scheme<weight = i8>} : (tensor<?x?x4xf32>, tensor<2x4xf32>) -> tensor<?x?x2xf32>
  return %y : tensor<?x?x2xf32>
}

// -----

// Asymmetric int4 groups of 2: unsigned integers and zero points.
// CHECK-LABEL: func @w4_group_asym
// CHECK: %[[PW:.*]] = qc.packed_weight %{{.*}}, %{{.*}}, %{{.*}} {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 2, symmetric = false>} : tensor<2x4xi8>, tensor<2x2xf32>, tensor<2x2xi8> -> !qc.packed<2x4xi4>
// CHECK: qc.dequantize_weight %[[PW]]
func.func @w4_group_asym(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.125, -0.375, 0.0]]> : tensor<2x4xf32>
  %y = qc.linear %x, %w {layer = "l", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 2, symmetric = false>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// W8A8 dynamic: activations quantized per token, leading dims stay dynamic.
// CHECK-LABEL: func @w8a8_dynamic
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x4xf16>
// CHECK: %[[W:.*]] = qc.dequantize_weight
// CHECK: %[[Q:.*]], %[[QS:.*]] = qc.quantize_act %[[X]] dynamic_per_token : tensor<?x?x4xf16> -> tensor<?x?x4xi8>, tensor<?x?xf32>
// CHECK: %[[DQ:.*]] = qc.dequantize_act %[[Q]], %[[QS]] : tensor<?x?x4xi8>, tensor<?x?xf32> -> tensor<?x?x4xf16>
// CHECK: qc.linear %[[DQ]], %[[W]] {layer = "l", qc.quantized}
func.func @w8a8_dynamic(%x: tensor<?x?x4xf16>) -> tensor<?x?x2xf16> {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.125, -0.375, 0.0]]> : tensor<2x4xf16>
  %y = qc.linear %x, %w {layer = "l", scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : (tensor<?x?x4xf16>, tensor<2x4xf16>) -> tensor<?x?x2xf16>
  return %y : tensor<?x?x2xf16>
}

// -----

// W8A8 static: the scale is qc.act_absmax / 127 (left by qc-smoothquant);
// the consumed attributes are removed.
// CHECK-LABEL: func @w8a8_static
// CHECK: qc.quantize_act %{{.*}} static_per_tensor scale 1.000000e-01 : tensor<?x4xf32> -> tensor<?x4xi8>, tensor<1xf32>
// CHECK: qc.linear
// CHECK-NOT: qc.act_absmax
// CHECK-NOT: qc.smooth_factors
// CHECK-SAME: qc.quantized
func.func @w8a8_static(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.125, -0.375, 0.0]]> : tensor<2x4xf32>
  %y = qc.linear %x, %w {layer = "l", qc.act_absmax = 12.7 : f64, qc.smooth_factors = dense<1.0> : tensor<4xf32>, scheme = #qc.scheme<weight = i8, granularity = per_tensor, act = static_per_tensor>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// f16 schemes cast the weight; layers without a scheme are untouched.
// CHECK-LABEL: func @f16_and_float
// CHECK-DAG: %[[W16:.*]] = arith.constant dense<{{.*}}> : tensor<2x4xf16>
// CHECK-DAG: %[[W32:.*]] = arith.constant dense<{{.*}}> : tensor<2x4xf32>
// CHECK: qc.linear %{{.*}}, %[[W16]] {layer = "h", scheme = #qc.scheme<weight = f16{{.*}}>} : (tensor<?x4xf32>, tensor<2x4xf16>)
// CHECK: qc.linear %{{.*}}, %[[W32]] {layer = "f"} : (tensor<?x4xf32>, tensor<2x4xf32>)
// CHECK-NOT: qc.packed_weight
func.func @f16_and_float(%x: tensor<?x4xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>) {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.125, -0.375, 0.0]]> : tensor<2x4xf32>
  %w2 = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.125, -0.375, 0.1]]> : tensor<2x4xf32>
  %y = qc.linear %x, %w {layer = "h", scheme = #qc.scheme<weight = f16, granularity = per_tensor>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  %z = qc.linear %x, %w2 {layer = "f"} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y, %z : tensor<?x2xf32>, tensor<?x2xf32>
}

// -----

// Weights from a file (relative to this IR file) and from a dense_resource
// blob (0, 64, 128, 192: s = 192/127) are read like dense constants.
// CHECK-LABEL: func @external_and_resource
// CHECK-NOT: qc.external_weight
// CHECK-DAG: arith.constant dense<{{\[\[}}32, -64, 16, 127], [127, 11, -32, 0]]> : tensor<2x4xi8>
// CHECK-DAG: arith.constant dense<{{\[\[}}0, 42], [85, 127]]> : tensor<2x2xi8>
func.func @external_and_resource(%x: tensor<?x4xf32>, %x2: tensor<?x2xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>) {
  %w = qc.external_weight "Inputs/ext_weight_2x4_f32.bin" offset 0 : tensor<2x4xf32>
  %y = qc.linear %x, %w {layer = "e", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  %r = arith.constant dense_resource<w0> : tensor<2x2xf32>
  %z = qc.linear %x2, %r {layer = "r", scheme = #qc.scheme<weight = i8, granularity = per_tensor>} : (tensor<?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  return %y, %z : tensor<?x2xf32>, tensor<?x2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      w0: "0x0400000000000000000080420000004300004043"
    }
  }
#-}

// -----

// External weights in 16-bit float types (what the importers write for f16
// and bf16 checkpoints: docs/formats.md) hold the same values as the f32
// file above (every value is exact in f16 and bf16), so they quantize to
// the same codes and scales, bit for bit.
// CHECK-LABEL: func @external_f16_bf16
// CHECK-NOT: qc.external_weight
// CHECK-DAG: %[[D16:.*]] = arith.constant dense<{{\[\[}}32, -64, 16, 127], [127, 11, -32, 0]]> : tensor<2x4xi8>
// CHECK-DAG: %[[S16:.*]] = arith.constant dense<{{\[\[}}0.0157480314], [0.0118110236]]> : tensor<2x1xf32>
// CHECK: qc.packed_weight %[[D16]], %[[S16]] {{.*}} -> !qc.packed<2x4xi8>
// CHECK: qc.dequantize_weight %{{.*}} : !qc.packed<2x4xi8> -> tensor<2x4xf16>
// CHECK: qc.linear %{{.*}}, %{{.*}} {layer = "h", qc.quantized} : (tensor<?x4xf32>, tensor<2x4xf16>) -> tensor<?x2xf32>
// CHECK: qc.dequantize_weight %{{.*}} : !qc.packed<2x4xi8> -> tensor<2x4xbf16>
// CHECK: qc.linear %{{.*}}, %{{.*}} {layer = "b", qc.quantized} : (tensor<?x4xf32>, tensor<2x4xbf16>) -> tensor<?x2xf32>
func.func @external_f16_bf16(%x: tensor<?x4xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>) {
  %h = qc.external_weight "Inputs/ext_weight_2x4_f16.bin" offset 0 : tensor<2x4xf16>
  %y = qc.linear %x, %h {layer = "h", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xf16>) -> tensor<?x2xf32>
  %b = qc.external_weight "Inputs/ext_weight_2x4_bf16.bin" offset 0 : tensor<2x4xbf16>
  %z = qc.linear %x, %b {layer = "b", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xbf16>) -> tensor<?x2xf32>
  return %y, %z : tensor<?x2xf32>, tensor<?x2xf32>
}

