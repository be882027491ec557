func.func @f(%x: tensor<?xf32>) -> tensor<?xf32> {
  %y = arith.addf %x %x : tensor<?xf32>
  return %y : tensor<?xf32>
}
