// RUN: quant-opt %s -split-input-file -verify-diagnostics --qc-smoothquant=stats=%S/Inputs/stats-small.json
// RUN: echo "" | not quant-opt --qc-smoothquant 2>&1 | FileCheck %s --check-prefix=NOSTATS
// RUN: echo "" | not quant-opt --qc-smoothquant="stats=%S/Inputs/stats-small.json alpha=1.5" 2>&1 | FileCheck %s --check-prefix=ALPHA
// RUN: echo "" | not quant-opt --qc-smoothquant=stats=%S/Inputs/stats-bad-version.json 2>&1 | FileCheck %s --check-prefix=VERSION

// NOSTATS: error: qc-smoothquant needs stats=<file>
// ALPHA: error: qc-smoothquant: alpha must be in [0, 1], got 1.5
// VERSION: error: statistics file '{{.*}}stats-bad-version.json': unknown version

func.func @alpha_mismatch(%x: tensor<?x4xf32>) -> (tensor<?x1xf32>, tensor<?x1xf32>) {
  %w = arith.constant dense<1.0> : tensor<1x4xf32>
  %q = qc.linear %x, %w {layer = "q", scheme = #qc.scheme<weight = i8, act = dynamic_per_token, alpha = 0.5 : f32>} : (tensor<?x4xf32>, tensor<1x4xf32>) -> tensor<?x1xf32>
  // expected-error @+1 {{layers 'q' and 'k' read the same activation but have different SmoothQuant alpha (5.000000e-01 vs 8.000000e-01)}}
  %k = qc.linear %x, %w {layer = "k", scheme = #qc.scheme<weight = i8, act = dynamic_per_token, alpha = 0.8 : f32>} : (tensor<?x4xf32>, tensor<1x4xf32>) -> tensor<?x1xf32>
  return %q, %k : tensor<?x1xf32>, tensor<?x1xf32>
}

// -----

func.func @arg_weight(%x: tensor<?x4xf32>, %w: tensor<1x4xf32>) -> tensor<?x1xf32> {
  // expected-error @+1 {{layer 'q': SmoothQuant scales the weight, but it is a function argument; make it a constant}}
  %q = qc.linear %x, %w {layer = "q", scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : (tensor<?x4xf32>, tensor<1x4xf32>) -> tensor<?x1xf32>
  return %q : tensor<?x1xf32>
}

// -----

func.func @missing_layer(%x: tensor<?x4xf32>) -> tensor<?x1xf32> {
  %w = arith.constant dense<1.0> : tensor<1x4xf32>
  // expected-error-re @+1 {{layer 'nope' has no statistics in '{{.*}}stats-small.json'}}
  %q = qc.linear %x, %w {layer = "nope", scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : (tensor<?x4xf32>, tensor<1x4xf32>) -> tensor<?x1xf32>
  return %q : tensor<?x1xf32>
}

// -----

func.func @wrong_channels(%x: tensor<?x4xf32>) -> tensor<?x1xf32> {
  %w = arith.constant dense<1.0> : tensor<1x4xf32>
  // expected-error-re @+1 {{layer 'wide' has 4 input channels but its statistics in '{{.*}}stats-small.json' have 8}}
  %q = qc.linear %x, %w {layer = "wide", scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : (tensor<?x4xf32>, tensor<1x4xf32>) -> tensor<?x1xf32>
  return %q : tensor<?x1xf32>
}
