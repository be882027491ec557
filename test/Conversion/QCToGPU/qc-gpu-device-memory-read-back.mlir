// RUN: quant-opt %s --qc-gpu-device-memory --split-input-file | FileCheck %s
// RUN: quant-opt %s --qc-gpu-device-memory --gpu-map-parallel-loops --convert-parallel-loops-to-gpu --qc-gpu-check-host-code --split-input-file -o /dev/null

// Host code reading a scalar of a device buffer (the decode position whose
// value sizes the attention loops) reads a host copy: a stack buffer, an
// async gpu.memcpy waited on, and the load from the copy; qc-gpu-check-host-code
// then accepts the load. The function is recorded in the module's
// qc.host_sync list (its runs synchronize: no CUDA graph).

// CHECK: module attributes {qc.host_sync = ["position"]}

// CHECK-LABEL: func.func @position
// CHECK-SAME: (%[[POS:.*]]: memref<i64>)
// CHECK: %[[HOST:.*]] = memref.alloca() : memref<i64>
// CHECK: %[[T0:.*]] = gpu.wait async
// CHECK: %[[T1:.*]] = gpu.memcpy async [%[[T0]]] %[[HOST]], %[[POS]] : memref<i64>, memref<i64>
// CHECK: gpu.wait [%[[T1]]]
// CHECK: %[[V:.*]] = memref.load %[[HOST]][] : memref<i64>
// CHECK: return %[[V]]
func.func @position(%pos: memref<i64>) -> i64 {
  %v = memref.load %pos[] : memref<i64>
  return %v : i64
}

// -----

// Small static buffers are copied whole; loads inside device loops
// (scf.parallel, mapped later) are left alone.

// CHECK-LABEL: func.func @small
// CHECK: %[[HOST:.*]] = memref.alloca() : memref<2xi32>
// CHECK: gpu.memcpy async [%{{.*}}] %[[HOST]], %{{.*}} : memref<2xi32>, memref<2xi32>
// CHECK: memref.load %[[HOST]][%{{.*}}] : memref<2xi32>
// CHECK: scf.parallel
// CHECK-NEXT: memref.load %{{.*}}[%{{.*}}] : memref<64xf32>
// CHECK-NOT: gpu.memcpy
func.func @small(%lens: memref<2xi32>, %a: memref<64xf32>) -> i32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %v = memref.load %lens[%c1] : memref<2xi32>
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %x = memref.load %a[%i] : memref<64xf32>
    %y = arith.addf %x, %x : f32
    memref.store %y, %a[%i] : memref<64xf32>
  }
  return %v : i32
}
