func.func @f(%x: tensor<?x64xf32>, %w: tensor<32x64xf32>, %w2: tensor<16x64xf32>,
             %w3: tensor<8x64xf32>) -> (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x8xf32>) {
  %y = qc.linear %x, %w {layer = "blk.0.q"} : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  %z = qc.linear %x, %w2 {layer = "blk.0.k"} : (tensor<?x64xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  %h = qc.linear %x, %w3 {layer = "head"} : (tensor<?x64xf32>, tensor<8x64xf32>) -> tensor<?x8xf32>
  return %y, %z, %h : tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x8xf32>
}
