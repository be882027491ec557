// RUN: quant-opt %s --qc-host-approximate-exp | FileCheck %s

// f32 exp (scalar and vector) becomes arithmetic; other math ops and f64
// exp stay.
// CHECK-LABEL: func @exp
// CHECK-NOT: math.exp %{{.*}} : f32
// CHECK-NOT: math.exp %{{.*}} : vector<16xf32>
// CHECK: math.fma
// CHECK: math.exp %{{.*}} : f64
// CHECK: math.tanh
func.func @exp(%x: f32, %v: vector<16xf32>, %d: f64) -> (f32, vector<16xf32>, f64, f32) {
  %e = math.exp %x : f32
  %ev = math.exp %v : vector<16xf32>
  %ed = math.exp %d : f64
  %t = math.tanh %x : f32
  return %e, %ev, %ed, %t : f32, vector<16xf32>, f64, f32
}
