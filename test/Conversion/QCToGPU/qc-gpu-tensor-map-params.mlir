// RUN: quant-opt %s --split-input-file --verify-diagnostics --pass-pipeline="builtin.module(gpu.module(qc-gpu-tensor-map-params))" | FileCheck %s --enable-var-scope

// The listed 128-byte arguments become byval grid-constant pointers, the
// casts that took their address disappear, the others stay.
// CHECK-LABEL: gpu.module @k
// CHECK: llvm.func @f(%[[P:.*]]: !llvm.ptr<1>, %[[M:.*]]: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<16 x i64>, nvvm.grid_constant}, %[[N:.*]]: !llvm.array<16 x i64>)
// CHECK-NOT: qc.tensor_map_args
// CHECK-NOT: unrealized_conversion_cast
// CHECK: llvm.load %[[M]] : !llvm.ptr -> i32
gpu.module @k {
  llvm.func @f(%p: !llvm.ptr<1>, %m: !llvm.array<16 x i64>, %n: !llvm.array<16 x i64>) attributes {gpu.kernel, nvvm.kernel, qc.tensor_map_args = array<i32: 1>} {
    %a = builtin.unrealized_conversion_cast %m : !llvm.array<16 x i64> to !llvm.ptr
    %v = llvm.load %a : !llvm.ptr -> i32
    llvm.store %v, %p : i32, !llvm.ptr<1>
    llvm.return
  }
}

// -----

gpu.module @k {
  // expected-error @+1 {{qc.tensor_map_args: argument 0 is not a !llvm.array<16 x i64> tensor map}}
  llvm.func @f(%p: !llvm.ptr<1>) attributes {gpu.kernel, nvvm.kernel, qc.tensor_map_args = array<i32: 0>} {
    llvm.return
  }
}

// -----

gpu.module @k {
  llvm.func @f(%m: !llvm.array<16 x i64>, %p: !llvm.ptr<1>) attributes {gpu.kernel, nvvm.kernel, qc.tensor_map_args = array<i32: 0>} {
    // expected-error @+1 {{a tensor-map argument may only be cast to !llvm.ptr (its address)}}
    %v = llvm.extractvalue %m[0] : !llvm.array<16 x i64>
    llvm.store %v, %p : i64, !llvm.ptr<1>
    llvm.return
  }
}

// -----

gpu.module @k {
  // expected-error @+1 {{qc.tensor_map_args: argument 3 is not a !llvm.array<16 x i64> tensor map}}
  llvm.func @f(%m: !llvm.array<16 x i64>) attributes {gpu.kernel, nvvm.kernel, qc.tensor_map_args = array<i32: 3>} {
    llvm.return
  }
}
