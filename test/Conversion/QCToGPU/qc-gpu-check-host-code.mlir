// RUN: quant-opt %s --qc-gpu-check-host-code --split-input-file --verify-diagnostics | FileCheck %s

// Buffer contents touched only inside gpu.launch / gpu.module: accepted.
// CHECK-LABEL: func.func @ok
func.func @ok(%a: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %c0 = arith.constant 0 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %a[%c0] : memref<4xf32>
    memref.store %v, %a[%c1] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

// A load left in host code (e.g. a full reduction the mapping could not
// take) would read device memory from the CPU.
func.func @host_load(%a: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @below {{host code would read or write device memory: memref.load (a loop nest the GPU mapping could not take)}}
  %v = memref.load %a[%c0] : memref<4xf32>
  return %v : f32
}

// -----

func.func @host_linalg(%a: memref<4xf32>, %b: memref<4xf32>) {
  // expected-error @below {{host code would read or write device memory: linalg.copy}}
  linalg.copy ins(%a : memref<4xf32>) outs(%b : memref<4xf32>)
  return
}
