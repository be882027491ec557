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

// -----

// The K and V writes of a block (same positions and layer, rows of the same
// extents, nothing written in between) share one loop.
// CHECK-LABEL: func.func @k_and_v
// CHECK-SAME: (%[[K:.*]]: memref<?x?x3x64xf32>, %[[V:.*]]: memref<?x?x3x64xf16>, %[[POS:.*]]: memref<?xi64>, %[[KC:.*]]: memref<2x?x3x512x64xf16>, %[[VC:.*]]: memref<2x?x3x512x64xf16>)
// CHECK: %[[V2:.*]] = memref.subview %[[V]]
// CHECK: scf.parallel (%[[I0:.*]], %[[I1:.*]], %[[I2:.*]], %[[I3:.*]]) =
// CHECK: scf.if
// CHECK: %[[KV:.*]] = memref.load %[[K]][%[[I0]], %[[I1]], %[[I2]], %[[I3]]]
// CHECK: %[[KH:.*]] = arith.truncf %[[KV]] : f32 to f16
// CHECK: memref.store %[[KH]], %[[KC]]
// CHECK: %[[VV:.*]] = memref.load %[[V2]][%[[I0]], %[[I1]], %[[I2]], %[[I3]]]
// CHECK: memref.store %[[VV]], %[[VC]]
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @k_and_v(%k: memref<?x?x3x64xf32>, %v: memref<?x?x3x64xf16>, %pos: memref<?xi64>, %kc: memref<2x?x3x512x64xf16>, %vc: memref<2x?x3x512x64xf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = memref.dim %k, %c0 : memref<?x?x3x64xf32>
  %t = memref.dim %k, %c1 : memref<?x?x3x64xf32>
  %v2 = memref.subview %v[0, 0, 0, 0] [%b, %t, 3, 64] [1, 1, 1, 1] : memref<?x?x3x64xf16> to memref<?x?x3x64xf16, strided<[?, 192, 64, 1]>>
  qc.cache_write %k into %kc at %pos {layer = 1 : i64} : memref<?x?x3x64xf32>, memref<?xi64> -> memref<2x?x3x512x64xf16>
  qc.cache_write %v2 into %vc at %pos {layer = 1 : i64} : memref<?x?x3x64xf16, strided<[?, 192, 64, 1]>>, memref<?xi64> -> memref<2x?x3x512x64xf16>
  return
}

// -----

// Not shared: the rows' extents cannot be shown equal (two arguments), and
// different layers.
// CHECK-LABEL: func.func @not_shared
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @not_shared(%k: memref<?x?x3x64xf32>, %v: memref<?x?x3x64xf32>, %pos: memref<?xi64>, %kc: memref<2x?x3x512x64xf32>, %vc: memref<2x?x3x512x64xf32>) {
  qc.cache_write %k into %kc at %pos {layer = 1 : i64} : memref<?x?x3x64xf32>, memref<?xi64> -> memref<2x?x3x512x64xf32>
  qc.cache_write %v into %vc at %pos {layer = 1 : i64} : memref<?x?x3x64xf32>, memref<?xi64> -> memref<2x?x3x512x64xf32>
  qc.cache_write %k into %kc at %pos {layer = 0 : i64} : memref<?x?x3x64xf32>, memref<?xi64> -> memref<2x?x3x512x64xf32>
  qc.cache_write %k into %vc at %pos {layer = 1 : i64} : memref<?x?x3x64xf32>, memref<?xi64> -> memref<2x?x3x512x64xf32>
  return
}

// -----

// One rows buffer for the keys of two blocks (bufferization reuses it): each
// block's RoPE is fused into its own cache write, since the rows written
// for block 0 die at block 0's write (block 1's producer overwrites them);
// the buffer stays for nothing and goes.
// CHECK-LABEL: func.func @reused_rows
// CHECK-NOT: memref.alloc
// CHECK-NOT: linalg.generic
// CHECK: scf.parallel
// CHECK: math.cos
// CHECK: memref.store
// CHECK: scf.parallel
// CHECK: math.cos
// CHECK: memref.store
// CHECK-NOT: linalg.generic
// CHECK: return
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @reused_rows(%x: memref<?x?x3x64xf32>, %y: memref<?x?x3x64xf32>, %pos: memref<?xi64>, %cache: memref<2x?x3x512x64xf32>, %b: index, %t: index) {
  %rows = memref.alloc(%b, %t) : memref<?x?x3x64xf32>
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : memref<?x?x3x64xf32>) outs(%rows : memref<?x?x3x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %c = math.cos %v : f32
    linalg.yield %c : f32
  }
  qc.cache_write %rows into %cache at %pos {layer = 0 : i64} : memref<?x?x3x64xf32>, memref<?xi64> -> memref<2x?x3x512x64xf32>
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%y : memref<?x?x3x64xf32>) outs(%rows : memref<?x?x3x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %c = math.cos %v : f32
    linalg.yield %c : f32
  }
  qc.cache_write %rows into %cache at %pos {layer = 1 : i64} : memref<?x?x3x64xf32>, memref<?xi64> -> memref<2x?x3x512x64xf32>
  return
}

// -----

// Not fused: the rows are read again after the write (another consumer
// needs the producer's values in the buffer).
// CHECK-LABEL: func.func @rows_read_after
// CHECK: linalg.generic
// CHECK: scf.parallel
// CHECK: linalg.generic
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @rows_read_after(%x: memref<?x?x3x64xf32>, %out: memref<?x?x3x64xf32>, %pos: memref<?xi64>, %cache: memref<2x?x3x512x64xf32>, %b: index, %t: index) {
  %rows = memref.alloc(%b, %t) : memref<?x?x3x64xf32>
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : memref<?x?x3x64xf32>) outs(%rows : memref<?x?x3x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %c = math.cos %v : f32
    linalg.yield %c : f32
  }
  qc.cache_write %rows into %cache at %pos {layer = 0 : i64} : memref<?x?x3x64xf32>, memref<?xi64> -> memref<2x?x3x512x64xf32>
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%rows : memref<?x?x3x64xf32>) outs(%out : memref<?x?x3x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  return
}

// -----

// Not fused: the user after the write writes the whole buffer but also
// reads it (an in-place elementwise op on the new keys), so the rows the
// producer wrote are still needed there.
// CHECK-LABEL: func.func @rows_updated_in_place_after
// CHECK: linalg.generic
// CHECK: scf.parallel
// CHECK: linalg.generic
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @rows_updated_in_place_after(%x: memref<?x?x3x64xf32>, %pos: memref<?xi64>, %cache: memref<2x?x3x512x64xf32>, %b: index, %t: index) {
  %rows = memref.alloc(%b, %t) : memref<?x?x3x64xf32>
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : memref<?x?x3x64xf32>) outs(%rows : memref<?x?x3x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %c = math.cos %v : f32
    linalg.yield %c : f32
  }
  qc.cache_write %rows into %cache at %pos {layer = 0 : i64} : memref<?x?x3x64xf32>, memref<?xi64> -> memref<2x?x3x512x64xf32>
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%rows : memref<?x?x3x64xf32>) outs(%rows : memref<?x?x3x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %d = arith.addf %v, %v : f32
    linalg.yield %d : f32
  }
  return
}
