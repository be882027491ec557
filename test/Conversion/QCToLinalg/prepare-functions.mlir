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
