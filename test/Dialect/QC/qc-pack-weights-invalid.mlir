// RUN: quant-opt %s -split-input-file -verify-diagnostics --qc-pack-weights="layout=tiled tile-n=4 tile-k=4"
// RUN: echo "" | not quant-opt --qc-pack-weights=layout=zigzag 2>&1 | FileCheck %s --check-prefix=LAYOUT
// RUN: echo "" | not quant-opt --qc-pack-weights="layout=tiled tile-k=3" 2>&1 | FileCheck %s --check-prefix=TILE

// LAYOUT: error: qc-pack-weights: unknown layout 'zigzag'; expected row_major, tiled, mma_frag or auto
// TILE: error: qc-pack-weights: tile-n must be positive and tile-k positive and even, got 16x3

func.func @odd_k(%x: tensor<?x3xf32>) -> tensor<?x2xf32> {
  %d = arith.constant dense<1> : tensor<2x3xi8>
  %s = arith.constant dense<0.5> : tensor<2x1xf32>
  // expected-error @+1 {{qc-pack-weights: int4 weight with odd K = 3 cannot be packed two per byte}}
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4>} : tensor<2x3xi8>, tensor<2x1xf32> -> !qc.packed<2x3xi4>
  %y = qc.wo_matmul %x, %pw {layer = "l"} : tensor<?x3xf32>, !qc.packed<2x3xi4> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Tiles that do not divide the weight: row_major with a warning.
func.func @no_fit(%x: tensor<?x6xf32>) -> tensor<?x2xf32> {
  %d = arith.constant dense<1> : tensor<2x6xi8>
  %s = arith.constant dense<0.5> : tensor<2x1xf32>
  // expected-warning @+1 {{tile 4x4 does not divide the 2x6 weight; using row_major}}
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<2x6xi8>, tensor<2x1xf32> -> !qc.packed<2x6xi8>
  %y = qc.wo_matmul %x, %pw {layer = "l"} : tensor<?x6xf32>, !qc.packed<2x6xi8> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

func.func @not_constant(%x: tensor<?x4xf32>, %d: tensor<2x4xi8>) -> tensor<?x2xf32> {
  %s = arith.constant dense<0.5> : tensor<2x1xf32>
  // expected-error @+1 {{qc-pack-weights: the unpacked data is not a dense constant}}
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<2x4xi8>, tensor<2x1xf32> -> !qc.packed<2x4xi8>
  %y = qc.wo_matmul %x, %pw {layer = "l"} : tensor<?x4xf32>, !qc.packed<2x4xi8> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
