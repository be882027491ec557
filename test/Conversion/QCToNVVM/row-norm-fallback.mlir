// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90" --verify-diagnostics | FileCheck %s

// A row too long for the registers of one CTA keeps the linalg glue (the
// reference path), with a remark.

// CHECK-LABEL: func.func @rms_huge
// CHECK-NOT: qc.launch
func.func @rms_huge(%x: tensor<?x65537xf32>, %g: tensor<65537xf32>) -> tensor<?x65537xf32> {
  // expected-remark @below {{the norm stays linalg glue on sm_90: a row of 65537 elements needs 65 vectors per thread (at most 16)}}
  %y = qc.rms_norm %x, %g : tensor<?x65537xf32>, tensor<65537xf32>
  return %y : tensor<?x65537xf32>
}
