// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90" --qc-lower-gpu-launches | FileCheck %s
// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90" --qc-lower-gpu-launches --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --qc-gpu-device-memory --canonicalize | FileCheck %s --check-prefix=LAUNCH

// qc.cache_attention with the tensor-core prefill kernel (f16, D = 64,
// G = 3: 21 tokens per CTA): T <= 16 runs the flash-decoding pair as
// without it (qc-lower-gpu-launches-attention.mlir), T > 16 the prefill
// kernel on (q, kc, vc, pos) -> out, grid (KV, ceil(T / 21), B), 128
// threads, no workspace.

// CHECK-LABEL: func.func @prefill
// CHECK-SAME: (%[[Q:.*]]: tensor<?x?x9x64xf16>, %[[KC:.*]]: tensor<30x?x3x512x64xf16>, %[[VC:.*]]: tensor<30x?x3x512x64xf16>, %[[POS:.*]]: tensor<?xi64>)
// CHECK: %[[T:.*]] = tensor.dim %[[Q]], %{{.*}}
// CHECK: %[[C16:.*]] = arith.constant 16 : index
// CHECK: %[[SPLIT:.*]] = arith.cmpi ule, %[[T]], %[[C16]] : index
// CHECK: %[[R:.*]] = scf.if %[[SPLIT]] -> (tensor<?x?x9x64xf16>) {
// CHECK: memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x68xf32>
// CHECK: call @__qc_gpu_launch_0({{.*}}) {qc.gpu_launch = {args = [0, 1, 2, 3, 4, "dim:0:1", "dim:1:1"], block = 32 : i64, grid = ["n", "dim:0:1", "dim:0:0"], grid_tile = array<i64: 1, 1, 1>, kernel = @qc_kernels_sm_90::@cache_attention_l3_partial, n = 192 : i64}}
// CHECK: call @__qc_gpu_launch_1({{.*}}) {qc.gpu_launch = {args = [0, 1, 2, "dim:2:1"], block = 64 : i64, grid = ["n", "dim:2:1", "dim:2:0"], grid_tile = array<i64: 1, 1, 1>, kernel = @qc_kernels_sm_90::@cache_attention_l3_combine, n = 9 : i64}}
// CHECK: scf.yield
// CHECK: } else {
// CHECK: %[[QB:.*]] = bufferization.to_buffer %[[Q]] read_only
// CHECK: %[[KB:.*]] = bufferization.to_buffer %[[KC]] read_only
// CHECK: %[[VB:.*]] = bufferization.to_buffer %[[VC]] read_only
// CHECK: %[[PB:.*]] = bufferization.to_buffer %[[POS]] read_only
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?x9x64xf16>
// CHECK: call @__qc_gpu_launch_2(%[[QB]], %[[KB]], %[[VB]], %[[PB]], %[[OUT]]) {qc.gpu_launch = {args = [0, 1, 2, 3, 4, "dim:0:1", "dim:1:1"], block = 128 : i64, grid = ["n", "dim:0:1", "dim:0:0"], grid_tile = array<i64: 1, 21, 1>, kernel = @qc_kernels_sm_90::@cache_attention_l3_prefill, n = 3 : i64}}
// CHECK: %[[O:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: scf.yield %[[O]]
// CHECK: return %[[R]]

// After bufferization: the prefill launch guarded by its grid extents,
// ceil(T / 21) query tiles.
// LAUNCH-LABEL: func.func @prefill
// LAUNCH-DAG: %[[C21:.*]] = arith.constant 21 : index
// LAUNCH-DAG: %[[C3:.*]] = arith.constant 3 : index
// LAUNCH-DAG: %[[C128:.*]] = arith.constant 128 : index
// LAUNCH: scf.if
// LAUNCH: gpu.launch_func @qc_kernels_sm_90::@cache_attention_l3_partial
// LAUNCH: gpu.launch_func @qc_kernels_sm_90::@cache_attention_l3_combine
// LAUNCH: } else {
// LAUNCH: scf.if
// LAUNCH-NEXT: %[[TILES:.*]] = arith.ceildivui %{{.*}}, %[[C21]] : index
// LAUNCH: gpu.launch_func @qc_kernels_sm_90::@cache_attention_l3_prefill blocks in (%[[C3]], %[[TILES]], %{{.*}}) threads in (%[[C128]], %{{.*}}, %{{.*}}) args(%{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : !llvm.ptr<1>, %{{.*}} : i32, %{{.*}} : i32)
func.func @prefill(%q: tensor<?x?x9x64xf16>, %kc: tensor<30x?x3x512x64xf16>, %vc: tensor<30x?x3x512x64xf16>, %pos: tensor<?xi64>) -> tensor<?x?x9x64xf16> {
  %o = qc.cache_attention %q, %kc, %vc, %pos {layer = 3 : i64, scale = 0.125 : f32} : tensor<?x?x9x64xf16>, tensor<30x?x3x512x64xf16>, tensor<30x?x3x512x64xf16>, tensor<?xi64> -> tensor<?x?x9x64xf16>
  return %o : tensor<?x?x9x64xf16>
}
