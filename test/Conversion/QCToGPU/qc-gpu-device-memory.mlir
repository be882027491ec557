// RUN: quant-opt %s --allow-unregistered-dialect --qc-gpu-device-memory --split-input-file --verify-diagnostics | FileCheck %s

// Allocations become device allocations, copies linalg.copy (later a GPU
// kernel), the weight global an 8-byte pointer slot read at each use.

// CHECK-LABEL: llvm.mlir.global external @__constant_64xf32() {addr_space = 0 : i32, alignment = 8 : i64} : !llvm.ptr {
// CHECK:   %[[Z:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK:   llvm.return %[[Z]] : !llvm.ptr
// CHECK-NOT: memref.global
// CHECK-LABEL: func.func @f
// CHECK-SAME: (%[[A:.*]]: memref<?x64xf32>, %[[M:.*]]: index)
// CHECK: %[[T0:.*]] = gpu.wait async
// CHECK: %[[BUF:.*]], %[[T1:.*]] = gpu.alloc async [%[[T0]]] (%[[M]]) : memref<?x64xf32>
// CHECK: gpu.wait [%[[T1]]]
// CHECK: %[[SLOT:.*]] = llvm.mlir.addressof @__constant_64xf32 : !llvm.ptr
// CHECK: %[[PTR:.*]] = llvm.load %[[SLOT]] {alignment = 8 : i64} : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.insertvalue %[[PTR]], %{{.*}}[0]
// CHECK: llvm.insertvalue %[[PTR]], %{{.*}}[1]
// CHECK: %[[W:.*]] = builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)> to memref<64xf32>
// CHECK: linalg.copy ins(%[[A]] : memref<?x64xf32>) outs(%[[BUF]] : memref<?x64xf32>)
// CHECK: "use"(%[[W]])
// CHECK: %[[T2:.*]] = gpu.wait async
// CHECK: %[[T3:.*]] = gpu.dealloc async [%[[T2]]] %[[BUF]] : memref<?x64xf32>
// CHECK: gpu.wait [%[[T3]]]
module attributes {qc.weights = [{bytes = 256 : i64, symbol = "__constant_64xf32", value = dense<1.0> : tensor<64xf32>}]} {
  memref.global @__constant_64xf32 : memref<64xf32> = uninitialized {alignment = 64 : i64}
  func.func @f(%a: memref<?x64xf32>, %m: index) {
    %b = memref.alloc(%m) : memref<?x64xf32>
    %w = memref.get_global @__constant_64xf32 : memref<64xf32>
    memref.copy %a, %b : memref<?x64xf32> to memref<?x64xf32>
    "use"(%w) : (memref<64xf32>) -> ()
    memref.dealloc %b : memref<?x64xf32>
    return
  }
}

// -----

// A constant that was not externalized cannot be read by the device.
module {
  memref.global "private" constant @small : memref<2xf32> = dense<[1.0, 2.0]>
  func.func @g() {
    // expected-error @below {{global 'small' is not an externalized weight and cannot be placed in device memory}}
    %w = memref.get_global @small : memref<2xf32>
    "use"(%w) : (memref<2xf32>) -> ()
    return
  }
}

// -----

func.func @h() {
  // expected-error @below {{stack buffers (memref.alloca) cannot be placed in device memory}}
  %a = memref.alloca() : memref<4xf32>
  "use"(%a) : (memref<4xf32>) -> ()
  return
}
