// RUN: quant-opt %s --qc-lower-to-host | FileCheck %s
// RUN: quant-opt %s --qc-lower-to-host | FileCheck %s --check-prefix=CLEAN

// Nothing but the LLVM dialect is left anywhere in the module.
// CLEAN-NOT: builtin.unrealized_conversion_cast
// CLEAN-NOT: bufferization.
// CLEAN-NOT: memref.
// CLEAN-NOT: func.func
// CLEAN-NOT: memrefCopy

// The whole host pipeline: only LLVM dialect remains, public functions get a
// C entry point, external weights are public globals, observe calls the
// runtime, and nothing needs the MLIR runner libraries (no memrefCopy).

// The weight manifest survives to the LLVM dialect for the weight loader.
// CHECK: module attributes {qc.external_weights = [{bytes = 4096 : i64, offset = 0 : i64, path = "w.bin", symbol = "qc_external_0", type = tensor<32x64xf16>}]}
// CHECK-DAG: llvm.mlir.global external @qc_external_0() {addr_space = 0 : i32, alignment = 64 : i64} : !llvm.array<32 x array<64 x f16>>
// CHECK-DAG: llvm.func @malloc(i64) -> !llvm.ptr
// CHECK-DAG: llvm.func @free(!llvm.ptr)
// CHECK-DAG: llvm.func @qcrt_observe(!llvm.ptr, !llvm.ptr, i64, i64, i32, f64)
// CHECK-DAG: llvm.func @forward({{.*}}) -> !llvm.struct<(ptr, ptr, i64, array<3 x i64>, array<3 x i64>)> attributes {llvm.emit_c_interface}
// CHECK-DAG: llvm.func @_mlir_ciface_forward(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr) attributes {llvm.emit_c_interface}
// CHECK-DAG: llvm.func @weight()
// CHECK-DAG: llvm.func @_mlir_ciface_weight(%{{.*}}: !llvm.ptr) attributes {llvm.emit_c_interface}
// CHECK-DAG: llvm.func @__qc_observe_thunk(
func.func @forward(%x: tensor<?x?x64xf32>) -> tensor<?x?x32xf32> {
  %g = arith.constant dense<1.0> : tensor<64xf32>
  %n = qc.rms_norm %x, %g : tensor<?x?x64xf32>, tensor<64xf32>
  qc.observe %n {layer = "blk0.up"} : tensor<?x?x64xf32>
  %w = qc.external_weight "w.bin" offset 0 : tensor<32x64xf16>
  %y = qc.linear %n, %w {layer = "blk0.up"} : (tensor<?x?x64xf32>, tensor<32x64xf16>) -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}

// A returned global is copied into a fresh buffer the caller owns.
func.func @weight() -> tensor<32x64xf16> {
  %w = qc.external_weight "w.bin" offset 0 : tensor<32x64xf16>
  return %w : tensor<32x64xf16>
}

// Private helpers get no C interface.
// CHECK-NOT: @_mlir_ciface___qc_observe_thunk
