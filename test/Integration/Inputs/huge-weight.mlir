// A weight of 2^40 float32 elements (4 TiB): one diagnostic, no allocation.
func.func @f() -> tensor<1048576x1048576xf32> {
  %w = arith.constant dense<1.0> : tensor<1048576x1048576xf32>
  return %w : tensor<1048576x1048576xf32>
}
