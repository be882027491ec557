// RUN: quant-opt %s --convert-qc-to-linalg | FileCheck %s

// CHECK-DAG: #[[$CONST:.*]] = affine_map<(d0, d1) -> (0)>

// Dynamic per-token: row max|x| (reduction), s = amax / 127 or 1 for a zero
// row, q = clamp(roundeven(x / s), -127, 127); both results reshaped to the
// input's leading dims.
// CHECK-LABEL: func @quantize_dynamic
// CHECK-SAME: %[[X:.*]]: tensor<?x?x64xf16>
// CHECK: %[[XC:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]]
// CHECK: %[[AMAX:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} ins(%[[XC]] : tensor<?x64xf16>)
// CHECK:   math.absf
// CHECK:   arith.maximumf
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%[[AMAX]] : tensor<?xf32>)
// CHECK:   %[[DIV:.*]] = arith.divf %{{.*}}, %cst{{.*}} : f32
// CHECK:   %[[ZERO:.*]] = arith.cmpf oeq
// CHECK:   arith.select %[[ZERO]], %{{.*}}, %[[DIV]] : f32
// CHECK: %[[Q:.*]] = linalg.generic {{.*}} ins(%[[XC]], %[[S]] : tensor<?x64xf16>, tensor<?xf32>)
// CHECK:   arith.divf
// CHECK:   math.roundeven
// CHECK:   arith.minimumf
// CHECK:   arith.maximumf
// CHECK:   arith.fptosi {{.*}} : f32 to i8
// CHECK: %[[SR:.*]] = tensor.reshape %[[S]]
// CHECK: %[[QR:.*]] = tensor.reshape %[[Q]]
// CHECK: return %[[QR]], %[[SR]]
func.func @quantize_dynamic(%x: tensor<?x?x64xf16>) -> (tensor<?x?x64xi8>, tensor<?x?xf32>) {
  %q, %s = qc.quantize_act %x dynamic_per_token : tensor<?x?x64xf16> -> tensor<?x?x64xi8>, tensor<?x?xf32>
  return %q, %s : tensor<?x?x64xi8>, tensor<?x?xf32>
}

// CHECK-LABEL: func @quantize_static
// CHECK: %[[SC:.*]] = arith.constant 2.500000e-01 : f32
// CHECK: %[[Q:.*]] = linalg.generic
// CHECK:   arith.divf %{{.*}}, %[[SC]]
// CHECK:   math.roundeven
// CHECK: %[[S:.*]] = linalg.fill ins(%[[SC]] : f32) outs(%{{.*}} : tensor<1xf32>)
// CHECK: return %[[Q]], %[[S]]
func.func @quantize_static(%x: tensor<?x64xf32>) -> (tensor<?x64xi8>, tensor<1xf32>) {
  %q, %s = qc.quantize_act %x static_per_tensor scale 0.25 : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<1xf32>
  return %q, %s : tensor<?x64xi8>, tensor<1xf32>
}

// CHECK-LABEL: func @dequantize
// CHECK-SAME: %[[Q:.*]]: tensor<?x64xi8>, %[[S:.*]]: tensor<?xf32>
// CHECK: linalg.generic {{.*}} ins(%[[Q]], %[[S]] : tensor<?x64xi8>, tensor<?xf32>)
// CHECK:   arith.sitofp {{.*}} : i8 to f32
// CHECK:   arith.mulf
// CHECK:   arith.truncf {{.*}} : f32 to f16
func.func @dequantize(%q: tensor<?x64xi8>, %s: tensor<?xf32>) -> tensor<?x64xf16> {
  %y = qc.dequantize_act %q, %s : tensor<?x64xi8>, tensor<?xf32> -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}

// A [1] scale vector is per tensor: indexed with a constant map.
// CHECK-LABEL: func @dequantize_per_tensor
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[$CONST]], #{{.*}}]
func.func @dequantize_per_tensor(%q: tensor<?x64xi8>, %s: tensor<1xf32>) -> tensor<?x64xf32> {
  %y = qc.dequantize_act %q, %s : tensor<?x64xi8>, tensor<1xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// CHECK-LABEL: func @smooth
// CHECK-SAME: %[[X:.*]]: tensor<?x64xf32>, %[[S:.*]]: tensor<64xf32>
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[S]] : tensor<?x64xf32>, tensor<64xf32>)
// CHECK:   arith.divf
func.func @smooth(%x: tensor<?x64xf32>, %s: tensor<64xf32>) -> tensor<?x64xf32> {
  %y = qc.smooth %x, %s : tensor<?x64xf32>, tensor<64xf32>
  return %y : tensor<?x64xf32>
}
