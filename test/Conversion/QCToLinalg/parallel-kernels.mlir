// RUN: quant-opt %s --convert-qc-to-linalg=parallel-kernels=true | FileCheck %s
// RUN: quant-opt %s --qc-lower-to-host=parallel=true | FileCheck %s --check-prefix=LLVM

// With parallel-kernels the outlined kernel is in destination-passing style:
// it takes its output and a range of 64-column panels, is marked
// qc.parallel_range, and the call covers all panels (N = 200: nr = 4,
// panel width 64, 4 panels).
// CHECK-LABEL: func @linear
// CHECK-SAME: %[[X:.*]]: tensor<?x64xf32>, %[[W:.*]]: tensor<200x64xf32>
// CHECK: %[[OUT:.*]] = tensor.empty(%{{.*}}) : tensor<?x200xf32>
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK: call @[[K:__qc_kernel_[0-9a-f_]+]](%[[X]], %[[W]], %[[OUT]], %[[C0]], %[[C4]]) : (tensor<?x64xf32>, tensor<200x64xf32>, tensor<?x200xf32>, index, index) -> tensor<?x200xf32>
// CHECK: func.func private @[[K]](%{{.*}}: tensor<?x64xf32>, %{{.*}}: tensor<200x64xf32>, %[[INIT:.*]]: tensor<?x200xf32>, %[[B:.*]]: index, %[[E:.*]]: index) -> tensor<?x200xf32> attributes {qc.kernel_key = {{.*}}, qc.parallel_range}
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[C200:.*]] = arith.constant 200 : index
// CHECK: %[[LO:.*]] = arith.muli %[[B]], %[[C64]] : index
// CHECK: %[[HI0:.*]] = arith.muli %[[E]], %[[C64]] : index
// CHECK: %[[HI:.*]] = arith.minui %[[HI0]], %[[C200]] : index
// CHECK: scf.for %{{.*}} = %[[LO]] to %[[HI]] step %{{.*}} iter_args(%{{.*}} = %[[INIT]]) -> (tensor<?x200xf32>)

// After the whole pipeline the kernel returns nothing and is called through
// the runtime.
// LLVM-DAG: llvm.func @qcrt_parallel_for(!llvm.ptr, !llvm.ptr, i64, i64)
// LLVM-LABEL: llvm.func @linear
// LLVM: llvm.mlir.addressof @[[K:__qc_kernel_[0-9a-f_]+]]__par
// LLVM: llvm.call @qcrt_parallel_for(
// LLVM: llvm.func @[[K]](
// LLVM-SAME: qc.parallel_range
// LLVM-NOT: llvm.return %
// LLVM: llvm.func internal @[[K]]__par(
func.func @linear(%x: tensor<?x64xf32>, %w: tensor<200x64xf32>) -> tensor<?x200xf32> {
  %y = qc.linear %x, %w {layer = "l"} : (tensor<?x64xf32>, tensor<200x64xf32>) -> tensor<?x200xf32>
  return %y : tensor<?x200xf32>
}
