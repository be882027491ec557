// RUN: quant-opt %s -split-input-file -verify-diagnostics --qc-quantize-weights
// RUN: not quant-opt %s -split-input-file --qc-quantize-weights=algorithm=foo 2>&1 | FileCheck %s --check-prefix=ALGO
// RUN: not quant-opt %s -split-input-file --qc-quantize-weights="algorithm=gptq stats=%S/Inputs/missing.json" 2>&1 | FileCheck %s --check-prefix=NOSTATS
// RUN: not quant-opt %s -split-input-file --qc-quantize-weights="algorithm=gptq gptq-block-size=0" 2>&1 | FileCheck %s --check-prefix=BLOCK

// ALGO: error: qc-quantize-weights: unknown algorithm 'foo'; expected rtn or gptq
// NOSTATS: error: cannot open statistics file '{{.*}}missing.json'
// BLOCK: error: qc-quantize-weights: gptq-block-size must be positive

func.func @arg_weight(%x: tensor<?x4xf32>, %w: tensor<2x4xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{layer 'l': the weight is a function argument; qc-quantize-weights needs a constant weight}}
  %y = qc.linear %x, %w {layer = "l", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

func.func @static_without_scale(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error @+1 {{layer 'l': static_per_tensor activations need a calibrated scale: pass stats=<file> (or run qc-smoothquant first)}}
  %y = qc.linear %x, %w {layer = "l", scheme = #qc.scheme<weight = i8, granularity = per_tensor, act = static_per_tensor>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

func.func @missing_file(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = qc.external_weight "Inputs/does-not-exist.bin" offset 0 : tensor<2x4xf32>
  // expected-error @+1 {{weight of layer 'l': cannot open external weight file '}}
  %y = qc.linear %x, %w {layer = "l", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

func.func @truncated_file(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = qc.external_weight "Inputs/ext_weight_2x4_f32.bin" offset 4 : tensor<2x4xf32>
  // expected-error-re @+1 {{weight of layer 'l': external weight file '{{.*}}ext_weight_2x4_f32.bin' has 32 bytes, but 'tensor<2x4xf32>' at offset 4 needs 36}}
  %y = qc.linear %x, %w {layer = "l", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

func.func @f8_argument_weight(%x: tensor<?x4xf32>, %w: tensor<2x4xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{layer 'l': the weight is not a constant; qc-quantize-weights needs a constant weight}}
  %y = qc.linear %x, %w {layer = "l", scheme = #qc.scheme<weight = f8E4M3FN, granularity = per_tensor, act = dynamic_per_token>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
