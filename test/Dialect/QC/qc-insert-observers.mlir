// RUN: quant-opt %s --qc-insert-observers | FileCheck %s
// RUN: quant-opt %s --qc-insert-observers="percentile=99.9 hessian=true" | FileCheck %s --check-prefix=OPTS

// The original function is kept unchanged; the calibration variant follows
// it and observes every quantizable linear, one observer per layer even
// when q/k/v read the same activation.
// CHECK-LABEL: func.func @block(
// CHECK-NOT: qc.observe
// CHECK: return
// CHECK-LABEL: func.func @block_calibrate(
// CHECK-SAME: %[[X:.*]]: tensor<?x?x4xf32>
// CHECK: %[[N:.*]] = qc.rms_norm %[[X]]
// CHECK: qc.observe %[[N]] {layer = "blk0.q"} : tensor<?x?x4xf32>
// CHECK-NEXT: qc.linear %[[N]], {{.*}}layer = "blk0.q"
// CHECK: qc.observe %[[N]] {layer = "blk0.k"} : tensor<?x?x4xf32>
// FP8 layers need statistics like INT8 ones.
// CHECK: qc.observe %[[N]] {layer = "blk0.v"} : tensor<?x?x4xf32>
// CHECK: %[[U:.*]] = qc.linear {{.*}}layer = "blk0.up"
// CHECK: qc.observe %[[U]] {layer = "blk0.down"}
// f16 layers need no statistics.
// CHECK-NOT: qc.observe {{.*}}"head"
// CHECK: return

// OPTS-LABEL: func.func @block_calibrate(
// OPTS: qc.observe %{{.*}} {hessian, layer = "blk0.q", percentile = 9.990000e+01 : f64}

// Private functions and declarations get no variant.
// CHECK-NOT: @helper_calibrate
// CHECK-NOT: @decl_calibrate
func.func @block(%x: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> {
  %g = arith.constant dense<1.0> : tensor<4xf32>
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %n = qc.rms_norm %x, %g : tensor<?x?x4xf32>, tensor<4xf32>
  %q = qc.linear %n, %w {layer = "blk0.q", scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  %k = qc.linear %n, %w {layer = "blk0.k"} : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  %v = qc.linear %n, %w {layer = "blk0.v", scheme = #qc.scheme<weight = f8E4M3FN, act = static_per_tensor>} : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  %up = qc.linear %q, %w {layer = "blk0.up"} : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  %down = qc.linear %up, %w {layer = "blk0.down"} : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  %h = qc.linear %down, %w {layer = "head", scheme = #qc.scheme<weight = f16, granularity = per_tensor>} : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  return %h : tensor<?x?x4xf32>
}
func.func private @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
func.func private @decl(%x: tensor<4xf32>) -> tensor<4xf32>

