// RUN: quant-opt %s --qc-outline-gpu-kernels --qc-lower-gpu-launches --split-input-file | FileCheck %s
// RUN: quant-opt %s --qc-outline-gpu-kernels --qc-lower-gpu-launches --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --qc-gpu-device-memory --canonicalize --split-input-file | FileCheck %s --check-prefix=LAUNCH

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
// CHECK: call @__qc_gpu_launch_0(%[[XB]], %[[DB]], %[[SB]], %[[ZB]], %[[BB]], %[[Y]]) {qc.gpu_launch = {args = [0, 1, 2, 3, 4, 5, "m"], block = 128 : i64, grid = ["n", "m"], grid_tile = array<i64: 8, 1>, kernel = @qc_kernels_sm_90::@up_gemv, m_tiles = array<i64: 1, 4>, n = 40 : i64}}
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
  %y = qc.wo_matmul %x, %pw, %b {layer = "up", kernel = #qc.kernel<gemv, target = "sm_90", threshold = 0, gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 4]>>} : tensor<?x?x64xf16>, !qc.packed<40x64xi4>, tensor<40xf16> -> tensor<?x?x40xf16>
  return %y : tensor<?x?x40xf16>
}

// -----

// Symmetric int8 per-channel, no zeros and no bias: the stub takes four
// buffers and the launches pass null pointers for both.

// CHECK-LABEL: func.func private @__qc_gpu_launch_0(memref<?x48xf32>, memref<1536xi8>, memref<32x1xf32>, memref<?x32xf32>)
// CHECK: args = [0, 1, 2, "null", "null", 3, "m"], {{.*}}kernel = @qc_kernels_sm_80::@down_gemv

// LAUNCH-LABEL: func.func @sym_nobias
// LAUNCH: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr<1>
// LAUNCH: gpu.launch_func @qc_kernels_sm_80::@down_gemv_mt1 {{.*}} args(%{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %[[NULL]] : !llvm.ptr<1>, %[[NULL]] : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : i32)
// LAUNCH: gpu.launch_func @qc_kernels_sm_80::@down_gemv_mt4
func.func @sym_nobias(%x: tensor<?x48xf32>, %d: tensor<1536xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<1536xi8>, tensor<32x1xf32> -> !qc.packed<32x48xi8>
  %y = qc.wo_matmul %x, %pw {layer = "down", kernel = #qc.kernel<gemv, target = "sm_80", threshold = 0, gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 4]>>} : tensor<?x48xf32>, !qc.packed<32x48xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Weight-only mma (f16 activations): the GEMV argument ABI, one kernel,
// grid (ceil(N / block_n), ceil(M / block_m)), block_m = block_n = 128,
// 256 threads.

// CHECK-LABEL: func.func private @__qc_gpu_launch_0(memref<?x64xf16>, memref<2560xi8>, memref<40x1xf32>, memref<?x40xf16>)
// CHECK-LABEL: func.func @wo_mma
// CHECK: call @__qc_gpu_launch_0({{.*}}) {qc.gpu_launch = {args = [0, 1, 2, "null", "null", 3, "m"], block = 256 : i64, grid = ["n", "m"], grid_tile = array<i64: 128, 128>, kernel = @qc_kernels_sm_90::@up_wo_mma, n = 40 : i64}}

// LAUNCH-LABEL: func.func @wo_mma
// LAUNCH-DAG: %[[C1:.*]] = arith.constant 1 : index
// LAUNCH-DAG: %[[C128:.*]] = arith.constant 128 : index
// LAUNCH-DAG: %[[C256:.*]] = arith.constant 256 : index
// LAUNCH-DAG: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr<1>
// LAUNCH: %[[PX:.*]] = llvm.inttoptr
// LAUNCH: %[[PW:.*]] = llvm.inttoptr
// LAUNCH: %[[PS:.*]] = llvm.inttoptr
// LAUNCH: %[[PY:.*]] = llvm.inttoptr
// LAUNCH: %[[M:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x64xf16>
// LAUNCH: %[[M32:.*]] = arith.index_cast %[[M]] : index to i32
// LAUNCH: %[[NONEMPTY:.*]] = arith.cmpi ugt, %[[M]], %{{.*}} : index
// LAUNCH: scf.if %[[NONEMPTY]] {
// LAUNCH:   %[[GY:.*]] = arith.ceildivui %[[M]], %[[C128]] : index
// LAUNCH:   gpu.launch_func @qc_kernels_sm_90::@up_wo_mma blocks in (%[[C1]], %[[GY]], %[[C1]]) threads in (%[[C256]], %[[C1]], %[[C1]]) args(%[[PX]] : !llvm.ptr<1>, %[[PW]] : !llvm.ptr<1>, %[[PS]] : !llvm.ptr<1>, %[[NULL]] : !llvm.ptr<1>, %[[NULL]] : !llvm.ptr<1>, %[[PY]] : !llvm.ptr<1>, %[[M32]] : i32)
// LAUNCH-NEXT: }
// LAUNCH-NEXT: return
func.func @wo_mma(%x: tensor<?x64xf16>, %d: tensor<2560xi8>, %s: tensor<40x1xf32>) -> tensor<?x40xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<2560xi8>, tensor<40x1xf32> -> !qc.packed<40x64xi8>
  %y = qc.wo_matmul %x, %pw {layer = "up", kernel = #qc.kernel<mma, target = "sm_90">} : tensor<?x64xf16>, !qc.packed<40x64xi8> -> tensor<?x40xf16>
  return %y : tensor<?x40xf16>
}

// -----

// W8A8, dynamic per token, one qc.quantize_act read by two INT8 matmuls
// (q and k): one act-quant launch (x, q, scales, M; grid (M), 128
// threads) writing the i8 rows and the f32 scales, then one INT8 GEMM per
// matmul (qx, sx, w, sw, bias, y, M) reading them.

// CHECK-LABEL: func.func private @__qc_gpu_launch_0(memref<?x64xf32>, memref<?x64xi8>, memref<?xf32>)
// CHECK-LABEL: func.func private @__qc_gpu_launch_1(memref<?x64xi8>, memref<?xf32>, memref<2048xi8>, memref<32x1xf32>, memref<32xf32>, memref<?x32xf32>)
// CHECK-LABEL: func.func private @__qc_gpu_launch_2(memref<?x64xi8>, memref<?xf32>, memref<2048xi8>, memref<32x1xf32>, memref<?x32xf32>)
// CHECK-LABEL: func.func @w8a8_shared
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>,
// CHECK-NOT: qc.quantize_act
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK: %[[QB:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x64xi8>
// CHECK: %[[SB:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xf32>
// CHECK: call @__qc_gpu_launch_0(%[[XB]], %[[QB]], %[[SB]]) {qc.gpu_launch = {args = [0, 1, 2, "m"], block = 128 : i64, grid = ["m", "1"], grid_tile = array<i64: 1, 1>, kernel = @qc_kernels_sm_90::@q_act_quant, n = 0 : i64}}
// CHECK: %[[Q:.*]] = bufferization.to_tensor %[[QB]] restrict writable
// CHECK: %[[S:.*]] = bufferization.to_tensor %[[SB]] restrict writable
// CHECK: %[[Q1:.*]] = bufferization.to_buffer %[[Q]] read_only
// CHECK: %[[S1:.*]] = bufferization.to_buffer %[[S]] read_only
// CHECK: call @__qc_gpu_launch_1(%[[Q1]], %[[S1]], {{.*}}) {qc.gpu_launch = {args = [0, 1, 2, 3, 4, 5, "m"], block = 256 : i64, grid = ["n", "m"], grid_tile = array<i64: 128, 128>, kernel = @qc_kernels_sm_90::@q_int8_mma, n = 32 : i64}}
// CHECK: %[[Q2:.*]] = bufferization.to_buffer %[[Q]] read_only
// CHECK: %[[S2:.*]] = bufferization.to_buffer %[[S]] read_only
// CHECK: call @__qc_gpu_launch_2(%[[Q2]], %[[S2]], {{.*}}) {qc.gpu_launch = {args = [0, 1, 2, 3, "null", 4, "m"], {{.*}}kernel = @qc_kernels_sm_90::@k_int8_mma, n = 32 : i64}}
// CHECK: gpu.module @qc_kernels_sm_90
// CHECK: gpu.func @q_act_quant(
// CHECK-NOT: gpu.func @{{.*}}act_quant

// LAUNCH-LABEL: func.func @w8a8_shared
// LAUNCH-DAG: %[[C1:.*]] = arith.constant 1 : index
// LAUNCH-DAG: %[[C128:.*]] = arith.constant 128 : index
// LAUNCH-DAG: %[[C256:.*]] = arith.constant 256 : index
// LAUNCH-DAG: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr<1>
// LAUNCH: %[[QM:.*]], %{{.*}} = gpu.alloc async {{.*}} : memref<?x64xi8>
// LAUNCH: %[[SM:.*]], %{{.*}} = gpu.alloc async {{.*}} : memref<?xf32>
// LAUNCH: %[[QA:.*]] = memref.extract_aligned_pointer_as_index %[[QM]]
// LAUNCH: %[[SA:.*]] = memref.extract_aligned_pointer_as_index %[[SM]]
// LAUNCH: %[[M:.*]] = memref.dim
// LAUNCH: scf.if
// LAUNCH:   gpu.launch_func @qc_kernels_sm_90::@q_act_quant blocks in (%[[M]], %[[C1]], %[[C1]]) threads in (%[[C128]], %[[C1]], %[[C1]]) args(%{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : i32)
// LAUNCH: %[[QA2:.*]] = memref.extract_aligned_pointer_as_index %[[QM]]
// LAUNCH: %[[SA2:.*]] = memref.extract_aligned_pointer_as_index %[[SM]]
// LAUNCH: scf.if
// LAUNCH:   %[[GY:.*]] = arith.ceildivui %{{.*}}, %[[C128]] : index
// LAUNCH:   gpu.launch_func @qc_kernels_sm_90::@q_int8_mma blocks in (%[[C1]], %[[GY]], %[[C1]]) threads in (%[[C256]], %[[C1]], %[[C1]]) args(%{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : i32)
// LAUNCH: memref.extract_aligned_pointer_as_index %[[QM]]
// LAUNCH: memref.extract_aligned_pointer_as_index %[[SM]]
// LAUNCH: gpu.launch_func @qc_kernels_sm_90::@k_int8_mma {{.*}} args(%{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %[[NULL]] : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : i32)
func.func @w8a8_shared(%x: tensor<?x64xf32>, %d: tensor<2048xi8>, %s: tensor<32x1xf32>, %b: tensor<32xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  %q, %qs = qc.quantize_act %x dynamic_per_token : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<?xf32>
  %y0 = qc.int8_matmul %q, %qs, %pw, %b {layer = "q", kernel = #qc.kernel<int8_mma, target = "sm_90">} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8>, tensor<32xf32> -> tensor<?x32xf32>
  %y1 = qc.int8_matmul %q, %qs, %pw {layer = "k", kernel = #qc.kernel<int8_mma, target = "sm_90">} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return %y0, %y1 : tensor<?x32xf32>, tensor<?x32xf32>
}

// -----

// W8A8, static per tensor: the scales buffer has one element (the kernel
// writes the calibrated scale), the INT8 GEMM reads it as per-tensor.

// CHECK-LABEL: func.func private @__qc_gpu_launch_0(memref<?x64xf16>, memref<?x64xi8>, memref<1xf32>)
// CHECK-LABEL: func.func private @__qc_gpu_launch_1(memref<?x64xi8>, memref<1xf32>, memref<2048xi8>, memref<1x1xf32>, memref<?x32xf16>)
// CHECK-LABEL: func.func @w8a8_static
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<1xf32>
// CHECK: kernel = @qc_kernels_sm_90::@o_act_quant
// CHECK: kernel = @qc_kernels_sm_90::@o_int8_mma

// LAUNCH-LABEL: func.func @w8a8_static
// LAUNCH: gpu.launch_func @qc_kernels_sm_90::@o_act_quant
// LAUNCH: gpu.launch_func @qc_kernels_sm_90::@o_int8_mma
func.func @w8a8_static(%x: tensor<?x64xf16>, %d: tensor<2048xi8>, %s: tensor<1x1xf32>) -> tensor<?x32xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, granularity = per_tensor, act = static_per_tensor>} : tensor<2048xi8>, tensor<1x1xf32> -> !qc.packed<32x64xi8>
  %q, %qs = qc.quantize_act %x static_per_tensor scale 0.5 : tensor<?x64xf16> -> tensor<?x64xi8>, tensor<1xf32>
  %y = qc.int8_matmul %q, %qs, %pw {layer = "o", kernel = #qc.kernel<int8_mma, target = "sm_90">} : tensor<?x64xi8>, tensor<1xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// -----

// Unquantized f16 linear with fp16_mma, rank-1 input (M = 1 row): arguments
// (x, w, bias, y, M); the static M folds the guard away.

// CHECK-LABEL: func.func private @__qc_gpu_launch_0(memref<1x64xf16>, memref<24x64xf16>, memref<24xf16>, memref<1x24xf16>)
// CHECK-LABEL: func.func @fp16
// CHECK-SAME: (%[[X:.*]]: tensor<64xf16>,
// CHECK: %[[X2:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0, 1]] output_shape [1, 64] : tensor<64xf16> into tensor<1x64xf16>
// CHECK: call @__qc_gpu_launch_0({{.*}}) {qc.gpu_launch = {args = [0, 1, 2, 3, "m"], block = 256 : i64, grid = ["n", "m"], grid_tile = array<i64: 128, 128>, kernel = @qc_kernels_sm_80::@h_fp16_mma, n = 24 : i64}}
// CHECK: %[[Y:.*]] = bufferization.to_tensor
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[Y]] {{\[\[}}0, 1]] : tensor<1x24xf16> into tensor<24xf16>
// CHECK: return %[[R]]

// LAUNCH-LABEL: func.func @fp16
// LAUNCH-DAG: %[[C1:.*]] = arith.constant 1 : index
// LAUNCH-DAG: %[[ONE:.*]] = arith.constant 1 : i32
// LAUNCH-DAG: %[[C256:.*]] = arith.constant 256 : index
// LAUNCH: gpu.launch_func @qc_kernels_sm_80::@h_fp16_mma blocks in (%[[C1]], %[[C1]], %[[C1]]) threads in (%[[C256]], %[[C1]], %[[C1]]) args(%{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %[[ONE]] : i32)
func.func @fp16(%x: tensor<64xf16>, %w: tensor<24x64xf16>, %b: tensor<24xf16>) -> tensor<24xf16> {
  %y = qc.linear %x, %w, %b {layer = "h", kernel = #qc.kernel<fp16_mma, target = "sm_80">} : (tensor<64xf16>, tensor<24x64xf16>, tensor<24xf16>) -> tensor<24xf16>
  return %y : tensor<24xf16>
}

// -----

// Batch-adaptive INT8 (threshold 16), as the host lowering: M < 16 runs the
// GEMV family on the weight; M >= 16 quantizes the rows per token (act
// quant) and runs the INT8 GEMM on the same packed bytes.

// CHECK-LABEL: func.func @adaptive
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[D:.*]]: tensor<2048xi8>, %[[S:.*]]: tensor<32x1xf32>)
// CHECK: %[[M:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x64xf32>
// CHECK: %[[SMALL:.*]] = arith.cmpi slt, %[[M]], %[[C16:.*]] : index
// CHECK: %[[Y:.*]] = scf.if %[[SMALL]] -> (tensor<?x32xf32>) {
// CHECK:   call @__qc_gpu_launch_0({{.*}}) {qc.gpu_launch = {args = [0, 1, 2, "null", "null", 3, "m"], block = 128 : i64, grid = ["n", "m"], grid_tile = array<i64: 8, 1>, kernel = @qc_kernels_sm_90::@ad_gemv, m_tiles = array<i64: 1, 4>, n = 32 : i64}}
// CHECK:   scf.yield
// CHECK: } else {
// CHECK:   call @__qc_gpu_launch_1({{.*}}) {qc.gpu_launch = {args = [0, 1, 2, "m"], {{.*}}kernel = @qc_kernels_sm_90::@ad_act_quant
// CHECK:   call @__qc_gpu_launch_2({{.*}}) {qc.gpu_launch = {args = [0, 1, 2, 3, "null", 4, "m"], {{.*}}kernel = @qc_kernels_sm_90::@ad_int8_mma, n = 32 : i64}}
// CHECK:   scf.yield
// CHECK: }
// CHECK: return %[[Y]]
// CHECK: gpu.module @qc_kernels_sm_90
// CHECK-DAG: gpu.func @ad_gemv_mt1
// CHECK-DAG: gpu.func @ad_gemv_mt4
// CHECK-DAG: gpu.func @ad_int8_mma
// CHECK-DAG: gpu.func @ad_act_quant

// LAUNCH-LABEL: func.func @adaptive
// LAUNCH: scf.if %{{.*}} -> (memref<?x32xf32>) {
// LAUNCH:   gpu.launch_func @qc_kernels_sm_90::@ad_gemv_mt1
// LAUNCH:   gpu.launch_func @qc_kernels_sm_90::@ad_gemv_mt4
// LAUNCH: } else {
// LAUNCH:   gpu.launch_func @qc_kernels_sm_90::@ad_act_quant
// LAUNCH:   gpu.launch_func @qc_kernels_sm_90::@ad_int8_mma
func.func @adaptive(%x: tensor<?x64xf32>, %d: tensor<2048xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  %y = qc.wo_matmul %x, %pw {layer = "ad", kernel = #qc.kernel<adaptive, target = "sm_90", threshold = 16, gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 4]>>} : tensor<?x64xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Rank 3 (private: entry points of rank > 2 are refused for now): the act
// quant runs on the collapsed rows, its i8 rows and per-token scales are
// expanded back to the op's shapes (batch x seq), the INT8 matmul collapses
// both again (canonicalization folds the pairs).

// CHECK-LABEL: func.func private @rank3
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf32>,
// CHECK: %[[XR:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1], [2]] : tensor<?x?x64xf32> into tensor<?x64xf32>
// CHECK: call @__qc_gpu_launch_0
// CHECK: %[[Q:.*]] = bufferization.to_tensor %{{.*}} : memref<?x64xi8> to tensor<?x64xi8>
// CHECK: %[[S:.*]] = bufferization.to_tensor %{{.*}} : memref<?xf32> to tensor<?xf32>
// CHECK: %[[Q3:.*]] = tensor.expand_shape %[[Q]] {{\[\[}}0, 1], [2]] output_shape [%{{.*}}, %{{.*}}, 64] : tensor<?x64xi8> into tensor<?x?x64xi8>
// CHECK: %[[S2:.*]] = tensor.expand_shape %[[S]] {{\[\[}}0, 1]] output_shape [%{{.*}}, %{{.*}}] : tensor<?xf32> into tensor<?x?xf32>
// CHECK: %[[QR:.*]] = tensor.collapse_shape %[[Q3]] {{\[\[}}0, 1], [2]] : tensor<?x?x64xi8> into tensor<?x64xi8>
// CHECK: %[[SR:.*]] = tensor.collapse_shape %[[S2]] {{\[\[}}0, 1]] : tensor<?x?xf32> into tensor<?xf32>
// CHECK: %[[QB:.*]] = bufferization.to_buffer %[[QR]] read_only
// CHECK: %[[SB:.*]] = bufferization.to_buffer %[[SR]] read_only
// CHECK: call @__qc_gpu_launch_1(%[[QB]], %[[SB]],
// CHECK: %[[Y:.*]] = bufferization.to_tensor %{{.*}} : memref<?x32xf32> to tensor<?x32xf32>
// CHECK: %[[R:.*]] = tensor.expand_shape %[[Y]] {{\[\[}}0, 1], [2]] output_shape [%{{.*}}, %{{.*}}, 32] : tensor<?x32xf32> into tensor<?x?x32xf32>
// CHECK: return %[[R]]
func.func private @rank3(%x: tensor<?x?x64xf32>, %d: tensor<2048xi8>, %s: tensor<32x1xf32>) -> tensor<?x?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  %q, %qs = qc.quantize_act %x dynamic_per_token : tensor<?x?x64xf32> -> tensor<?x?x64xi8>, tensor<?x?xf32>
  %y = qc.int8_matmul %q, %qs, %pw {layer = "q", kernel = #qc.kernel<int8_mma, target = "sm_90">} : tensor<?x?x64xi8>, tensor<?x?xf32>, !qc.packed<32x64xi8> -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}

// -----

// The wgmma GEMM's TMA pipeline (tma = true): the launch record adds the
// tensor maps of the input ([M, 64] bytes, boxes of 128 rows) and of the
// weight ([32, 64], boxes of 256 rows); the launch encodes them into slots
// allocated in the entry block, inside the M > 0 branch, and passes them
// by value.

// CHECK-LABEL: func.func @w8a8_tma
// CHECK: qc.gpu_launch = {args = [0, 1, 2, 3, "null", 4, "m", "tmap:0:m:64:1:128", "tmap:2:32:64:1:256"], block = 384 : i64, {{.*}}kernel = @qc_kernels_sm_90a::@o_int8_mma, n = 32 : i64, smem = 197632 : i64}

// LAUNCH: llvm.func @qcrtEncodeTensorMap(!llvm.ptr, !llvm.ptr<1>, i64, i64, i32, i32)
// LAUNCH-LABEL: func.func @w8a8_tma
// LAUNCH-DAG: %[[SLOTW:.*]] = llvm.alloca %{{.*}} x !llvm.array<16 x i64> {alignment = 64 : i64}
// LAUNCH-DAG: %[[SLOTX:.*]] = llvm.alloca %{{.*}} x !llvm.array<16 x i64> {alignment = 64 : i64}
// LAUNCH: scf.if
// LAUNCH: llvm.call @qcrtEncodeTensorMap(%[[SLOTX]], %{{.*}}, %{{.*}}, %[[C64:.*]], %[[C1:.*]], %[[C128:.*]]) : (!llvm.ptr, !llvm.ptr<1>, i64, i64, i32, i32) -> ()
// LAUNCH: %[[MX:.*]] = llvm.load %[[SLOTX]] {alignment = 64 : i64} : !llvm.ptr -> !llvm.array<16 x i64>
// LAUNCH: llvm.call @qcrtEncodeTensorMap(%[[SLOTW]], %{{.*}}, %{{.*}}, %[[C64]], %[[C1]], %{{.*}})
// LAUNCH: %[[MW:.*]] = llvm.load %[[SLOTW]]
// LAUNCH: gpu.launch_func @qc_kernels_sm_90a::@o_int8_mma {{.*}} args({{.*}} : i32, %[[MX]] : !llvm.array<16 x i64>, %[[MW]] : !llvm.array<16 x i64>)
func.func @w8a8_tma(%x: tensor<?x64xf16>, %d: tensor<2048xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, granularity = per_channel, act = dynamic_per_token>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  %q, %qs = qc.quantize_act %x dynamic_per_token : tensor<?x64xf16> -> tensor<?x64xi8>, tensor<?xf32>
  %y = qc.int8_matmul %q, %qs, %pw {layer = "o", kernel = #qc.kernel<int8_mma, target = "sm_90a", mma = <block_m = 128, block_n = 256, block_k = 128, warps_m = 8, warps_n = 1, stages = 4, tma = true>>} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// -----

// A persistent kernel (ctas = 132): the record carries the CTA count and
// the launch's grid is 132 x 1 whatever M is (each CTA walks the tiles).

// CHECK-LABEL: func.func @w8a8_persistent
// CHECK: qc.gpu_launch = {args = [0, 1, 2, 3, "null", 4, "m", "tmap:0:m:64:1:128", "tmap:2:32:64:1:256"], block = 384 : i64, ctas = 132 : i64,

// LAUNCH-LABEL: func.func @w8a8_persistent
// LAUNCH-DAG: %[[C132:.*]] = arith.constant 132 : index
// LAUNCH: gpu.launch_func @qc_kernels_sm_90a::@o_int8_mma blocks in (%[[C132]], %[[ONE:.*]], %[[ONE]])
func.func @w8a8_persistent(%x: tensor<?x64xf16>, %d: tensor<2048xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, granularity = per_channel, act = dynamic_per_token>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  %q, %qs = qc.quantize_act %x dynamic_per_token : tensor<?x64xf16> -> tensor<?x64xi8>, tensor<?xf32>
  %y = qc.int8_matmul %q, %qs, %pw {layer = "o", kernel = #qc.kernel<int8_mma, target = "sm_90a", mma = <block_m = 128, block_n = 256, block_k = 128, warps_m = 8, warps_n = 1, stages = 4, tma = true, persistent = true>>} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}
