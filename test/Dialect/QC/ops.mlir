// RUN: quant-opt %s | quant-opt | FileCheck %s
// RUN: quant-opt %s --mlir-print-op-generic | quant-opt | FileCheck %s
// RUN: quant-opt %s --verify-roundtrip | FileCheck %s

// CHECK-LABEL: func @linear_variants
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf32>, %[[W:.*]]: tensor<32x64xf32>, %[[B:.*]]: tensor<32xf32>)
func.func @linear_variants(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>) -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
  // CHECK: qc.linear %[[X]], %[[W]] {layer = "plain"} : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  %0 = qc.linear %x, %w {layer = "plain"} : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  // CHECK: qc.linear %[[X]], %[[W]], %[[B]] {layer = "q", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false>}
  %1 = qc.linear %x, %w, %b {layer = "q", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false>} : (tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  return %0, %1 : tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// CHECK-LABEL: func @schemes
func.func @schemes(%x: tensor<4x64xf16>, %w: tensor<32x64xf16>) {
  // CHECK: #qc.scheme<weight = i8>
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = i8>} : (tensor<4x64xf16>, tensor<32x64xf16>) -> tensor<4x32xf16>
  // CHECK: #qc.scheme<weight = i8, granularity = per_tensor, act = static_per_tensor>
  %1 = qc.linear %x, %w {layer = "b", scheme = #qc.scheme<weight = i8, granularity = per_tensor, act = static_per_tensor>} : (tensor<4x64xf16>, tensor<32x64xf16>) -> tensor<4x32xf16>
  // CHECK: #qc.scheme<weight = i8, act = dynamic_per_token, alpha = 8.000000e-01 : f32>
  %2 = qc.linear %x, %w {layer = "c", scheme = #qc.scheme<weight = i8, act = dynamic_per_token, alpha = 0.8 : f32>} : (tensor<4x64xf16>, tensor<32x64xf16>) -> tensor<4x32xf16>
  // CHECK: #qc.scheme<weight = f16, granularity = per_tensor>
  %3 = qc.linear %x, %w {layer = "d", scheme = #qc.scheme<weight = f16, granularity = per_tensor>} : (tensor<4x64xf16>, tensor<32x64xf16>) -> tensor<4x32xf16>
  // CHECK: #qc.scheme<weight = f8E4M3FN, granularity = per_tensor, act = static_per_tensor>
  %4 = qc.linear %x, %w {layer = "e", scheme = #qc.scheme<weight = f8E4M3FN, granularity = per_tensor, act = static_per_tensor>} : (tensor<4x64xf16>, tensor<32x64xf16>) -> tensor<4x32xf16>
  return
}

// CHECK-LABEL: func @norms
func.func @norms(%x: tensor<?x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK: qc.rms_norm %{{.*}}, %{{.*}} {epsilon = {{.*}} : f64} : tensor<?x64xf32>, tensor<64xf32>
  %0 = qc.rms_norm %x, %g {epsilon = 1.0e-6 : f64} : tensor<?x64xf32>, tensor<64xf32>
  // CHECK: qc.layer_norm %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>
  %1 = qc.layer_norm %x, %g, %b : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %0, %1 : tensor<?x64xf32>, tensor<?x64xf32>
}

// CHECK-LABEL: func @external
func.func @external() -> tensor<32x64xf16> {
  // CHECK: qc.external_weight "weights.bin" offset 4096 : tensor<32x64xf16>
  %w = qc.external_weight "weights.bin" offset 4096 : tensor<32x64xf16>
  return %w : tensor<32x64xf16>
}

// CHECK-LABEL: func @resource_weight
func.func @resource_weight(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  // CHECK: arith.constant dense_resource<w0> : tensor<2x2xf32>
  %w = arith.constant dense_resource<w0> : tensor<2x2xf32>
  %y = qc.linear %x, %w {layer = "r"} : (tensor<?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// CHECK-LABEL: func @activations
func.func @activations(%x: tensor<?x64xf32>, %s: tensor<64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK: %[[SM:.*]] = qc.smooth %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64xf32>
  %sm = qc.smooth %x, %s : tensor<?x64xf32>, tensor<64xf32>
  // CHECK: %[[Q:.*]], %[[S:.*]] = qc.quantize_act %[[SM]] dynamic_per_token : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<?xf32>
  %q, %qs = qc.quantize_act %sm dynamic_per_token : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<?xf32>
  // CHECK: qc.dequantize_act %[[Q]], %[[S]] : tensor<?x64xi8>, tensor<?xf32> -> tensor<?x64xf32>
  %d = qc.dequantize_act %q, %qs : tensor<?x64xi8>, tensor<?xf32> -> tensor<?x64xf32>
  // CHECK: qc.quantize_act %{{.*}} static_per_tensor scale 2.500000e-01 : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<1xf32>
  %q2, %s2 = qc.quantize_act %x static_per_tensor scale 0.25 : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<1xf32>
  %d2 = qc.dequantize_act %q2, %s2 : tensor<?x64xi8>, tensor<1xf32> -> tensor<?x64xf32>
  return %d, %d2 : tensor<?x64xf32>, tensor<?x64xf32>
}

// CHECK-LABEL: func @weights
func.func @weights(%x: tensor<?x64xf32>, %d4: tensor<1024xi8>, %s4: tensor<32x2xf32>, %z4: tensor<32x2xi8>,
                   %d8: tensor<32x64xi8>, %s8: tensor<32x1xf32>, %dt: tensor<2048xi8>, %st: tensor<1x1xf16>) -> tensor<?x32xf32> {
  // CHECK: %[[PW:.*]] = qc.packed_weight %{{.*}}, %{{.*}}, %{{.*}} {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false>} : tensor<1024xi8>, tensor<32x2xf32>, tensor<32x2xi8> -> !qc.packed<32x64xi4>
  %pw = qc.packed_weight %d4, %s4, %z4 {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false>} : tensor<1024xi8>, tensor<32x2xf32>, tensor<32x2xi8> -> !qc.packed<32x64xi4>
  // CHECK: qc.dequantize_weight %[[PW]] : !qc.packed<32x64xi4> -> tensor<32x64xf32>
  %w = qc.dequantize_weight %pw : !qc.packed<32x64xi4> -> tensor<32x64xf32>
  // CHECK: qc.packed_weight {{.*}}layout = #qc.layout<unpacked>{{.*}} -> !qc.packed<32x64xi8>
  %pw8 = qc.packed_weight %d8, %s8 {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<32x64xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  // CHECK: qc.packed_weight {{.*}}layout = #qc.layout<tiled, tile_n = 16, tile_k = 64>{{.*}} -> !qc.packed<32x64xi8>
  %pwt = qc.packed_weight %dt, %st {layout = #qc.layout<tiled, tile_n = 16, tile_k = 64>, scheme = #qc.scheme<weight = i8, granularity = per_tensor>} : tensor<2048xi8>, tensor<1x1xf16> -> !qc.packed<32x64xi8>
  // CHECK: qc.wo_matmul %{{.*}}, %[[PW]] {kernel = #qc.kernel<gemv, target = "sm_90">, layer = "up"} : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  %y = qc.wo_matmul %x, %pw {layer = "up", kernel = #qc.kernel<gemv, target = "sm_90">} : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  // CHECK: qc.wo_matmul {{.*}}kernel = #qc.kernel<adaptive, target = "sm_80", threshold = 64>
  %y2 = qc.wo_matmul %x, %pw8 {layer = "ad", kernel = #qc.kernel<adaptive, target = "sm_80", threshold = 64>} : tensor<?x64xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  // CHECK: qc.wo_matmul {{.*}}kernel = #qc.kernel<host>
  %y3 = qc.wo_matmul %x, %pwt {layer = "t", kernel = #qc.kernel<host>} : tensor<?x64xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  // Tilings in the kernel attribute and typed launch records (what
  // qc-select-matmul and qc-outline-gpu-kernels write) round-trip.
  // CHECK: qc.wo_matmul {{.*}}kernel = #qc.kernel<adaptive, target = "sm_90", threshold = 48, gemv = <warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 2, 4, 8]>, mma = <block_m = 16, block_n = 64, block_k = 64, warps_m = 1, warps_n = 4, stages = 3>>
  // CHECK-SAME: qc.act_quant_launch = #qc.launch<@qc_kernels_sm_90::@ad_act_quant, block = 128>
  // CHECK-SAME: qc.int8_launch = #qc.launch<@qc_kernels_sm_90::@ad_int8_mma, block = 128, tile_n = 64, tile_m = 16>
  // CHECK-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90::@ad_gemv, block = 128, tile_n = 8, tile_m = 1, m_tiles = [1, 2, 4, 8], residual = true>
  %y4 = qc.wo_matmul %x, %pw8 {layer = "ad2", kernel = #qc.kernel<adaptive, target = "sm_90", threshold = 48, gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 2, 4, 8]>, mma = #qc.mma_tiling<block_m = 16, block_n = 64, block_k = 64, warps_m = 1, warps_n = 4, stages = 3>>, qc.launch = #qc.launch<@qc_kernels_sm_90::@ad_gemv, block = 128, tile_n = 8, tile_m = 1, m_tiles = [1, 2, 4, 8], residual = true>, qc.int8_launch = #qc.launch<@qc_kernels_sm_90::@ad_int8_mma, block = 128, tile_n = 64, tile_m = 16>, qc.act_quant_launch = #qc.launch<@qc_kernels_sm_90::@ad_act_quant, block = 128>} : tensor<?x64xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// The frag family: an mma_frag weight, its tiling and a split-K launch.
// CHECK-LABEL: func @float_minimum
func.func @float_minimum(%x: tensor<?x64xf16>, %d: tensor<1024xi8>, %s: tensor<32x2xf16>, %m: tensor<32x2xf16>,
                         %d8: tensor<32x64xi8>, %s8: tensor<32x4xf32>, %m8: tensor<32x4xf32>) -> (tensor<?x32xf16>, tensor<32x64xf32>) {
  // CHECK: %[[PW:.*]] = qc.packed_weight %{{.*}}, %{{.*}}, %{{.*}} {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false, minimum = f16>} : tensor<1024xi8>, tensor<32x2xf16>, tensor<32x2xf16> -> !qc.packed<32x64xi4>
  %pw = qc.packed_weight %d, %s, %m {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false, minimum = f16>} : tensor<1024xi8>, tensor<32x2xf16>, tensor<32x2xf16> -> !qc.packed<32x64xi4>
  // CHECK: qc.wo_matmul %{{.*}}, %[[PW]] {layer = "q41"}
  %y = qc.wo_matmul %x, %pw {layer = "q41"} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  // CHECK: qc.packed_weight {{.*}}scheme = #qc.scheme<weight = i8, granularity = per_group, group_size = 16, symmetric = false, minimum = f32>} : tensor<32x64xi8>, tensor<32x4xf32>, tensor<32x4xf32> -> !qc.packed<32x64xi8>
  %pw8 = qc.packed_weight %d8, %s8, %m8 {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, granularity = per_group, group_size = 16, symmetric = false, minimum = f32>} : tensor<32x64xi8>, tensor<32x4xf32>, tensor<32x4xf32> -> !qc.packed<32x64xi8>
  %w8 = qc.dequantize_weight %pw8 : !qc.packed<32x64xi8> -> tensor<32x64xf32>
  return %y, %w8 : tensor<?x32xf16>, tensor<32x64xf32>
}

// CHECK-LABEL: func @frag
func.func @frag(%x: tensor<?x64xf16>, %d: tensor<1024xi8>, %s: tensor<32x1xf16>) -> tensor<?x32xf16> {
  // CHECK: qc.packed_weight {{.*}}layout = #qc.layout<mma_frag>{{.*}} -> !qc.packed<32x64xi4>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<mma_frag>, scheme = #qc.scheme<weight = i4>} : tensor<1024xi8>, tensor<32x1xf16> -> !qc.packed<32x64xi4>
  // CHECK: kernel = #qc.kernel<frag, target = "sm_90", frag = <warps_k = 4, n_blocks = 2, stages = 3, split_k = 2, prefetch = 1, step_units = 1, m_tiles = [16, 32]>>
  // CHECK-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90::@f_frag, block = 128, tile_n = 32, tile_m = 1, m_tiles = [16, 32], split_k = 2>
  %y = qc.wo_matmul %x, %pw {layer = "f", kernel = #qc.kernel<frag, target = "sm_90", frag = #qc.frag_tiling<warps_k = 4, n_blocks = 2, stages = 3, split_k = 2, prefetch = 1, step_units = 1, m_tiles = [16, 32]>>, qc.launch = #qc.launch<@qc_kernels_sm_90::@f_frag, block = 128, tile_n = 32, tile_m = 1, m_tiles = [16, 32], split_k = 2>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// CHECK-LABEL: func @int8_matmul
func.func @int8_matmul(%q: tensor<?x64xi8>, %s: tensor<?xf32>, %d8: tensor<32x64xi8>, %s8: tensor<32x1xf32>, %b: tensor<32xf16>) -> tensor<?x32xf16> {
  %pw8 = qc.packed_weight %d8, %s8 {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<32x64xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  // CHECK: qc.int8_matmul %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {kernel = #qc.kernel<int8_mma, target = "sm_90">, layer = "o"} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8>, tensor<32xf16> -> tensor<?x32xf16>
  %y = qc.int8_matmul %q, %s, %pw8, %b {layer = "o", kernel = #qc.kernel<int8_mma, target = "sm_90">} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8>, tensor<32xf16> -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// CHECK-LABEL: func @observe
func.func @observe(%x: tensor<?x?x64xf32>) {
  // CHECK: qc.observe %{{.*}} {hessian, layer = "q", percentile = 9.990000e+01 : f64} : tensor<?x?x64xf32>
  qc.observe %x {layer = "q", percentile = 99.9 : f64, hessian} : tensor<?x?x64xf32>
  return
}

// Edge cases the verifiers accept: every pass must handle them (or decline
// with a diagnostic), never crash.

// CHECK-LABEL: func @rank1_and_static
func.func @rank1_and_static(%x1: tensor<64xf32>, %x3: tensor<2x3x64xbf16>, %w: tensor<32x64xf32>, %wb: tensor<32x64xbf16>, %b: tensor<32xf16>)
    -> (tensor<32xf32>, tensor<2x3x32xbf16>) {
  // A single token without a leading dimension.
  // CHECK: qc.linear %{{.*}}, %{{.*}} {layer = "r1", scheme = #qc.scheme<weight = i4, symmetric = false>} : (tensor<64xf32>, tensor<32x64xf32>) -> tensor<32xf32>
  %0 = qc.linear %x1, %w {layer = "r1", scheme = #qc.scheme<weight = i4, granularity = per_channel, symmetric = false>} : (tensor<64xf32>, tensor<32x64xf32>) -> tensor<32xf32>
  // Static leading dims; weight, bias and activations in different float types.
  // CHECK: qc.linear %{{.*}}, %{{.*}}, %{{.*}} {layer = "mix"} : (tensor<2x3x64xbf16>, tensor<32x64xf32>, tensor<32xf16>) -> tensor<2x3x32xbf16>
  %1 = qc.linear %x3, %w, %b {layer = "mix"} : (tensor<2x3x64xbf16>, tensor<32x64xf32>, tensor<32xf16>) -> tensor<2x3x32xbf16>
  // A group as wide as K (one group per row).
  // CHECK: #qc.scheme<weight = i4, granularity = per_group, group_size = 64>
  %2 = qc.linear %x3, %wb {layer = "g64", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 64>} : (tensor<2x3x64xbf16>, tensor<32x64xbf16>) -> tensor<2x3x32xbf16>
  // CHECK: #qc.scheme<weight = f8E4M3FN, act = dynamic_per_token, alpha = 5.000000e-01 : f32>
  %3 = qc.linear %x3, %wb {layer = "f8", scheme = #qc.scheme<weight = f8E4M3FN, act = dynamic_per_token, alpha = 0.5 : f32>} : (tensor<2x3x64xbf16>, tensor<32x64xbf16>) -> tensor<2x3x32xbf16>
  // CHECK: #qc.scheme<weight = i8, granularity = per_tensor, act = dynamic_per_token, alpha = 0.000000e+00 : f32>
  %4 = qc.linear %x3, %wb {layer = "a0", scheme = #qc.scheme<weight = i8, granularity = per_tensor, act = dynamic_per_token, alpha = 0.0 : f32>} : (tensor<2x3x64xbf16>, tensor<32x64xbf16>) -> tensor<2x3x32xbf16>
  return %0, %1 : tensor<32xf32>, tensor<2x3x32xbf16>
}

// CHECK-LABEL: func @norm_mixes
func.func @norm_mixes(%x: tensor<64xbf16>, %x3: tensor<?x?x64xf16>, %g: tensor<64xf32>, %b: tensor<64xbf16>, %s: tensor<64xf32>)
    -> (tensor<64xbf16>, tensor<?x?x64xf16>, tensor<?x?x64xf16>) {
  // CHECK: qc.rms_norm %{{.*}}, %{{.*}} {epsilon = 0.000000e+00 : f64} : tensor<64xbf16>, tensor<64xf32>
  %0 = qc.rms_norm %x, %g {epsilon = 0.0 : f64} : tensor<64xbf16>, tensor<64xf32>
  // CHECK: qc.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {epsilon = {{.*}} : f64} : tensor<?x?x64xf16>, tensor<64xf32>, tensor<64xbf16>
  %1 = qc.layer_norm %x3, %g, %b {epsilon = 1.0e-12 : f64} : tensor<?x?x64xf16>, tensor<64xf32>, tensor<64xbf16>
  // CHECK: qc.smooth %{{.*}}, %{{.*}} : tensor<?x?x64xf16>, tensor<64xf32>
  %2 = qc.smooth %x3, %s : tensor<?x?x64xf16>, tensor<64xf32>
  return %0, %1, %2 : tensor<64xbf16>, tensor<?x?x64xf16>, tensor<?x?x64xf16>
}

// CHECK-LABEL: func @act_edge_cases
func.func @act_edge_cases(%x1: tensor<64xf16>, %x3: tensor<?x?x64xbf16>, %s2: tensor<2xf32>, %q2: tensor<?x64xi8>)
    -> (tensor<64xf32>, tensor<?x?x64xf16>, tensor<?x64xf32>) {
  // Rank-1 input: per-token scales are rank 0.
  // CHECK: %[[Q1:.*]], %[[S1:.*]] = qc.quantize_act %{{.*}} dynamic_per_token : tensor<64xf16> -> tensor<64xi8>, tensor<f32>
  %q1, %s1 = qc.quantize_act %x1 dynamic_per_token : tensor<64xf16> -> tensor<64xi8>, tensor<f32>
  // CHECK: qc.dequantize_act %[[Q1]], %[[S1]] : tensor<64xi8>, tensor<f32> -> tensor<64xf32>
  %d1 = qc.dequantize_act %q1, %s1 : tensor<64xi8>, tensor<f32> -> tensor<64xf32>
  // Static per-tensor on a 3-D activation, dequantized to another float type.
  // CHECK: %[[Q3:.*]], %[[S3:.*]] = qc.quantize_act %{{.*}} static_per_tensor scale 1.250000e-01 : tensor<?x?x64xbf16> -> tensor<?x?x64xi8>, tensor<1xf32>
  %q3, %s3 = qc.quantize_act %x3 static_per_tensor scale 0.125 : tensor<?x?x64xbf16> -> tensor<?x?x64xi8>, tensor<1xf32>
  // CHECK: qc.dequantize_act %[[Q3]], %[[S3]] : tensor<?x?x64xi8>, tensor<1xf32> -> tensor<?x?x64xf16>
  %d3 = qc.dequantize_act %q3, %s3 : tensor<?x?x64xi8>, tensor<1xf32> -> tensor<?x?x64xf16>
  // Operand scales only need a compatible shape: a static 2 for a dynamic M.
  // CHECK: qc.dequantize_act %{{.*}}, %{{.*}} : tensor<?x64xi8>, tensor<2xf32> -> tensor<?x64xf32>
  %d2 = qc.dequantize_act %q2, %s2 : tensor<?x64xi8>, tensor<2xf32> -> tensor<?x64xf32>
  return %d1, %d3, %d2 : tensor<64xf32>, tensor<?x?x64xf16>, tensor<?x64xf32>
}

// CHECK-LABEL: func @weight_forms
func.func @weight_forms(%x: tensor<?x?x64xf16>, %x1: tensor<64xbf16>, %d8: tensor<32x64xi8>, %s8: tensor<32x1xf16>, %z8: tensor<32x1xi8>,
                        %dt4: tensor<1024xi8>, %s4: tensor<1x1xf32>, %du4: tensor<32x64xi8>, %sg: tensor<32x4xf16>, %b: tensor<32xf32>)
    -> (tensor<?x?x32xf16>, tensor<32xbf16>, tensor<32x64xbf16>, tensor<32x64xf16>) {
  // Asymmetric i8, unpacked, f16 scales.
  // CHECK: %[[A8:.*]] = qc.packed_weight %{{.*}}, %{{.*}}, %{{.*}} {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, symmetric = false>} : tensor<32x64xi8>, tensor<32x1xf16>, tensor<32x1xi8> -> !qc.packed<32x64xi8>
  %a8 = qc.packed_weight %d8, %s8, %z8 {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, symmetric = false>} : tensor<32x64xi8>, tensor<32x1xf16>, tensor<32x1xi8> -> !qc.packed<32x64xi8>
  // Tiled i4, per-tensor.
  // CHECK: %[[T4:.*]] = qc.packed_weight {{.*}}layout = #qc.layout<tiled, tile_n = 8, tile_k = 32>, scheme = #qc.scheme<weight = i4, granularity = per_tensor>} : tensor<1024xi8>, tensor<1x1xf32> -> !qc.packed<32x64xi4>
  %t4 = qc.packed_weight %dt4, %s4 {layout = #qc.layout<tiled, tile_n = 8, tile_k = 32>, scheme = #qc.scheme<weight = i4, granularity = per_tensor>} : tensor<1024xi8>, tensor<1x1xf32> -> !qc.packed<32x64xi4>
  // Unpacked i4 asymmetric per-group with constant zero points in [0, 15].
  %z = arith.constant dense<15> : tensor<32x4xi8>
  // CHECK: %[[U4:.*]] = qc.packed_weight {{.*}}layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 16, symmetric = false>} : tensor<32x64xi8>, tensor<32x4xf16>, tensor<32x4xi8> -> !qc.packed<32x64xi4>
  %u4 = qc.packed_weight %du4, %sg, %z {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 16, symmetric = false>} : tensor<32x64xi8>, tensor<32x4xf16>, tensor<32x4xi8> -> !qc.packed<32x64xi4>
  // CHECK: qc.wo_matmul %{{.*}}, %[[A8]], %{{.*}} {kernel = #qc.kernel<mma, target = "sm_80">, layer = "a8"} : tensor<?x?x64xf16>, !qc.packed<32x64xi8>, tensor<32xf32> -> tensor<?x?x32xf16>
  %y = qc.wo_matmul %x, %a8, %b {layer = "a8", kernel = #qc.kernel<mma, target = "sm_80">} : tensor<?x?x64xf16>, !qc.packed<32x64xi8>, tensor<32xf32> -> tensor<?x?x32xf16>
  // Rank-1 input on a tiled i4 weight.
  // CHECK: qc.wo_matmul %{{.*}}, %[[T4]] {kernel = #qc.kernel<host>, layer = "t4"} : tensor<64xbf16>, !qc.packed<32x64xi4> -> tensor<32xbf16>
  %y1 = qc.wo_matmul %x1, %t4 {layer = "t4", kernel = #qc.kernel<host>} : tensor<64xbf16>, !qc.packed<32x64xi4> -> tensor<32xbf16>
  // CHECK: qc.dequantize_weight %[[T4]] : !qc.packed<32x64xi4> -> tensor<32x64xbf16>
  %w1 = qc.dequantize_weight %t4 : !qc.packed<32x64xi4> -> tensor<32x64xbf16>
  // CHECK: qc.dequantize_weight %[[U4]] : !qc.packed<32x64xi4> -> tensor<32x64xf16>
  %w2 = qc.dequantize_weight %u4 : !qc.packed<32x64xi4> -> tensor<32x64xf16>
  return %y, %y1, %w1, %w2 : tensor<?x?x32xf16>, tensor<32xbf16>, tensor<32x64xbf16>, tensor<32x64xf16>
}

// Constant unpacked i4 data at the ends of its range (checked by the verifier).
// CHECK-LABEL: func @int4_constants
func.func @int4_constants(%s: tensor<2x1xf32>) -> (!qc.packed<2x4xi4>, !qc.packed<2x4xi4>) {
  %ds = arith.constant dense<[[-8, 7, 0, -1], [1, 2, 3, 4]]> : tensor<2x4xi8>
  // CHECK: qc.packed_weight {{.*}}scheme = #qc.scheme<weight = i4>} : tensor<2x4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi4>
  %ps = qc.packed_weight %ds, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4>} : tensor<2x4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi4>
  %da = arith.constant dense<[[0, 15, 8, 1], [15, 15, 0, 0]]> : tensor<2x4xi8>
  %z = arith.constant dense<[[0], [15]]> : tensor<2x1xi8>
  // CHECK: qc.packed_weight {{.*}}scheme = #qc.scheme<weight = i4, symmetric = false>} : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2x1xi8> -> !qc.packed<2x4xi4>
  %pa = qc.packed_weight %da, %s, %z {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4, symmetric = false>} : tensor<2x4xi8>, tensor<2x1xf32>, tensor<2x1xi8> -> !qc.packed<2x4xi4>
  return %ps, %pa : !qc.packed<2x4xi4>, !qc.packed<2x4xi4>
}

// CHECK-LABEL: func @matmul_edge_cases
func.func @matmul_edge_cases(%x: tensor<?x?x64xf32>, %q1: tensor<64xi8>, %s0: tensor<f32>, %q3: tensor<2x?x64xi8>, %s1: tensor<1xf32>,
                             %d: tensor<32x64xi8>, %st: tensor<1x1xf32>, %w: !qc.packed<32x64xi8>, %b: tensor<32xbf16>)
    -> (tensor<?x?x32xf32>, tensor<32xbf16>, tensor<2x?x32xf16>, tensor<2x?x32xf32>) {
  // Adaptive on a per-tensor symmetric i8 weight.
  %pt = qc.packed_weight %d, %st {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, granularity = per_tensor>} : tensor<32x64xi8>, tensor<1x1xf32> -> !qc.packed<32x64xi8>
  // CHECK: qc.wo_matmul {{.*}}kernel = #qc.kernel<adaptive, target = "sm_90", threshold = 128>
  %y0 = qc.wo_matmul %x, %pt {layer = "pt", kernel = #qc.kernel<adaptive, target = "sm_90", threshold = 128>} : tensor<?x?x64xf32>, !qc.packed<32x64xi8> -> tensor<?x?x32xf32>
  // Rank-1 INT8 input with rank-0 per-token scales, on a weight from a block argument.
  // CHECK: qc.int8_matmul %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {kernel = #qc.kernel<gemv, target = "sm_80">, layer = "r1"} : tensor<64xi8>, tensor<f32>, !qc.packed<32x64xi8>, tensor<32xbf16> -> tensor<32xbf16>
  %y1 = qc.int8_matmul %q1, %s0, %w, %b {layer = "r1", kernel = #qc.kernel<gemv, target = "sm_80">} : tensor<64xi8>, tensor<f32>, !qc.packed<32x64xi8>, tensor<32xbf16> -> tensor<32xbf16>
  // Mixed static/dynamic leading dims with per-tensor scales; result type is the layer's.
  // CHECK: qc.int8_matmul %{{.*}}, %{{.*}}, %{{.*}} {kernel = #qc.kernel<host>, layer = "pt"} : tensor<2x?x64xi8>, tensor<1xf32>, !qc.packed<32x64xi8> -> tensor<2x?x32xf16>
  %y2 = qc.int8_matmul %q3, %s1, %pt {layer = "pt", kernel = #qc.kernel<host>} : tensor<2x?x64xi8>, tensor<1xf32>, !qc.packed<32x64xi8> -> tensor<2x?x32xf16>
  // CHECK: qc.int8_matmul {{.*}}kernel = #qc.kernel<int8_mma, target = "sm_80">
  %y3 = qc.int8_matmul %q3, %s1, %pt {layer = "pt2", kernel = #qc.kernel<int8_mma, target = "sm_80">} : tensor<2x?x64xi8>, tensor<1xf32>, !qc.packed<32x64xi8> -> tensor<2x?x32xf32>
  return %y0, %y1, %y2, %y3 : tensor<?x?x32xf32>, tensor<32xbf16>, tensor<2x?x32xf16>, tensor<2x?x32xf32>
}

// No op accepts fp16_mma yet (wo_matmul and int8_matmul both reject it); the
// attribute itself still round-trips.
// CHECK-LABEL: func @misc_forms
// CHECK-SAME: attributes {test.kernel = #qc.kernel<fp16_mma, target = "sm_90">, test.layout = #qc.layout<row_major>}
func.func @misc_forms(%x: tensor<8xf16>, %xf: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) -> (tensor<4x8xi8>, tensor<16xbf16>, tensor<?x32xf16>)
    attributes {test.kernel = #qc.kernel<fp16_mma, target = "sm_90">, test.layout = #qc.layout<row_major>} {
  // CHECK: qc.external_weight "/abs/w.bin" offset 0 : tensor<4x8xi8>
  %e = qc.external_weight "/abs/w.bin" offset 0 : tensor<4x8xi8>
  // CHECK: qc.external_weight "w.bin" offset 9223372036854775807 : tensor<16xbf16>
  %f = qc.external_weight "w.bin" offset 9223372036854775807 : tensor<16xbf16>
  // An act-order column permutation (i32 indices).
  // CHECK: qc.external_weight "w.bin" offset 64 : tensor<64xi32>
  %perm = qc.external_weight "w.bin" offset 64 : tensor<64xi32>
  // CHECK: qc.observe %{{.*}} {layer = "x"} : tensor<8xf16>
  qc.observe %x {layer = "x"} : tensor<8xf16>
  // CHECK: qc.observe %{{.*}} {layer = "x", percentile = 1.000000e+02 : f64} : tensor<8xf16>
  qc.observe %x {layer = "x", percentile = 100.0 : f64} : tensor<8xf16>
  // CHECK: qc.wo_matmul %{{.*}}, %{{.*}} {layer = "f"} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  %y = qc.wo_matmul %xf, %w {layer = "f"} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return %e, %f, %y : tensor<4x8xi8>, tensor<16xbf16>, tensor<?x32xf16>
}

// CHECK-LABEL: func @kv_cache
// CHECK-SAME: (%[[Q:.*]]: tensor<?x?x9x64xf32>, %[[R:.*]]: tensor<?x?x3x64xf32>, %[[RH:.*]]: tensor<?x?x3x64xf16>, %[[KC:.*]]: tensor<30x?x3x512x64xf32>, %[[VC:.*]]: tensor<30x?x3x512x64xf32>, %[[HC:.*]]: tensor<2x?x3x?x64xbf16>, %[[POS:.*]]: tensor<?xi64>)
func.func @kv_cache(%q: tensor<?x?x9x64xf32>, %rows: tensor<?x?x3x64xf32>, %rows16: tensor<?x?x3x64xf16>,
                    %k_cache: tensor<30x?x3x512x64xf32>, %v_cache: tensor<30x?x3x512x64xf32>,
                    %h_cache: tensor<2x?x3x?x64xbf16>, %pos: tensor<?xi64>)
    -> (tensor<?x?x9x64xf32>, tensor<2x?x3x?x64xbf16>) {
  // CHECK: %[[KC2:.*]] = qc.cache_write %[[R]] into %[[KC]] at %[[POS]] {layer = 3 : i64} : tensor<?x?x3x64xf32>, tensor<?xi64> -> tensor<30x?x3x512x64xf32>
  %kc2 = qc.cache_write %rows into %k_cache at %pos {layer = 3 : i64}
      : tensor<?x?x3x64xf32>, tensor<?xi64> -> tensor<30x?x3x512x64xf32>
  // CHECK: %[[VC2:.*]] = qc.cache_write %[[R]] into %[[VC]] at %[[POS]] {layer = 3 : i64}
  %vc2 = qc.cache_write %rows into %v_cache at %pos {layer = 3 : i64}
      : tensor<?x?x3x64xf32>, tensor<?xi64> -> tensor<30x?x3x512x64xf32>
  // Rows of another float type are converted to the cache's.
  // CHECK: qc.cache_write %[[RH]] into %[[HC]] at %[[POS]] {layer = 1 : i64} : tensor<?x?x3x64xf16>, tensor<?xi64> -> tensor<2x?x3x?x64xbf16>
  %hc2 = qc.cache_write %rows16 into %h_cache at %pos {layer = 1 : i64}
      : tensor<?x?x3x64xf16>, tensor<?xi64> -> tensor<2x?x3x?x64xbf16>
  // CHECK: qc.cache_attention %[[Q]], %[[KC2]], %[[VC2]], %[[POS]] {layer = 3 : i64, scale = 1.250000e-01 : f32} : tensor<?x?x9x64xf32>, tensor<30x?x3x512x64xf32>, tensor<30x?x3x512x64xf32>, tensor<?xi64> -> tensor<?x?x9x64xf32>
  %o = qc.cache_attention %q, %kc2, %vc2, %pos {layer = 3 : i64, scale = 0.125 : f32}
      : tensor<?x?x9x64xf32>, tensor<30x?x3x512x64xf32>, tensor<30x?x3x512x64xf32>, tensor<?xi64> -> tensor<?x?x9x64xf32>
  return %o, %hc2 : tensor<?x?x9x64xf32>, tensor<2x?x3x?x64xbf16>
}

// The buffer form (after bufferization): memref operands, no result.
// CHECK-LABEL: func @kv_cache_buffers
func.func @kv_cache_buffers(%rows: memref<?x?x3x64xf32>, %cache: memref<30x?x3x512x64xf16>, %pos: memref<?xi64>) {
  // CHECK: qc.cache_write %{{.*}} into %{{.*}} at %{{.*}} {layer = 29 : i64} : memref<?x?x3x64xf32>, memref<?xi64> -> memref<30x?x3x512x64xf16>
  qc.cache_write %rows into %cache at %pos {layer = 29 : i64}
      : memref<?x?x3x64xf32>, memref<?xi64> -> memref<30x?x3x512x64xf16>
  return
}

// Greedy choice: the last dimension becomes 1 (the next step's tokens).
// CHECK-LABEL: func @argmax
func.func @argmax(%l: tensor<?x32000xf32>, %h: tensor<2x?x64xbf16>) -> (tensor<?x1xi64>, tensor<2x?x1xi64>) {
  // CHECK: qc.argmax %{{.*}} : tensor<?x32000xf32> -> tensor<?x1xi64>
  %0 = qc.argmax %l : tensor<?x32000xf32> -> tensor<?x1xi64>
  // CHECK: qc.argmax %{{.*}} : tensor<2x?x64xbf16> -> tensor<2x?x1xi64>
  %1 = qc.argmax %h : tensor<2x?x64xbf16> -> tensor<2x?x1xi64>
  return %0, %1 : tensor<?x1xi64>, tensor<2x?x1xi64>
}

// Sampling: run-time temperature, top-k, seed; one position per row.
// CHECK-LABEL: func @sample
func.func @sample(%l: tensor<?x32000xf16>, %t: tensor<f32>, %k: tensor<i64>, %s: tensor<i64>, %p: tensor<?xi64>) -> tensor<?x1xi64> {
  // CHECK: qc.sample %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x32000xf16>, tensor<f32>, tensor<i64>, tensor<i64>, tensor<?xi64> -> tensor<?x1xi64>
  %0 = qc.sample %l, %t, %k, %s, %p : tensor<?x32000xf16>, tensor<f32>, tensor<i64>, tensor<i64>, tensor<?xi64> -> tensor<?x1xi64>
  return %0 : tensor<?x1xi64>
}

{-#
  dialect_resources: {
    builtin: {
      w0: "0x040000000000803F000000000000000000000040"
    }
  }
#-}
