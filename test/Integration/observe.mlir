// The real calibration path: qc.observe lowered by the host pipeline to
// qcrt_observe calls; statistics over two input sets of different shapes
// checked against numpy (absmax exact, X^T X rtol 1e-12, percentile of the
// observed float32 values rtol 1e-12). Needs qc::buildHostLoweringPipeline.
// REQUIRES: host-pipeline

// RUN: rm -rf %t && mkdir -p %t
// RUN: quant-compile %s -o %t/obs
// RUN: %qctest gen-inputs %t/s1 --function observe --batch 2 --seq 3 --seed 1
// RUN: %qctest gen-inputs %t/s2 --function observe --batch 1 --seq 9 --seed 2
// RUN: quant-run %t/obs --input-set %t/s1 --input-set %t/s2 --calibrate %t/stats.json
// RUN: %qctest check-observe %t/stats.json %t/s1 %t/s2 | FileCheck %s
// CHECK: observe stats OK: 15 tokens

#id = affine_map<(b, s, c) -> (b, s, c)>
func.func @observe(%x: tensor<?x?x16xf32>) -> tensor<?x?x16xf32> {
  qc.observe %x {layer = "blk0.q", hessian} : tensor<?x?x16xf32>
  qc.observe %x {layer = "blk0.p", percentile = 99.0 : f64} : tensor<?x?x16xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %two = arith.constant 2.0 : f32
  %d0 = tensor.dim %x, %c0 : tensor<?x?x16xf32>
  %d1 = tensor.dim %x, %c1 : tensor<?x?x16xf32>
  %e = tensor.empty(%d0, %d1) : tensor<?x?x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x?x16xf32>) outs(%e : tensor<?x?x16xf32>) {
    ^bb0(%a: f32, %o: f32):
      %m = arith.mulf %a, %two : f32
      linalg.yield %m : f32
  } -> tensor<?x?x16xf32>
  qc.observe %y {layer = "blk0.y"} : tensor<?x?x16xf32>
  return %y : tensor<?x?x16xf32>
}
