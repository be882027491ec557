// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90" --verify-diagnostics | FileCheck %s

// A head dimension the kernels do not take keeps the linalg glue.

// CHECK-LABEL: func.func @attn_d48
// CHECK-NOT: qc.launch
func.func @attn_d48(%q: tensor<?x?x4x48xf32>, %kc: tensor<2x?x2x64x48xf32>, %vc: tensor<2x?x2x64x48xf32>, %pos: tensor<?xi64>) -> tensor<?x?x4x48xf32> {
  // expected-remark @below {{the attention stays linalg glue on sm_90: D = 48 must be 32 x a power of two}}
  %o = qc.cache_attention %q, %kc, %vc, %pos {layer = 1 : i64, scale = 0.144 : f32} : tensor<?x?x4x48xf32>, tensor<2x?x2x64x48xf32>, tensor<2x?x2x64x48xf32>, tensor<?xi64> -> tensor<?x?x4x48xf32>
  return %o : tensor<?x?x4x48xf32>
}
