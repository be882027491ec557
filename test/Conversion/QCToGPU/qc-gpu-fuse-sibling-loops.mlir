// RUN: quant-opt %s --qc-gpu-fuse-sibling-loops --split-input-file --allow-unregistered-dialect | FileCheck %s --enable-var-scope

// The queries' RoPE (H = 4 heads) and the cache write of the keys and
// values (KV = 2 heads), the decode shape of a GQA block: every trip count
// but the heads' is equal (the row counts through the views' sizes), no
// buffer of one is written by the other, and between them only a view and
// an allocation: one loop over 6 heads, the first 4 running the queries'
// body, the others the cache write's with the head shifted by 4. The
// in-place caches (module attribute qc.inplace) alias no other argument.

// CHECK-LABEL: func.func @rope_and_cache
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x?x512xf16>, %[[POS:[^:]*]]: memref<?xi64>, %[[KC:[^:]*]]: memref<2x?x2x64x64xf16>, %[[VC:[^:]*]]: memref<2x?x2x64x64xf16>, %[[B:[^:]*]]: index, %[[T:[^:]*]]: index)
// CHECK: %[[Q:.*]] = memref.alloc(%[[B]], %[[T]]) : memref<?x?x4x64xf16>
// CHECK: %[[C6:.*]] = arith.constant 6 : index
// CHECK: scf.parallel (%[[I:.*]], %[[J:.*]], %[[H:.*]], %[[D:.*]]) = ({{.*}}) to (%[[B]], %[[T]], %[[C6]], %{{.*}})
// CHECK: %[[LOW:.*]] = arith.cmpi ult, %[[H]], %[[C4:.*]] : index
// CHECK: scf.if %[[LOW]] {
// CHECK: %[[QV:.*]] = memref.load %{{.*}}[%[[I]], %[[J]], %[[H]], %[[D]]]
// CHECK: memref.store %{{.*}}, %[[Q]][%[[I]], %[[J]], %[[H]], %[[D]]]
// CHECK: } else {
// CHECK: %[[H2:.*]] = arith.subi %[[H]], %[[C4]] : index
// CHECK: memref.store %{{.*}}, %[[KC]][%{{.*}}, %[[I]], %[[H2]], %{{.*}}, %[[D]]]
// CHECK: memref.store %{{.*}}, %[[VC]][%{{.*}}, %[[I]], %[[H2]], %{{.*}}, %[[D]]]
// CHECK: }
// CHECK-NOT: scf.parallel
// CHECK: return
module attributes {qc.inplace = {rope_and_cache = {args = array<i64: 2, 3>, results = array<i64: 0, 1>}}} {
  func.func @rope_and_cache(%x: memref<?x?x512xf16>, %pos: memref<?xi64>, %kc: memref<2x?x2x64x64xf16>, %vc: memref<2x?x2x64x64xf16>, %b: index, %t: index) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    %c64 = arith.constant 64 : index
    %xq = memref.subview %x[0, 0, 0] [%b, %t, 256] [1, 1, 1] : memref<?x?x512xf16> to memref<?x?x256xf16, strided<[?, 512, 1]>>
    %q4 = memref.expand_shape %xq [[0], [1], [2, 3]] output_shape [%b, %t, 4, 64] : memref<?x?x256xf16, strided<[?, 512, 1]>> into memref<?x?x4x64xf16, strided<[?, 512, 64, 1]>>
    %q = memref.alloc(%b, %t) : memref<?x?x4x64xf16>
    %qb = memref.dim %q4, %c0 : memref<?x?x4x64xf16, strided<[?, 512, 64, 1]>>
    %qt = memref.dim %q4, %c1 : memref<?x?x4x64xf16, strided<[?, 512, 64, 1]>>
    scf.parallel (%i, %j, %h, %d) = (%c0, %c0, %c0, %c0) to (%qb, %qt, %c4, %c64) step (%c1, %c1, %c1, %c1) {
      %v = memref.load %q4[%i, %j, %h, %d] : memref<?x?x4x64xf16, strided<[?, 512, 64, 1]>>
      %w = arith.addf %v, %v : f16
      memref.store %w, %q[%i, %j, %h, %d] : memref<?x?x4x64xf16>
      scf.reduce
    }
    %xk = memref.subview %x[0, 0, 256] [%b, %t, 128] [1, 1, 1] : memref<?x?x512xf16> to memref<?x?x128xf16, strided<[?, 512, 1], offset: 256>>
    %k = memref.expand_shape %xk [[0], [1], [2, 3]] output_shape [%b, %t, 2, 64] : memref<?x?x128xf16, strided<[?, 512, 1], offset: 256>> into memref<?x?x2x64xf16, strided<[?, 512, 64, 1], offset: 256>>
    %scratch = memref.alloc() : memref<3xindex>
    scf.parallel (%i, %j, %h, %d) = (%c0, %c0, %c0, %c0) to (%b, %t, %c2, %c64) step (%c1, %c1, %c1, %c1) {
      %p = memref.load %pos[%i] : memref<?xi64>
      %pi = arith.index_cast %p : i64 to index
      %s = arith.addi %pi, %j : index
      %kv = memref.load %k[%i, %j, %h, %d] : memref<?x?x2x64xf16, strided<[?, 512, 64, 1], offset: 256>>
      memref.store %kv, %kc[%c0, %i, %h, %s, %d] : memref<2x?x2x64x64xf16>
      memref.store %kv, %vc[%c0, %i, %h, %s, %d] : memref<2x?x2x64x64xf16>
      scf.reduce
    }
    return
  }
}

// -----

// All trip counts equal: the bodies run one after the other in one loop;
// a third independent loop joins the chain.

// CHECK-LABEL: func.func @chain
// CHECK: scf.parallel (%[[I:.*]], %[[J:.*]]) =
// CHECK-NOT: scf.if
// CHECK: memref.store %{{.*}}, %[[A:.*]][%[[I]], %[[J]]]
// CHECK: memref.store %{{.*}}, %[[B:.*]][%[[I]], %[[J]]]
// CHECK: memref.store %{{.*}}, %[[C:.*]][%[[I]], %[[J]]]
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @chain(%x: memref<?x64xf32>, %m: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %a = memref.alloc(%m) : memref<?x64xf32>
  %b = memref.alloc(%m) : memref<?x64xf32>
  %c = memref.alloc(%m) : memref<?x64xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %c64) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<?x64xf32>
    memref.store %v, %a[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %c64) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<?x64xf32>
    memref.store %v, %b[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  %mb = memref.dim %b, %c0 : memref<?x64xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%mb, %c64) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<?x64xf32>
    memref.store %v, %c[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  "test.use"(%a, %b, %c) : (memref<?x64xf32>, memref<?x64xf32>, memref<?x64xf32>) -> ()
  return
}

// -----

// Not fused: the second loop reads what the first writes (a dependence),
// two dimensions differ, and an argument that is not in place may alias
// another.

// CHECK-LABEL: func.func @not_fused
// CHECK-COUNT-5: scf.parallel
func.func @not_fused(%x: memref<?x64xf32>, %y: memref<?x64xf32>, %m: index, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %a = memref.alloc(%m) : memref<?x64xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %c64) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<?x64xf32>
    memref.store %v, %a[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  // Reads %a: depends on the loop above.
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %c64) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<?x64xf32>
    memref.store %v, %x[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  // Rows and columns both differ.
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c32) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<?x64xf32>
    memref.store %v, %a[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  // Writes %y, which may alias %x (read below).
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c32) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<?x64xf32>
    memref.store %v, %y[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  %z = memref.alloc(%n) : memref<?x64xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c32) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<?x64xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %z[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  "test.use"(%z) : (memref<?x64xf32>) -> ()
  return
}

// -----

// Not fused: the first loop cannot move down to the second, since a store
// between them writes the buffer it reads.

// CHECK-LABEL: func.func @write_between
// CHECK: scf.parallel
// CHECK: memref.store
// CHECK: scf.parallel
func.func @write_between(%m: index, %f: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %x = memref.alloc(%m) : memref<?x64xf32>
  %a = memref.alloc(%m) : memref<?x64xf32>
  %b = memref.alloc(%m) : memref<?x64xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %c64) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<?x64xf32>
    memref.store %v, %a[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  memref.store %f, %x[%c0, %c0] : memref<?x64xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %c64) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<?x64xf32>
    memref.store %v, %b[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  "test.use"(%a, %b) : (memref<?x64xf32>, memref<?x64xf32>) -> ()
  return
}

// -----

// Not fused: the first loop writes a buffer chosen at run time (a select of
// two allocations: the rule cannot name it), which may be the one the
// second loop reads.

// CHECK-LABEL: func.func @unnamed_root
// CHECK-COUNT-2: scf.parallel
func.func @unnamed_root(%m: index, %c: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %a = memref.alloc(%m) : memref<?x64xf32>
  %b = memref.alloc(%m) : memref<?x64xf32>
  %out = memref.alloc(%m) : memref<?x64xf32>
  %s = arith.select %c, %a, %b : memref<?x64xf32>
  %f = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %c64) step (%c1, %c1) {
    memref.store %f, %s[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %c64) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<?x64xf32>
    memref.store %v, %out[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  "test.use"(%out) : (memref<?x64xf32>) -> ()
  return
}
