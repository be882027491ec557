// RUN: quant-opt %s -split-input-file -verify-diagnostics \
// RUN:   -qc-externalize-weights="threshold-bytes=16 base-dir=%S/Inputs" | FileCheck %s

// Large constant LLVM globals become zero-initialized public globals; their
// data moves to the qc.weights module attribute. Small ones, and those of
// non-byte-sized elements, stay.

// CHECK-LABEL: module attributes {qc.weights = [{bytes = 32 : i64, symbol = "big", value = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00]> : tensor<8xf32>}]}
// CHECK: llvm.mlir.global external @big() {addr_space = 0 : i32, alignment = 64 : i64} : !llvm.array<8 x f32> {
// CHECK-NEXT: %[[Z:.*]] = llvm.mlir.zero : !llvm.array<8 x f32>
// CHECK-NEXT: llvm.return %[[Z]] : !llvm.array<8 x f32>
// CHECK: llvm.mlir.global private constant @small(dense<1.000000e+00> : tensor<2xf32>)
// CHECK: llvm.mlir.global private constant @bits(dense<true> : tensor<256xi1>)
llvm.mlir.global private constant @big(dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>) {addr_space = 0 : i32, alignment = 16 : i64} : !llvm.array<8 x f32>
llvm.mlir.global private constant @small(dense<1.0> : tensor<2xf32>) {addr_space = 0 : i32} : !llvm.array<2 x f32>
llvm.mlir.global private constant @bits(dense<true> : tensor<256xi1>) {addr_space = 0 : i32} : !llvm.array<256 x i1>

// -----

// A constant memref.global becomes uninitialized, public and mutable; a
// tagged one records its file slice (resolved against base-dir).

// CHECK-LABEL: module attributes {qc.weights = [{bytes = 64 : i64, symbol = "w", value = dense<5> : tensor<16xi32>}, {bytes = 16 : i64, offset = 8 : i64, path = "{{.*}}Inputs/weights.bin", symbol = "ext"}]}
// CHECK: memref.global @w : memref<16xi32> = uninitialized {alignment = 64 : i64}
// CHECK: memref.global @ext : memref<4xf32> = uninitialized {alignment = 64 : i64}
// CHECK-NOT: qc.external_path
memref.global "private" constant @w : memref<16xi32> = dense<5>
memref.global @ext : memref<4xf32> = uninitialized {qc.external_path = "weights.bin", qc.external_offset = 8 : i64}

// -----

// qc.external_weight becomes a read-only view of a tagged global; two uses
// of the same slice share one global.

// CHECK-LABEL: module attributes {qc.weights = [{bytes = 32 : i64, offset = 64 : i64, path = "{{.*}}weights.bin", symbol = "qc_external_weight"}]}
// CHECK: memref.global @qc_external_weight : memref<2x4xf32> = uninitialized {alignment = 64 : i64}
// CHECK-LABEL: func.func @f
// CHECK: %[[G:.*]] = memref.get_global @qc_external_weight : memref<2x4xf32>
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[G]] restrict : memref<2x4xf32> to tensor<2x4xf32>
// CHECK: %[[G2:.*]] = memref.get_global @qc_external_weight : memref<2x4xf32>
// CHECK: %[[T2:.*]] = bufferization.to_tensor %[[G2]] restrict
// CHECK: return %[[T]], %[[T2]]
func.func @f() -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %w = qc.external_weight "weights.bin" offset 64 : tensor<2x4xf32>
  %v = qc.external_weight "weights.bin" offset 64 : tensor<2x4xf32>
  return %w, %v : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// A lowering's manifest names external globals by symbol.

// CHECK-LABEL: module attributes {qc.weights = [{bytes = 16 : i64, offset = 0 : i64, path = "{{.*}}weights.bin", symbol = "m"}]}
// CHECK: llvm.mlir.global external @m()
// CHECK-NEXT: llvm.mlir.zero
module attributes {qc.external_weights = [{symbol = "m", path = "weights.bin", offset = 0 : i64, bytes = 16 : i64}]} {
  llvm.mlir.global external @m() {addr_space = 0 : i32} : !llvm.array<4 x f32> {
    %0 = llvm.mlir.undef : !llvm.array<4 x f32>
    llvm.return %0 : !llvm.array<4 x f32>
  }
}

// -----

// expected-error@+1 {{cannot open external weight file}}
memref.global @missing : memref<4xf32> = uninitialized {qc.external_path = "nothere.bin", qc.external_offset = 0 : i64}

// -----

// expected-error@+1 {{has 256 bytes; 16 bytes at offset 248 do not fit}}
memref.global @short : memref<4xf32> = uninitialized {qc.external_path = "weights.bin", qc.external_offset = 248 : i64}

// -----

// expected-error@+1 {{external weight needs a string 'qc.external_path' and an integer 'qc.external_offset'}}
memref.global @half : memref<4xf32> = uninitialized {qc.external_path = "weights.bin"}
