// RUN: quant-opt %s --qc-gpu-serial-glue | FileCheck %s

// A reduction to a scalar (no parallel loop) is wrapped in a one-iteration
// scf.parallel, so the GPU mapping runs it on one thread; an op with a
// parallel loop, and ops already inside a parallel loop, are left alone.

// CHECK-LABEL: func.func @glue
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: scf.parallel (%{{.*}}) = (%[[C0]]) to (%[[C1]]) step (%[[C1]]) {
// CHECK-NEXT: linalg.generic {{.*}} iterator_types = ["reduction"]
// CHECK: scf.reduce
// CHECK-NEXT: }
// CHECK-NEXT: linalg.generic {{.*}} iterator_types = ["parallel"]
// CHECK-NEXT: ^bb0
// CHECK-NOT: scf.parallel
// CHECK: return
#id = affine_map<(d0) -> (d0)>
#scalar = affine_map<(d0) -> ()>
func.func @glue(%v: memref<384xf32>, %s: memref<f32>, %o: memref<384xf32>) {
  linalg.generic {indexing_maps = [#id, #scalar], iterator_types = ["reduction"]} ins(%v : memref<384xf32>) outs(%s : memref<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %r = arith.addf %acc, %sq : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%v : memref<384xf32>) outs(%o : memref<384xf32>) {
  ^bb0(%a: f32, %b: f32):
    linalg.yield %a : f32
  }
  return
}
