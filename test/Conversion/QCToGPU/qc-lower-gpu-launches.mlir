// RUN: quant-opt %s --qc-outline-gpu-kernels="m-tiles=1,4" --qc-lower-gpu-launches --split-input-file | FileCheck %s

// An asymmetric int4 weight-only matmul on a 3-D input with a bias: the
// input is collapsed to M x K, M-tile variant chosen at run time (tile 1
// for M <= 1, else 4), grid (ceil(N / 8), ceil(M / tile)), 128 threads,
// args (x, w, scales, zeros, bias, y, M:i32), result expanded back.

// CHECK-LABEL: func.func @asym_bias
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf16>
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C5:.*]] = arith.constant 5 : index
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK: %[[X2:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1], [2]] : tensor<?x?x64xf16> into tensor<?x64xf16>
// CHECK: %[[M:.*]] = tensor.dim %[[X2]], %{{.*}} : tensor<?x64xf16>
// CHECK: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr<1>
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X2]] read_only : tensor<?x64xf16> to memref<?x64xf16>
// CHECK: memref.extract_aligned_pointer_as_index %[[XB]]
// CHECK: %[[PX:.*]] = llvm.inttoptr %{{.*}} : i64 to !llvm.ptr<1>
// CHECK: %[[PW:.*]] = llvm.inttoptr
// CHECK: %[[PS:.*]] = llvm.inttoptr
// CHECK: %[[PZ:.*]] = llvm.inttoptr
// CHECK: %[[PB:.*]] = llvm.inttoptr
// CHECK: %[[Y:.*]] = memref.alloc(%[[M]]) {alignment = 64 : i64} : memref<?x40xf16>
// CHECK: %[[PY:.*]] = llvm.inttoptr
// CHECK: %[[M32:.*]] = arith.index_cast %[[M]] : index to i32
// CHECK: %[[NONEMPTY:.*]] = arith.cmpi ugt, %[[M]], %{{.*}} : index
// CHECK: scf.if %[[NONEMPTY]] {
// CHECK:   %[[SMALL:.*]] = arith.cmpi ule, %[[M]], %[[C1]] : index
// CHECK:   scf.if %[[SMALL]] {
// CHECK:     %[[GY1:.*]] = arith.ceildivui %[[M]], %[[C1]] : index
// CHECK:     gpu.launch_func @qc_kernels_sm_90::@up_gemv_mt1 blocks in (%[[C5]], %[[GY1]], %[[C1]]) threads in (%[[C128]], %[[C1]], %[[C1]]) args(%[[PX]] : !llvm.ptr<1>, %[[PW]] : !llvm.ptr<1>, %[[PS]] : !llvm.ptr<1>, %[[PZ]] : !llvm.ptr<1>, %[[PB]] : !llvm.ptr<1>, %[[PY]] : !llvm.ptr<1>, %[[M32]] : i32)
// CHECK:   } else {
// CHECK:     %[[GY4:.*]] = arith.ceildivui %[[M]], %[[C4]] : index
// CHECK:     gpu.launch_func @qc_kernels_sm_90::@up_gemv_mt4 blocks in (%[[C5]], %[[GY4]], %[[C1]]) threads in (%[[C128]], %[[C1]], %[[C1]])
// CHECK: %[[YT:.*]] = bufferization.to_tensor %[[Y]] restrict writable : memref<?x40xf16> to tensor<?x40xf16>
// CHECK: %[[R:.*]] = tensor.expand_shape %[[YT]] {{\[\[}}0, 1], [2]] output_shape [%{{.*}}, %{{.*}}, 40] : tensor<?x40xf16> into tensor<?x?x40xf16>
// CHECK: return %[[R]]
// CHECK: gpu.module @qc_kernels_sm_90
// CHECK-DAG: gpu.func @up_gemv_mt1
// CHECK-DAG: gpu.func @up_gemv_mt4
func.func @asym_bias(%x: tensor<?x?x64xf16>, %d: tensor<1280xi8>, %s: tensor<40x2xf16>, %z: tensor<40x2xi8>, %b: tensor<40xf16>) -> tensor<?x?x40xf16> {
  %pw = qc.packed_weight %d, %s, %z {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false>} : tensor<1280xi8>, tensor<40x2xf16>, tensor<40x2xi8> -> !qc.packed<40x64xi4>
  %y = qc.wo_matmul %x, %pw, %b {layer = "up", kernel = #qc.kernel<gemv, target = "sm_90", threshold = 0>} : tensor<?x?x64xf16>, !qc.packed<40x64xi4>, tensor<40xf16> -> tensor<?x?x40xf16>
  return %y : tensor<?x?x40xf16>
}

// -----

// Symmetric int8 per-channel, no zeros and no bias: null pointers for both.

// CHECK-LABEL: func.func @sym_nobias
// CHECK: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr<1>
// CHECK: gpu.launch_func @qc_kernels_sm_80::@down_gemv_mt1 {{.*}} args(%{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %[[NULL]] : !llvm.ptr<1>, %[[NULL]] : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : i32)
// CHECK: gpu.launch_func @qc_kernels_sm_80::@down_gemv_mt4
func.func @sym_nobias(%x: tensor<?x48xf32>, %d: tensor<1536xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<1536xi8>, tensor<32x1xf32> -> !qc.packed<32x48xi8>
  %y = qc.wo_matmul %x, %pw {layer = "down", kernel = #qc.kernel<gemv, target = "sm_80", threshold = 0>} : tensor<?x48xf32>, !qc.packed<32x48xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
