// RUN: quant-opt %s --qc-gpu-lower-float-linear --split-input-file | FileCheck %s

// An unquantized linear (f32, no bias) on a rank-3 input: rows collapsed,
// an f32 accumulator filled with 0, one generic (m, n parallel; k reduction)
// with x indexed (m, k) and w (n, k), the result reshaped back.

// CHECK-DAG: #[[$X:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$W:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[$Y:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @head
// CHECK-SAME: (%[[IN:.*]]: tensor<?x?x64xf32>, %[[WT:.*]]: tensor<32x64xf32>)
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[ROWS:.*]] = tensor.collapse_shape %[[IN]] {{\[\[}}0, 1], [2]]
// CHECK: %[[ACC:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK: %[[MM:.*]] = linalg.generic {indexing_maps = [#[[$X]], #[[$W]], #[[$Y]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[ROWS]], %[[WT]] : tensor<?x64xf32>, tensor<32x64xf32>) outs(%[[ACC]] : tensor<?x32xf32>)
// CHECK: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[C:.*]]: f32):
// CHECK: %[[P:.*]] = arith.mulf %[[A]], %[[B]] : f32
// CHECK: %[[S:.*]] = arith.addf %[[C]], %[[P]] : f32
// CHECK: linalg.yield %[[S]] : f32
// CHECK-NOT: linalg.generic
// CHECK: %[[R:.*]] = tensor.reshape %[[MM]]
// CHECK: return %[[R]]
// CHECK-NOT: qc.linear
func.func @head(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>) -> tensor<?x?x32xf32> {
  %y = qc.linear %x, %w {layer = "output"} : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}

// -----

// f16 with a bias: products accumulated in f32, then a second generic adds
// the bias (indexed by the column) and truncates to f16.

// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$COL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @bias_f16
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: %[[OUT:.*]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$COL]], #[[$ID]]], iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<8xf16>) outs(%{{.*}} : tensor<?x8xf16>)
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: arith.addf
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: return %[[OUT]] : tensor<?x8xf16>
func.func @bias_f16(%x: tensor<?x16xf16>, %w: tensor<8x16xf16>, %b: tensor<8xf16>) -> tensor<?x8xf16> {
  %y = qc.linear %x, %w, %b {layer = "proj"} : (tensor<?x16xf16>, tensor<8x16xf16>, tensor<8xf16>) -> tensor<?x8xf16>
  return %y : tensor<?x8xf16>
}
