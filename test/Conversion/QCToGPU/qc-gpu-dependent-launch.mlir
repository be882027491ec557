// RUN: quant-opt %s --qc-gpu-dependent-launch | FileCheck %s --enable-var-scope
// RUN: quant-opt %s --qc-gpu-dependent-launch --qc-gpu-dependent-launch | FileCheck %s --check-prefix=TWICE

// Every kernel of every gpu.module first waits for the grid before it, then
// lets the next one be scheduled; device functions that are not kernels are
// left alone. Running the pass again adds nothing.

module attributes {gpu.container_module} {
  // CHECK-LABEL: gpu.module @qc_kernels_sm_90
  gpu.module @qc_kernels_sm_90 {
    // CHECK-LABEL: gpu.func @matmul(
    // CHECK-NEXT: nvvm.griddepcontrol wait
    // CHECK-NEXT: nvvm.griddepcontrol launch_dependents
    // CHECK-NEXT: %[[V:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> f32
    // CHECK-NEXT: llvm.store %[[V]], %{{.*}} : f32, !llvm.ptr<1>
    gpu.func @matmul(%a: !llvm.ptr<1>, %b: !llvm.ptr<1>) kernel {
      %v = llvm.load %a : !llvm.ptr<1> -> f32
      llvm.store %v, %b : f32, !llvm.ptr<1>
      gpu.return
    }
    // CHECK-LABEL: gpu.func @helper(
    // CHECK-NOT: nvvm.griddepcontrol
    // CHECK: gpu.return
    gpu.func @helper(%a: !llvm.ptr<1>) {
      gpu.return
    }
  }
  // CHECK-LABEL: gpu.module @qc_glue_kernels
  gpu.module @qc_glue_kernels {
    // CHECK-LABEL: gpu.func @glue(
    // CHECK-NEXT: nvvm.griddepcontrol wait
    // CHECK-NEXT: nvvm.griddepcontrol launch_dependents
    gpu.func @glue() kernel {
      gpu.return
    }
  }
}

// TWICE-COUNT-2: nvvm.griddepcontrol wait
// TWICE-NOT: nvvm.griddepcontrol wait
