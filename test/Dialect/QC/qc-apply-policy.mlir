// RUN: quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/basic.yaml | FileCheck %s
// RUN: quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/basic.json | FileCheck %s
// RUN: quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/minimum.yaml | FileCheck %s --check-prefix=MIN
// RUN: quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/nodefault.yaml 2>&1 | FileCheck %s --check-prefix=NODEF

// Rules in order, first match wins; the default covers the rest.
// CHECK-LABEL: func @model
// CHECK: qc.linear {{.*}} {layer = "blk0.attn.q", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 2>}
// Glob before regex: blk1.attn.k is attention.
// CHECK: qc.linear {{.*}} {layer = "blk1.attn.k", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 2>}
// CHECK: qc.linear {{.*}} {layer = "blk1.mlp.up", scheme = #qc.scheme<weight = i8, act = dynamic_per_token, alpha = 5.000000e-01 : f32>}
// The regex is a full match: blk12 is not blk[0-3]\.mlp\..*; falls to *.mlp.down.
// CHECK: qc.linear {{.*}} {layer = "blk12.mlp.down", qc.batch_threshold = 64 : i64, scheme = #qc.scheme<weight = i8>}
// CHECK: qc.linear {{.*}} {layer = "blk7.mlp.gate", scheme = #qc.scheme<weight = i8>}
// scheme: none removes an existing scheme.
// CHECK: qc.linear {{.*}} {layer = "lm_head"} :
// CHECK: qc.linear {{.*}} {layer = "encoder.0", scheme = #qc.scheme<weight = f16>}

// MIN-LABEL: func @model
// MIN: {layer = "blk0.attn.q", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 2, symmetric = false, minimum = f16>}
// MIN: {layer = "blk1.attn.k", scheme = #qc.scheme<weight = i8, symmetric = false, minimum = f32>}

// NODEF: remark: layer 'blk1.attn.k' matched no policy rule and the policy has no default; its scheme is left unchanged
// NODEF: remark: layer 'lm_head' matched no policy rule
// NODEF-LABEL: func @model
// NODEF: {layer = "blk0.attn.q", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 2, symmetric = false>}
// NODEF: {layer = "lm_head", scheme = #qc.scheme<weight = i8, granularity = per_tensor>}
func.func @model(%x: tensor<?x?x4xf32>) {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %0 = qc.linear %x, %w {layer = "blk0.attn.q"} : (tensor<?x?x4xf32>, tensor<2x4xf32>) -> tensor<?x?x2xf32>
  %1 = qc.linear %x, %w {layer = "blk1.attn.k"} : (tensor<?x?x4xf32>, tensor<2x4xf32>) -> tensor<?x?x2xf32>
  %2 = qc.linear %x, %w {layer = "blk1.mlp.up"} : (tensor<?x?x4xf32>, tensor<2x4xf32>) -> tensor<?x?x2xf32>
  %3 = qc.linear %x, %w {layer = "blk12.mlp.down"} : (tensor<?x?x4xf32>, tensor<2x4xf32>) -> tensor<?x?x2xf32>
  %4 = qc.linear %x, %w {layer = "blk7.mlp.gate"} : (tensor<?x?x4xf32>, tensor<2x4xf32>) -> tensor<?x?x2xf32>
  %5 = qc.linear %x, %w {layer = "lm_head", scheme = #qc.scheme<weight = i8, granularity = per_tensor>} : (tensor<?x?x4xf32>, tensor<2x4xf32>) -> tensor<?x?x2xf32>
  %6 = qc.linear %x, %w {layer = "encoder.0"} : (tensor<?x?x4xf32>, tensor<2x4xf32>) -> tensor<?x?x2xf32>
  return
}
