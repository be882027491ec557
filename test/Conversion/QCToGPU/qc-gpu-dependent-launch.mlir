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
    // A weight prefetch marked qc.dependent_wait_after (the matmul
    // builders' L2 prologue) runs before the wait; the mark goes.
    // CHECK-LABEL: gpu.func @prefetching(
    // CHECK-NEXT: scf.if
    // CHECK-NEXT: nvvm.cp.async.bulk.prefetch
    // CHECK-NEXT: }
    // CHECK-NOT: qc.dependent_wait_after
    // CHECK-NEXT: nvvm.griddepcontrol wait
    // CHECK-NEXT: nvvm.griddepcontrol launch_dependents
    // CHECK-NEXT: llvm.load
    gpu.func @prefetching(%w: !llvm.ptr<1>, %x: !llvm.ptr<1>, %c: i1, %n: i32) kernel {
      scf.if %c {
        nvvm.cp.async.bulk.prefetch %w, %n : !llvm.ptr<1>
      } {qc.dependent_wait_after}
      %v = llvm.load %x : !llvm.ptr<1> -> f32
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

// TWICE-COUNT-3: nvvm.griddepcontrol wait
// TWICE-NOT: nvvm.griddepcontrol wait
