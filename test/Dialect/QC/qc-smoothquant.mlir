// RUN: quant-opt %s -split-input-file --qc-smoothquant=stats=%S/Inputs/stats-small.json | FileCheck %s
// Numbers are checked by smoothquant-numerics.py; this file checks the IR.
// Statistics: absmax = [1, 8, 0.5, 2]; with alpha 0.5 and max|W_j| = 1,
// s = sqrt(absmax) = [1, 2.828427, 0.707107, 1.414214].

// q/k/v share the RMSNorm output: one factor vector, folded into a new norm
// weight (g / s); the weights are scaled (W * s).
// CHECK-LABEL: func @rms_fold
// CHECK: %[[G:.*]] = arith.constant dense<[1.000000e+00, 0.353553385, 1.41421354, 0.707106769]> : tensor<4xf32>
// CHECK: %[[N:.*]] = qc.rms_norm %{{.*}}, %[[G]]
// CHECK: %[[WQ:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 2.82842708, 0.707106769, 1.41421354]]> : tensor<1x4xf32>
// CHECK: qc.linear %[[N]], %[[WQ]] {layer = "q", qc.act_absmax = 2.8284{{[0-9]*}} : f64, qc.smooth_factors = dense<[1.000000e+00, 2.82842708, 0.707106769, 1.41421354]> : tensor<4xf32>, scheme =
// CHECK: qc.linear %[[N]], %{{.*}} {layer = "k", {{.*}}qc.smooth_factors = dense<[1.000000e+00, 2.82842708, 0.707106769, 1.41421354]>
// CHECK-NOT: qc.smooth %
func.func @rms_fold(%x: tensor<?x?x4xf32>) -> (tensor<?x?x1xf32>, tensor<?x?x1xf32>) {
  %g = arith.constant dense<1.0> : tensor<4xf32>
  %w = arith.constant dense<[[1.0, 1.0, 1.0, 1.0]]> : tensor<1x4xf32>
  %wk = arith.constant dense<[[0.5, -1.0, 0.25, 1.0]]> : tensor<1x4xf32>
  %n = qc.rms_norm %x, %g : tensor<?x?x4xf32>, tensor<4xf32>
  %q = qc.linear %n, %w {layer = "q", scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : (tensor<?x?x4xf32>, tensor<1x4xf32>) -> tensor<?x?x1xf32>
  %k = qc.linear %n, %wk {layer = "k", scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : (tensor<?x?x4xf32>, tensor<1x4xf32>) -> tensor<?x?x1xf32>
  return %q, %k : tensor<?x?x1xf32>, tensor<?x?x1xf32>
}

// -----

// LayerNorm: weight and bias both divided by s.
// CHECK-LABEL: func @layer_norm_fold
// CHECK-DAG: %[[G:.*]] = arith.constant dense<[2.000000e+00, 0.707106769, 2.82842708, 1.41421354]> : tensor<4xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[1.000000e+00, 0.353553385, 1.41421354, 0.707106769]> : tensor<4xf32>
// CHECK: qc.layer_norm %{{.*}}, %[[G]], %[[B]]
func.func @layer_norm_fold(%x: tensor<?x4xf32>) -> tensor<?x1xf32> {
  %g = arith.constant dense<2.0> : tensor<4xf32>
  %b = arith.constant dense<1.0> : tensor<4xf32>
  %w = arith.constant dense<[[1.0, 1.0, 1.0, 1.0]]> : tensor<1x4xf32>
  %n = qc.layer_norm %x, %g, %b : tensor<?x4xf32>, tensor<4xf32>, tensor<4xf32>
  %q = qc.linear %n, %w {layer = "q", scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : (tensor<?x4xf32>, tensor<1x4xf32>) -> tensor<?x1xf32>
  return %q : tensor<?x1xf32>
}

// -----

// The norm output also feeds a weight-only layer: no folding, a qc.smooth
// feeds only the W8A8 layer. Statistics pmax (percentile) of v give
// qc.act_absmax = max(pmax / s) = 4 / 2.828427.
// CHECK-LABEL: func @shared_norm
// CHECK: %[[N:.*]] = qc.rms_norm
// CHECK: %[[S:.*]] = arith.constant dense<[1.000000e+00, 2.82842708, 0.707106769, 1.41421354]> : tensor<4xf32>
// CHECK: %[[SM:.*]] = qc.smooth %[[N]], %[[S]] : tensor<?x4xf32>, tensor<4xf32>
// CHECK: qc.linear %[[SM]], %{{.*}} {layer = "v", qc.act_absmax = 1.41421{{[0-9]*}} : f64
// CHECK: qc.linear %[[N]], %{{.*}} {layer = "k", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 2>}
func.func @shared_norm(%x: tensor<?x4xf32>) -> (tensor<?x1xf32>, tensor<?x1xf32>) {
  %g = arith.constant dense<1.0> : tensor<4xf32>
  %w = arith.constant dense<[[1.0, 1.0, 1.0, 1.0]]> : tensor<1x4xf32>
  %n = qc.rms_norm %x, %g : tensor<?x4xf32>, tensor<4xf32>
  %v = qc.linear %n, %w {layer = "v", scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : (tensor<?x4xf32>, tensor<1x4xf32>) -> tensor<?x1xf32>
  %k = qc.linear %n, %w {layer = "k", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 2>} : (tensor<?x4xf32>, tensor<1x4xf32>) -> tensor<?x1xf32>
  return %v, %k : tensor<?x1xf32>, tensor<?x1xf32>
}

// -----

// A function argument gets a qc.smooth at the top of the function. The
// smoothed f16 weight becomes f32 (not rounded back to the storage type).
// CHECK-LABEL: func @argument
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf16>)
// CHECK: %[[SM:.*]] = qc.smooth %[[X]], %{{.*}} : tensor<?x4xf16>, tensor<4xf32>
// CHECK: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<1x4xf32>
// CHECK: qc.linear %[[SM]], %[[W]] {{.*}} : (tensor<?x4xf16>, tensor<1x4xf32>) -> tensor<?x1xf16>
func.func @argument(%x: tensor<?x4xf16>) -> tensor<?x1xf16> {
  %w = arith.constant dense<[[1.0, 1.0, 1.0, 1.0]]> : tensor<1x4xf16>
  %q = qc.linear %x, %w {layer = "q", scheme = #qc.scheme<weight = i8, act = static_per_tensor>} : (tensor<?x4xf16>, tensor<1x4xf16>) -> tensor<?x1xf16>
  return %q : tensor<?x1xf16>
}

// -----

// Weight-only and float layers are left alone (no statistics needed).
// CHECK-LABEL: func @untouched
// CHECK-NOT: qc.smooth
// CHECK-NOT: qc.smooth_factors
func.func @untouched(%x: tensor<?x4xf32>) -> tensor<?x1xf32> {
  %w = arith.constant dense<[[1.0, 1.0, 1.0, 1.0]]> : tensor<1x4xf32>
  %q = qc.linear %x, %w {layer = "not-in-stats", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<1x4xf32>) -> tensor<?x1xf32>
  return %q : tensor<?x1xf32>
}
