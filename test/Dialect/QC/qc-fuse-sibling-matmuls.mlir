// RUN: quant-opt %s -split-input-file --qc-fuse-sibling-matmuls | FileCheck %s
// RUN: quant-opt %s -split-input-file --qc-fuse-sibling-matmuls=max-n=6 | FileCheck %s --check-prefix=MAXN
// RUN: quant-opt %s -split-input-file --qc-fuse-sibling-matmuls=int8=false | FileCheck %s --check-prefix=NOINT8

// q/k/v with different N (4, 2, 2), INT4 per-group row_major on a rank-3
// input with dynamic leading dims: one matmul over N = 8 whose data, scales
// are the members' concatenated in program order, and one slice per layer.
// The recorded errors move into the #qc.fused_layer entries.
// CHECK-LABEL: func @qkv
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x4xf32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[D:.*]] = arith.constant dense<[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]> : tensor<16xi8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00], [7.000000e+00, 8.000000e+00], [9.000000e+00, 1.000000e+01], [1.100000e+01, 1.200000e+01], [1.300000e+01, 1.400000e+01], [1.500000e+01, 1.600000e+01]]> : tensor<8x2xf32>
// CHECK: %[[PW:.*]] = qc.packed_weight %[[D]], %[[S]] {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 2>} : tensor<16xi8>, tensor<8x2xf32> -> !qc.packed<8x4xi4>
// CHECK: %[[Y:.*]] = qc.wo_matmul %[[X]], %[[PW]] {fused_layers = [#qc.fused_layer<"blk.q", offset = 0, size = 4, quant_error = 1.000000e-01 : f64>, #qc.fused_layer<"blk.k", offset = 4, size = 2, quant_error = 2.000000e-01 : f64>, #qc.fused_layer<"blk.v", offset = 6, size = 2>], layer = "blk.q+blk.k+blk.v"} : tensor<?x?x4xf32>, !qc.packed<8x4xi4> -> tensor<?x?x8xf32>
// CHECK: %[[M0:.*]] = tensor.dim %[[Y]], %[[C0]]
// CHECK: %[[M1:.*]] = tensor.dim %[[Y]], %[[C1]]
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[Y]][0, 0, 0] [%[[M0]], %[[M1]], 4] [1, 1, 1] : tensor<?x?x8xf32> to tensor<?x?x4xf32>
// CHECK: %[[K:.*]] = tensor.extract_slice %[[Y]][0, 0, 4] [%[[M0]], %[[M1]], 2] [1, 1, 1] : tensor<?x?x8xf32> to tensor<?x?x2xf32>
// CHECK: %[[V:.*]] = tensor.extract_slice %[[Y]][0, 0, 6] [%[[M0]], %[[M1]], 2] [1, 1, 1] : tensor<?x?x8xf32> to tensor<?x?x2xf32>
// CHECK-NOT: qc.wo_matmul
// CHECK: return %[[Q]], %[[K]], %[[V]]
// The max-n=6 run fuses q and k (4 + 2), v stays alone.
// MAXN-LABEL: func @qkv
// MAXN: qc.wo_matmul {{.*}}layer = "blk.q+blk.k"} : tensor<?x?x4xf32>, !qc.packed<6x4xi4> -> tensor<?x?x6xf32>
// MAXN: qc.wo_matmul {{.*}}{layer = "blk.v"} : tensor<?x?x4xf32>, !qc.packed<2x4xi4> -> tensor<?x?x2xf32>
#g2 = #qc.scheme<weight = i4, granularity = per_group, group_size = 2>
func.func @qkv(%x: tensor<?x?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>) {
  %dq = arith.constant dense<[1, 2, 3, 4, 5, 6, 7, 8]> : tensor<8xi8>
  %sq = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf32>
  %pq = qc.packed_weight %dq, %sq {layout = #qc.layout<row_major>, scheme = #g2} : tensor<8xi8>, tensor<4x2xf32> -> !qc.packed<4x4xi4>
  %dk = arith.constant dense<[9, 10, 11, 12]> : tensor<4xi8>
  %sk = arith.constant dense<[[9.0, 10.0], [11.0, 12.0]]> : tensor<2x2xf32>
  %pk = qc.packed_weight %dk, %sk {layout = #qc.layout<row_major>, scheme = #g2} : tensor<4xi8>, tensor<2x2xf32> -> !qc.packed<2x4xi4>
  %dv = arith.constant dense<[13, 14, 15, 16]> : tensor<4xi8>
  %sv = arith.constant dense<[[13.0, 14.0], [15.0, 16.0]]> : tensor<2x2xf32>
  %pv = qc.packed_weight %dv, %sv {layout = #qc.layout<row_major>, scheme = #g2} : tensor<4xi8>, tensor<2x2xf32> -> !qc.packed<2x4xi4>
  %q = qc.wo_matmul %x, %pq {layer = "blk.q", qc.quant_error = 0.1 : f64} : tensor<?x?x4xf32>, !qc.packed<4x4xi4> -> tensor<?x?x4xf32>
  %k = qc.wo_matmul %x, %pk {layer = "blk.k", qc.quant_error = 0.2 : f64} : tensor<?x?x4xf32>, !qc.packed<2x4xi4> -> tensor<?x?x2xf32>
  %v = qc.wo_matmul %x, %pv {layer = "blk.v"} : tensor<?x?x4xf32>, !qc.packed<2x4xi4> -> tensor<?x?x2xf32>
  return %q, %k, %v : tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>
}

// -----

// gate/up: asymmetric INT8 per-channel with f16 scales, zero points and
// biases; the siblings are not adjacent (another op in between), the fused
// op goes where the first one was.
// CHECK-LABEL: func @gate_up
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf16>)
// CHECK-DAG: %[[D:.*]] = arith.constant dense<[1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]> : tensor<20xi8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<{{\[}}[5.000000e-01], [5.000000e-01], [2.500000e-01], [2.500000e-01], [2.500000e-01]]> : tensor<5x1xf16>
// CHECK-DAG: %[[Z:.*]] = arith.constant dense<{{\[}}[3], [4], [5], [6], [7]]> : tensor<5x1xi8>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 3.000000e+00, 3.000000e+00]> : tensor<5xf16>
// CHECK: %[[PW:.*]] = qc.packed_weight %[[D]], %[[S]], %[[Z]] {{.*}} -> !qc.packed<5x4xi8>
// CHECK: %[[Y:.*]] = qc.wo_matmul %[[X]], %[[PW]], %[[B]] {fused_layers = [#qc.fused_layer<"gate", offset = 0, size = 2>, #qc.fused_layer<"up", offset = 2, size = 3>], layer = "gate+up", qc.batch_threshold = 8 : i64} : tensor<?x4xf16>, !qc.packed<5x4xi8>, tensor<5xf16> -> tensor<?x5xf16>
// CHECK: %[[G:.*]] = tensor.extract_slice %[[Y]][0, 0] [%{{.*}}, 2] [1, 1] : tensor<?x5xf16> to tensor<?x2xf16>
// CHECK: %[[U:.*]] = tensor.extract_slice %[[Y]][0, 2] [%{{.*}}, 3] [1, 1] : tensor<?x5xf16> to tensor<?x3xf16>
// CHECK: %[[N:.*]] = math.absf %[[X]]
// CHECK: return %[[G]], %[[N]], %[[U]]
#a8 = #qc.scheme<weight = i8, symmetric = false>
func.func @gate_up(%x: tensor<?x4xf16>) -> (tensor<?x2xf16>, tensor<?x4xf16>, tensor<?x3xf16>) {
  %dg = arith.constant dense<1> : tensor<8xi8>
  %sg = arith.constant dense<0.5> : tensor<2x1xf16>
  %zg = arith.constant dense<[[3], [4]]> : tensor<2x1xi8>
  %bg = arith.constant dense<[1.0, 2.0]> : tensor<2xf16>
  %pg = qc.packed_weight %dg, %sg, %zg {layout = #qc.layout<row_major>, scheme = #a8} : tensor<8xi8>, tensor<2x1xf16>, tensor<2x1xi8> -> !qc.packed<2x4xi8>
  %g = qc.wo_matmul %x, %pg, %bg {layer = "gate", qc.batch_threshold = 8 : i64} : tensor<?x4xf16>, !qc.packed<2x4xi8>, tensor<2xf16> -> tensor<?x2xf16>
  %n = math.absf %x : tensor<?x4xf16>
  %du = arith.constant dense<2> : tensor<12xi8>
  %su = arith.constant dense<0.25> : tensor<3x1xf16>
  %zu = arith.constant dense<[[5], [6], [7]]> : tensor<3x1xi8>
  %bu = arith.constant dense<3.0> : tensor<3xf16>
  %pu = qc.packed_weight %du, %su, %zu {layout = #qc.layout<row_major>, scheme = #a8} : tensor<12xi8>, tensor<3x1xf16>, tensor<3x1xi8> -> !qc.packed<3x4xi8>
  %u = qc.wo_matmul %x, %pu, %bu {layer = "up", qc.batch_threshold = 8 : i64} : tensor<?x4xf16>, !qc.packed<3x4xi8>, tensor<3xf16> -> tensor<?x3xf16>
  return %g, %n, %u : tensor<?x2xf16>, tensor<?x4xf16>, tensor<?x3xf16>
}

// -----

// W8A8: int8_matmuls sharing the quantized input and its scales.
// CHECK-LABEL: func @int8
// CHECK: %[[Q:.*]], %[[QS:.*]] = qc.quantize_act
// CHECK: %[[Y:.*]] = qc.int8_matmul %[[Q]], %[[QS]], %{{.*}} {fused_layers = [#qc.fused_layer<"a", offset = 0, size = 2>, #qc.fused_layer<"b", offset = 2, size = 2>], layer = "a+b"} : tensor<?x4xi8>, tensor<?xf32>, !qc.packed<4x4xi8> -> tensor<?x4xf32>
// CHECK: tensor.extract_slice %[[Y]][0, 0]
// CHECK: tensor.extract_slice %[[Y]][0, 2]
// NOINT8-LABEL: func @int8
// NOINT8-COUNT-2: qc.int8_matmul
#w8a8 = #qc.scheme<weight = i8, act = dynamic_per_token>
func.func @int8(%x: tensor<?x4xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>) {
  %q, %qs = qc.quantize_act %x dynamic_per_token : tensor<?x4xf32> -> tensor<?x4xi8>, tensor<?xf32>
  %d = arith.constant dense<1> : tensor<8xi8>
  %s = arith.constant dense<0.5> : tensor<2x1xf32>
  %pa = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #w8a8} : tensor<8xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi8>
  %pb = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #w8a8} : tensor<8xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi8>
  %a = qc.int8_matmul %q, %qs, %pa {layer = "a"} : tensor<?x4xi8>, tensor<?xf32>, !qc.packed<2x4xi8> -> tensor<?x2xf32>
  %b = qc.int8_matmul %q, %qs, %pb {layer = "b"} : tensor<?x4xi8>, tensor<?xf32>, !qc.packed<2x4xi8> -> tensor<?x2xf32>
  return %a, %b : tensor<?x2xf32>, tensor<?x2xf32>
}

// -----

// Tiled layout (tile_n = 2 divides both N): whole tile rows are stored one
// after the other, so the bytes concatenate.
// CHECK-LABEL: func @tiled
// CHECK: arith.constant dense<[1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2]> : tensor<16xi8>
// CHECK: qc.packed_weight {{.*}}layout = #qc.layout<tiled, tile_n = 2, tile_k = 4>{{.*}} -> !qc.packed<4x4xi8>
// CHECK: qc.wo_matmul {{.*}}layer = "t0+t1"
#t = #qc.layout<tiled, tile_n = 2, tile_k = 4>
func.func @tiled(%x: tensor<?x4xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>) {
  %d0 = arith.constant dense<1> : tensor<8xi8>
  %d1 = arith.constant dense<2> : tensor<8xi8>
  %s = arith.constant dense<0.5> : tensor<2x1xf32>
  %p0 = qc.packed_weight %d0, %s {layout = #t, scheme = #qc.scheme<weight = i8>} : tensor<8xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi8>
  %p1 = qc.packed_weight %d1, %s {layout = #t, scheme = #qc.scheme<weight = i8>} : tensor<8xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi8>
  %a = qc.wo_matmul %x, %p0 {layer = "t0"} : tensor<?x4xf32>, !qc.packed<2x4xi8> -> tensor<?x2xf32>
  %b = qc.wo_matmul %x, %p1 {layer = "t1"} : tensor<?x4xf32>, !qc.packed<2x4xi8> -> tensor<?x2xf32>
  return %a, %b : tensor<?x2xf32>, tensor<?x2xf32>
}

// -----

// Not fused: different schemes (i4 vs i8), different inputs, per-tensor
// scales, a weight that is not a constant, a kernel already selected.
// CHECK-LABEL: func @refused
// CHECK-NOT: fused_layers
// CHECK-NOT: tensor.extract_slice
// CHECK-COUNT-10: qc.wo_matmul
// CHECK: return
func.func @refused(%x: tensor<?x4xf32>, %x2: tensor<?x4xf32>, %wd: tensor<8xi8>)
    -> (tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>,
        tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>) {
  %d = arith.constant dense<1> : tensor<8xi8>
  %s = arith.constant dense<0.5> : tensor<2x1xf32>
  %st = arith.constant dense<0.5> : tensor<1x1xf32>
  %p8 = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<8xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi8>
  %d4 = arith.constant dense<1> : tensor<4xi8>
  %p4 = qc.packed_weight %d4, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4>} : tensor<4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi4>
  // Different schemes.
  %a = qc.wo_matmul %x, %p8 {layer = "a"} : tensor<?x4xf32>, !qc.packed<2x4xi8> -> tensor<?x2xf32>
  %b = qc.wo_matmul %x, %p4 {layer = "b"} : tensor<?x4xf32>, !qc.packed<2x4xi4> -> tensor<?x2xf32>
  // Different inputs (same scheme as %b).
  %c = qc.wo_matmul %x2, %p4 {layer = "c"} : tensor<?x4xf32>, !qc.packed<2x4xi4> -> tensor<?x2xf32>
  // Per-tensor scales.
  %pt = qc.packed_weight %d, %st {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, granularity = per_tensor>} : tensor<8xi8>, tensor<1x1xf32> -> !qc.packed<2x4xi8>
  %e = qc.wo_matmul %x2, %pt {layer = "e"} : tensor<?x4xf32>, !qc.packed<2x4xi8> -> tensor<?x2xf32>
  %f = qc.wo_matmul %x2, %pt {layer = "f"} : tensor<?x4xf32>, !qc.packed<2x4xi8> -> tensor<?x2xf32>
  // A weight computed at run time (a function argument).
  %z = arith.constant dense<0> : tensor<2x1xi8>
  %pa = qc.packed_weight %wd, %s, %z {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, symmetric = false>} : tensor<8xi8>, tensor<2x1xf32>, tensor<2x1xi8> -> !qc.packed<2x4xi8>
  %pc = qc.packed_weight %d, %s, %z {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, symmetric = false>} : tensor<8xi8>, tensor<2x1xf32>, tensor<2x1xi8> -> !qc.packed<2x4xi8>
  %g = qc.wo_matmul %x2, %pa {layer = "g"} : tensor<?x4xf32>, !qc.packed<2x4xi8> -> tensor<?x2xf32>
  %h = qc.wo_matmul %x2, %pc {layer = "h"} : tensor<?x4xf32>, !qc.packed<2x4xi8> -> tensor<?x2xf32>
  // Kernels already selected.
  %pk = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, granularity = per_channel, symmetric = true, act = none>} : tensor<8xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi8>
  %i = qc.wo_matmul %x2, %pk {kernel = #qc.kernel<host>, layer = "i"} : tensor<?x4xf32>, !qc.packed<2x4xi8> -> tensor<?x2xf32>
  %j = qc.wo_matmul %x2, %pk {kernel = #qc.kernel<host>, layer = "j"} : tensor<?x4xf32>, !qc.packed<2x4xi8> -> tensor<?x2xf32>
  // Different qc.batch_threshold.
  %k = qc.wo_matmul %x, %p8 {layer = "k", qc.batch_threshold = 4 : i64} : tensor<?x4xf32>, !qc.packed<2x4xi8> -> tensor<?x2xf32>
  return %a, %b, %c, %e, %f, %g, %h, %i, %j, %k : tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>
}
