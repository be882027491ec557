// RUN: quant-opt %s --qc-outline-gpu-kernels="m-tiles=1,4" --qc-lower-gpu-launches --split-input-file | FileCheck %s
// RUN: quant-opt %s --qc-outline-gpu-kernels="m-tiles=1,4" --qc-lower-gpu-launches --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --qc-gpu-device-memory --canonicalize --split-input-file | FileCheck %s --check-prefix=LAUNCH

// Tensor level: the input collapsed to M x K, every operand a read-only
// buffer, a fresh M x N result buffer, one stub call carrying the launch
// record, the result expanded back to the input's leading shape.

// CHECK-LABEL: func.func private @__qc_gpu_launch_0(memref<?x64xf16>, memref<1280xi8>, memref<40x2xf16>, memref<40x2xi8>, memref<40xf16>, memref<?x40xf16>) attributes {qc.gpu_launch_stub}
// CHECK-LABEL: func.func private @asym_bias
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf16>, %[[D:.*]]: tensor<1280xi8>, %[[S:.*]]: tensor<40x2xf16>, %[[Z:.*]]: tensor<40x2xi8>, %[[B:.*]]: tensor<40xf16>)
// CHECK: %[[X2:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1], [2]] : tensor<?x?x64xf16> into tensor<?x64xf16>
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X2]] read_only : tensor<?x64xf16> to memref<?x64xf16>
// CHECK: %[[DB:.*]] = bufferization.to_buffer %[[D]] read_only
// CHECK: %[[SB:.*]] = bufferization.to_buffer %[[S]] read_only
// CHECK: %[[ZB:.*]] = bufferization.to_buffer %[[Z]] read_only
// CHECK: %[[BB:.*]] = bufferization.to_buffer %[[B]] read_only
// CHECK: %[[M:.*]] = tensor.dim %[[X2]], %{{.*}} : tensor<?x64xf16>
// CHECK: %[[Y:.*]] = memref.alloc(%[[M]]) {alignment = 64 : i64} : memref<?x40xf16>
// CHECK: call @__qc_gpu_launch_0(%[[XB]], %[[DB]], %[[SB]], %[[ZB]], %[[BB]], %[[Y]]) {qc.gpu_launch = {block = 128 : i64, has_bias = true, has_zeros = true, kernel = @qc_kernels_sm_90::@up_gemv, m_tiles = array<i64: 1, 4>, rows_per_block = 8 : i64}}
// CHECK: %[[YT:.*]] = bufferization.to_tensor %[[Y]] restrict writable : memref<?x40xf16> to tensor<?x40xf16>
// CHECK: %[[R:.*]] = tensor.expand_shape %[[YT]] {{\[\[}}0, 1], [2]] output_shape [%{{.*}}, %{{.*}}, 40] : tensor<?x40xf16> into tensor<?x?x40xf16>
// CHECK: return %[[R]]
// CHECK: gpu.module @qc_kernels_sm_90
// CHECK-DAG: gpu.func @up_gemv_mt1
// CHECK-DAG: gpu.func @up_gemv_mt4

// After bufferization the stub becomes the launch chain: nothing for M = 0,
// tile 1 for M <= 1, else tile 4; grid (ceil(40 / 8), ceil(M / tile)),
// 128 threads; args (x, w, scales, zeros, bias, y: !llvm.ptr<1>, M: i32).

// LAUNCH-NOT: __qc_gpu_launch
// LAUNCH-LABEL: func.func private @asym_bias
// LAUNCH-DAG: %[[C1:.*]] = arith.constant 1 : index
// LAUNCH-DAG: %[[C4:.*]] = arith.constant 4 : index
// LAUNCH-DAG: %[[C5:.*]] = arith.constant 5 : index
// LAUNCH-DAG: %[[C128:.*]] = arith.constant 128 : index
// LAUNCH: %[[PX:.*]] = llvm.inttoptr %{{.*}} : i64 to !llvm.ptr<1>
// LAUNCH: %[[PW:.*]] = llvm.inttoptr
// LAUNCH: %[[PS:.*]] = llvm.inttoptr
// LAUNCH: %[[PZ:.*]] = llvm.inttoptr
// LAUNCH: %[[PB:.*]] = llvm.inttoptr
// LAUNCH: %[[PY:.*]] = llvm.inttoptr
// LAUNCH: %[[M:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x64xf16>
// LAUNCH: %[[M32:.*]] = arith.index_cast %[[M]] : index to i32
// LAUNCH: %[[NONEMPTY:.*]] = arith.cmpi ugt, %[[M]], %{{.*}} : index
// LAUNCH: scf.if %[[NONEMPTY]] {
// LAUNCH:   %[[SMALL:.*]] = arith.cmpi ule, %[[M]], %[[C1]] : index
// LAUNCH:   scf.if %[[SMALL]] {
// LAUNCH:     gpu.launch_func @qc_kernels_sm_90::@up_gemv_mt1 blocks in (%[[C5]], %[[M]], %[[C1]]) threads in (%[[C128]], %[[C1]], %[[C1]]) args(%[[PX]] : !llvm.ptr<1>, %[[PW]] : !llvm.ptr<1>, %[[PS]] : !llvm.ptr<1>, %[[PZ]] : !llvm.ptr<1>, %[[PB]] : !llvm.ptr<1>, %[[PY]] : !llvm.ptr<1>, %[[M32]] : i32)
// LAUNCH:   } else {
// LAUNCH:     %[[GY4:.*]] = arith.ceildivui %[[M]], %[[C4]] : index
// LAUNCH:     gpu.launch_func @qc_kernels_sm_90::@up_gemv_mt4 blocks in (%[[C5]], %[[GY4]], %[[C1]]) threads in (%[[C128]], %[[C1]], %[[C1]])
func.func private @asym_bias(%x: tensor<?x?x64xf16>, %d: tensor<1280xi8>, %s: tensor<40x2xf16>, %z: tensor<40x2xi8>, %b: tensor<40xf16>) -> tensor<?x?x40xf16> {
  %pw = qc.packed_weight %d, %s, %z {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false>} : tensor<1280xi8>, tensor<40x2xf16>, tensor<40x2xi8> -> !qc.packed<40x64xi4>
  %y = qc.wo_matmul %x, %pw, %b {layer = "up", kernel = #qc.kernel<gemv, target = "sm_90", threshold = 0>} : tensor<?x?x64xf16>, !qc.packed<40x64xi4>, tensor<40xf16> -> tensor<?x?x40xf16>
  return %y : tensor<?x?x40xf16>
}

// -----

// Symmetric int8 per-channel, no zeros and no bias: the stub takes four
// buffers and the launches pass null pointers for both.

// CHECK-LABEL: func.func private @__qc_gpu_launch_0(memref<?x48xf32>, memref<1536xi8>, memref<32x1xf32>, memref<?x32xf32>)
// CHECK: has_bias = false, has_zeros = false, kernel = @qc_kernels_sm_80::@down_gemv

// LAUNCH-LABEL: func.func @sym_nobias
// LAUNCH: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr<1>
// LAUNCH: gpu.launch_func @qc_kernels_sm_80::@down_gemv_mt1 {{.*}} args(%{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %[[NULL]] : !llvm.ptr<1>, %[[NULL]] : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : i32)
// LAUNCH: gpu.launch_func @qc_kernels_sm_80::@down_gemv_mt4
func.func @sym_nobias(%x: tensor<?x48xf32>, %d: tensor<1536xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<1536xi8>, tensor<32x1xf32> -> !qc.packed<32x48xi8>
  %y = qc.wo_matmul %x, %pw {layer = "down", kernel = #qc.kernel<gemv, target = "sm_80", threshold = 0>} : tensor<?x48xf32>, !qc.packed<32x48xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
