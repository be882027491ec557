// RUN: quant-opt %s -split-input-file -verify-diagnostics --qc-quantize-weights="algorithm=gptq stats=%S/Inputs/stats-small.json"
// RUN: not quant-opt %s -split-input-file --qc-quantize-weights="algorithm=gptq stats=%S/Inputs/stats-small.json" 2>/dev/null | FileCheck %s
// RUN: echo "" | not quant-opt --qc-quantize-weights="algorithm=gptq stats=%S/Inputs/stats-bad-syntax.json" 2>&1 | FileCheck %s --check-prefix=SYNTAX
// RUN: echo "" | not quant-opt --qc-quantize-weights="algorithm=gptq stats=%S/Inputs/stats-bad-version.json" 2>&1 | FileCheck %s --check-prefix=VERSION
// RUN: echo "" | not quant-opt --qc-quantize-weights="algorithm=gptq stats=%S/Inputs/stats-bad-absmax.json" 2>&1 | FileCheck %s --check-prefix=ABSMAX
// RUN: echo "" | not quant-opt --qc-quantize-weights="algorithm=gptq" 2>&1 | FileCheck %s --check-prefix=NOSTATS
// RUN: echo "" | not quant-opt --qc-quantize-weights="algorithm=gptq stats=%S/Inputs/stats-small.json gptq-precision=f16" 2>&1 | FileCheck %s --check-prefix=PRECISION

// SYNTAX: error: statistics file '{{.*}}stats-bad-syntax.json' is not valid JSON: [1:69, byte=69]: Expected object key
// VERSION: error: statistics file '{{.*}}stats-bad-version.json': unknown version (expected "version": 1)
// ABSMAX: error: statistics file '{{.*}}stats-bad-absmax.json': layer 'q': 'absmax' has 3 values, expected channels = 4
// NOSTATS: error: qc-quantize-weights: algorithm=gptq needs stats=<file> with Hessians
// PRECISION: error: qc-quantize-weights: unknown gptq-precision 'f16'; expected f64 or f32

// The Hessian of layer q is X^T X of three tokens: GPTQ runs.
// CHECK-LABEL: func @ok
func.func @ok(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.125, -0.375, 0.0]]> : tensor<2x4xf32>
  %y = qc.linear %x, %w {layer = "q", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 2>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

func.func @missing_layer(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error-re @+1 {{layer 'nope' has no statistics in '{{.*}}stats-small.json'}}
  %y = qc.linear %x, %w {layer = "nope", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

func.func @wrong_channels(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error-re @+1 {{layer 'wide' has 4 input channels but its statistics in '{{.*}}stats-small.json' have 8}}
  %y = qc.linear %x, %w {layer = "wide", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

func.func @no_hessian(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error-re @+1 {{layer 'k' has no Hessian in '{{.*}}stats-small.json' (calibrate with qc-insert-observers hessian=true for GPTQ)}}
  %y = qc.linear %x, %w {layer = "k", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

func.func @truncated_hessian(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error-re @+1 {{layer 'trunc': Hessian file '{{.*}}stats-small.hessian.bin' of '{{.*}}stats-small.json' has 128 bytes, need 192}}
  %y = qc.linear %x, %w {layer = "trunc", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
