// RUN: quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/keep.yaml | FileCheck %s
// RUN: not quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/keep-bad.yaml 2>&1 | FileCheck %s --check-prefix=BAD

// `scheme: keep` leaves a layer as imported: a weight the checkpoint stored
// quantized (import --quantized keep: qc.dequantize_weight of its packed
// codes, the linear marked qc.quantized) keeps its grid, a float layer its
// scheme (or none). Any other scheme for a kept weight is one error for all
// such layers, naming the first.

// CHECK-LABEL: func @model
// CHECK: qc.linear {{.*}} {layer = "q", qc.quantized}
// CHECK: qc.linear {{.*}} {layer = "k", qc.quantized}
// CHECK: qc.linear {{.*}} {layer = "head", scheme = #qc.scheme<weight = i8, granularity = per_tensor>}
// CHECK: qc.linear {{.*}} {layer = "f1", scheme = #qc.scheme<weight = i8>}
// BAD: error: layer 'q' holds quantized checkpoint weights (#qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false, minimum = f16>) but rule 1 ({{.*}}keep-bad.yaml:5:5) gives it 'none' (as to 1 more such linears); use 'keep' for them, or import the checkpoint with --quantized dequantize
// BAD-NOT: error
func.func @model(%x: tensor<?x64xf32>, %d: tensor<1024xi8>, %s: tensor<32x2xf16>, %m: tensor<32x2xf16>) {
  %pw = qc.packed_weight %d, %s, %m {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false, minimum = f16>} : tensor<1024xi8>, tensor<32x2xf16>, tensor<32x2xf16> -> !qc.packed<32x64xi4>
  %w = qc.dequantize_weight %pw : !qc.packed<32x64xi4> -> tensor<32x64xf32>
  %0 = qc.linear %x, %w {layer = "q", qc.quantized} : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  %1 = qc.linear %x, %w {layer = "k", qc.quantized} : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  %f = arith.constant dense<1.0> : tensor<32x64xf32>
  %2 = qc.linear %x, %f {layer = "head", scheme = #qc.scheme<weight = i8, granularity = per_tensor>} : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  %3 = qc.linear %x, %f {layer = "f1"} : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return
}
