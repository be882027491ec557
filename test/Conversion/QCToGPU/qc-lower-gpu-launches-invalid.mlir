// RUN: quant-opt %s --qc-lower-gpu-launches --split-input-file --verify-diagnostics

// A GPU-targeted matmul whose kernel was never built (no qc.kernel_symbol).
func.func @not_outlined(%x: tensor<?x48xf32>, %d: tensor<1536xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<1536xi8>, tensor<32x1xf32> -> !qc.packed<32x48xi8>
  // expected-error @below {{layer 'down': GPU kernel 'gemv' for sm_90: needs 'qc.kernel_symbol' = @module::@family and 'qc.launch' (run qc-outline-gpu-kernels first)}}
  %y = qc.wo_matmul %x, %pw {layer = "down", kernel = #qc.kernel<gemv, target = "sm_90", threshold = 0>} : tensor<?x48xf32>, !qc.packed<32x48xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// A malformed launch record.
func.func @bad_launch(%x: tensor<?x48xf32>, %d: tensor<1536xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<1536xi8>, tensor<32x1xf32> -> !qc.packed<32x48xi8>
  // expected-error @below {{'qc.launch' needs positive integers 'block' and 'rows_per_block' and a non-empty positive 'm_tiles' array}}
  %y = qc.wo_matmul %x, %pw {layer = "down", kernel = #qc.kernel<gemv, target = "sm_90", threshold = 0>, qc.kernel_symbol = @qc_kernels_sm_90::@down_gemv, qc.launch = {block = 128 : i64, rows_per_block = 0 : i64, m_tiles = array<i64: 1>}} : tensor<?x48xf32>, !qc.packed<32x48xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Tensor-core kinds have no kernel builder yet: a clear error, not a
// silent host fallback.
func.func @mma(%x: tensor<?x48xf32>, %d: tensor<1536xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<1536xi8>, tensor<32x1xf32> -> !qc.packed<32x48xi8>
  // expected-error @below {{layer 'up': GPU kernel 'mma' for sm_90: no launch lowering for this kernel kind yet}}
  %y = qc.wo_matmul %x, %pw {layer = "up", kernel = #qc.kernel<mma, target = "sm_90", threshold = 0>, qc.kernel_symbol = @qc_kernels_sm_90::@up_mma, qc.launch = {block = 128 : i64, rows_per_block = 8 : i64, m_tiles = array<i64: 1>}} : tensor<?x48xf32>, !qc.packed<32x48xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
