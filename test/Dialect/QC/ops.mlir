// RUN: quant-opt %s | quant-opt | FileCheck %s
// RUN: quant-opt %s --mlir-print-op-generic | quant-opt | FileCheck %s
// RUN: quant-opt %s --verify-roundtrip | FileCheck %s

// CHECK-LABEL: func @linear_variants
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf32>, %[[W:.*]]: tensor<32x64xf32>, %[[B:.*]]: tensor<32xf32>)
func.func @linear_variants(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>) -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
  // CHECK: qc.linear %[[X]], %[[W]] {layer = "plain"} : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  %0 = qc.linear %x, %w {layer = "plain"} : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  // CHECK: qc.linear %[[X]], %[[W]], %[[B]] {layer = "q", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false>}
  %1 = qc.linear %x, %w, %b {layer = "q", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false>} : (tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  return %0, %1 : tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// CHECK-LABEL: func @schemes
func.func @schemes(%x: tensor<4x64xf16>, %w: tensor<32x64xf16>) {
  // CHECK: #qc.scheme<weight = i8>
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = i8>} : (tensor<4x64xf16>, tensor<32x64xf16>) -> tensor<4x32xf16>
  // CHECK: #qc.scheme<weight = i8, granularity = per_tensor, act = static_per_tensor>
  %1 = qc.linear %x, %w {layer = "b", scheme = #qc.scheme<weight = i8, granularity = per_tensor, act = static_per_tensor>} : (tensor<4x64xf16>, tensor<32x64xf16>) -> tensor<4x32xf16>
  // CHECK: #qc.scheme<weight = i8, act = dynamic_per_token, alpha = 8.000000e-01 : f32>
  %2 = qc.linear %x, %w {layer = "c", scheme = #qc.scheme<weight = i8, act = dynamic_per_token, alpha = 0.8 : f32>} : (tensor<4x64xf16>, tensor<32x64xf16>) -> tensor<4x32xf16>
  // CHECK: #qc.scheme<weight = f16, granularity = per_tensor>
  %3 = qc.linear %x, %w {layer = "d", scheme = #qc.scheme<weight = f16, granularity = per_tensor>} : (tensor<4x64xf16>, tensor<32x64xf16>) -> tensor<4x32xf16>
  // CHECK: #qc.scheme<weight = f8E4M3FN, granularity = per_tensor>
  %4 = qc.linear %x, %w {layer = "e", scheme = #qc.scheme<weight = f8E4M3FN, granularity = per_tensor>} : (tensor<4x64xf16>, tensor<32x64xf16>) -> tensor<4x32xf16>
  return
}

// CHECK-LABEL: func @norms
func.func @norms(%x: tensor<?x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK: qc.rms_norm %{{.*}}, %{{.*}} {epsilon = {{.*}} : f64} : tensor<?x64xf32>, tensor<64xf32>
  %0 = qc.rms_norm %x, %g {epsilon = 1.0e-6 : f64} : tensor<?x64xf32>, tensor<64xf32>
  // CHECK: qc.layer_norm %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>
  %1 = qc.layer_norm %x, %g, %b : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %0, %1 : tensor<?x64xf32>, tensor<?x64xf32>
}

// CHECK-LABEL: func @external
func.func @external() -> tensor<32x64xf16> {
  // CHECK: qc.external_weight "weights.bin" offset 4096 : tensor<32x64xf16>
  %w = qc.external_weight "weights.bin" offset 4096 : tensor<32x64xf16>
  return %w : tensor<32x64xf16>
}

// CHECK-LABEL: func @resource_weight
func.func @resource_weight(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  // CHECK: arith.constant dense_resource<w0> : tensor<2x2xf32>
  %w = arith.constant dense_resource<w0> : tensor<2x2xf32>
  %y = qc.linear %x, %w {layer = "r"} : (tensor<?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// CHECK-LABEL: func @activations
func.func @activations(%x: tensor<?x64xf32>, %s: tensor<64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK: %[[SM:.*]] = qc.smooth %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64xf32>
  %sm = qc.smooth %x, %s : tensor<?x64xf32>, tensor<64xf32>
  // CHECK: %[[Q:.*]], %[[S:.*]] = qc.quantize_act %[[SM]] dynamic_per_token : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<?xf32>
  %q, %qs = qc.quantize_act %sm dynamic_per_token : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<?xf32>
  // CHECK: qc.dequantize_act %[[Q]], %[[S]] : tensor<?x64xi8>, tensor<?xf32> -> tensor<?x64xf32>
  %d = qc.dequantize_act %q, %qs : tensor<?x64xi8>, tensor<?xf32> -> tensor<?x64xf32>
  // CHECK: qc.quantize_act %{{.*}} static_per_tensor scale 2.500000e-01 : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<1xf32>
  %q2, %s2 = qc.quantize_act %x static_per_tensor scale 0.25 : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<1xf32>
  %d2 = qc.dequantize_act %q2, %s2 : tensor<?x64xi8>, tensor<1xf32> -> tensor<?x64xf32>
  return %d, %d2 : tensor<?x64xf32>, tensor<?x64xf32>
}

// CHECK-LABEL: func @weights
func.func @weights(%x: tensor<?x64xf32>, %d4: tensor<1024xi8>, %s4: tensor<32x2xf32>, %z4: tensor<32x2xi8>,
                   %d8: tensor<32x64xi8>, %s8: tensor<32x1xf32>, %dt: tensor<2048xi8>, %st: tensor<1x1xf16>) -> tensor<?x32xf32> {
  // CHECK: %[[PW:.*]] = qc.packed_weight %{{.*}}, %{{.*}}, %{{.*}} {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false>} : tensor<1024xi8>, tensor<32x2xf32>, tensor<32x2xi8> -> !qc.packed<32x64xi4>
  %pw = qc.packed_weight %d4, %s4, %z4 {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false>} : tensor<1024xi8>, tensor<32x2xf32>, tensor<32x2xi8> -> !qc.packed<32x64xi4>
  // CHECK: qc.dequantize_weight %[[PW]] : !qc.packed<32x64xi4> -> tensor<32x64xf32>
  %w = qc.dequantize_weight %pw : !qc.packed<32x64xi4> -> tensor<32x64xf32>
  // CHECK: qc.packed_weight {{.*}}layout = #qc.layout<unpacked>{{.*}} -> !qc.packed<32x64xi8>
  %pw8 = qc.packed_weight %d8, %s8 {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<32x64xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  // CHECK: qc.packed_weight {{.*}}layout = #qc.layout<tiled, tile_n = 16, tile_k = 64>{{.*}} -> !qc.packed<32x64xi8>
  %pwt = qc.packed_weight %dt, %st {layout = #qc.layout<tiled, tile_n = 16, tile_k = 64>, scheme = #qc.scheme<weight = i8, granularity = per_tensor>} : tensor<2048xi8>, tensor<1x1xf16> -> !qc.packed<32x64xi8>
  // CHECK: qc.wo_matmul %{{.*}}, %[[PW]] {kernel = #qc.kernel<gemv, target = "sm_90">, layer = "up"} : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  %y = qc.wo_matmul %x, %pw {layer = "up", kernel = #qc.kernel<gemv, target = "sm_90">} : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  // CHECK: qc.wo_matmul {{.*}}kernel = #qc.kernel<adaptive, target = "sm_80", threshold = 64>
  %y2 = qc.wo_matmul %x, %pw8 {layer = "ad", kernel = #qc.kernel<adaptive, target = "sm_80", threshold = 64>} : tensor<?x64xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  // CHECK: qc.wo_matmul {{.*}}kernel = #qc.kernel<host>
  %y3 = qc.wo_matmul %x, %pwt {layer = "t", kernel = #qc.kernel<host>} : tensor<?x64xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// CHECK-LABEL: func @int8_matmul
func.func @int8_matmul(%q: tensor<?x64xi8>, %s: tensor<?xf32>, %d8: tensor<32x64xi8>, %s8: tensor<32x1xf32>, %b: tensor<32xf16>) -> tensor<?x32xf16> {
  %pw8 = qc.packed_weight %d8, %s8 {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<32x64xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  // CHECK: qc.int8_matmul %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {kernel = #qc.kernel<int8_mma, target = "sm_90">, layer = "o"} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8>, tensor<32xf16> -> tensor<?x32xf16>
  %y = qc.int8_matmul %q, %s, %pw8, %b {layer = "o", kernel = #qc.kernel<int8_mma, target = "sm_90">} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8>, tensor<32xf16> -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// CHECK-LABEL: func @observe
func.func @observe(%x: tensor<?x?x64xf32>) {
  // CHECK: qc.observe %{{.*}} {hessian, layer = "q", percentile = 9.990000e+01 : f64} : tensor<?x?x64xf32>
  qc.observe %x {layer = "q", percentile = 99.9 : f64, hessian} : tensor<?x?x64xf32>
  return
}

{-#
  dialect_resources: {
    builtin: {
      w0: "0x040000000000803F000000000000000000000040"
    }
  }
#-}
