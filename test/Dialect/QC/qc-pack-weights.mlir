// RUN: quant-opt %s -split-input-file --qc-pack-weights | FileCheck %s
// RUN: quant-opt %s -split-input-file --qc-pack-weights="layout=tiled tile-n=1 tile-k=2" | FileCheck %s --check-prefix=TILED
// Byte layouts on random data are checked by pack-weights-layout.py.

// int4 [[1, -2, 3, 4], [-8, 7, 0, -1]] row-major: bytes (hi << 4) | lo:
// 0xE1 = -31, 0x43 = 67, 0x78 = 120, 0xF0 = -16.
// CHECK-LABEL: func @int4
// CHECK: %[[D:.*]] = arith.constant dense<[-31, 67, 120, -16]> : tensor<4xi8>
// CHECK: qc.packed_weight %[[D]], %{{.*}} {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4>} : tensor<4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi4>
// Tiles of 1x2 in row-major tile order give the same bytes here.
// TILED-LABEL: func @int4
// TILED: arith.constant dense<[-31, 67, 120, -16]> : tensor<4xi8>
// TILED: layout = #qc.layout<tiled, tile_k = 2>
func.func @int4(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %d = arith.constant dense<[[1, -2, 3, 4], [-8, 7, 0, -1]]> : tensor<2x4xi8>
  %s = arith.constant dense<[[0.5], [0.25]]> : tensor<2x1xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4>} : tensor<2x4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi4>
  %y = qc.wo_matmul %x, %pw {layer = "l"} : tensor<?x4xf32>, !qc.packed<2x4xi4> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// int8 keeps one byte per value; zero points stay as they are.
// CHECK-LABEL: func @int8_asym
// CHECK: %[[D:.*]] = arith.constant dense<[1, -2, 3, 4, -8, 7, 0, -1]> : tensor<8xi8>
// CHECK: qc.packed_weight %[[D]], %{{.*}}, %{{.*}} {layout = #qc.layout<row_major>
func.func @int8_asym(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %d = arith.constant dense<[[1, -2, 3, 4], [-8, 7, 0, -1]]> : tensor<2x4xi8>
  %s = arith.constant dense<[[0.5], [0.25]]> : tensor<2x1xf32>
  %z = arith.constant dense<[[3], [-128]]> : tensor<2x1xi8>
  %pw = qc.packed_weight %d, %s, %z {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, symmetric = false>} : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2x1xi8> -> !qc.packed<2x4xi8>
  %y = qc.wo_matmul %x, %pw {layer = "l"} : tensor<?x4xf32>, !qc.packed<2x4xi8> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Already packed weights are left alone.
// CHECK-LABEL: func @packed
// CHECK: layout = #qc.layout<tiled, tile_n = 2, tile_k = 4>
func.func @packed(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %d = arith.constant dense<1> : tensor<8xi8>
  %s = arith.constant dense<0.5> : tensor<1x1xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<tiled, tile_n = 2, tile_k = 4>, scheme = #qc.scheme<weight = i8, granularity = per_tensor>} : tensor<8xi8>, tensor<1x1xf32> -> !qc.packed<2x4xi8>
  %y = qc.wo_matmul %x, %pw {layer = "l"} : tensor<?x4xf32>, !qc.packed<2x4xi8> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// layout=auto keeps row_major for every kernel: the GPU kernels (mma
// included) read row_major bytes.
// RUN: quant-opt %s -split-input-file --qc-pack-weights="layout=auto tile-n=2 tile-k=4" | FileCheck %s --check-prefix=AUTO
// AUTO-LABEL: func @auto
// AUTO: qc.packed_weight {{.*}}layout = #qc.layout<row_major>{{.*}} -> !qc.packed<2x4xi8>
// AUTO-NEXT: qc.wo_matmul {{.*}}#qc.kernel<mma, target = "sm_90">
// AUTO: qc.packed_weight {{.*}}layout = #qc.layout<row_major>{{.*}} -> !qc.packed<2x4xi8>
// AUTO-NEXT: qc.wo_matmul {{.*}}#qc.kernel<gemv, target = "sm_90">
// AUTO: qc.packed_weight {{.*}}layout = #qc.layout<row_major>{{.*}} -> !qc.packed<2x4xi8>
// AUTO-NEXT: qc.wo_matmul {{.*}}#qc.kernel<host>
func.func @auto(%x: tensor<?x4xf16>) -> (tensor<?x2xf16>, tensor<?x2xf16>, tensor<?x2xf16>) {
  %d = arith.constant dense<[[1, -2, 3, 4], [-8, 7, 0, -1]]> : tensor<2x4xi8>
  %s = arith.constant dense<[[0.5], [0.25]]> : tensor<2x1xf32>
  %pw0 = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<2x4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi8>
  %y0 = qc.wo_matmul %x, %pw0 {layer = "a", kernel = #qc.kernel<mma, target = "sm_90">} : tensor<?x4xf16>, !qc.packed<2x4xi8> -> tensor<?x2xf16>
  %pw1 = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<2x4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi8>
  %y1 = qc.wo_matmul %x, %pw1 {layer = "b", kernel = #qc.kernel<gemv, target = "sm_90">} : tensor<?x4xf16>, !qc.packed<2x4xi8> -> tensor<?x2xf16>
  %pw2 = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<2x4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi8>
  %y2 = qc.wo_matmul %x, %pw2 {layer = "c", kernel = #qc.kernel<host>} : tensor<?x4xf16>, !qc.packed<2x4xi8> -> tensor<?x2xf16>
  return %y0, %y1, %y2 : tensor<?x2xf16>, tensor<?x2xf16>, tensor<?x2xf16>
}
