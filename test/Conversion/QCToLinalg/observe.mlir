// RUN: quant-opt %s --convert-qc-to-linalg | FileCheck %s

// qc.observe: a contiguous f32 copy of the rows is handed (as a memref, so
// deallocation waits for the call) to a private thunk that calls the
// runtime's
//   void qcrt_observe(const char *layer, const float *data, int64_t rows,
//                     int64_t cols, int32_t hessian, double percentile)
// The layer name is a NUL-terminated constant global shared by both calls.
// CHECK: llvm.mlir.global internal constant @[[$NAME:__qc_layer_0]]("blk0.q\00")
// CHECK-LABEL: func @obs
// CHECK-SAME: %[[X:.*]]: tensor<?x?x64xf16>
// CHECK: %[[XC:.*]] = tensor.collapse_shape %[[X]]
// CHECK: %[[COPY:.*]] = linalg.generic {{.*}} ins(%[[XC]] : tensor<?x64xf16>) outs(%{{.*}} : tensor<?x64xf32>)
// CHECK:   arith.extf
// CHECK: %[[CAST:.*]] = tensor.cast %[[COPY]] : tensor<?x64xf32> to tensor<?x?xf32>
// CHECK: %[[BUF:.*]] = bufferization.to_buffer %[[CAST]] read_only
// CHECK: %[[P:.*]] = llvm.mlir.addressof @[[$NAME]] : !llvm.ptr
// CHECK: %[[H:.*]] = arith.constant 1 : i32
// CHECK: %[[PCT:.*]] = arith.constant 9.990000e+01 : f64
// CHECK: call @__qc_observe_thunk(%[[P]], %[[BUF]], %[[H]], %[[PCT]])
// CHECK: %[[H0:.*]] = arith.constant 0 : i32
// CHECK: %[[PCT0:.*]] = arith.constant 0.000000e+00 : f64
// CHECK: call @__qc_observe_thunk(%{{.*}}, %{{.*}}, %[[H0]], %[[PCT0]])
// CHECK: func.func private @qcrt_observe(!llvm.ptr, !llvm.ptr, i64, i64, i32, f64)
// CHECK: func.func private @__qc_observe_thunk(%[[NP:.*]]: !llvm.ptr, %[[M:.*]]: memref<?x?xf32>, %[[HA:.*]]: i32, %[[PA:.*]]: f64)
// CHECK:   %{{.*}}, %[[OFF:.*]], %[[SIZES:.*]]:2, %{{.*}}:2 = memref.extract_strided_metadata %[[M]]
// CHECK:   memref.extract_aligned_pointer_as_index %[[M]]
// CHECK:   %[[DATA:.*]] = llvm.getelementptr
// CHECK:   %[[ROWS:.*]] = arith.index_cast %[[SIZES]]#0 : index to i64
// CHECK:   %[[COLS:.*]] = arith.index_cast %[[SIZES]]#1 : index to i64
// CHECK:   call @qcrt_observe(%[[NP]], %[[DATA]], %[[ROWS]], %[[COLS]], %[[HA]], %[[PA]])
func.func @obs(%x: tensor<?x?x64xf16>) {
  qc.observe %x {layer = "blk0.q", percentile = 99.9 : f64, hessian} : tensor<?x?x64xf16>
  qc.observe %x {layer = "blk0.q"} : tensor<?x?x64xf16>
  return
}
