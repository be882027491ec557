// RUN: quant-opt %s --qc-host-parallelize-calls -split-input-file | FileCheck %s

// A call of a qc.parallel_range function becomes qcrt_parallel_for over a
// thunk that reloads the arguments from a stack struct.
// CHECK-LABEL: llvm.func @qcrt_parallel_for(!llvm.ptr, !llvm.ptr, i64, i64)
// CHECK-LABEL: llvm.func internal @kernel__par
// CHECK-SAME: (%[[C:.*]]: !llvm.ptr, %[[B:.*]]: i64, %[[E:.*]]: i64)
// CHECK: %[[A0:.*]] = llvm.load %{{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: %[[A1:.*]] = llvm.load %{{.*}} : !llvm.ptr -> i64
// CHECK: %[[A2:.*]] = llvm.load %{{.*}} : !llvm.ptr -> f32
// CHECK: llvm.call @kernel(%[[A0]], %[[A1]], %[[A2]], %[[B]], %[[E]])
// CHECK-LABEL: llvm.func @caller
// CHECK-SAME: (%[[P:.*]]: !llvm.ptr, %[[N:.*]]: i64, %[[F:.*]]: f32)
// CHECK: %[[ONE:.*]] = llvm.mlir.constant(1 : i64) : i64
// CHECK: %[[CTX:.*]] = llvm.alloca %[[ONE]] x !llvm.struct<(ptr, i64, f32)>
// CHECK: %[[C0:.*]] = llvm.mlir.constant(0 : i64) : i64
// CHECK: %[[C9:.*]] = llvm.mlir.constant(9 : i64) : i64
// CHECK: %[[G0:.*]] = llvm.getelementptr %[[CTX]][0, 0]
// CHECK: llvm.store %[[P]], %[[G0]] : !llvm.ptr, !llvm.ptr
// CHECK: %[[G1:.*]] = llvm.getelementptr %[[CTX]][0, 1]
// CHECK: llvm.store %[[N]], %[[G1]] : i64, !llvm.ptr
// CHECK: %[[G2:.*]] = llvm.getelementptr %[[CTX]][0, 2]
// CHECK: llvm.store %[[F]], %[[G2]] : f32, !llvm.ptr
// CHECK: %[[T:.*]] = llvm.mlir.addressof @kernel__par : !llvm.ptr
// CHECK: llvm.call @qcrt_parallel_for(%[[T]], %[[CTX]], %[[C0]], %[[C9]])
// CHECK-NOT: llvm.call @kernel(
// CHECK: llvm.return
llvm.func internal @kernel(%p: !llvm.ptr, %n: i64, %f: f32, %b: i64, %e: i64) attributes {qc.parallel_range} {
  llvm.return
}
llvm.func @caller(%p: !llvm.ptr, %n: i64, %f: f32) {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %c9 = llvm.mlir.constant(9 : i64) : i64
  llvm.call @kernel(%p, %n, %f, %c0, %c9) : (!llvm.ptr, i64, f32, i64, i64) -> ()
  llvm.return
}

// -----

// Unmarked callees and callees with results are left alone.
// CHECK-LABEL: llvm.func @untouched
// CHECK: llvm.call @plain(
// CHECK: llvm.call @returns(
// CHECK-NOT: qcrt_parallel_for
llvm.func internal @plain(%b: i64, %e: i64) {
  llvm.return
}
llvm.func internal @returns(%b: i64, %e: i64) -> i64 attributes {qc.parallel_range} {
  llvm.return %b : i64
}
llvm.func @untouched(%b: i64, %e: i64) -> i64 {
  llvm.call @plain(%b, %e) : (i64, i64) -> ()
  %r = llvm.call @returns(%b, %e) : (i64, i64) -> i64
  llvm.return %r : i64
}
