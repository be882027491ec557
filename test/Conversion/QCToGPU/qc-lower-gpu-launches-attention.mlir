// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90" --qc-lower-gpu-launches | FileCheck %s
// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90" --qc-lower-gpu-launches --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --qc-gpu-device-memory --canonicalize | FileCheck %s --check-prefix=LAUNCH

// qc.cache_attention on a GPU target: a f32 workspace of B * T * H *
// chunks records (chunks = 64 for T <= 16, else 1), the partial launch on
// (q, kc, vc, pos) -> ws, the combine launch on (ws, pos) -> out. Nothing
// about pos reaches the host.

// CHECK-LABEL: func.func @attn
// CHECK-SAME: (%[[Q:.*]]: tensor<?x?x9x64xf32>, %[[KC:.*]]: tensor<30x?x3x512x64xf32>, %[[VC:.*]]: tensor<30x?x3x512x64xf32>, %[[POS:.*]]: tensor<?xi64>)
// CHECK: %[[B:.*]] = tensor.dim %[[Q]], %{{.*}}
// CHECK: %[[T:.*]] = tensor.dim %[[Q]], %{{.*}}
// CHECK: %[[C16:.*]] = arith.constant 16 : index
// CHECK: %[[SPLIT:.*]] = arith.cmpi ule, %[[T]], %[[C16]] : index
// CHECK: %[[C64:.*]] = arith.constant 64 : index
// CHECK: %[[CH:.*]] = arith.select %[[SPLIT]], %[[C64]], %{{.*}} : index
// CHECK: %[[C9:.*]] = arith.constant 9 : index
// CHECK: %[[HC:.*]] = arith.muli %[[C9]], %[[CH]] : index
// CHECK: %[[BT:.*]] = arith.muli %[[B]], %[[T]] : index
// CHECK: %[[ROWS:.*]] = arith.muli %[[BT]], %[[HC]] : index
// CHECK: %[[QB:.*]] = bufferization.to_buffer %[[Q]] read_only
// CHECK: %[[KB:.*]] = bufferization.to_buffer %[[KC]] read_only
// CHECK: %[[VB:.*]] = bufferization.to_buffer %[[VC]] read_only
// CHECK: %[[PB:.*]] = bufferization.to_buffer %[[POS]] read_only
// CHECK: %[[WS:.*]] = memref.alloc(%[[ROWS]]) {alignment = 64 : i64} : memref<?x68xf32>
// CHECK: call @__qc_gpu_launch_0(%[[QB]], %[[KB]], %[[VB]], %[[PB]], %[[WS]]) {qc.gpu_launch = {args = [0, 1, 2, 3, 4, "dim:0:1", "dim:1:1"], block = 32 : i64, grid = ["n", "dim:0:1", "dim:0:0"], grid_tile = array<i64: 1, 1, 1>, kernel = @qc_kernels_sm_90::@cache_attention_l3_partial, n = 192 : i64}}
// CHECK: %[[WST:.*]] = bufferization.to_tensor %[[WS]] restrict writable
// CHECK: %[[WSB:.*]] = bufferization.to_buffer %[[WST]] read_only
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?x9x64xf32>
// CHECK: call @__qc_gpu_launch_1(%[[WSB]], %{{.*}}, %[[OUT]]) {qc.gpu_launch = {args = [0, 1, 2, "dim:2:1"], block = 64 : i64, grid = ["n", "dim:2:1", "dim:2:0"], grid_tile = array<i64: 1, 1, 1>, kernel = @qc_kernels_sm_90::@cache_attention_l3_combine, n = 9 : i64}}
// CHECK: %[[R:.*]] = bufferization.to_tensor %[[OUT]]
// CHECK: return %[[R]]

// After bufferization: each launch guarded by its rows and dynamic grid
// extents (the pipeline's buffer-deallocation-pipeline, not run here, frees
// the workspace after the combine launch).
// LAUNCH-LABEL: func.func @attn
// LAUNCH-DAG: %[[C1:.*]] = arith.constant 1 : index
// LAUNCH-DAG: %[[C32:.*]] = arith.constant 32 : index
// LAUNCH-DAG: %[[C192:.*]] = arith.constant 192 : index
// LAUNCH-DAG: %[[C9:.*]] = arith.constant 9 : index
// LAUNCH-DAG: %[[C64:.*]] = arith.constant 64 : index
// LAUNCH: %[[WS:.*]] = gpu.alloc
// LAUNCH: %[[T32:.*]] = arith.index_cast %{{.*}} : index to i32
// LAUNCH: %[[CB:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<30x?x3x512x64xf32>
// LAUNCH: %[[CB32:.*]] = arith.index_cast %[[CB]] : index to i32
// LAUNCH: scf.if
// LAUNCH: gpu.launch_func @qc_kernels_sm_90::@cache_attention_l3_partial blocks in (%[[C192]], %{{.*}}, %{{.*}}) threads in (%[[C32]], %[[C1]], %[[C1]]) args(%{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %[[T32]] : i32, %[[CB32]] : i32)
// LAUNCH: scf.if
// LAUNCH: gpu.launch_func @qc_kernels_sm_90::@cache_attention_l3_combine blocks in (%[[C9]], %{{.*}}, %{{.*}}) threads in (%[[C64]], %[[C1]], %[[C1]])
func.func @attn(%q: tensor<?x?x9x64xf32>, %kc: tensor<30x?x3x512x64xf32>, %vc: tensor<30x?x3x512x64xf32>, %pos: tensor<?xi64>) -> tensor<?x?x9x64xf32> {
  %o = qc.cache_attention %q, %kc, %vc, %pos {layer = 3 : i64, scale = 0.125 : f32} : tensor<?x?x9x64xf32>, tensor<30x?x3x512x64xf32>, tensor<30x?x3x512x64xf32>, tensor<?xi64> -> tensor<?x?x9x64xf32>
  return %o : tensor<?x?x9x64xf32>
}
