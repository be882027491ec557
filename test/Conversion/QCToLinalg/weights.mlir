// RUN: quant-opt %s --convert-qc-to-linalg | FileCheck %s

// External weights become public, uninitialized memref.globals (one per
// path/offset/type) that the loader fills; the module lists them.
// CHECK: module attributes {qc.external_weights = [{bytes = 4096 : i64, offset = 4096 : i64, path = "model.bin", symbol = "qc_external_0", type = tensor<32x64xf16>}, {bytes = 16 : i64, offset = 0 : i64, path = "other.bin", symbol = "qc_external_1", type = tensor<16xi8>}]}
// CHECK-DAG: memref.global @qc_external_0 : memref<32x64xf16> = uninitialized {alignment = 64 : i64, qc.external_offset = 4096 : i64, qc.external_path = "model.bin"}
// CHECK-DAG: memref.global @qc_external_1 : memref<16xi8> = uninitialized {alignment = 64 : i64, qc.external_offset = 0 : i64, qc.external_path = "other.bin"}

// CHECK-LABEL: func @ext
// CHECK: %[[G:.*]] = memref.get_global @qc_external_0 : memref<32x64xf16>
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[G]] restrict : memref<32x64xf16> to tensor<32x64xf16>
// CHECK: memref.get_global @qc_external_0 : memref<32x64xf16>
// CHECK: call @__qc_kernel_{{[0-9a-f_]+}}(%{{.*}}, %[[T]])
func.func @ext(%x: tensor<?x64xf32>) -> (tensor<?x32xf32>, tensor<32x64xf16>) {
  %w = qc.external_weight "model.bin" offset 4096 : tensor<32x64xf16>
  %w2 = qc.external_weight "model.bin" offset 4096 : tensor<32x64xf16>
  %y = qc.linear %x, %w {layer = "x"} : (tensor<?x64xf32>, tensor<32x64xf16>) -> tensor<?x32xf32>
  return %y, %w2 : tensor<?x32xf32>, tensor<32x64xf16>
}

// CHECK-LABEL: func @ext2
// CHECK: memref.get_global @qc_external_1 : memref<16xi8>
func.func @ext2() -> tensor<16xi8> {
  %w = qc.external_weight "other.bin" offset 0 : tensor<16xi8>
  return %w : tensor<16xi8>
}

// Materialized dequantization (only where qc-fuse-dequant left one): rows x
// K chunks; asymmetric INT4 nibbles are unsigned, minus the zero point,
// times the group scale, cast to the result type.
// CHECK-LABEL: func @dequantize_weight
// CHECK-SAME: %[[D:.*]]: tensor<1024xi8>, %[[S:.*]]: tensor<32x2xf32>, %[[Z:.*]]: tensor<32x2xi8>
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<32x64xf16>
// CHECK: scf.for %[[N:.*]] = {{.*}} iter_args(%{{.*}} = %[[INIT]])
// CHECK:   scf.for %[[K0:.*]] = {{.*}} step %c16
// CHECK:     %[[B:.*]] = vector.transfer_read %[[D]]{{.*}} : tensor<1024xi8>, vector<8xi8>
// CHECK:     %[[LO:.*]] = arith.andi %[[B]]
// CHECK:     %[[HI:.*]] = arith.shrui %[[B]]
// CHECK:     %[[Q:.*]] = vector.interleave %[[LO]], %[[HI]]
// CHECK:     arith.uitofp %[[Q]] : vector<16xi8> to vector<16xf32>
// CHECK:     tensor.extract %[[Z]][%[[N]], %{{.*}}] : tensor<32x2xi8>
// CHECK:     arith.subf
// CHECK:     tensor.extract %[[S]][%[[N]], %{{.*}}] : tensor<32x2xf32>
// CHECK:     arith.mulf
// CHECK:     arith.truncf {{.*}} : vector<16xf32> to vector<16xf16>
// CHECK:     vector.transfer_write {{.*}}[%[[N]], %[[K0]]]
func.func @dequantize_weight(%d: tensor<1024xi8>, %s: tensor<32x2xf32>, %z: tensor<32x2xi8>) -> tensor<32x64xf16> {
  %pw = qc.packed_weight %d, %s, %z {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false>} : tensor<1024xi8>, tensor<32x2xf32>, tensor<32x2xi8> -> !qc.packed<32x64xi4>
  %w = qc.dequantize_weight %pw : !qc.packed<32x64xi4> -> tensor<32x64xf16>
  return %w : tensor<32x64xf16>
}
