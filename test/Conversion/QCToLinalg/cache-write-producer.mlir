// RUN: quant-opt %s --qc-lower-cache-writes --split-input-file | FileCheck %s

// The keys' RoPE (an elementwise linalg.generic whose only output is the
// rows a cache write stores) is computed inside the cache write's loop:
// its body is cloned with the inputs loaded at the loop indices and
// linalg.index replaced by them; the generic and its buffer disappear.

// CHECK-LABEL: func.func @rope_then_write
// CHECK-SAME: (%[[X:.*]]: memref<?x?x3x64xf32>, %[[F:.*]]: memref<32xf32>, %[[POS:.*]]: memref<?xi64>, %[[C:.*]]: memref<2x?x3x512x64xf32>, %[[B:.*]]: index, %[[T:.*]]: index)
// CHECK-NOT: memref.alloc
// CHECK-NOT: linalg.generic
// CHECK: scf.parallel (%[[I0:.*]], %[[I1:.*]], %[[I2:.*]], %[[I3:.*]]) = (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) to (%[[B]], %[[T]], %{{.*}}, %{{.*}})
// CHECK: %[[P:.*]] = memref.load %[[POS]][%[[I0]]]
// CHECK: scf.if
// CHECK: %[[XV:.*]] = memref.load %[[X]][%[[I0]], %[[I1]], %[[I2]], %[[I3]]]
// CHECK: %[[FI:.*]] = arith.remui %[[I3]], %{{.*}} : index
// CHECK: memref.load %[[F]][%[[FI]]]
// CHECK: math.cos
// CHECK: %[[V:.*]] = arith.mulf %[[XV]], %{{.*}} : f32
// CHECK: memref.store %[[V]], %[[C]][%{{.*}}, %[[I0]], %[[I2]], %{{.*}}, %[[I3]]]
// CHECK-NOT: linalg.generic
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @rope_then_write(%x: memref<?x?x3x64xf32>, %f: memref<32xf32>, %pos: memref<?xi64>, %cache: memref<2x?x3x512x64xf32>, %b: index, %t: index) {
  %c32 = arith.constant 32 : index
  %rows = memref.alloc(%b, %t) : memref<?x?x3x64xf32>
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : memref<?x?x3x64xf32>) outs(%rows : memref<?x?x3x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %d = linalg.index 3 : index
    %fi = arith.remui %d, %c32 : index
    %fr = memref.load %f[%fi] : memref<32xf32>
    %c = math.cos %fr : f32
    %r = arith.mulf %v, %c : f32
    linalg.yield %r : f32
  }
  qc.cache_write %rows into %cache at %pos {layer = 1 : i64} : memref<?x?x3x64xf32>, memref<?xi64> -> memref<2x?x3x512x64xf32>
  return
}

// -----

// Not fused: the producer's input is written between it and the cache
// write, so the values must be computed first.
// CHECK-LABEL: func.func @input_written_between
// CHECK: linalg.generic
// CHECK: memref.store
// CHECK: scf.parallel
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @input_written_between(%x: memref<?x?x3x64xf32>, %pos: memref<?xi64>, %cache: memref<2x?x3x512x64xf32>, %b: index, %t: index) {
  %c0 = arith.constant 0 : index
  %z = arith.constant 0.0 : f32
  %rows = memref.alloc(%b, %t) : memref<?x?x3x64xf32>
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : memref<?x?x3x64xf32>) outs(%rows : memref<?x?x3x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.addf %v, %v : f32
    linalg.yield %r : f32
  }
  memref.store %z, %x[%c0, %c0, %c0, %c0] : memref<?x?x3x64xf32>
  qc.cache_write %rows into %cache at %pos {layer = 0 : i64} : memref<?x?x3x64xf32>, memref<?xi64> -> memref<2x?x3x512x64xf32>
  return
}
