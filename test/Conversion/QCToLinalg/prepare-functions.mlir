// RUN: quant-opt %s --qc-host-prepare-functions | FileCheck %s

// CHECK-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[$B:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[$C:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>

// Public definitions: C interface and read-only tensor arguments; an
// expand_shape with two dynamic sizes in one group becomes tensor.reshape.
// CHECK-LABEL: func @expand
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32> {bufferization.writable = false}, %[[N:.*]]: index, %[[B:.*]]: index)
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK: %[[C64:.*]] = arith.constant 64 : index
// CHECK: %[[SHAPE:.*]] = tensor.from_elements %[[B]], %[[N]], %[[C64]] : tensor<3xindex>
// CHECK: tensor.reshape %[[X]](%[[SHAPE]]) : (tensor<?x64xf32>, tensor<3xindex>) -> tensor<?x?x64xf32>
func.func @expand(%x: tensor<?x64xf32>, %n: index, %b: index) -> tensor<?x?x64xf32> {
  %y = tensor.expand_shape %x [[0, 1], [2]] output_shape [%b, %n, 64] : tensor<?x64xf32> into tensor<?x?x64xf32>
  return %y : tensor<?x?x64xf32>
}

// One dynamic size per group: the expand_shape stays.
// CHECK-LABEL: func @expand_one_dynamic
// CHECK: tensor.expand_shape
func.func @expand_one_dynamic(%x: tensor<?x64xf32>, %n: index) -> tensor<?x4x16xf32> {
  %y = tensor.expand_shape %x [[0], [1, 2]] output_shape [%n, 4, 16] : tensor<?x64xf32> into tensor<?x4x16xf32>
  return %y : tensor<?x4x16xf32>
}

// The q / k columns of a fused projection split into [B, T, H, D]: the row
// split moves onto the whole (contiguous) matmul result and the column
// window stays a strided slice, so no slice is copied.
// CHECK-LABEL: func @expand_column_slice
// CHECK-SAME: (%[[X:.*]]: tensor<?x960xf32> {{.*}}, %[[B:.*]]: index, %[[T:.*]]: index)
// CHECK: %[[SHAPE:.*]] = tensor.from_elements %[[B]], %[[T]], %{{.*}} : tensor<3xindex>
// CHECK: %[[FULL:.*]] = tensor.reshape %[[X]](%[[SHAPE]]) : (tensor<?x960xf32>, tensor<3xindex>) -> tensor<?x?x960xf32>
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[FULL]][0, 0, 0] [%[[B]], %[[T]], 576] [1, 1, 1] : tensor<?x?x960xf32> to tensor<?x?x576xf32>
// CHECK: tensor.expand_shape %[[Q]] {{\[\[}}0], [1], [2, 3]] output_shape [%[[B]], %[[T]], 9, 64] : tensor<?x?x576xf32> into tensor<?x?x9x64xf32>
// CHECK: %[[FULL2:.*]] = tensor.reshape %[[X]]
// CHECK: %[[K:.*]] = tensor.extract_slice %[[FULL2]][0, 0, 576] [%[[B]], %[[T]], 192] [1, 1, 1] : tensor<?x?x960xf32> to tensor<?x?x192xf32>
// CHECK: tensor.expand_shape %[[K]] {{\[\[}}0], [1], [2, 3]] output_shape [%[[B]], %[[T]], 3, 64]
// A slice that does not keep every row is reshaped as before (copied).
// CHECK: %[[ROWS:.*]] = tensor.extract_slice %[[X]][1, 0] [%{{.*}}, 192] [1, 1]
// CHECK: tensor.reshape %[[ROWS]]
func.func @expand_column_slice(%x: tensor<?x960xf32>, %b: index, %t: index)
    -> (tensor<?x?x9x64xf32>, tensor<?x?x3x64xf32>, tensor<?x?x3x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = tensor.dim %x, %c0 : tensor<?x960xf32>
  %q = tensor.extract_slice %x[0, 0] [%m, 576] [1, 1] : tensor<?x960xf32> to tensor<?x576xf32>
  %k = tensor.extract_slice %x[0, 576] [%m, 192] [1, 1] : tensor<?x960xf32> to tensor<?x192xf32>
  %q4 = tensor.expand_shape %q [[0, 1], [2, 3]] output_shape [%b, %t, 9, 64] : tensor<?x576xf32> into tensor<?x?x9x64xf32>
  %k4 = tensor.expand_shape %k [[0, 1], [2, 3]] output_shape [%b, %t, 3, 64] : tensor<?x192xf32> into tensor<?x?x3x64xf32>
  %m1 = arith.subi %m, %c1 : index
  %r = tensor.extract_slice %x[1, 0] [%m1, 192] [1, 1] : tensor<?x960xf32> to tensor<?x192xf32>
  %r4 = tensor.expand_shape %r [[0, 1], [2, 3]] output_shape [%b, %t, 3, 64] : tensor<?x192xf32> into tensor<?x?x3x64xf32>
  return %q4, %k4, %r4 : tensor<?x?x9x64xf32>, tensor<?x?x3x64xf32>, tensor<?x?x3x64xf32>
}

// Private functions are left alone.
// CHECK-LABEL: func private @helper
// CHECK-SAME: (%{{.*}}: tensor<4xf32>) -> tensor<4xf32> {
func.func private @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// linalg.softmax is decomposed into generics (max, exp, sum, divide).
// CHECK-LABEL: func @softmax
// CHECK-NOT: linalg.softmax
// CHECK: arith.maxnumf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf
func.func @softmax(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %d = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%d) : tensor<?x8xf32>
  %p = linalg.softmax dimension(1) ins(%x : tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
  return %p : tensor<?x8xf32>
}

// batch_matmul: generalized with the reduction loop before the column loop.
// CHECK-LABEL: func @bmm
// CHECK: linalg.generic {indexing_maps = [#[[$A]], #[[$B]], #[[$C]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK:   arith.mulf
// CHECK:   arith.addf
func.func @bmm(%a: tensor<4x?x16xf32>, %b: tensor<4x16x?xf32>, %c: tensor<4x?x?xf32>) -> tensor<4x?x?xf32> {
  %r = linalg.batch_matmul ins(%a, %b : tensor<4x?x16xf32>, tensor<4x16x?xf32>) outs(%c : tensor<4x?x?xf32>) -> tensor<4x?x?xf32>
  return %r : tensor<4x?x?xf32>
}
