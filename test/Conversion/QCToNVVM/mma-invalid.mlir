// RUN: quant-opt %s --qc-outline-gpu-kernels -split-input-file -verify-diagnostics

// Shapes and schemes the tensor-core kernel builders cannot take.

func.func @int8_k_not_16(%q: tensor<?x200xi8>, %sx: tensor<?xf32>, %d: tensor<6400xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<6400xi8>, tensor<32x1xf32> -> !qc.packed<32x200xi8>
  // expected-error @+1 {{cannot build the int8_mma kernel for layer 'a': K = 200 gives weight/activation rows that are not a whole number of 16-byte chunks (K must be a multiple of 16)}}
  %y = qc.int8_matmul %q, %sx, %pw {layer = "a", kernel = #qc.kernel<int8_mma, target = "sm_90">} : tensor<?x200xi8>, tensor<?xf32>, !qc.packed<32x200xi8> -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// -----

func.func @int8_tiled(%q: tensor<?x64xi8>, %sx: tensor<?xf32>, %d: tensor<2048xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<tiled, tile_n = 16, tile_k = 64>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  // expected-error @+1 {{cannot build the int8_mma kernel for layer 'b': the int8_mma kernel reads row_major INT8 weights, got layout 'tiled'}}
  %y = qc.int8_matmul %q, %sx, %pw {layer = "b", kernel = #qc.kernel<int8_mma, target = "sm_90">} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// -----

func.func @int8_bf16_out(%q: tensor<?x64xi8>, %sx: tensor<?xf32>, %d: tensor<2048xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xbf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  // expected-error @+1 {{cannot build the int8_mma kernel for layer 'c': GPU kernels produce f16 or f32 results}}
  %y = qc.int8_matmul %q, %sx, %pw {layer = "c", kernel = #qc.kernel<int8_mma, target = "sm_80">} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

func.func @act_quant_bf16(%x: tensor<?x64xbf16>, %d: tensor<2048xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf16> {
  // expected-error @+1 {{cannot build the activation quantization kernel: GPU kernels take f16 or f32 activations}}
  %q, %sx = qc.quantize_act %x dynamic_per_token : tensor<?x64xbf16> -> tensor<?x64xi8>, tensor<?xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  %y = qc.int8_matmul %q, %sx, %pw {layer = "d", kernel = #qc.kernel<int8_mma, target = "sm_90">} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// -----

func.func @fp16_f32_input(%x: tensor<?x64xf32>, %w: tensor<32x64xf32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{cannot build the fp16_mma kernel for layer 'e': the fp16_mma kernel needs f16 activations and weights}}
  %y = qc.linear %x, %w {layer = "e", kernel = #qc.kernel<fp16_mma, target = "sm_90">} : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

func.func @fp16_k_not_8(%x: tensor<?x100xf16>, %w: tensor<32x100xf16>) -> tensor<?x32xf16> {
  // expected-error @+1 {{cannot build the fp16_mma kernel for layer 'f': K = 100 gives weight/activation rows that are not a whole number of 16-byte chunks (K must be a multiple of 8)}}
  %y = qc.linear %x, %w {layer = "f", kernel = #qc.kernel<fp16_mma, target = "sm_90">} : (tensor<?x100xf16>, tensor<32x100xf16>) -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// -----

func.func @fp16_quantized_layer(%x: tensor<?x64xf16>, %w: tensor<32x64xf16>) -> tensor<?x32xf16> {
  // expected-error @+1 {{cannot build the fp16_mma kernel for layer 'g': the fp16_mma kernel runs unquantized layers; this one has a quantized scheme}}
  %y = qc.linear %x, %w {layer = "g", scheme = #qc.scheme<weight = i8>, kernel = #qc.kernel<fp16_mma, target = "sm_90">} : (tensor<?x64xf16>, tensor<32x64xf16>) -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// -----

func.func @int8_gemv_not_built(%q: tensor<?x64xi8>, %sx: tensor<?xf32>, %d: tensor<2048xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<2048xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  // expected-error @+1 {{GPU kernel 'gemv' for qc.int8_matmul has no kernel builder yet}}
  %y = qc.int8_matmul %q, %sx, %pw {layer = "h", kernel = #qc.kernel<gemv, target = "sm_90">} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// -----

func.func @wo_mma_int4_k(%x: tensor<?x48xf16>, %d: tensor<768xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4>} : tensor<768xi8>, tensor<32x1xf32> -> !qc.packed<32x48xi4>
  // expected-error @+1 {{cannot build the mma kernel for layer 'j': K = 48 gives packed weight rows that are not a whole number of 16-byte chunks (K must be a multiple of 32)}}
  %y = qc.wo_matmul %x, %pw {layer = "j", kernel = #qc.kernel<mma, target = "sm_90">} : tensor<?x48xf16>, !qc.packed<32x48xi4> -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// -----

func.func @wo_mma_group4(%x: tensor<?x64xf16>, %d: tensor<2048xi8>, %s: tensor<32x16xf32>) -> tensor<?x32xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, granularity = per_group, group_size = 4>} : tensor<2048xi8>, tensor<32x16xf32> -> !qc.packed<32x64xi8>
  // expected-error @+1 {{cannot build the mma kernel for layer 'k': the group size must be a multiple of 8}}
  %y = qc.wo_matmul %x, %pw {layer = "k", kernel = #qc.kernel<mma, target = "sm_90">} : tensor<?x64xf16>, !qc.packed<32x64xi8> -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}
