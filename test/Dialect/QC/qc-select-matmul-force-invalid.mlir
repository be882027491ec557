// RUN: quant-opt %s -split-input-file -verify-diagnostics --qc-select-matmul="target=sm_90 weight-only-kernel=mma"

// Forcing mma where the kernel cannot be built is an error naming the
// layer and the reason, not a silent gemv.
func.func @f32_act(%x: tensor<?x64xf32>, %d: tensor<8x64xi8>, %s: tensor<8x1xf32>) -> tensor<?x8xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<8x64xi8>, tensor<8x1xf32> -> !qc.packed<8x64xi8>
  // expected-error @+1 {{layer 'a': weight-only-kernel=mma, but the mma kernel needs f16 activations}}
  %y = qc.wo_matmul %x, %pw {layer = "a"} : tensor<?x64xf32>, !qc.packed<8x64xi8> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

func.func @k48_int4(%x: tensor<?x48xf16>, %d: tensor<8x48xi8>, %s: tensor<8x1xf32>) -> tensor<?x8xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4>} : tensor<8x48xi8>, tensor<8x1xf32> -> !qc.packed<8x48xi4>
  // expected-error @+1 {{layer 'b': weight-only-kernel=mma, but K = 48 gives packed weight rows that are not a whole number of 16-byte chunks (K must be a multiple of 32)}}
  %y = qc.wo_matmul %x, %pw {layer = "b"} : tensor<?x48xf16>, !qc.packed<8x48xi4> -> tensor<?x8xf16>
  return %y : tensor<?x8xf16>
}
