// RUN: quant-opt %s --qc-host-lower-strided-copies | FileCheck %s

// CHECK-LABEL: func @strided
// CHECK-SAME: (%[[A:.*]]: memref<?x32xf32>, %[[B:.*]]: memref<?x32xf32, strided<[64, 1], offset: 32>>)
// CHECK: linalg.copy ins(%[[A]] : memref<?x32xf32>) outs(%[[B]] : memref<?x32xf32, strided<[64, 1], offset: 32>>)
// CHECK-NOT: memref.copy
func.func @strided(%a: memref<?x32xf32>, %b: memref<?x32xf32, strided<[64, 1], offset: 32>>) {
  memref.copy %a, %b : memref<?x32xf32> to memref<?x32xf32, strided<[64, 1], offset: 32>>
  return
}

// Contiguous copies stay memref.copy (a memcpy).
// CHECK-LABEL: func @contiguous
// CHECK: memref.copy
func.func @contiguous(%a: memref<?x32xf32>, %b: memref<?x32xf32>) {
  memref.copy %a, %b : memref<?x32xf32> to memref<?x32xf32>
  return
}
