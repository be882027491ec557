// qc-awq's errors: one diagnostic each, at the layer where there is one.
// RUN: not quant-opt %s --qc-awq 2>&1 | FileCheck %s --check-prefix=NOSTATS
// RUN: not quant-opt %s --qc-awq="stats=%S/Inputs/stats-small.json grid=0" 2>&1 | FileCheck %s --check-prefix=GRID
// RUN: not quant-opt %s --qc-awq=stats=%S/Inputs/stats-small.json 2>&1 | FileCheck %s --check-prefix=NOHESS
// RUN: not quant-compile %s --awq -o %t 2>&1 | FileCheck %s --check-prefix=CLI

// NOSTATS: error: qc-awq needs stats=<file> (with Hessians: calibrate with hessian)
// GRID: error: qc-awq: grid and rows must be positive, got grid=0 rows=256
// NOHESS: error: layer 'k' has no Hessian in '{{.*}}stats-small.json'
// CLI: quant-compile: error: --awq needs --stats FILE with Hessians
func.func @f(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 2.0, 0.25]]> : tensor<2x4xf32>
  %y = qc.linear %x, %w {layer = "k", scheme = #qc.scheme<weight = i4, granularity = per_channel>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
