// RUN: quant-opt %s --qc-expand-dynamic-reshapes --split-input-file | FileCheck %s --enable-var-scope
// RUN: quant-opt %s --qc-expand-dynamic-reshapes --expand-strided-metadata --split-input-file -o /dev/null

// Splitting one dimension into two dynamic ones (the tokens of B sequences
// of T tokens) becomes a reinterpret_cast with row-major strides, which
// expand-strided-metadata takes (it crashes on the expand_shape itself).

// CHECK-LABEL: func.func @tokens
// CHECK-SAME: (%[[M:.*]]: memref<?x576xf32>, %[[B:.*]]: index, %[[T:.*]]: index)
// CHECK: %[[S:.*]] = arith.muli %[[T]], %{{.*}} : index
// CHECK: %[[R:.*]] = memref.reinterpret_cast %[[M]] to offset: [0], sizes: [%[[B]], %[[T]], 576], strides: [%[[S]], 576, 1]
// CHECK-NOT: memref.expand_shape
// CHECK: return %[[R]]
func.func @tokens(%m: memref<?x576xf32>, %b: index, %t: index) -> memref<?x?x576xf32> {
  %e = memref.expand_shape %m [[0, 1], [2]] output_shape [%b, %t, 576] : memref<?x576xf32> into memref<?x?x576xf32>
  return %e : memref<?x?x576xf32>
}

// -----

// Heads too: [B * T, H * D] -> [B, T, H, D].

// CHECK-LABEL: func.func @heads
// CHECK: memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [%{{.*}}, %{{.*}}, 9, 64], strides: [%{{.*}}, 576, 64, 1]
func.func @heads(%m: memref<?x576xf32>, %b: index, %t: index) -> memref<?x?x9x64xf32> {
  %e = memref.expand_shape %m [[0, 1], [2, 3]] output_shape [%b, %t, 9, 64] : memref<?x576xf32> into memref<?x?x9x64xf32>
  return %e : memref<?x?x9x64xf32>
}

// -----

// One dynamic size per group: left to expand-strided-metadata.

// CHECK-LABEL: func.func @single
// CHECK: memref.expand_shape
func.func @single(%m: memref<?x576xf32>, %b: index) -> memref<?x9x64xf32> {
  %e = memref.expand_shape %m [[0], [1, 2]] output_shape [%b, 9, 64] : memref<?x576xf32> into memref<?x9x64xf32>
  return %e : memref<?x9x64xf32>
}
