// RUN: quant-opt %s --qc-gpu-merge-kernel-modules | FileCheck %s --enable-var-scope

// Two identical outlined kernels (only their argument names differ) become
// one; a different one is kept under a fresh name; a module holding more
// than one kernel stays as it is; identical hand-built kernels in
// @qc_kernels_sm_90 are kept once and their launches redirected.

module attributes {gpu.container_module} {
// CHECK-LABEL: gpu.module @qc_kernels_sm_90
// CHECK:         gpu.func @a_gemv(%{{.*}}: f32) kernel
// CHECK-NOT:     gpu.func @b_gemv
// CHECK:         gpu.func @c_gemv(%{{.*}}: i32) kernel
gpu.module @qc_kernels_sm_90 {
  gpu.func @a_gemv(%p: f32) kernel { gpu.return }
  gpu.func @b_gemv(%p: f32) kernel { gpu.return }
  gpu.func @c_gemv(%p: i32) kernel { gpu.return }
}

// CHECK-LABEL: gpu.module @qc_glue_kernels
// CHECK:         gpu.func @f_kernel(%[[A:.*]]: memref<?xf32>) kernel
// CHECK:           arith.addf
// CHECK:         gpu.func @f_kernel_0(%{{.*}}: memref<?xf32>) kernel
// CHECK:           arith.mulf
// CHECK-NOT:     gpu.func
// CHECK-NOT:   gpu.module @f_kernel_0
// CHECK-NOT:   gpu.module @f_kernel_1
gpu.module @f_kernel {
  gpu.func @f_kernel(%p: memref<?xf32>) kernel {
    %c0 = arith.constant 0 : index
    %v = memref.load %p[%c0] : memref<?xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %p[%c0] : memref<?xf32>
    gpu.return
  }
}
gpu.module @f_kernel_0 {
  gpu.func @f_kernel(%q: memref<?xf32>) kernel {
    %c0 = arith.constant 0 : index
    %v = memref.load %q[%c0] : memref<?xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %q[%c0] : memref<?xf32>
    gpu.return
  }
}
gpu.module @f_kernel_1 {
  gpu.func @f_kernel(%p: memref<?xf32>) kernel {
    %c0 = arith.constant 0 : index
    %v = memref.load %p[%c0] : memref<?xf32>
    %w = arith.mulf %v, %v : f32
    memref.store %w, %p[%c0] : memref<?xf32>
    gpu.return
  }
}

// CHECK-LABEL: gpu.module @two
// CHECK:         gpu.func @g
// CHECK:         gpu.func @h
gpu.module @two {
  gpu.func @g() kernel { gpu.return }
  gpu.func @h() kernel { gpu.return }
}

// CHECK-LABEL: func.func @main
// CHECK:         gpu.launch_func @qc_glue_kernels::@f_kernel
// CHECK:         gpu.launch_func @qc_glue_kernels::@f_kernel
// CHECK:         gpu.launch_func @qc_glue_kernels::@f_kernel_0
// CHECK:         gpu.launch_func @two::@g
// CHECK:         gpu.launch_func @qc_kernels_sm_90::@a_gemv
// CHECK:         gpu.launch_func @qc_kernels_sm_90::@a_gemv
// CHECK:         gpu.launch_func @qc_kernels_sm_90::@c_gemv
func.func @main(%m: memref<?xf32>, %x: f32, %i: i32) {
  %c1 = arith.constant 1 : index
  gpu.launch_func @f_kernel::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<?xf32>)
  gpu.launch_func @f_kernel_0::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<?xf32>)
  gpu.launch_func @f_kernel_1::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<?xf32>)
  gpu.launch_func @two::@g blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
  gpu.launch_func @qc_kernels_sm_90::@a_gemv blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : f32)
  gpu.launch_func @qc_kernels_sm_90::@b_gemv blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : f32)
  gpu.launch_func @qc_kernels_sm_90::@c_gemv blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%i : i32)
  return
}
}
