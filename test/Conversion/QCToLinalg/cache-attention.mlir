// RUN: quant-opt %s --convert-qc-to-linalg | FileCheck %s

// qc.cache_attention -> linalg generics over the full cache length: GQA
// through an affine floordiv of the query head (H / KV = 3), the layer as a
// constant index, pos an input of the masking generic (no tensor.extract, no
// size computed from pos), f32 softmax with the maximum subtracted.

// CHECK-DAG: #[[$Q:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-DAG: #[[$K:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (1, d0, d2 floordiv 3, d3, d4)>
// CHECK-DAG: #[[$V:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (1, d0, d2 floordiv 3, d4, d3)>
// CHECK-DAG: #[[$POS:.*]] = affine_map<(d0, d1, d2, d3) -> (d0)>

// CHECK-LABEL: func @attention
// CHECK-SAME: (%[[Q:.*]]: tensor<?x?x6x8xf16>, %[[K:.*]]: tensor<2x?x2x16x8xf32>, %[[V:.*]]: tensor<2x?x2x16x8xf32>, %[[P:.*]]: tensor<?xi64>)
// CHECK-NOT: tensor.extract
// CHECK: %[[S:.*]] = linalg.generic {indexing_maps = [#[[$Q]], #[[$K]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[Q]], %[[K]] : tensor<?x?x6x8xf16>, tensor<2x?x2x16x8xf32>)
// CHECK: arith.extf
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[$POS]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[S]], %[[P]] : tensor<?x?x6x16xf32>, tensor<?xi64>)
// CHECK: linalg.index 1
// CHECK: linalg.index 3
// CHECK: arith.cmpi sle
// CHECK: arith.select %{{.*}}, %{{.*}}, %cst
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: ins(%{{.*}}, %[[V]] : tensor<?x?x6x16xf32>, tensor<2x?x2x16x8xf32>)
// CHECK: arith.divf
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK-NOT: tensor.extract
// CHECK: return %{{.*}} : tensor<?x?x6x8xf16>
func.func @attention(%q: tensor<?x?x6x8xf16>, %k: tensor<2x?x2x16x8xf32>, %v: tensor<2x?x2x16x8xf32>, %pos: tensor<?xi64>) -> tensor<?x?x6x8xf16> {
  %o = qc.cache_attention %q, %k, %v, %pos {layer = 1 : i64, scale = 0.25 : f32}
      : tensor<?x?x6x8xf16>, tensor<2x?x2x16x8xf32>, tensor<2x?x2x16x8xf32>, tensor<?xi64> -> tensor<?x?x6x8xf16>
  return %o : tensor<?x?x6x8xf16>
}

// qc.cache_write is left for bufferization.
// CHECK-LABEL: func @write
// CHECK: qc.cache_write
func.func @write(%r: tensor<1x1x2x8xf32>, %c: tensor<2x1x2x16x8xf32>, %pos: tensor<1xi64>) -> tensor<2x1x2x16x8xf32> {
  %0 = qc.cache_write %r into %c at %pos {layer = 0 : i64} : tensor<1x1x2x8xf32>, tensor<1xi64> -> tensor<2x1x2x16x8xf32>
  return %0 : tensor<2x1x2x16x8xf32>
}
