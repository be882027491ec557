// A verifier-valid program the host lowering cannot handle.
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  gpu.barrier
  return %x : tensor<4xf32>
}
