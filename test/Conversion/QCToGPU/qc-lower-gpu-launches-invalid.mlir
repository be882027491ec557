// RUN: quant-opt %s --qc-lower-gpu-launches --split-input-file --verify-diagnostics

// A GPU-targeted matmul whose kernel was never built (no qc.launch).
func.func @not_outlined(%x: tensor<?x48xf32>, %d: tensor<1536xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<1536xi8>, tensor<32x1xf32> -> !qc.packed<32x48xi8>
  // expected-error @below {{layer 'down': GPU kernel 'gemv' for sm_90: needs 'qc.launch' = #qc.launch<...> (run qc-outline-gpu-kernels first)}}
  %y = qc.wo_matmul %x, %pw {layer = "down", kernel = #qc.kernel<gemv, target = "sm_90", threshold = 0>} : tensor<?x48xf32>, !qc.packed<32x48xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// A launch record of the wrong kind: a row kernel's on a GEMV family.
func.func @bad_launch(%x: tensor<?x48xf32>, %d: tensor<1536xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<1536xi8>, tensor<32x1xf32> -> !qc.packed<32x48xi8>
  // expected-error @below {{layer 'down': GPU kernel 'gemv' for sm_90: 'qc.launch' is not the launch of a GEMV family}}
  %y = qc.wo_matmul %x, %pw {layer = "down", kernel = #qc.kernel<gemv, target = "sm_90", threshold = 0>, qc.launch = #qc.launch<@qc_kernels_sm_90::@down_gemv, block = 128>} : tensor<?x48xf32>, !qc.packed<32x48xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// A launch record that is not a #qc.launch (the dialect verifies qc.*launch
// attributes wherever they appear).
func.func @dict_launch(%x: tensor<?x48xf32>, %d: tensor<1536xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<1536xi8>, tensor<32x1xf32> -> !qc.packed<32x48xi8>
  // expected-error @below {{'qc.launch' must be a #qc.launch or #qc.attention_launch attribute}}
  %y = qc.wo_matmul %x, %pw {layer = "down", kernel = #qc.kernel<gemv, target = "sm_90", threshold = 0>, qc.launch = {block = 128 : i64, rows_per_block = 8 : i64}} : tensor<?x48xf32>, !qc.packed<32x48xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// A kind with no launch lowering for the op (there is no INT8 GEMV).
func.func @int8_gemv(%q: tensor<?x48xi8>, %qs: tensor<?xf32>, %d: tensor<1536xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<1536xi8>, tensor<32x1xf32> -> !qc.packed<32x48xi8>
  // expected-error @below {{layer 'o': GPU kernel 'gemv' for sm_90: no launch lowering for this kernel kind on qc.int8_matmul}}
  %y = qc.int8_matmul %q, %qs, %pw {layer = "o", kernel = #qc.kernel<gemv, target = "sm_90">, qc.launch = #qc.launch<@qc_kernels_sm_90::@o_gemv, block = 128, tile_n = 8, tile_m = 1, m_tiles = [1]>} : tensor<?x48xi8>, tensor<?xf32>, !qc.packed<32x48xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// A tensor-core kernel with a row kernel's launch record (no tiles).
func.func @mma_no_tile(%x: tensor<?x64xf16>, %d: tensor<2048xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  // expected-error @below {{layer 'up': GPU kernel 'mma' for sm_90: 'qc.launch' is not the launch of a tensor-core kernel}}
  %y = qc.wo_matmul %x, %pw {layer = "up", kernel = #qc.kernel<mma, target = "sm_90">, qc.launch = #qc.launch<@qc_kernels_sm_90::@up_wo_mma, block = 256>} : tensor<?x64xf16>, !qc.packed<32x64xi8> -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// -----

// An adaptive matmul needs the INT8 side's kernels too.
func.func @adaptive_half_built(%x: tensor<?x64xf32>, %d: tensor<2048xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  // expected-error @below {{layer 'ad': GPU kernel 'adaptive' for sm_90: needs 'qc.int8_launch' = #qc.launch<...> (run qc-outline-gpu-kernels first)}}
  %y = qc.wo_matmul %x, %pw {layer = "ad", kernel = #qc.kernel<adaptive, target = "sm_90", threshold = 16>, qc.launch = #qc.launch<@qc_kernels_sm_90::@ad_gemv, block = 128, tile_n = 8, tile_m = 1, m_tiles = [1]>} : tensor<?x64xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// The activation quantization of a GPU INT8 matmul must have been built.
func.func @act_quant_not_outlined(%x: tensor<?x64xf32>, %d: tensor<2048xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  // expected-error @below {{activation quantization for a GPU INT8 matmul: needs 'qc.launch' = #qc.launch<...> (run qc-outline-gpu-kernels first)}}
  %q, %qs = qc.quantize_act %x dynamic_per_token : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<?xf32>
  %y = qc.int8_matmul %q, %qs, %pw {layer = "o", kernel = #qc.kernel<int8_mma, target = "sm_90">, qc.launch = #qc.launch<@qc_kernels_sm_90::@o_int8_mma, block = 256, tile_n = 128, tile_m = 128>} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// A GEMV family built with the SwiGLU epilogue on a matmul whose output is
// not read by the SiLU * mul glue alone.
func.func @swiglu_without_glue(%x: tensor<?x48xf32>, %d: tensor<1536xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<1536xi8>, tensor<32x1xf32> -> !qc.packed<32x48xi8>
  // expected-error @below {{layer 'gu': GPU kernel 'gemv' for sm_90: the kernel has a SwiGLU epilogue, but the matmul is not a gemv/gemv_mma whose output only the SiLU * mul glue reads}}
  %y = qc.wo_matmul %x, %pw {layer = "gu", kernel = #qc.kernel<gemv, target = "sm_90", threshold = 0>, qc.launch = #qc.launch<@qc_kernels_sm_90::@gu_gemv, block = 128, tile_n = 4, tile_m = 1, m_tiles = [1, 2, 4, 8], swiglu = true>} : tensor<?x48xf32>, !qc.packed<32x48xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
