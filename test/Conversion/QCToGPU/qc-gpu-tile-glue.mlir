// RUN: quant-opt %s --qc-gpu-tile-glue --split-input-file | FileCheck %s
// RUN: quant-opt %s --qc-gpu-tile-glue=block-size=64 --split-input-file | FileCheck %s --check-prefix=B64

// Rows x 576 columns (dynamic rows): the innermost dimension takes the
// whole block (256 threads), the rows 1; the inner loop has constant
// bounds and a guard for the last partial tile. The sequential reduction
// loop inside stays in the thread.

// CHECK-LABEL: func.func @rows
// CHECK-SAME: (%[[M:.*]]: index,
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C576:.*]] = arith.constant 576 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK: scf.parallel (%{{.*}}, %[[J:.*]]) = ({{.*}}) to (%[[M]], %[[C576]]) step (%[[C1]], %[[C256]]) {
// CHECK-NEXT: scf.parallel (%{{.*}}, %[[JJ:.*]]) = ({{.*}}) to (%[[C1]], %[[C256]]) step (%[[C1]], %[[C1]]) {
// CHECK: arith.cmpi ult, %{{.*}}, %[[C576]] : index
// CHECK: scf.if
// CHECK-NEXT: scf.for
// B64-LABEL: func.func @rows
// B64: arith.constant 64 : index
// B64-NOT: arith.constant 256 : index
func.func @rows(%m: index, %a: memref<?x576xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c576 = arith.constant 576 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %c576) step (%c1, %c1) {
    scf.for %k = %c0 to %c8 step %c1 {
      %v = memref.load %a[%i, %j] : memref<?x576xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %a[%i, %j] : memref<?x576xf32>
    }
  }
  return
}

// -----

// Static 3 x 64 (heads x head dim): 64 threads for the inner dimension,
// the next power of two covering 3 (4) for the outer: 256 threads.

// CHECK-LABEL: func.func @heads
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK: scf.parallel {{.*}} step (%[[C4]], %[[C64]]) {
// CHECK-NEXT: scf.parallel {{.*}} to (%[[C4]], %[[C64]])
// B64-LABEL: func.func @heads
// B64-NOT: arith.constant 4 : index
// B64: scf.parallel {{.*}} step (%[[ONE:.*]], %[[C64:.*]]) {
// B64-NEXT: scf.parallel {{.*}} to (%[[ONE]], %[[C64]])
func.func @heads(%a: memref<3x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c3, %c64) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<3x64xf32>
    memref.store %v, %a[%i, %j] : memref<3x64xf32>
  }
  return
}

// -----

// A one-iteration loop (qc-gpu-serial-glue's) is not tiled; neither is a
// loop whose threads are already decided by a nested scf.parallel.

// CHECK-LABEL: func.func @untouched
// CHECK-COUNT-3: scf.parallel
// CHECK-NOT: scf.parallel
func.func @untouched(%a: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    scf.parallel (%j) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %a[%j] : memref<64xf32>
      memref.store %v, %a[%j] : memref<64xf32>
    }
  }
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    %v = memref.load %a[%c0] : memref<64xf32>
    memref.store %v, %a[%c1] : memref<64xf32>
  }
  return
}

// -----

// Rank 4: gpu-map-parallel-loops maps only dimensions 0-2 (x, y, z) and
// would run a fourth sequentially in every thread, so the two leading
// dimensions are combined first (n0 * n1, recovered with div/rem); then
// z has at most 64 threads: tile 1 x 4 x 64.

// CHECK-LABEL: func.func @rank4
// CHECK-SAME: (%[[A:.*]]: memref<?x?x?x?xf32>, %[[N0:.*]]: index, %[[N1:.*]]: index, %[[N2:.*]]: index, %[[N3:.*]]: index)
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK: %[[N01:.*]] = arith.muli %[[N0]], %[[N1]] : index
// CHECK: scf.parallel {{.*}} to (%[[N01]], %[[N2]], %[[N3]]) step (%[[C1]], %[[C4]], %[[C64]]) {
// CHECK-NEXT: scf.parallel {{.*}} to (%[[C1]], %[[C4]], %[[C64]])
// CHECK: %[[I1:.*]] = arith.remsi %{{.*}}, %[[N1]] : index
// CHECK: %[[I0:.*]] = arith.divsi %{{.*}}, %[[N1]] : index
// CHECK: memref.load %[[A]][%[[I0]], %[[I1]], %{{.*}}, %{{.*}}]
func.func @rank4(%a: memref<?x?x?x?xf32>, %n0: index, %n1: index, %n2: index, %n3: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i, %j, %k, %l) = (%c0, %c0, %c0, %c0) to (%n0, %n1, %n2, %n3) step (%c1, %c1, %c1, %c1) {
    %v = memref.load %a[%i, %j, %k, %l] : memref<?x?x?x?xf32>
    memref.store %v, %a[%i, %j, %k, %l] : memref<?x?x?x?xf32>
  }
  return
}
