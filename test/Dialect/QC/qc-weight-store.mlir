// RUN: rm -rf %t && mkdir -p %t
// RUN: quant-opt %s -split-input-file --qc-quantize-weights="weight-store=%t" --qc-pack-weights="weight-store=%t" | FileCheck %s
// RUN: quant-opt %s -split-input-file --qc-quantize-weights="weight-store=%t weight-store-min-bytes=5" --qc-pack-weights="weight-store=%t weight-store-min-bytes=5" | FileCheck %s --check-prefix=MIN
// The scratch file is unlinked as soon as it is created: nothing is left.
// RUN: ls -A %t | FileCheck %s --allow-empty --check-prefix=EMPTY
// EMPTY-NOT: {{.}}
// RUN: not quant-opt %s -split-input-file --qc-quantize-weights="weight-store=%t/nothere" 2>&1 | FileCheck %s --check-prefix=NODIR
// RUN: not quant-opt %s -split-input-file --qc-pack-weights="weight-store=%t/nothere" 2>&1 | FileCheck %s --check-prefix=NODIR
// NODIR: error: cannot create the weight store in '{{.*}}nothere': No such file or directory

// The weight store (docs/formats.md): codes and packed bytes go to a scratch
// file and the IR holds dense_resource elements mapped from it, with the
// same bytes as the inline constants of qc-pack-weights.mlir and
// qc-quantize-weights-shared.mlir (int4 [[1, -2, 3, 4], [-8, 7, 0, -1]]
// row-major: 0xE1 0x43 0x78 0xF0). The resources print with their 4-byte
// alignment header (0x40000000: 64).

// CHECK-LABEL: func @int4
// CHECK: %[[D:.*]] = arith.constant dense_resource<[[$R:qc_weight_store[_0-9]*]]> : tensor<4xi8>
// CHECK: qc.packed_weight %[[D]], %{{.*}} {layout = #qc.layout<row_major>
// CHECK: [[$R]]: "0x40000000E14378F0"
// Below weight-store-min-bytes the bytes stay inline.
// MIN-LABEL: func @int4
// MIN: arith.constant dense<[-31, 67, 120, -16]> : tensor<4xi8>
func.func @int4(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %d = arith.constant dense<[[1, -2, 3, 4], [-8, 7, 0, -1]]> : tensor<2x4xi8>
  %s = arith.constant dense<[[0.5], [0.25]]> : tensor<2x1xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4>} : tensor<2x4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi4>
  %y = qc.wo_matmul %x, %pw {layer = "l"} : tensor<?x4xf32>, !qc.packed<2x4xi4> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// A weight @forward and @decode read the same way is quantized once and
// packed once: both read the same stored bytes (one resource).
// CHECK-LABEL: func.func @forward
// CHECK: arith.constant dense_resource<[[$P:qc_weight_store[_0-9]*]]> : tensor<8xi8>
// CHECK-LABEL: func.func @decode
// CHECK: arith.constant dense_resource<[[$P]]> : tensor<8xi8>
// CHECK: [[$P]]: "0x4000000020C0107F7F0BE000"
// CHECK-NOT: qc_weight_store
// MIN-LABEL: func.func @forward
// MIN: dense_resource<[[$P:qc_weight_store[_0-9]*]]> : tensor<8xi8>
// MIN-LABEL: func.func @decode
// MIN: dense_resource<[[$P]]> : tensor<8xi8>
func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.125, -0.375, 0.0]]> : tensor<2x4xf32>
  %y = qc.linear %x, %w {layer = "l", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
func.func @decode(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.125, -0.375, 0.0]]> : tensor<2x4xf32>
  %y = qc.linear %x, %w {layer = "l", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
