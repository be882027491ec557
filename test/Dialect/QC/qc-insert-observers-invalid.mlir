// RUN: quant-opt %s -verify-diagnostics --qc-insert-observers
// RUN: echo "" | not quant-opt --qc-insert-observers=percentile=120 2>&1 | FileCheck %s --check-prefix=PCT

// PCT: error: qc-insert-observers: percentile must be in (0, 100] (0 = off), got 1.200000e+02

// The variant's name is taken (e.g. the pass ran before).
// expected-error @+1 {{cannot create the calibration variant: '@f_calibrate' already exists}}
func.func @f(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  return %x : tensor<?x4xf32>
}
func.func @f_calibrate(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  return %x : tensor<?x4xf32>
}
