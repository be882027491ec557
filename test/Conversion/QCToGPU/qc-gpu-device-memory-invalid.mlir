// RUN: quant-opt %s --qc-gpu-device-memory --split-input-file --verify-diagnostics

// A launch record whose argument names a call operand that does not exist.
func.func private @__qc_gpu_launch_0(memref<?x8xf32>, memref<?x4xf32>) attributes {qc.gpu_launch_stub}
func.func @bad_arg(%x: memref<?x8xf32>, %y: memref<?x4xf32>) {
  // expected-error @below {{malformed qc.gpu_launch record}}
  call @__qc_gpu_launch_0(%x, %y) {qc.gpu_launch = {args = [0, 2, "m"], block = 128 : i64, grid = ["n", "m"], grid_tile = array<i64: 8, 1>, kernel = @k::@f, n = 4 : i64}} : (memref<?x8xf32>, memref<?x4xf32>) -> ()
  return
}

// -----

// An unknown grid extent.
func.func private @__qc_gpu_launch_0(memref<?x8xf32>, memref<?x4xf32>) attributes {qc.gpu_launch_stub}
func.func @bad_grid(%x: memref<?x8xf32>, %y: memref<?x4xf32>) {
  // expected-error @below {{malformed qc.gpu_launch record}}
  call @__qc_gpu_launch_0(%x, %y) {qc.gpu_launch = {args = [0, 1, "m"], block = 128 : i64, grid = ["k", "m"], grid_tile = array<i64: 8, 1>, kernel = @k::@f, n = 4 : i64}} : (memref<?x8xf32>, memref<?x4xf32>) -> ()
  return
}
