// REQUIRES: mlir-runner
// The glue loop transformations of the GPU path keep the results: the
// loops qc-gpu-serial-glue wraps and qc-gpu-tile-glue tiles (with a partial
// last tile: 300 columns in tiles of 128, 3 rows) are run on the CPU
// (scf.parallel lowered to loops) and compared with the values computed by
// hand: a[i][j] = 1000 i + j; row sums 44850, 344850, 644850; total
// 1034550; the last element 2299.
// RUN: quant-opt %s --pass-pipeline='builtin.module(qc-gpu-serial-glue,func.func(convert-linalg-to-parallel-loops),qc-gpu-tile-glue{block-size=128},convert-scf-to-cf,expand-strided-metadata,finalize-memref-to-llvm,convert-func-to-llvm,convert-arith-to-llvm,convert-cf-to-llvm,convert-index-to-llvm,reconcile-unrealized-casts)' \
// RUN:   | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | FileCheck %s
// A check that the tiling happened (the block-size 128 tiles).
// RUN: quant-opt %s --pass-pipeline='builtin.module(qc-gpu-serial-glue,func.func(convert-linalg-to-parallel-loops),qc-gpu-tile-glue{block-size=128})' | FileCheck %s --check-prefix=TILED
// TILED: step (%c1, %c128)
// TILED: scf.parallel (%{{.*}}) = (%c0) to (%c1) step (%c1)

// CHECK: sizes = [3]
// CHECK-NEXT: [44850,  344850,  644850]
// CHECK: sizes = []
// CHECK-NEXT: [1.03455e+06]
// CHECK: sizes = []
// CHECK-NEXT: [2299]
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id1 = affine_map<(d0) -> (d0)>
#sc = affine_map<(d0) -> ()>
func.func private @printMemrefF32(memref<*xf32>)
func.func @main() {
  %c0 = arith.constant 0 : index
  %c3 = arith.constant 3 : index
  %c300 = arith.constant 300 : index
  %a = memref.alloc(%c3, %c300) : memref<?x?xf32>
  // a[i, j] = i * 1000 + j
  linalg.generic {indexing_maps = [#id2], iterator_types = ["parallel", "parallel"]} outs(%a : memref<?x?xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %k = arith.constant 1000 : index
    %ik = arith.muli %i, %k : index
    %v = arith.addi %ik, %j : index
    %vi = arith.index_cast %v : index to i64
    %vf = arith.sitofp %vi : i64 to f32
    linalg.yield %vf : f32
  }
  // row sums (parallel rows, reduction over 300 columns)
  %s = memref.alloc(%c3) : memref<?xf32>
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%s : memref<?xf32>)
  linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]} ins(%a : memref<?x?xf32>) outs(%s : memref<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %acc, %x : f32
    linalg.yield %r : f32
  }
  // total (reduction to a scalar)
  %t = memref.alloc() : memref<f32>
  linalg.fill ins(%z : f32) outs(%t : memref<f32>)
  linalg.generic {indexing_maps = [#id1, #sc], iterator_types = ["reduction"]} ins(%s : memref<?xf32>) outs(%t : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %acc, %x : f32
    linalg.yield %r : f32
  }
  %su = memref.cast %s : memref<?xf32> to memref<*xf32>
  call @printMemrefF32(%su) : (memref<*xf32>) -> ()
  %tu = memref.cast %t : memref<f32> to memref<*xf32>
  call @printMemrefF32(%tu) : (memref<*xf32>) -> ()
  // every element of a: last row's last element
  %c2 = arith.constant 2 : index
  %c299 = arith.constant 299 : index
  %last = memref.load %a[%c2, %c299] : memref<?x?xf32>
  %l = memref.alloc() : memref<f32>
  memref.store %last, %l[] : memref<f32>
  %lu = memref.cast %l : memref<f32> to memref<*xf32>
  call @printMemrefF32(%lu) : (memref<*xf32>) -> ()
  return
}
