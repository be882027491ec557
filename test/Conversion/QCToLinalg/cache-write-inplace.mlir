// RUN: quant-opt %s --qc-host-prepare-functions --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --qc-drop-inplace-results | FileCheck %s --check-prefix=BUF
// RUN: quant-opt %s --qc-host-prepare-functions --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --qc-drop-inplace-results --qc-lower-cache-writes | FileCheck %s --check-prefix=LOOP
// RUN: quant-opt %s --qc-host-prepare-functions | FileCheck %s --check-prefix=PREP

// The in-place ABI: the caches are the inits of the returned qc.cache_write
// chains, so they stay writable (qc.inplace) while every other tensor
// argument is read-only; one-shot bufferization writes the cache buffers in
// place (no alloc, no copy) and qc-drop-inplace-results drops the
// equivalent results, recording them in the module attribute.

// PREP-LABEL: func @step
// PREP-SAME: %{{.*}}: tensor<?x?x2x8xf32> {bufferization.writable = false}
// PREP-SAME: %{{.*}}: tensor<2x?x2x16x8xf32> {qc.inplace}
// PREP-SAME: %{{.*}}: tensor<?xi64> {bufferization.writable = false}

// BUF: module attributes {qc.inplace = {step = {args = array<i64: 1>, results = array<i64: 0>}, two_layers = {args = array<i64: 2>, results = array<i64: 1>}}}
// BUF-LABEL: func @step
// BUF-SAME: (%[[R:.*]]: memref<?x?x2x8xf32>, %[[C:.*]]: memref<2x?x2x16x8xf32>, %[[P:.*]]: memref<?xi64>) -> memref<?x?x2x8xf32>
// BUF-NOT: memref.alloc
// BUF-NOT: memref.copy
// BUF: qc.cache_write %[[R]] into %[[C]] at %[[P]] {layer = 1 : i64} : memref<?x?x2x8xf32>, memref<?xi64> -> memref<2x?x2x16x8xf32>
// BUF-NOT: memref.alloc
// BUF-NOT: memref.copy
// BUF: return %[[R]] : memref<?x?x2x8xf32>

// LOOP-LABEL: func @step
// LOOP-SAME: (%[[R:.*]]: memref<?x?x2x8xf32>, %[[C:.*]]: memref<2x?x2x16x8xf32>, %[[P:.*]]: memref<?xi64>)
// LOOP: %[[S:.*]] = memref.dim %[[C]], %{{.*}} : memref<2x?x2x16x8xf32>
// LOOP: scf.parallel (%[[B:.*]], %[[T:.*]], %[[H:.*]], %[[D:.*]]) = (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) step (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) {
// LOOP: %[[POS:.*]] = memref.load %[[P]][%[[B]]] : memref<?xi64>
// LOOP: %[[START:.*]] = arith.index_cast %[[POS]] : i64 to index
// LOOP: %[[SEQ:.*]] = arith.addi %[[START]], %[[T]] : index
// LOOP: %[[IN:.*]] = arith.cmpi ult, %[[SEQ]], %[[S]] : index
// LOOP: scf.if %[[IN]] {
// LOOP: %[[V:.*]] = memref.load %[[R]][%[[B]], %[[T]], %[[H]], %[[D]]] : memref<?x?x2x8xf32>
// LOOP: memref.store %[[V]], %[[C]][%c1{{(_[0-9]+)?}}, %[[B]], %[[H]], %[[SEQ]], %[[D]]] : memref<2x?x2x16x8xf32>
// LOOP-NOT: qc.cache_write
// LOOP: return %[[R]] : memref<?x?x2x8xf32>
func.func @step(%rows: tensor<?x?x2x8xf32>, %cache: tensor<2x?x2x16x8xf32>, %pos: tensor<?xi64>)
    -> (tensor<2x?x2x16x8xf32>, tensor<?x?x2x8xf32>) {
  %c = qc.cache_write %rows into %cache at %pos {layer = 1 : i64}
      : tensor<?x?x2x8xf32>, tensor<?xi64> -> tensor<2x?x2x16x8xf32>
  return %c, %rows : tensor<2x?x2x16x8xf32>, tensor<?x?x2x8xf32>
}

// A chain through two layers, with an f16 cache (rows converted).
// BUF-LABEL: func @two_layers
// BUF-SAME: (%[[R:.*]]: memref<1x1x2x8xf32>, %[[P:.*]]: memref<1xi64>, %[[C:.*]]: memref<2x1x2x16x8xf16>) -> memref<1x1x2x8xf32>
// BUF-NOT: memref.alloc
// BUF: qc.cache_write %[[R]] into %[[C]] at %[[P]] {layer = 0 : i64}
// BUF: qc.cache_write %[[R]] into %[[C]] at %[[P]] {layer = 1 : i64}
// BUF-NOT: memref.copy
// BUF: return %[[R]]
// LOOP-LABEL: func @two_layers
// LOOP: arith.truncf %{{.*}} : f32 to f16
func.func @two_layers(%rows: tensor<1x1x2x8xf32>, %pos: tensor<1xi64>, %cache: tensor<2x1x2x16x8xf16>)
    -> (tensor<1x1x2x8xf32>, tensor<2x1x2x16x8xf16>) {
  %c0 = qc.cache_write %rows into %cache at %pos {layer = 0 : i64}
      : tensor<1x1x2x8xf32>, tensor<1xi64> -> tensor<2x1x2x16x8xf16>
  %c1 = qc.cache_write %rows into %c0 at %pos {layer = 1 : i64}
      : tensor<1x1x2x8xf32>, tensor<1xi64> -> tensor<2x1x2x16x8xf16>
  return %rows, %c1 : tensor<1x1x2x8xf32>, tensor<2x1x2x16x8xf16>
}

// The old cache is read after the write: one-shot bufferization copies it,
// so the argument is not updated in place and the result stays.
// BUF-LABEL: func @conflict
// BUF-SAME: -> (memref<1x1x2x16x8xf32>, f32)
// BUF: memref.alloc
// BUF: memref.copy
// BUF: qc.cache_write
func.func @conflict(%rows: tensor<1x1x2x8xf32>, %cache: tensor<1x1x2x16x8xf32>, %pos: tensor<1xi64>)
    -> (tensor<1x1x2x16x8xf32>, f32) {
  %c = qc.cache_write %rows into %cache at %pos {layer = 0 : i64}
      : tensor<1x1x2x8xf32>, tensor<1xi64> -> tensor<1x1x2x16x8xf32>
  %i = arith.constant 0 : index
  %old = tensor.extract %cache[%i, %i, %i, %i, %i] : tensor<1x1x2x16x8xf32>
  return %c, %old : tensor<1x1x2x16x8xf32>, f32
}

// An argument returned unchanged is not an in-place argument (read-only).
// PREP-LABEL: func @identity
// PREP-SAME: {bufferization.writable = false}
// BUF-LABEL: func @identity
// BUF-SAME: -> memref<4xf32>
func.func @identity(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
