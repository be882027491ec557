// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90" | FileCheck %s
// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90" --qc-lower-gpu-launches | FileCheck %s --check-prefix=LAUNCH

// qc.argmax on a GPU target: one CTA per row. A 32000-wide f32 vocabulary
// row: 1024 threads, 16-byte loads (4 x f32) in a strided loop that keeps
// the thread's first maximum, butterfly shuffles of (value, index) pairs,
// one pair per warp in shared memory, thread 0 folds them and stores the
// i64 index. Argmaxes of one shape share the kernel.

// CHECK-LABEL: func.func @greedy
// CHECK: qc.argmax
// CHECK-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90::@argmax_k32000, block = 1024>
// CHECK: qc.argmax
// CHECK-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90::@argmax_k32000,
// CHECK: qc.argmax
// CHECK-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90::@argmax_k64, block = 32>
// CHECK: gpu.module @qc_kernels_sm_90
// CHECK: llvm.mlir.global internal @argmax_k32000_smem_val() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<32 x f32>
// CHECK: llvm.mlir.global internal @argmax_k32000_smem_idx() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<32 x i32>
// CHECK: gpu.func @argmax_k32000(%[[X:.*]]: !llvm.ptr<1>, %[[OUT:.*]]: !llvm.ptr<1>, %{{.*}}: i32) kernel attributes {known_block_size = array<i32: 1024, 1, 1>}
// CHECK: scf.for
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK-COUNT-4: arith.cmpf ogt
// CHECK: scf.yield
// CHECK-COUNT-10: nvvm.shfl.sync bfly
// CHECK: nvvm.barrier0
// CHECK: scf.if
// CHECK: %[[P:.*]] = llvm.getelementptr %[[OUT]][%{{.*}}] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i64
// CHECK: %[[IDX:.*]] = arith.extui %{{.*}} : i32 to i64
// CHECK: llvm.store %[[IDX]], %[[P]] {alignment = 8 : i64} : i64, !llvm.ptr<1>
// CHECK: gpu.func @argmax_k64(
// CHECK-NOT: nvvm.barrier0
// CHECK: gpu.return

// The launch: grid (M), the kernel's block, arguments (x, out, M) on rows.
// LAUNCH-LABEL: func.func @greedy
// LAUNCH: %[[ROWS:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x1xi64>
// LAUNCH: call @__qc_gpu_launch_0(%{{.*}}, %[[ROWS]]) {qc.gpu_launch = {args = [0, 1, "m"], block = 1024 : i64, grid = ["m", "1"], grid_tile = array<i64: 1, 1>, kernel = @qc_kernels_sm_90::@argmax_k32000, n = 0 : i64}}
// LAUNCH: tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2]] output_shape [2, %{{.*}}, 1] : tensor<?x1xi64> into tensor<2x?x1xi64>
// LAUNCH-NOT: qc.argmax
func.func @greedy(%l: tensor<?x32000xf32>, %m: tensor<2x?x32000xf32>, %s: tensor<?x64xf16>)
    -> (tensor<?x1xi64>, tensor<2x?x1xi64>, tensor<?x1xi64>) {
  %0 = qc.argmax %l : tensor<?x32000xf32> -> tensor<?x1xi64>
  %1 = qc.argmax %m : tensor<2x?x32000xf32> -> tensor<2x?x1xi64>
  %2 = qc.argmax %s : tensor<?x64xf16> -> tensor<?x1xi64>
  return %0, %1, %2 : tensor<?x1xi64>, tensor<2x?x1xi64>, tensor<?x1xi64>
}
