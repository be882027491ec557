// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90" --qc-lower-gpu-launches --split-input-file | FileCheck %s
// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90" --qc-lower-gpu-launches --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --qc-gpu-device-memory --canonicalize --split-input-file | FileCheck %s --check-prefix=LAUNCH

// A norm on a GPU target launches the row normalization kernel on the
// input's rows (M = product of the leading dimensions): arguments (x, w,
// b, y, M), b a null pointer for RMSNorm; grid (M), block from the kernel
// record; nothing launched for M = 0.

// CHECK-LABEL: func.func @rms
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x576xf32>, %[[G:.*]]: tensor<576xf32>)
// CHECK: %[[X2:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1], [2]] : tensor<?x?x576xf32> into tensor<?x576xf32>
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X2]] read_only : tensor<?x576xf32> to memref<?x576xf32>
// CHECK: %[[GB:.*]] = bufferization.to_buffer %[[G]] read_only
// CHECK: %[[Y:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x576xf32>
// CHECK: call @__qc_gpu_launch_0(%[[XB]], %[[GB]], %[[Y]]) {qc.gpu_launch = {args = [0, 1, "null", 2, "m"], block = 64 : i64, grid = ["m", "1"], grid_tile = array<i64: 1, 1>, kernel = @qc_kernels_sm_90::@rms_norm_k576, n = 0 : i64}}
// CHECK: %[[YT:.*]] = bufferization.to_tensor %[[Y]] restrict writable
// CHECK: %[[R:.*]] = tensor.expand_shape %[[YT]] {{\[\[}}0, 1], [2]]
// CHECK: return %[[R]]
// CHECK-NOT: qc.rms_norm

// LAUNCH-LABEL: func.func @rms
// LAUNCH-DAG: %[[C1:.*]] = arith.constant 1 : index
// LAUNCH-DAG: %[[C64:.*]] = arith.constant 64 : index
// LAUNCH-DAG: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr<1>
// LAUNCH: %[[PX:.*]] = llvm.inttoptr %{{.*}} : i64 to !llvm.ptr<1>
// LAUNCH: %[[PW:.*]] = llvm.inttoptr
// LAUNCH: %[[PY:.*]] = llvm.inttoptr
// LAUNCH: %[[M:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x576xf32>
// LAUNCH: %[[M32:.*]] = arith.index_cast %[[M]] : index to i32
// LAUNCH: %[[NONEMPTY:.*]] = arith.cmpi ugt, %[[M]], %{{.*}} : index
// LAUNCH: scf.if %[[NONEMPTY]] {
// LAUNCH:   gpu.launch_func @qc_kernels_sm_90::@rms_norm_k576 blocks in (%[[M]], %[[C1]], %[[C1]]) threads in (%[[C64]], %[[C1]], %[[C1]]) args(%[[PX]] : !llvm.ptr<1>, %[[PW]] : !llvm.ptr<1>, %[[NULL]] : !llvm.ptr<1>, %[[PY]] : !llvm.ptr<1>, %[[M32]] : i32)
func.func @rms(%x: tensor<?x?x576xf32>, %g: tensor<576xf32>) -> tensor<?x?x576xf32> {
  %y = qc.rms_norm %x, %g {epsilon = 1.0e-5 : f64} : tensor<?x?x576xf32>, tensor<576xf32>
  return %y : tensor<?x?x576xf32>
}

// -----

// LayerNorm passes its bias; a rank-1 input is one row.

// CHECK-LABEL: func.func @ln
// CHECK-SAME: (%[[X:.*]]: tensor<4096xf16>, %[[G:.*]]: tensor<4096xf16>, %[[B:.*]]: tensor<4096xf16>)
// CHECK: %[[X2:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0, 1]] output_shape [1, 4096] : tensor<4096xf16> into tensor<1x4096xf16>
// CHECK: call @__qc_gpu_launch_0(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) {qc.gpu_launch = {args = [0, 1, 2, 3, "m"], block = 128 : i64, grid = ["m", "1"], grid_tile = array<i64: 1, 1>, kernel = @qc_kernels_sm_90::@layer_norm_k4096, n = 0 : i64}}
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<1x4096xf16> into tensor<4096xf16>

// LAUNCH-LABEL: func.func @ln
// LAUNCH: gpu.launch_func @qc_kernels_sm_90::@layer_norm_k4096
func.func @ln(%x: tensor<4096xf16>, %g: tensor<4096xf16>, %b: tensor<4096xf16>) -> tensor<4096xf16> {
  %y = qc.layer_norm %x, %g, %b : tensor<4096xf16>, tensor<4096xf16>, tensor<4096xf16>
  return %y : tensor<4096xf16>
}
