// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90" | FileCheck %s
// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90" --qc-lower-gpu-launches | FileCheck %s --check-prefix=LAUNCH

// qc.sample on a GPU target: one CTA per row (buildRowSampleKernel). The
// parameters are read from device memory; with temperature > 0 and
// 0 < top_k < V a 4-pass radix select (256-bin shared histogram, atomic
// counts, thread 0 picks each digit between barriers) finds tau's key; the
// argmax pass then maximizes l / T + Gumbel noise over the kept logits.
// Samples of one vocabulary share the kernel.

// CHECK-LABEL: func.func @draw
// CHECK: qc.sample
// CHECK-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90::@sample_v32000, block = 1024>
// CHECK: qc.sample
// CHECK-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90::@sample_v32000,
// CHECK: qc.sample
// CHECK-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90::@sample_v64, block = 256>
// CHECK: gpu.module @qc_kernels_sm_90
// CHECK: llvm.mlir.global internal @sample_v32000_smem_hist() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<256 x i32>
// CHECK: gpu.func @sample_v32000(%[[X:.*]]: !llvm.ptr<1>, %[[T:.*]]: !llvm.ptr<1>, %[[K:.*]]: !llvm.ptr<1>, %[[S:.*]]: !llvm.ptr<1>, %[[P:.*]]: !llvm.ptr<1>, %[[OUT:.*]]: !llvm.ptr<1>, %{{.*}}: i32) kernel attributes {known_block_size = array<i32: 1024, 1, 1>}
// CHECK: llvm.load %[[T]] {alignment = 4 : i64} : !llvm.ptr<1> -> f32
// CHECK: llvm.load %[[K]] {alignment = 8 : i64} : !llvm.ptr<1> -> i64
// CHECK: llvm.load %[[S]] {alignment = 8 : i64} : !llvm.ptr<1> -> i64
// CHECK: scf.if %{{.*}} -> (i32) {
// CHECK: nvvm.barrier0
// CHECK: llvm.atomicrmw add %{{.*}}, %{{.*}} monotonic : !llvm.ptr<3>, i32
// CHECK: nvvm.barrier0
// CHECK-COUNT-2: math.log
// CHECK: nvvm.shfl.sync bfly
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 8 : i64} : i64, !llvm.ptr<1>

// LAUNCH-LABEL: func.func @draw
// LAUNCH: call @__qc_gpu_launch_0(%{{.*}}) {qc.gpu_launch = {args = [0, 1, 2, 3, 4, 5, "m"], block = 1024 : i64, grid = ["m", "1"]
// LAUNCH-SAME: kernel = @qc_kernels_sm_90::@sample_v32000
// LAUNCH-NOT: qc.sample
func.func @draw(%a: tensor<?x32000xf32>, %b: tensor<?x32000xf32>, %e: tensor<?x64xf32>, %t: tensor<f32>, %k: tensor<i64>, %s: tensor<i64>, %p: tensor<?xi64>)
    -> (tensor<?x1xi64>, tensor<?x1xi64>, tensor<?x1xi64>) {
  %0 = qc.sample %a, %t, %k, %s, %p : tensor<?x32000xf32>, tensor<f32>, tensor<i64>, tensor<i64>, tensor<?xi64> -> tensor<?x1xi64>
  %1 = qc.sample %b, %t, %k, %s, %p : tensor<?x32000xf32>, tensor<f32>, tensor<i64>, tensor<i64>, tensor<?xi64> -> tensor<?x1xi64>
  %2 = qc.sample %e, %t, %k, %s, %p : tensor<?x64xf32>, tensor<f32>, tensor<i64>, tensor<i64>, tensor<?xi64> -> tensor<?x1xi64>
  return %0, %1, %2 : tensor<?x1xi64>, tensor<?x1xi64>, tensor<?x1xi64>
}
