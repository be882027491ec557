// RUN: quant-opt %s -split-input-file -verify-diagnostics

// One case per diagnostic of the qc dialect (lib/Dialect/QC/IR). Sections
// follow the source: attributes and the packed type (QCDialect.cpp), then the
// op verifiers (QCOps.cpp) in order, then ODS type constraints worth pinning.

//===----------------------------------------------------------------------===//
// #qc.scheme
//===----------------------------------------------------------------------===//

func.func @scheme_bad_weight_type(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{unsupported weight type 'i16'; expected i4, i8, f16 or f8E4M3FN}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = i16>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_bad_weight_type_bf16(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{unsupported weight type 'bf16'; expected i4, i8, f16 or f8E4M3FN}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = bf16>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_per_group_without_size(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{per_group granularity needs a positive group_size, got 0}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = i4, granularity = per_group>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_per_group_negative_size(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{per_group granularity needs a positive group_size, got -32}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = -32>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_group_size_per_channel(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{group_size is only allowed with per_group granularity}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = i8, group_size = 32>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_fp8_weight_only(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{f8E4M3FN weights need FP8 activations (act = dynamic_per_token or static_per_tensor)}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = f8E4M3FN, granularity = per_channel>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_e5m2(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{unsupported weight type 'f8E5M2'; expected i4, i8, f16 or f8E4M3FN}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = f8E5M2, act = dynamic_per_token>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_per_group_float(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{per_group granularity needs an integer weight type}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = f8E4M3FN, granularity = per_group, group_size = 32>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_asymmetric_float(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{asymmetric quantization needs an integer weight type}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = f16, symmetric = false>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_minimum_type(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{minimum must be f16 or f32, got 'bf16'}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = i4, symmetric = false, minimum = bf16>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_minimum_symmetric(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{a float minimum needs an asymmetric integer weight (symmetric = false)}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = i4, minimum = f16>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_act_needs_i8(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{quantized activations need i8 (W8A8) or f8E4M3FN (FP8) weights, got 'i4'}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = i4, act = dynamic_per_token>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_act_asymmetric(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{quantized activations need symmetric per_channel or per_tensor weights}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = i8, symmetric = false, act = static_per_tensor>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_act_per_group(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{quantized activations need symmetric per_channel or per_tensor weights}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = i8, granularity = per_group, group_size = 32, act = dynamic_per_token>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_alpha_without_act(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{alpha (SmoothQuant) needs quantized activations}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = i8, alpha = 0.5 : f32>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_alpha_too_large(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{alpha must be in [0, 1], got 1.500000e+00}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = i8, act = dynamic_per_token, alpha = 1.5 : f32>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_alpha_negative(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{alpha must be in [0, 1], got -2.500000e-01}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = i8, act = static_per_tensor, alpha = -0.25 : f32>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @scheme_alpha_nan(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{alpha must be in [0, 1], got nan}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = i8, act = static_per_tensor, alpha = 0x7FC00000 : f32>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

//===----------------------------------------------------------------------===//
// #qc.layout
//===----------------------------------------------------------------------===//

// -----

func.func @layout_tiled_nonpositive(%d: tensor<2048xi8>, %s: tensor<32x1xf32>) {
  // expected-error@+1 {{tiled layout needs positive tile_n and tile_k}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<tiled, tile_n = 0, tile_k = 64>, scheme = #qc.scheme<weight = i8>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  return
}

// -----

func.func @layout_tiled_default_tiles(%d: tensor<2048xi8>, %s: tensor<32x1xf32>) {
  // The default tile_k (1) is odd: a tiled layout must name its tiles.
  // expected-error@+1 {{tile_k must be even so INT4 pairs stay in a tile}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<tiled>, scheme = #qc.scheme<weight = i8>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  return
}

// -----

func.func @layout_tiled_odd_tile_k(%d: tensor<2048xi8>, %s: tensor<32x1xf32>) {
  // expected-error@+1 {{tile_k must be even so INT4 pairs stay in a tile}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<tiled, tile_n = 16, tile_k = 3>, scheme = #qc.scheme<weight = i8>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  return
}

// -----

func.func @layout_tiles_on_row_major(%d: tensor<2048xi8>, %s: tensor<32x1xf32>) {
  // expected-error@+1 {{tile_n and tile_k are only allowed with the tiled layout}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<row_major, tile_n = 16, tile_k = 64>, scheme = #qc.scheme<weight = i8>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  return
}

//===----------------------------------------------------------------------===//
// #qc.kernel
//===----------------------------------------------------------------------===//

// -----

func.func @kernel_unknown_target(%x: tensor<?x64xf32>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{unknown target 'sm_70'; expected host, sm_80, sm_90 or sm_90a}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<gemv, target = "sm_70">} : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  return
}

// -----

func.func @kernel_adaptive_without_threshold(%x: tensor<?x64xf32>, %w: !qc.packed<32x64xi8>) {
  // expected-error@+1 {{kernel 'adaptive' needs a positive threshold}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<adaptive, target = "sm_90">} : tensor<?x64xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return
}

// -----

func.func @kernel_threshold_not_adaptive(%x: tensor<?x64xf32>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{threshold is only allowed with the adaptive, gemv_mma and frag kernels}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<gemv, target = "sm_90", threshold = 16>} : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  return
}

// -----

func.func @kernel_frag_threshold_without_wgmma_tiling(%x: tensor<?x64xf16>, %w: !qc.packed<64x64xi4>) {
  // expected-error@+1 {{kernel 'frag' takes a threshold and an mma tiling together (its wgmma variant) or neither}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<frag, target = "sm_90a", threshold = 64>} : tensor<?x64xf16>, !qc.packed<64x64xi4> -> tensor<?x64xf16>
  return
}

// -----

func.func @kernel_frag_wgmma_on_sm_90(%x: tensor<?x64xf16>, %w: !qc.packed<64x64xi4>) {
  // expected-error@+1 {{kernel 'frag' with a wgmma variant needs a target with wgmma (sm_90a), not 'sm_90'}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<frag, target = "sm_90", threshold = 64, mma = #qc.mma_tiling<block_m = 128, block_n = 64, block_k = 64, warps_m = 1, warps_n = 4, stages = 3>>} : tensor<?x64xf16>, !qc.packed<64x64xi4> -> tensor<?x64xf16>
  return
}

// -----

func.func @kernel_gpu_kind_on_host(%x: tensor<?x64xf32>, %w: !qc.packed<32x64xi4>) {
  // The default target is host.
  // expected-error@+1 {{kernel 'gemv' is not available on target 'host'}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<gemv>} : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  return
}

// -----

func.func @kernel_family_not_on_target(%x: tensor<?x64xf32>, %w: !qc.packed<32x64xi4>) {
  // The target table (TargetTable.h) lists the families of sm_90.
  // expected-error@+1 {{kernel 'host' is not available on target 'sm_90'}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<host, target = "sm_90">} : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  return
}

  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<gemv, target = "sm_75">} : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  return
}

//===----------------------------------------------------------------------===//
// !qc.packed
//===----------------------------------------------------------------------===//

// -----

// expected-error@+1 {{expected N x K dimensions in a packed weight type}}
func.func @packed_rank3(%w: !qc.packed<4x4x4xi4>)

// -----

// expected-error@+1 {{expected N x K dimensions in a packed weight type}}
func.func @packed_rank1(%w: !qc.packed<4xi4>)

// -----

// expected-error@+1 {{expected static shape}}
func.func @packed_dynamic(%w: !qc.packed<?x4xi4>)

// -----

// expected-error@+1 {{packed weight dimensions must be positive}}
func.func @packed_zero_dim(%w: !qc.packed<0x4xi8>)

// -----

// expected-error@+1 {{packed weight element type must be i4, i8 or f8E4M3FN, got 'f16'}}
func.func @packed_float_element(%w: !qc.packed<4x4xf16>)

// -----

// expected-error@+1 {{packed weight element type must be i4, i8 or f8E4M3FN, got 'ui8'}}
func.func @packed_unsigned_element(%w: !qc.packed<4x4xui8>)

//===----------------------------------------------------------------------===//
// qc.linear (and the shared linear shape contract)
//===----------------------------------------------------------------------===//

// -----

func.func @linear_weight_rank(%x: tensor<4x64xf32>, %w: tensor<64xf32>) {
  // expected-error@+1 {{weight must be a static N x K tensor, got 'tensor<64xf32>'}}
  %0 = qc.linear %x, %w {layer = "a"} : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @linear_weight_dynamic(%x: tensor<4x64xf32>, %w: tensor<?x64xf32>) {
  // expected-error@+1 {{weight must be a static N x K tensor, got 'tensor<?x64xf32>'}}
  %0 = qc.linear %x, %w {layer = "a"} : (tensor<4x64xf32>, tensor<?x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @linear_empty_layer(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{layer name must not be empty}}
  %0 = qc.linear %x, %w {layer = ""} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @linear_rank0_input(%x: tensor<f32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{input must have rank >= 1}}
  %0 = qc.linear %x, %w {layer = "a"} : (tensor<f32>, tensor<32x64xf32>) -> tensor<32xf32>
  return
}

// -----

func.func @linear_dynamic_k(%x: tensor<4x?xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{input's last dimension (K) must be static}}
  %0 = qc.linear %x, %w {layer = "a"} : (tensor<4x?xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @linear_k_mismatch(%x: tensor<4x48xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{input has K = 48 but the weight has K = 64}}
  %0 = qc.linear %x, %w {layer = "a"} : (tensor<4x48xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @linear_result_rank(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{result rank 2 does not match input rank 3}}
  %0 = qc.linear %x, %w {layer = "a"} : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @linear_result_leading(%x: tensor<2x4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{result shape 2x8x32 does not match the input's leading dimensions 2x4x64}}
  %0 = qc.linear %x, %w {layer = "a"} : (tensor<2x4x64xf32>, tensor<32x64xf32>) -> tensor<2x8x32xf32>
  return
}

// -----

func.func @linear_result_n(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{result has 16 columns but the weight has N = 32}}
  %0 = qc.linear %x, %w {layer = "a"} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @linear_bias_shape(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>, %b: tensor<1x32xf32>) {
  // expected-error@+1 {{bias must have shape 32, got 1x32}}
  %0 = qc.linear %x, %w, %b {layer = "a"} : (tensor<4x64xf32>, tensor<32x64xf32>, tensor<1x32xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @linear_result_element(%x: tensor<4x64xf16>, %w: tensor<32x64xf16>) {
  // expected-error@+1 {{result element type must match the input's}}
  %0 = qc.linear %x, %w {layer = "a"} : (tensor<4x64xf16>, tensor<32x64xf16>) -> tensor<4x32xf32>
  return
}

// -----

func.func @linear_group_does_not_divide(%x: tensor<4x96xf32>, %w: tensor<32x96xf32>) {
  // expected-error@+1 {{scheme does not fit the weight: group_size 64 does not divide K = 96}}
  %0 = qc.linear %x, %w {layer = "a", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 64>} : (tensor<4x96xf32>, tensor<32x96xf32>) -> tensor<4x32xf32>
  return
}

//===----------------------------------------------------------------------===//
// qc.rms_norm / qc.layer_norm / qc.smooth (per-channel vectors)
//===----------------------------------------------------------------------===//

// -----

func.func @rms_norm_negative_epsilon(%x: tensor<?x64xf32>, %g: tensor<64xf32>) {
  // expected-error@+1 {{epsilon must be non-negative and finite, got -1.000000e-05}}
  %0 = qc.rms_norm %x, %g {epsilon = -1.0e-5 : f64} : tensor<?x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @rms_norm_nan_epsilon(%x: tensor<?x64xf32>, %g: tensor<64xf32>) {
  // expected-error@+1 {{epsilon must be non-negative and finite, got nan}}
  %0 = qc.rms_norm %x, %g {epsilon = 0x7FF8000000000000 : f64} : tensor<?x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @layer_norm_inf_epsilon(%x: tensor<?x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error@+1 {{epsilon must be non-negative and finite, got INF}}
  %0 = qc.layer_norm %x, %g, %b {epsilon = 0x7FF0000000000000 : f64} : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>
  return
}

// -----

func.func @rms_norm_dynamic_channels(%x: tensor<4x?xf32>, %g: tensor<64xf32>) {
  // expected-error@+1 {{input's last dimension must be static}}
  %0 = qc.rms_norm %x, %g : tensor<4x?xf32>, tensor<64xf32>
  return
}

// -----

func.func @rms_norm_weight_shape(%x: tensor<?x64xf32>, %g: tensor<32xf32>) {
  // expected-error@+1 {{weight must have shape 64 (the input's last dimension), got 32}}
  %0 = qc.rms_norm %x, %g : tensor<?x64xf32>, tensor<32xf32>
  return
}

// -----

func.func @layer_norm_negative_epsilon(%x: tensor<?x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error@+1 {{epsilon must be non-negative and finite, got -1.000000e+00}}
  %0 = qc.layer_norm %x, %g, %b {epsilon = -1.0 : f64} : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>
  return
}

// -----

func.func @layer_norm_weight_shape(%x: tensor<?x64xf32>, %g: tensor<1x64xf32>, %b: tensor<64xf32>) {
  // expected-error@+1 {{weight must have shape 64 (the input's last dimension), got 1x64}}
  %0 = qc.layer_norm %x, %g, %b : tensor<?x64xf32>, tensor<1x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @layer_norm_bias_shape(%x: tensor<?x64xf32>, %g: tensor<64xf32>, %b: tensor<?xf32>) {
  // expected-error@+1 {{bias must have shape 64 (the input's last dimension), got ?}}
  %0 = qc.layer_norm %x, %g, %b : tensor<?x64xf32>, tensor<64xf32>, tensor<?xf32>
  return
}

// -----

func.func @smooth_scale_shape(%x: tensor<?x64xf16>, %s: tensor<65xf32>) {
  // expected-error@+1 {{scale must have shape 64 (the input's last dimension), got 65}}
  %0 = qc.smooth %x, %s : tensor<?x64xf16>, tensor<65xf32>
  return
}

//===----------------------------------------------------------------------===//
// qc.external_weight
//===----------------------------------------------------------------------===//

// -----

func.func @external_dynamic() {
  // expected-error@+1 {{external weight must have a static shape}}
  %0 = qc.external_weight "w.bin" offset 0 : tensor<?x64xf16>
  return
}

// -----

func.func @external_negative_offset() {
  // expected-error@+1 {{offset must be non-negative, got -8}}
  %0 = qc.external_weight "w.bin" offset -8 : tensor<32x64xf16>
  return
}

// -----

func.func @external_empty_path() {
  // expected-error@+1 {{path must not be empty}}
  %0 = qc.external_weight "" offset 0 : tensor<32x64xf16>
  return
}

// -----

func.func @external_i64() {
  // expected-error@+1 {{result #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 8-bit signless integer or 32-bit signless integer values, but got 'tensor<64xi64>'}}
  %0 = qc.external_weight "w.bin" offset 0 : tensor<64xi64>
  return
}

//===----------------------------------------------------------------------===//
// qc.observe
//===----------------------------------------------------------------------===//

// -----

func.func @observe_dynamic_channels(%x: tensor<?x?xf32>) {
  // expected-error@+1 {{input's last dimension (channels) must be static}}
  qc.observe %x {layer = "a"} : tensor<?x?xf32>
  return
}

// -----

func.func @observe_rank0(%x: tensor<f32>) {
  // expected-error@+1 {{input's last dimension (channels) must be static}}
  qc.observe %x {layer = "a"} : tensor<f32>
  return
}

// -----

func.func @observe_empty_layer(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{layer name must not be empty}}
  qc.observe %x {layer = ""} : tensor<?x64xf32>
  return
}

// -----

func.func @observe_percentile_zero(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{percentile must be in (0, 100], got 0}}
  qc.observe %x {layer = "a", percentile = 0.0 : f64} : tensor<?x64xf32>
  return
}

// -----

func.func @observe_percentile_above_100(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{percentile must be in (0, 100], got 1.005000e+02}}
  qc.observe %x {layer = "a", percentile = 100.5 : f64} : tensor<?x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// qc.quantize_act / qc.dequantize_act
//===----------------------------------------------------------------------===//

// -----

func.func @quantize_act_mode_none(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{mode must be static_per_tensor or dynamic_per_token}}
  %q, %s = qc.quantize_act %x none : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<?xf32>
  return
}

// -----

func.func @quantize_act_static_without_scale(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{static_per_tensor needs a calibrated scale}}
  %q, %s = qc.quantize_act %x static_per_tensor : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<1xf32>
  return
}

// -----

func.func @quantize_act_zero_scale(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{scale must be positive and finite, got 0}}
  %q, %s = qc.quantize_act %x static_per_tensor scale 0.0 : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<1xf32>
  return
}

// -----

func.func @quantize_act_inf_scale(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{scale must be positive and finite, got INF}}
  %q, %s = qc.quantize_act %x static_per_tensor scale 0x7F800000 : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<1xf32>
  return
}

// -----

func.func @quantize_act_dynamic_with_scale(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{dynamic_per_token computes its scales; remove scale}}
  %q, %s = qc.quantize_act %x dynamic_per_token scale 0.5 : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<?xf32>
  return
}

// -----

func.func @quantize_act_output_shape(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{output shape 4x64 must match the input shape ?x64}}
  %q, %s = qc.quantize_act %x dynamic_per_token : tensor<?x64xf32> -> tensor<4x64xi8>, tensor<?xf32>
  return
}

// -----

func.func @quantize_act_static_scales_shape(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{static_per_tensor scales must have shape 1, got ?}}
  %q, %s = qc.quantize_act %x static_per_tensor scale 0.5 : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<?xf32>
  return
}

// -----

func.func @quantize_act_dynamic_scales_shape(%x: tensor<?x?x64xf32>) {
  // expected-error@+1 {{dynamic_per_token scales must have the input's leading shape ?x?, got ?}}
  %q, %s = qc.quantize_act %x dynamic_per_token : tensor<?x?x64xf32> -> tensor<?x?x64xi8>, tensor<?xf32>
  return
}

// -----

func.func @dequantize_act_result_shape(%q: tensor<?x64xi8>, %s: tensor<?xf32>) {
  // expected-error@+1 {{result shape ?x32 must match the input shape ?x64}}
  %0 = qc.dequantize_act %q, %s : tensor<?x64xi8>, tensor<?xf32> -> tensor<?x32xf32>
  return
}

// -----

func.func @dequantize_act_scales_rank(%q: tensor<?x64xi8>, %s: tensor<?x64xf32>) {
  // expected-error@+1 {{scales must have shape 1 (per-tensor) or the input's leading shape ? (per-token), got ?x64}}
  %0 = qc.dequantize_act %q, %s : tensor<?x64xi8>, tensor<?x64xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @quantize_act_rank0(%x: tensor<f32>) {
  // expected-error@+1 {{input must have rank >= 1}}
  %q, %s = qc.quantize_act %x dynamic_per_token : tensor<f32> -> tensor<i8>, tensor<1xf32>
  return
}

// -----

func.func @quantize_act_scales_refine_dynamic(%x: tensor<?x64xf32>) {
  // The per-token scales are a result: the token dimension stays dynamic.
  // expected-error@+1 {{dynamic_per_token scales must have the input's leading shape ?, got 4}}
  %q, %s = qc.quantize_act %x dynamic_per_token : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<4xf32>
  return
}

// -----

func.func @dequantize_act_rank0(%q: tensor<i8>, %s: tensor<2xf32>) {
  // expected-error@+1 {{input must have rank >= 1}}
  %0 = qc.dequantize_act %q, %s : tensor<i8>, tensor<2xf32> -> tensor<f32>
  return
}

// -----

func.func @smooth_rank0(%x: tensor<f32>, %s: tensor<0xf32>) {
  // expected-error@+1 {{input must have rank >= 1}}
  %0 = qc.smooth %x, %s : tensor<f32>, tensor<0xf32>
  return
}

// -----

func.func @linear_result_refines_dynamic(%x: tensor<?x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{result shape 4x32 does not match the input's leading dimensions ?x64}}
  %0 = qc.linear %x, %w {layer = "a"} : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @linear_result_erases_static(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{result shape ?x32 does not match the input's leading dimensions 4x64}}
  %0 = qc.linear %x, %w {layer = "a"} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @linear_result_dynamic_n(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{result has ? columns but the weight has N = 32}}
  %0 = qc.linear %x, %w {layer = "a"} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x?xf32>
  return
}

//===----------------------------------------------------------------------===//
// qc.packed_weight
//===----------------------------------------------------------------------===//

// -----

func.func @packed_float_scheme(%d: tensor<32x64xi8>, %s: tensor<32x1xf32>) {
  // expected-error@+1 {{scheme weight type 'f16' is not a quantized type; only i4, i8 and f8E4M3FN weights are packed}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = f16>} : tensor<32x64xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  return
}

// -----

func.func @packed_scheme_type_mismatch(%d: tensor<32x64xi8>, %s: tensor<32x1xf32>) {
  // expected-error@+1 {{scheme weight type 'i4' does not match the result element type 'i8'}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4>} : tensor<32x64xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  return
}

// -----

func.func @packed_group_does_not_divide(%d: tensor<32x96xi8>, %s: tensor<32x1xf32>) {
  // expected-error@+1 {{group_size 64 does not divide K = 96}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 64>} : tensor<32x96xi8>, tensor<32x1xf32> -> !qc.packed<32x96xi4>
  return
}

// -----

func.func @packed_unpacked_shape(%d: tensor<64x32xi8>, %s: tensor<32x1xf32>) {
  // expected-error@+1 {{unpacked data must have shape 32x64, got 64x32}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<64x32xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  return
}

// -----

func.func @packed_unpacked_int4_as_bytes(%d: tensor<1024xi8>, %s: tensor<32x1xf32>) {
  // expected-error@+1 {{unpacked data must have shape 32x64, got 1024}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4>} : tensor<1024xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi4>
  return
}

// -----

func.func @packed_int4_odd_k(%d: tensor<62xi8>, %s: tensor<4x1xf32>) {
  // expected-error@+1 {{int4 packing needs an even K, got K = 31}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4>} : tensor<62xi8>, tensor<4x1xf32> -> !qc.packed<4x31xi4>
  return
}

// -----

func.func @packed_tile_does_not_divide(%d: tensor<1536xi8>, %s: tensor<24x1xf32>) {
  // expected-error@+1 {{tile 16x64 does not divide the 24x64 weight}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<tiled, tile_n = 16, tile_k = 64>, scheme = #qc.scheme<weight = i8>} : tensor<1536xi8>, tensor<24x1xf32> -> !qc.packed<24x64xi8>
  return
}

// -----

func.func @packed_frag_does_not_fit(%d: tensor<1536xi8>, %s: tensor<24x1xf32>) {
  // expected-error@+1 {{the mma_frag layout needs N % 16 == 0 and K % 64 == 0, got 24x128}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<mma_frag>, scheme = #qc.scheme<weight = i4>} : tensor<1536xi8>, tensor<24x1xf32> -> !qc.packed<24x128xi4>
  return
}

// -----

func.func @packed_frag_k_i8(%d: tensor<768xi8>, %s: tensor<16x1xf32>) {
  // expected-error@+1 {{the mma_frag layout needs N % 16 == 0 and K % 32 == 0, got 16x48}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<mma_frag>, scheme = #qc.scheme<weight = i8>} : tensor<768xi8>, tensor<16x1xf32> -> !qc.packed<16x48xi8>
  return
}

// -----

func.func @layout_frag_tiles(%d: tensor<1024xi8>, %s: tensor<16x1xf32>) {
  // expected-error@+1 {{tile_n and tile_k are only allowed with the tiled layout}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<mma_frag, tile_n = 16, tile_k = 64>, scheme = #qc.scheme<weight = i8>} : tensor<1024xi8>, tensor<16x1xf32> -> !qc.packed<16x64xi8>
  return
}

// -----

func.func @packed_tile_k_does_not_divide(%d: tensor<1536xi8>, %s: tensor<16x1xf32>) {
  // expected-error@+1 {{tile 16x64 does not divide the 16x96 weight}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<tiled, tile_n = 16, tile_k = 64>, scheme = #qc.scheme<weight = i8>} : tensor<1536xi8>, tensor<16x1xf32> -> !qc.packed<16x96xi8>
  return
}

// -----

func.func @packed_row_major_bytes_int4(%d: tensor<2048xi8>, %s: tensor<32x1xf32>) {
  // i4 data takes N * K / 2 bytes.
  // expected-error@+1 {{packed data must be a flat tensor of 1024 bytes, got 2048}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi4>
  return
}

// -----

func.func @packed_row_major_not_flat(%d: tensor<32x64xi8>, %s: tensor<32x1xf32>) {
  // expected-error@+1 {{packed data must be a flat tensor of 2048 bytes, got 32x64}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<32x64xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  return
}

// -----

func.func @packed_tiled_dynamic_bytes(%d: tensor<?xi8>, %s: tensor<32x1xf32>) {
  // expected-error@+1 {{packed data must be a flat tensor of 2048 bytes, got ?}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<tiled, tile_n = 16, tile_k = 64>, scheme = #qc.scheme<weight = i8>} : tensor<?xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  return
}

// -----

func.func @packed_per_channel_scales(%d: tensor<32x64xi8>, %s: tensor<32xf32>) {
  // expected-error@+1 {{scales must have shape 32x1 for per_channel granularity, got 32}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<32x64xi8>, tensor<32xf32> -> !qc.packed<32x64xi8>
  return
}

// -----

func.func @packed_per_tensor_scales(%d: tensor<32x64xi8>, %s: tensor<32x1xf32>) {
  // expected-error@+1 {{scales must have shape 1x1 for per_tensor granularity, got 32x1}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, granularity = per_tensor>} : tensor<32x64xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  return
}

// -----

func.func @packed_per_group_scales(%d: tensor<1024xi8>, %s: tensor<32x4xf16>) {
  // expected-error@+1 {{scales must have shape 32x2 for per_group granularity, got 32x4}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32>} : tensor<1024xi8>, tensor<32x4xf16> -> !qc.packed<32x64xi4>
  return
}

// -----

func.func @packed_symmetric_with_zeros(%d: tensor<32x64xi8>, %s: tensor<32x1xf32>, %z: tensor<32x1xi8>) {
  // expected-error@+1 {{symmetric scheme must not carry zero points}}
  %0 = qc.packed_weight %d, %s, %z {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<32x64xi8>, tensor<32x1xf32>, tensor<32x1xi8> -> !qc.packed<32x64xi8>
  return
}

// -----

func.func @packed_asymmetric_without_zeros(%d: tensor<32x64xi8>, %s: tensor<32x1xf32>) {
  // expected-error@+1 {{asymmetric scheme needs zero points}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, symmetric = false>} : tensor<32x64xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  return
}

// -----

func.func @packed_zeros_shape(%d: tensor<1024xi8>, %s: tensor<32x2xf32>, %z: tensor<32x1xi8>) {
  // expected-error@+1 {{zero points must have the scales' shape 32x2, got 32x1}}
  %0 = qc.packed_weight %d, %s, %z {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false>} : tensor<1024xi8>, tensor<32x2xf32>, tensor<32x1xi8> -> !qc.packed<32x64xi4>
  return
}

// -----

func.func @packed_minimum_type(%d: tensor<1024xi8>, %s: tensor<32x2xf32>, %z: tensor<32x2xf32>) {
  // expected-error@+1 {{zero points must be 'f16' minima for this scheme, got 'f32'}}
  %0 = qc.packed_weight %d, %s, %z {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false, minimum = f16>} : tensor<1024xi8>, tensor<32x2xf32>, tensor<32x2xf32> -> !qc.packed<32x64xi4>
  return
}

// -----

func.func @packed_int4_zero_point_range(%d: tensor<8xi8>, %s: tensor<2x1xf32>) {
  %z = arith.constant dense<[[3], [16]]> : tensor<2x1xi8>
  // expected-error@+1 {{asymmetric 'i4' zero points must be in [0, 15], got 16}}
  %0 = qc.packed_weight %d, %s, %z {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, symmetric = false>} : tensor<8xi8>, tensor<2x1xf32>, tensor<2x1xi8> -> !qc.packed<2x8xi4>
  return
}

// -----

func.func @packed_int4_zero_point_negative(%d: tensor<2x8xi8>, %s: tensor<2x1xf32>) {
  // A signed zero point: asymmetric storage is unsigned.
  %z = arith.constant dense<-1> : tensor<2x1xi8>
  // expected-error@+1 {{asymmetric 'i4' zero points must be in [0, 15], got -1}}
  %0 = qc.packed_weight %d, %s, %z {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4, symmetric = false>} : tensor<2x8xi8>, tensor<2x1xf32>, tensor<2x1xi8> -> !qc.packed<2x8xi4>
  return
}

// -----

func.func @packed_unpacked_int4_symmetric_range(%s: tensor<2x1xf32>) {
  %d = arith.constant dense<[[0, 1, 2, 3, -8, 7, 8, 0], [0, 0, 0, 0, 0, 0, 0, 0]]> : tensor<2x8xi8>
  // expected-error@+1 {{unpacked symmetric i4 data must be in [-8, 7], got 8}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4>} : tensor<2x8xi8>, tensor<2x1xf32> -> !qc.packed<2x8xi4>
  return
}

// -----

func.func @packed_unpacked_int4_asymmetric_range(%s: tensor<2x1xf32>) {
  %z = arith.constant dense<8> : tensor<2x1xi8>
  // A splat: one stored byte, still checked.
  %d = arith.constant dense<-3> : tensor<2x8xi8>
  // expected-error@+1 {{unpacked asymmetric i4 data must be in [0, 15], got -3}}
  %0 = qc.packed_weight %d, %s, %z {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4, symmetric = false>} : tensor<2x8xi8>, tensor<2x1xf32>, tensor<2x1xi8> -> !qc.packed<2x8xi4>
  return
}

//===----------------------------------------------------------------------===//
// qc.dequantize_weight
//===----------------------------------------------------------------------===//

// -----

func.func @dequantize_weight_shape(%w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{result must have shape 32x64, got 64x32}}
  %0 = qc.dequantize_weight %w : !qc.packed<32x64xi4> -> tensor<64x32xf32>
  return
}

// -----

func.func @dequantize_weight_dynamic(%w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{result must have shape 32x64, got ?x64}}
  %0 = qc.dequantize_weight %w : !qc.packed<32x64xi4> -> tensor<?x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// qc.wo_matmul
//===----------------------------------------------------------------------===//

// -----

func.func @wo_matmul_k_mismatch(%x: tensor<?x32xf32>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{input has K = 32 but the weight has K = 64}}
  %0 = qc.wo_matmul %x, %w {layer = "a"} : tensor<?x32xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  return
}

// -----

func.func @wo_matmul_bias_shape(%x: tensor<?x64xf32>, %w: !qc.packed<32x64xi4>, %b: tensor<64xf32>) {
  // expected-error@+1 {{bias must have shape 32, got 64}}
  %0 = qc.wo_matmul %x, %w, %b {layer = "a"} : tensor<?x64xf32>, !qc.packed<32x64xi4>, tensor<64xf32> -> tensor<?x32xf32>
  return
}

// -----

func.func @wo_matmul_result_element(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{result element type must match the input's}}
  %0 = qc.wo_matmul %x, %w {layer = "a"} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xbf16>
  return
}

// -----

func.func @wo_matmul_empty_layer(%x: tensor<?x64xf32>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{layer name must not be empty}}
  %0 = qc.wo_matmul %x, %w {layer = ""} : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  return
}

// -----

func.func @wo_matmul_int8_mma(%x: tensor<?x64xf32>, %w: !qc.packed<32x64xi8>) {
  // expected-error@+1 {{kernel 'int8_mma' cannot implement a weight-only matmul}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<int8_mma, target = "sm_80">} : tensor<?x64xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return
}

// -----

func.func @kernel_gemv_mma_without_threshold(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{kernel 'gemv_mma' needs a positive threshold}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<gemv_mma, target = "sm_90">} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @wo_matmul_gemv_mma_f32(%x: tensor<?x64xf32>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{kernel 'gemv_mma' needs f16 activations, got 'f32'}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<gemv_mma, target = "sm_90", threshold = 32>} : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  return
}

// -----

func.func @wo_matmul_mma_f32(%x: tensor<?x64xf32>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{kernel 'mma' needs f16 activations, got 'f32'}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<mma, target = "sm_90">} : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  return
}

// -----

func.func @wo_matmul_fp16_mma(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{kernel 'fp16_mma' cannot implement a weight-only matmul}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<fp16_mma, target = "sm_90">} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @wo_matmul_adaptive_int4(%x: tensor<?x64xf32>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{adaptive kernel needs a symmetric i8 weight with per_channel or per_tensor scales}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<adaptive, target = "sm_90", threshold = 16>} : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  return
}

// -----

func.func @wo_matmul_adaptive_per_group(%x: tensor<?x64xf32>, %d: tensor<32x64xi8>, %s: tensor<32x2xf32>) {
  %w = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, granularity = per_group, group_size = 32>} : tensor<32x64xi8>, tensor<32x2xf32> -> !qc.packed<32x64xi8>
  // expected-error@+1 {{adaptive kernel needs a symmetric i8 weight with per_channel or per_tensor scales}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<adaptive, target = "sm_90", threshold = 16>} : tensor<?x64xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return
}

// -----

func.func @wo_matmul_adaptive_asymmetric(%x: tensor<?x64xf32>, %d: tensor<32x64xi8>, %s: tensor<32x1xf32>, %z: tensor<32x1xi8>) {
  %w = qc.packed_weight %d, %s, %z {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, symmetric = false>} : tensor<32x64xi8>, tensor<32x1xf32>, tensor<32x1xi8> -> !qc.packed<32x64xi8>
  // expected-error@+1 {{adaptive kernel needs a symmetric i8 weight with per_channel or per_tensor scales}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<adaptive, threshold = 16>} : tensor<?x64xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return
}

//===----------------------------------------------------------------------===//
// qc.int8_matmul
//===----------------------------------------------------------------------===//

// -----

func.func @fp8_matmul_type_mismatch(%q: tensor<?x64xf8E4M3FN>, %s: tensor<?xf32>, %w: !qc.packed<32x64xi8>) {
  // expected-error@+1 {{input element type 'f8E4M3FN' must match the weight's 'i8' (INT8 x INT8 or FP8 x FP8)}}
  %0 = qc.int8_matmul %q, %s, %w {layer = "a"} : tensor<?x64xf8E4M3FN>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return
}

// -----

func.func @wo_matmul_fp8_weight(%x: tensor<?x64xf32>, %w: !qc.packed<32x64xf8E4M3FN>) {
  // expected-error@+1 {{an f8E4M3FN weight needs FP8 activations: use qc.int8_matmul}}
  %0 = qc.wo_matmul %x, %w {layer = "a"} : tensor<?x64xf32>, !qc.packed<32x64xf8E4M3FN> -> tensor<?x32xf32>
  return
}

// -----

func.func @int8_matmul_int4_weight(%q: tensor<?x64xi8>, %s: tensor<?xf32>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{weight must be i8 or f8E4M3FN, got 'i4'}}
  %0 = qc.int8_matmul %q, %s, %w {layer = "a"} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  return
}

// -----

func.func @int8_matmul_rank0(%q: tensor<i8>, %s: tensor<1xf32>, %w: !qc.packed<32x64xi8>) {
  // expected-error@+1 {{input must have rank >= 1}}
  %0 = qc.int8_matmul %q, %s, %w {layer = "a"} : tensor<i8>, tensor<1xf32>, !qc.packed<32x64xi8> -> tensor<32xf32>
  return
}

// -----

func.func @int8_matmul_dynamic_k(%q: tensor<?x?xi8>, %s: tensor<?xf32>, %w: !qc.packed<32x64xi8>) {
  // expected-error@+1 {{input's last dimension (K) must be static}}
  %0 = qc.int8_matmul %q, %s, %w {layer = "a"} : tensor<?x?xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return
}

// -----

func.func @int8_matmul_result_rank(%q: tensor<?x64xi8>, %s: tensor<?xf32>, %w: !qc.packed<32x64xi8>) {
  // expected-error@+1 {{result rank 1 does not match input rank 2}}
  %0 = qc.int8_matmul %q, %s, %w {layer = "a"} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<32xf32>
  return
}

// -----

func.func @int8_matmul_result_n(%q: tensor<?x64xi8>, %s: tensor<?xf32>, %w: !qc.packed<32x64xi8>) {
  // expected-error@+1 {{result has 64 columns but the weight has N = 32}}
  %0 = qc.int8_matmul %q, %s, %w {layer = "a"} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x64xf32>
  return
}

// -----

func.func @int8_matmul_scales_shape(%q: tensor<?x?x64xi8>, %s: tensor<?xf32>, %w: !qc.packed<32x64xi8>) {
  // expected-error@+1 {{scales must have shape 1 (per-tensor) or the input's leading shape ?x? (per-token), got ?}}
  %0 = qc.int8_matmul %q, %s, %w {layer = "a"} : tensor<?x?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x?x32xf32>
  return
}

// -----

func.func @int8_matmul_empty_layer(%q: tensor<?x64xi8>, %s: tensor<1xf32>, %w: !qc.packed<32x64xi8>) {
  // expected-error@+1 {{layer name must not be empty}}
  %0 = qc.int8_matmul %q, %s, %w {layer = ""} : tensor<?x64xi8>, tensor<1xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return
}

// -----

func.func @int8_matmul_per_group_weight(%q: tensor<?x64xi8>, %s: tensor<?xf32>, %d: tensor<32x64xi8>, %ws: tensor<32x2xf32>) {
  %w = qc.packed_weight %d, %ws {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, granularity = per_group, group_size = 32>} : tensor<32x64xi8>, tensor<32x2xf32> -> !qc.packed<32x64xi8>
  // expected-error@+1 {{weight must be symmetric with per_channel or per_tensor scales}}
  %0 = qc.int8_matmul %q, %s, %w {layer = "a"} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return
}

// -----

func.func @int8_matmul_asymmetric_weight(%q: tensor<?x64xi8>, %s: tensor<?xf32>, %d: tensor<2048xi8>, %ws: tensor<32x1xf32>, %z: tensor<32x1xi8>) {
  %w = qc.packed_weight %d, %ws, %z {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, symmetric = false>} : tensor<2048xi8>, tensor<32x1xf32>, tensor<32x1xi8> -> !qc.packed<32x64xi8>
  // expected-error@+1 {{weight must be symmetric with per_channel or per_tensor scales}}
  %0 = qc.int8_matmul %q, %s, %w {layer = "a"} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return
}

// -----

func.func @int8_matmul_fp16_kernel(%q: tensor<?x64xi8>, %s: tensor<?xf32>, %w: !qc.packed<32x64xi8>) {
  // expected-error@+1 {{kernel 'fp16_mma' cannot implement an INT8 matmul}}
  %0 = qc.int8_matmul %q, %s, %w {layer = "a", kernel = #qc.kernel<fp16_mma, target = "sm_90">} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return
}

// -----

func.func @int8_matmul_adaptive_kernel(%q: tensor<?x64xi8>, %s: tensor<?xf32>, %w: !qc.packed<32x64xi8>) {
  // expected-error@+1 {{kernel 'adaptive' cannot implement an INT8 matmul}}
  %0 = qc.int8_matmul %q, %s, %w {layer = "a", kernel = #qc.kernel<adaptive, threshold = 8>} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return
}

// -----

func.func @int8_matmul_mma_kernel(%q: tensor<?x64xi8>, %s: tensor<?xf32>, %w: !qc.packed<32x64xi8>) {
  // expected-error@+1 {{kernel 'mma' cannot implement an INT8 matmul}}
  %0 = qc.int8_matmul %q, %s, %w {layer = "a", kernel = #qc.kernel<mma, target = "sm_80">} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return
}

//===----------------------------------------------------------------------===//
// ODS type constraints users hit (not in QCOps.cpp, pinned here because the
// storage conventions rely on them)
//===----------------------------------------------------------------------===//

// -----

func.func @dequantize_weight_to_integer(%w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{result #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float values}}
  %0 = qc.dequantize_weight %w : !qc.packed<32x64xi4> -> tensor<32x64xi32>
  return
}

// -----

func.func @packed_zeros_element_type(%d: tensor<32x64xi8>, %s: tensor<32x1xf32>, %z: tensor<32x1xf32>) {
  // Zero points are integers (the unsigned bit pattern in i8), never floats.
  // expected-error@+1 {{zero points must be 'i8' codes for this scheme, got 'f32'}}
  %0 = qc.packed_weight %d, %s, %z {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, symmetric = false>} : tensor<32x64xi8>, tensor<32x1xf32>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  return
}

// -----

func.func @packed_zeros_i32(%d: tensor<32x64xi8>, %s: tensor<32x1xf32>, %z: tensor<32x1xi32>) {
  // expected-error@+1 {{operand #2 must be ranked tensor of 8-bit signless integer or 16-bit float or 32-bit float values}}
  %0 = qc.packed_weight %d, %s, %z {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, symmetric = false>} : tensor<32x64xi8>, tensor<32x1xf32>, tensor<32x1xi32> -> !qc.packed<32x64xi8>
  return
}

// -----

func.func @packed_bf16_scales(%d: tensor<32x64xi8>, %s: tensor<32x1xbf16>) {
  // expected-error@+1 {{operand #1 must be ranked tensor of 16-bit float or 32-bit float values}}
  %0 = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<32x64xi8>, tensor<32x1xbf16> -> !qc.packed<32x64xi8>
  return
}

// -----

func.func @quantize_act_output_type(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{result #0 must be ranked tensor of 8-bit signless integer or f8E4M3FN type values}}
  %q, %s = qc.quantize_act %x dynamic_per_token : tensor<?x64xf32> -> tensor<?x64xi4>, tensor<?xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// qc.cache_write, qc.cache_attention
//===----------------------------------------------------------------------===//

func.func @cache_write_mixed_forms(%r: tensor<2x1x3x8xf32>, %p: memref<2xi64>, %c: tensor<4x2x3x16x8xf32>) {
  // expected-error@+1 {{rows, pos and cache must be all tensors or all memrefs}}
  %0 = qc.cache_write %r into %c at %p {layer = 0 : i64} : tensor<2x1x3x8xf32>, memref<2xi64> -> tensor<4x2x3x16x8xf32>
  return
}

// -----

func.func @cache_write_rows_rank(%r: tensor<2x3x8xf32>, %p: tensor<2xi64>, %c: tensor<4x2x3x16x8xf32>) {
  // expected-error@+1 {{rows must have rank 4 (B x T x KV x D), got rank 3}}
  %0 = qc.cache_write %r into %c at %p {layer = 0 : i64} : tensor<2x3x8xf32>, tensor<2xi64> -> tensor<4x2x3x16x8xf32>
  return
}

// -----

func.func @cache_write_pos_rank(%r: tensor<2x1x3x8xf32>, %p: tensor<2x1xi64>, %c: tensor<4x2x3x16x8xf32>) {
  // expected-error@+1 {{pos must have rank 1 (B), got rank 2}}
  %0 = qc.cache_write %r into %c at %p {layer = 0 : i64} : tensor<2x1x3x8xf32>, tensor<2x1xi64> -> tensor<4x2x3x16x8xf32>
  return
}

// -----

func.func @cache_write_cache_rank(%r: tensor<2x1x3x8xf32>, %p: tensor<2xi64>, %c: tensor<2x3x16x8xf32>) {
  // expected-error@+1 {{cache must have rank 5 (L x B x KV x S x D), got rank 4}}
  %0 = qc.cache_write %r into %c at %p {layer = 0 : i64} : tensor<2x1x3x8xf32>, tensor<2xi64> -> tensor<2x3x16x8xf32>
  return
}

// -----

func.func @cache_write_rows_batch(%r: tensor<3x1x3x8xf32>, %p: tensor<2xi64>, %c: tensor<4x2x3x16x8xf32>) {
  // expected-error@+1 {{batch size of rows (3) does not match the cache (2)}}
  %0 = qc.cache_write %r into %c at %p {layer = 0 : i64} : tensor<3x1x3x8xf32>, tensor<2xi64> -> tensor<4x2x3x16x8xf32>
  return
}

// -----

func.func @cache_write_pos_batch(%r: tensor<2x1x3x8xf32>, %p: tensor<5xi64>, %c: tensor<4x2x3x16x8xf32>) {
  // expected-error@+1 {{batch size of pos (5) does not match the cache (2)}}
  %0 = qc.cache_write %r into %c at %p {layer = 0 : i64} : tensor<2x1x3x8xf32>, tensor<5xi64> -> tensor<4x2x3x16x8xf32>
  return
}

// -----

func.func @cache_write_kv_heads(%r: tensor<2x1x2x8xf32>, %p: tensor<2xi64>, %c: tensor<4x2x3x16x8xf32>) {
  // expected-error@+1 {{KV head count of rows (2) does not match the cache (3)}}
  %0 = qc.cache_write %r into %c at %p {layer = 0 : i64} : tensor<2x1x2x8xf32>, tensor<2xi64> -> tensor<4x2x3x16x8xf32>
  return
}

// -----

func.func @cache_write_head_dim(%r: tensor<2x1x3x4xf32>, %p: tensor<2xi64>, %c: tensor<4x2x3x16x8xf32>) {
  // expected-error@+1 {{head dimension of rows (4) does not match the cache (8)}}
  %0 = qc.cache_write %r into %c at %p {layer = 0 : i64} : tensor<2x1x3x4xf32>, tensor<2xi64> -> tensor<4x2x3x16x8xf32>
  return
}

// -----

func.func @cache_write_layer_range(%r: tensor<2x1x3x8xf32>, %p: tensor<2xi64>, %c: tensor<4x2x3x16x8xf32>) {
  // expected-error@+1 {{layer 4 is out of range for a cache of 4 layers}}
  %0 = qc.cache_write %r into %c at %p {layer = 4 : i64} : tensor<2x1x3x8xf32>, tensor<2xi64> -> tensor<4x2x3x16x8xf32>
  return
}

// -----

func.func @cache_write_layer_negative(%r: tensor<2x1x3x8xf32>, %p: tensor<2xi64>, %c: tensor<?x2x3x16x8xf32>) {
  // expected-error@+1 {{layer -1 is out of range for a cache of ? layers}}
  %0 = qc.cache_write %r into %c at %p {layer = -1 : i64} : tensor<2x1x3x8xf32>, tensor<2xi64> -> tensor<?x2x3x16x8xf32>
  return
}

// -----

func.func @cache_write_cache_elem(%r: tensor<2x1x3x8xf32>, %p: tensor<2xi64>, %c: tensor<4x2x3x16x8xf64>) {
  // expected-error@+1 {{operand #2 must be f16, bf16 or f32 tensor or memref}}
  %0 = qc.cache_write %r into %c at %p {layer = 0 : i64} : tensor<2x1x3x8xf32>, tensor<2xi64> -> tensor<4x2x3x16x8xf64>
  return
}

// -----

func.func @cache_write_rows_elem(%r: tensor<2x1x3x8xi32>, %p: tensor<2xi64>, %c: tensor<4x2x3x16x8xf32>) {
  // expected-error@+1 {{operand #0 must be float tensor or memref}}
  %0 = qc.cache_write %r into %c at %p {layer = 0 : i64} : tensor<2x1x3x8xi32>, tensor<2xi64> -> tensor<4x2x3x16x8xf32>
  return
}

// -----

func.func @cache_write_pos_elem(%r: tensor<2x1x3x8xf32>, %p: tensor<2xi32>, %c: tensor<4x2x3x16x8xf32>) {
  // expected-error@+1 {{operand #1 must be i64 tensor or memref}}
  %0 = qc.cache_write %r into %c at %p {layer = 0 : i64} : tensor<2x1x3x8xf32>, tensor<2xi32> -> tensor<4x2x3x16x8xf32>
  return
}

// -----

func.func @cache_write_result_type(%r: tensor<2x1x3x8xf32>, %p: tensor<2xi64>, %c: tensor<4x2x3x16x8xf32>) {
  // expected-error@+1 {{expected type of operand #2 ('tensor<4x2x3x16x8xf32>') to match type of corresponding result ('tensor<4x2x3x16x8xf16>')}}
  %0 = "qc.cache_write"(%r, %p, %c) {layer = 0 : i64} : (tensor<2x1x3x8xf32>, tensor<2xi64>, tensor<4x2x3x16x8xf32>) -> tensor<4x2x3x16x8xf16>
  return
}

// -----

func.func @cache_attention_query_rank(%q: tensor<2x6x8xf32>, %k: tensor<4x2x3x16x8xf32>, %v: tensor<4x2x3x16x8xf32>, %p: tensor<2xi64>) {
  // expected-error@+1 {{query must have rank 4 (B x T x H x D), got rank 3}}
  %0 = qc.cache_attention %q, %k, %v, %p {layer = 0 : i64, scale = 0.5 : f32} : tensor<2x6x8xf32>, tensor<4x2x3x16x8xf32>, tensor<4x2x3x16x8xf32>, tensor<2xi64> -> tensor<2x6x8xf32>
  return
}

// -----

func.func @cache_attention_cache_rank(%q: tensor<2x1x6x8xf32>, %k: tensor<2x3x16x8xf32>, %v: tensor<2x3x16x8xf32>, %p: tensor<2xi64>) {
  // expected-error@+1 {{k_cache must have rank 5 (L x B x KV x S x D), got rank 4}}
  %0 = qc.cache_attention %q, %k, %v, %p {layer = 0 : i64, scale = 0.5 : f32} : tensor<2x1x6x8xf32>, tensor<2x3x16x8xf32>, tensor<2x3x16x8xf32>, tensor<2xi64> -> tensor<2x1x6x8xf32>
  return
}

// -----

func.func @cache_attention_cache_types(%q: tensor<2x1x6x8xf32>, %k: tensor<4x2x3x16x8xf32>, %v: tensor<4x2x3x16x8xf16>, %p: tensor<2xi64>) {
  // expected-error@+1 {{k_cache and v_cache must have the same type, got 'tensor<4x2x3x16x8xf32>' and 'tensor<4x2x3x16x8xf16>'}}
  %0 = qc.cache_attention %q, %k, %v, %p {layer = 0 : i64, scale = 0.5 : f32} : tensor<2x1x6x8xf32>, tensor<4x2x3x16x8xf32>, tensor<4x2x3x16x8xf16>, tensor<2xi64> -> tensor<2x1x6x8xf32>
  return
}

// -----

func.func @cache_attention_pos_rank(%q: tensor<2x1x6x8xf32>, %k: tensor<4x2x3x16x8xf32>, %v: tensor<4x2x3x16x8xf32>, %p: tensor<i64>) {
  // expected-error@+1 {{pos must have rank 1 (B), got rank 0}}
  %0 = qc.cache_attention %q, %k, %v, %p {layer = 0 : i64, scale = 0.5 : f32} : tensor<2x1x6x8xf32>, tensor<4x2x3x16x8xf32>, tensor<4x2x3x16x8xf32>, tensor<i64> -> tensor<2x1x6x8xf32>
  return
}

// -----

func.func @cache_attention_query_batch(%q: tensor<3x1x6x8xf32>, %k: tensor<4x2x3x16x8xf32>, %v: tensor<4x2x3x16x8xf32>, %p: tensor<2xi64>) {
  // expected-error@+1 {{batch size of the query (3) does not match the cache (2)}}
  %0 = qc.cache_attention %q, %k, %v, %p {layer = 0 : i64, scale = 0.5 : f32} : tensor<3x1x6x8xf32>, tensor<4x2x3x16x8xf32>, tensor<4x2x3x16x8xf32>, tensor<2xi64> -> tensor<3x1x6x8xf32>
  return
}

// -----

func.func @cache_attention_pos_batch(%q: tensor<2x1x6x8xf32>, %k: tensor<4x2x3x16x8xf32>, %v: tensor<4x2x3x16x8xf32>, %p: tensor<1xi64>) {
  // expected-error@+1 {{batch size of pos (1) does not match the cache (2)}}
  %0 = qc.cache_attention %q, %k, %v, %p {layer = 0 : i64, scale = 0.5 : f32} : tensor<2x1x6x8xf32>, tensor<4x2x3x16x8xf32>, tensor<4x2x3x16x8xf32>, tensor<1xi64> -> tensor<2x1x6x8xf32>
  return
}

// -----

func.func @cache_attention_head_dim(%q: tensor<2x1x6x16xf32>, %k: tensor<4x2x3x16x8xf32>, %v: tensor<4x2x3x16x8xf32>, %p: tensor<2xi64>) {
  // expected-error@+1 {{head dimension of the query (16) does not match the cache (8)}}
  %0 = qc.cache_attention %q, %k, %v, %p {layer = 0 : i64, scale = 0.5 : f32} : tensor<2x1x6x16xf32>, tensor<4x2x3x16x8xf32>, tensor<4x2x3x16x8xf32>, tensor<2xi64> -> tensor<2x1x6x16xf32>
  return
}

// -----

func.func @cache_attention_dynamic_heads(%q: tensor<2x1x?x8xf32>, %k: tensor<4x2x3x16x8xf32>, %v: tensor<4x2x3x16x8xf32>, %p: tensor<2xi64>) {
  // expected-error@+1 {{the query head count (H) and the cache KV head count must be static}}
  %0 = qc.cache_attention %q, %k, %v, %p {layer = 0 : i64, scale = 0.5 : f32} : tensor<2x1x?x8xf32>, tensor<4x2x3x16x8xf32>, tensor<4x2x3x16x8xf32>, tensor<2xi64> -> tensor<2x1x?x8xf32>
  return
}

// -----

func.func @cache_attention_gqa(%q: tensor<2x1x4x8xf32>, %k: tensor<4x2x3x16x8xf32>, %v: tensor<4x2x3x16x8xf32>, %p: tensor<2xi64>) {
  // expected-error@+1 {{query head count 4 is not a multiple of the KV head count 3}}
  %0 = qc.cache_attention %q, %k, %v, %p {layer = 0 : i64, scale = 0.5 : f32} : tensor<2x1x4x8xf32>, tensor<4x2x3x16x8xf32>, tensor<4x2x3x16x8xf32>, tensor<2xi64> -> tensor<2x1x4x8xf32>
  return
}

// -----

func.func @cache_attention_layer(%q: tensor<2x1x6x8xf32>, %k: tensor<4x2x3x16x8xf32>, %v: tensor<4x2x3x16x8xf32>, %p: tensor<2xi64>) {
  // expected-error@+1 {{layer 7 is out of range for a cache of 4 layers}}
  %0 = qc.cache_attention %q, %k, %v, %p {layer = 7 : i64, scale = 0.5 : f32} : tensor<2x1x6x8xf32>, tensor<4x2x3x16x8xf32>, tensor<4x2x3x16x8xf32>, tensor<2xi64> -> tensor<2x1x6x8xf32>
  return
}

// -----

func.func @cache_attention_result(%q: tensor<2x1x6x8xf32>, %k: tensor<4x2x3x16x8xf32>, %v: tensor<4x2x3x16x8xf32>, %p: tensor<2xi64>) {
  // expected-error@+1 {{result type 'tensor<2x1x6x8xf16>' must equal the query type 'tensor<2x1x6x8xf32>'}}
  %0 = qc.cache_attention %q, %k, %v, %p {layer = 0 : i64, scale = 0.5 : f32} : tensor<2x1x6x8xf32>, tensor<4x2x3x16x8xf32>, tensor<4x2x3x16x8xf32>, tensor<2xi64> -> tensor<2x1x6x8xf16>
  return
}

// -----

func.func @cache_attention_pos_elem(%q: tensor<2x1x6x8xf32>, %k: tensor<4x2x3x16x8xf32>, %v: tensor<4x2x3x16x8xf32>, %p: tensor<2xi32>) {
  // expected-error@+1 {{operand #3 must be ranked tensor of 64-bit signless integer values}}
  %0 = qc.cache_attention %q, %k, %v, %p {layer = 0 : i64, scale = 0.5 : f32} : tensor<2x1x6x8xf32>, tensor<4x2x3x16x8xf32>, tensor<4x2x3x16x8xf32>, tensor<2xi32> -> tensor<2x1x6x8xf32>
  return
}

//===----------------------------------------------------------------------===//
// qc.argmax
//===----------------------------------------------------------------------===//

// -----

func.func @argmax_dynamic_k(%x: tensor<4x?xf32>) -> tensor<4x1xi64> {
  // expected-error@+1 {{the last dimension of the input must be static}}
  %0 = qc.argmax %x : tensor<4x?xf32> -> tensor<4x1xi64>
  return %0 : tensor<4x1xi64>
}

// -----

func.func @argmax_rank(%x: tensor<4x8xf32>) -> tensor<4xi64> {
  // expected-error@+1 {{result rank 1 must equal the input rank 2}}
  %0 = qc.argmax %x : tensor<4x8xf32> -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

func.func @argmax_rows(%x: tensor<4x8xf32>) -> tensor<3x1xi64> {
  // expected-error@+1 {{result dimension 0 is 3, the input's is 4}}
  %0 = qc.argmax %x : tensor<4x8xf32> -> tensor<3x1xi64>
  return %0 : tensor<3x1xi64>
}

// -----

func.func @argmax_keepdim(%x: tensor<4x8xf32>) -> tensor<4x8xi64> {
  // expected-error@+1 {{the last dimension of the result must be 1}}
  %0 = qc.argmax %x : tensor<4x8xf32> -> tensor<4x8xi64>
  return %0 : tensor<4x8xi64>
}

// -----

func.func @argmax_empty(%x: tensor<4x0xf32>) -> tensor<4x1xi64> {
  // expected-error@+1 {{the last dimension of the input must be positive}}
  %0 = qc.argmax %x : tensor<4x0xf32> -> tensor<4x1xi64>
  return %0 : tensor<4x1xi64>
}

// -----

func.func @argmax_i32(%x: tensor<4x8xf32>) -> tensor<4x1xi32> {
  // expected-error@+1 {{result #0 must be ranked tensor of 64-bit signless integer values}}
  %0 = qc.argmax %x : tensor<4x8xf32> -> tensor<4x1xi32>
  return %0 : tensor<4x1xi32>
}

// -----

func.func @argmax_scalar(%x: tensor<f32>) -> tensor<i64> {
  // expected-error@+1 {{input must have rank >= 1}}
  %0 = qc.argmax %x : tensor<f32> -> tensor<i64>
  return %0 : tensor<i64>
}

// -----

// qc.sample

func.func @sample_rank3(%l: tensor<2x3x64xf32>, %t: tensor<f32>, %k: tensor<i64>, %s: tensor<i64>, %p: tensor<2xi64>) -> tensor<2x1xi64> {
  // expected-error@+1 {{logits must be [B, V], got rank 3}}
  %0 = qc.sample %l, %t, %k, %s, %p : tensor<2x3x64xf32>, tensor<f32>, tensor<i64>, tensor<i64>, tensor<2xi64> -> tensor<2x1xi64>
  return %0 : tensor<2x1xi64>
}

// -----

func.func @sample_dynamic_v(%l: tensor<2x?xf32>, %t: tensor<f32>, %k: tensor<i64>, %s: tensor<i64>, %p: tensor<2xi64>) -> tensor<2x1xi64> {
  // expected-error@+1 {{the vocabulary dimension (V) must be static and positive}}
  %0 = qc.sample %l, %t, %k, %s, %p : tensor<2x?xf32>, tensor<f32>, tensor<i64>, tensor<i64>, tensor<2xi64> -> tensor<2x1xi64>
  return %0 : tensor<2x1xi64>
}

// -----

func.func @sample_vector_temperature(%l: tensor<2x64xf32>, %t: tensor<2xf32>, %k: tensor<i64>, %s: tensor<i64>, %p: tensor<2xi64>) -> tensor<2x1xi64> {
  // expected-error@+1 {{temperature must be a 0-d tensor, got rank 1}}
  %0 = qc.sample %l, %t, %k, %s, %p : tensor<2x64xf32>, tensor<2xf32>, tensor<i64>, tensor<i64>, tensor<2xi64> -> tensor<2x1xi64>
  return %0 : tensor<2x1xi64>
}

// -----

func.func @sample_pos_batch(%l: tensor<2x64xf32>, %t: tensor<f32>, %k: tensor<i64>, %s: tensor<i64>, %p: tensor<3xi64>) -> tensor<2x1xi64> {
  // expected-error@+1 {{pos and the result must have the logits' B = 2, got 3}}
  %0 = qc.sample %l, %t, %k, %s, %p : tensor<2x64xf32>, tensor<f32>, tensor<i64>, tensor<i64>, tensor<3xi64> -> tensor<2x1xi64>
  return %0 : tensor<2x1xi64>
}

// -----

func.func @sample_result(%l: tensor<2x64xf32>, %t: tensor<f32>, %k: tensor<i64>, %s: tensor<i64>, %p: tensor<2xi64>) -> tensor<2x2xi64> {
  // expected-error@+1 {{result must be [B, 1]}}
  %0 = qc.sample %l, %t, %k, %s, %p : tensor<2x64xf32>, tensor<f32>, tensor<i64>, tensor<i64>, tensor<2xi64> -> tensor<2x2xi64>
  return %0 : tensor<2x2xi64>
}

// -----

func.func @kernel_gemv_tiling_on_mma(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{kernel 'mma' has no GEMV side for a gemv tiling}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<mma, target = "sm_90", gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1]>>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @kernel_frag_tiling_on_gemv(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{kernel 'gemv' has no fragment-layout side for a frag tiling}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<gemv, target = "sm_90", frag = #qc.frag_tiling<warps_k = 4, n_blocks = 4, stages = 3, split_k = 2, prefetch = 1, step_units = 1, m_tiles = [16, 32]>>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @kernel_mma_tiling_on_frag(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{kernel 'frag' takes a threshold and an mma tiling together (its wgmma variant) or neither}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<frag, target = "sm_90", mma = #qc.mma_tiling<block_m = 128, block_n = 128, block_k = 32, warps_m = 2, warps_n = 4, stages = 2>>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @kernel_frag_on_host(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{kernel 'frag' is not available on target 'host'}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<frag, target = "host">} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @frag_tiling_warps(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{frag tiling: warps_k must be in [1, 16], got 0}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.tiling = #qc.frag_tiling<warps_k = 0, n_blocks = 4, stages = 3, split_k = 1, prefetch = 1, step_units = 1, m_tiles = [16]>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @frag_tiling_blocks(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{frag tiling: n_blocks must be 1, 2 or 4, got 3}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.tiling = #qc.frag_tiling<warps_k = 4, n_blocks = 3, stages = 3, split_k = 1, prefetch = 1, step_units = 1, m_tiles = [16]>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @frag_tiling_stages(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{frag tiling: stages must be in [2, 8], got 1}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.tiling = #qc.frag_tiling<warps_k = 4, n_blocks = 4, stages = 1, split_k = 1, prefetch = 1, step_units = 1, m_tiles = [16]>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @frag_tiling_split(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{frag tiling: split_k must be positive, got 0}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.tiling = #qc.frag_tiling<warps_k = 4, n_blocks = 4, stages = 3, split_k = 0, prefetch = 1, step_units = 1, m_tiles = [16]>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @frag_tiling_prefetch(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{frag tiling: prefetch must be in [1, 4], got 0}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.tiling = #qc.frag_tiling<warps_k = 4, n_blocks = 4, stages = 3, split_k = 1, prefetch = 0, step_units = 1, m_tiles = [16]>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @frag_tiling_step_units(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{frag tiling: step_units must be in [1, 4], got 5}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.tiling = #qc.frag_tiling<warps_k = 4, n_blocks = 4, stages = 3, split_k = 1, prefetch = 1, step_units = 5, m_tiles = [16]>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @frag_tiling_m_tile(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{frag tiling: m_tiles must be 1, 2, 4, 8 (the dot path), 16, 32 or 64, got 12}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.tiling = #qc.frag_tiling<warps_k = 4, n_blocks = 4, stages = 3, split_k = 1, prefetch = 1, step_units = 1, m_tiles = [12, 16]>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @kernel_mma_tiling_on_gemv(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{kernel 'gemv' has no tensor-core side for an mma tiling}}
  %0 = qc.wo_matmul %x, %w {layer = "a", kernel = #qc.kernel<gemv, target = "sm_90", mma = #qc.mma_tiling<block_m = 128, block_n = 128, block_k = 32, warps_m = 2, warps_n = 4, stages = 2>>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @gemv_tiling_warps(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{gemv tiling: warps must be in [1, 32], got 0}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.tiling = #qc.gemv_tiling<warps = 0, rows_per_warp = 2, chunks = 1, m_tiles = [1]>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @gemv_tiling_rows(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{gemv tiling: rows_per_warp and chunks must be positive}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.tiling = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 0, m_tiles = [1]>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @gemv_tiling_m_tiles(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{m_tiles must be positive and strictly increasing}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.tiling = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [4, 1]>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @gemv_tiling_no_m_tiles(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{m_tiles must not be empty}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.tiling = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = []>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @mma_tiling_positive(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{mma tiling: blocks and warps must be positive}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.tiling = #qc.mma_tiling<block_m = 0, block_n = 128, block_k = 32, warps_m = 2, warps_n = 4, stages = 2>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @mma_tiling_persistent(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{mma tiling: persistent needs tma}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.tiling = #qc.mma_tiling<block_m = 128, block_n = 256, block_k = 128, warps_m = 8, warps_n = 1, stages = 4, persistent = true>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @launch_ctas(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{launch: ctas must be non-negative, got -1}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.launch = #qc.launch<@m::@k, block = 384, tile_n = 256, tile_m = 128, ctas = -1>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @mma_tiling_stages(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{mma tiling: stages must be at least 2}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.tiling = #qc.mma_tiling<block_m = 128, block_n = 128, block_k = 32, warps_m = 2, warps_n = 4, stages = 1>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @mma_tiling_warps(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{mma tiling: at most 32 warps per CTA}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.tiling = #qc.mma_tiling<block_m = 128, block_n = 1024, block_k = 32, warps_m = 2, warps_n = 32, stages = 2>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @mma_tiling_split(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{mma tiling: block_m must be a multiple of 16 x warps_m and block_n of 16 x warps_n}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.tiling = #qc.mma_tiling<block_m = 128, block_n = 128, block_k = 32, warps_m = 2, warps_n = 3, stages = 2>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @launch_symbol(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{launch: the kernel must be @module::@kernel}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.launch = #qc.launch<@k, block = 128, tile_n = 8, tile_m = 1>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @launch_block(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{launch: block must be in [1, 1024], got 2048}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.launch = #qc.launch<@m::@k, block = 2048, tile_n = 8, tile_m = 1>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @launch_tile(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{launch: tile_n and tile_m must be both positive (a matmul) or both absent (a row kernel)}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.launch = #qc.launch<@m::@k, block = 128, tile_n = 8>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @launch_split_k(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{launch: split_k must be positive, and above 1 only for a matmul family with m_tiles}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.launch = #qc.launch<@m::@k, block = 128, tile_n = 64, tile_m = 16, split_k = 4>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @launch_swiglu(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{launch: swiglu is an epilogue of a GEMV family (m_tiles, no residual, no split)}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.launch = #qc.launch<@m::@k, block = 128, tile_n = 4, tile_m = 1, m_tiles = [1, 2], residual = true, swiglu = true>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @launch_m_tiles(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{launch: a family with m_tiles has tile_m = 1}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.launch = #qc.launch<@m::@k, block = 128, tile_n = 8, tile_m = 4, m_tiles = [1, 4]>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @launch_side_type(%x: tensor<?x64xf16>, %w: !qc.packed<32x64xi4>) {
  // expected-error@+1 {{'qc.mma_launch' must be a #qc.launch attribute}}
  %0 = qc.wo_matmul %x, %w {layer = "a", qc.mma_launch = #qc.attention_launch<@m::@k, chunks = 1, kv_heads = 1, heads = 1, head_dim = 32, record = 36, max_split_t = 16>} : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
  return
}

// -----

func.func @attention_launch_heads(%q: tensor<?x?x9x64xf32>, %k: tensor<30x?x3x512x64xf32>, %v: tensor<30x?x3x512x64xf32>, %pos: tensor<?xi64>) {
  // expected-error@+1 {{attention launch: heads must be a multiple of kv_heads}}
  %0 = qc.cache_attention %q, %k, %v, %pos {layer = 3 : i64, scale = 0.125 : f32, qc.launch = #qc.attention_launch<@m::@k, chunks = 64, kv_heads = 4, heads = 9, head_dim = 64, record = 68, max_split_t = 16>} : tensor<?x?x9x64xf32>, tensor<30x?x3x512x64xf32>, tensor<30x?x3x512x64xf32>, tensor<?xi64> -> tensor<?x?x9x64xf32>
  return
}

// -----

func.func @attention_launch_prefill_tokens(%q: tensor<?x?x9x64xf16>, %k: tensor<30x?x3x512x64xf16>, %v: tensor<30x?x3x512x64xf16>, %pos: tensor<?xi64>) {
  // expected-error@+1 {{attention launch: prefill_tokens must be in [0, 64] (0: no prefill kernel)}}
  %0 = qc.cache_attention %q, %k, %v, %pos {layer = 3 : i64, scale = 0.125 : f32, qc.launch = #qc.attention_launch<@m::@k, chunks = 64, kv_heads = 3, heads = 9, head_dim = 64, record = 68, max_split_t = 16, prefill_tokens = 65>} : tensor<?x?x9x64xf16>, tensor<30x?x3x512x64xf16>, tensor<30x?x3x512x64xf16>, tensor<?xi64> -> tensor<?x?x9x64xf16>
  return
}

// -----

func.func @batch_threshold(%x: tensor<?x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{'qc.batch_threshold' must be a positive integer}}
  %0 = qc.linear %x, %w {layer = "a", qc.batch_threshold = 0 : i64} : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return
}
