// A static shape whose byte count wraps around 64 bits.
func.func @f() -> tensor<4611686018427387904x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4611686018427387904x4xf32>
  return %w : tensor<4611686018427387904x4xf32>
}
