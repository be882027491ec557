// RUN: quant-opt %s --qc-outline-gpu-kernels --split-input-file | FileCheck %s --check-prefix=OUTLINE
// RUN: quant-opt %s --qc-outline-gpu-kernels --qc-lower-gpu-launches --split-input-file | FileCheck %s
// RUN: quant-opt %s --qc-outline-gpu-kernels="fuse-residual=false" --qc-lower-gpu-launches --split-input-file | FileCheck %s --check-prefix=GLUE

// gemv_mma: the GEMV family for M < threshold, the weight-only tensor-core
// kernel (recorded under qc.mma_) from it on; one branch on M picks the
// launch. A residual add that only reads the matmul goes into both kernels'
// epilogues (r as the last argument of either launch).

// OUTLINE-LABEL: func.func @down_residual
// OUTLINE: qc.wo_matmul
// OUTLINE-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90::@down_gemv, block = 128, tile_n = 8, tile_m = 1, m_tiles = [1, 4], residual = true>
// OUTLINE-SAME: qc.mma_launch = #qc.launch<@qc_kernels_sm_90::@down_wo_mma, block = 256, tile_n = 128, tile_m = 128, residual = true>
// OUTLINE: gpu.func @down_gemv_mt1(
// OUTLINE: gpu.func @down_gemv_mt4(
// OUTLINE: gpu.func @down_wo_mma(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %[[R:.*]]: !llvm.ptr<1>)
// OUTLINE: %[[RP:.*]] = llvm.getelementptr %[[R]][%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f16
// OUTLINE: %[[RV:.*]] = llvm.load %[[RP]]{{.*}} : !llvm.ptr<1> -> f16
// OUTLINE: %[[RF:.*]] = arith.extf %[[RV]] : f16 to f32
// OUTLINE: arith.addf %{{.*}}, %[[RF]] : f32

// CHECK-LABEL: func.func @down_residual
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf16>, %{{.*}}, %{{.*}}, %[[RES:.*]]: tensor<?x40xf16>)
// CHECK: %[[M:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x64xf16>
// CHECK: %[[SMALL:.*]] = arith.cmpi slt, %[[M]], %{{.*}} : index
// CHECK: %[[Y:.*]] = scf.if %[[SMALL]] -> (tensor<?x40xf16>) {
// CHECK: call @__qc_gpu_launch_0(%{{.*}}) {qc.gpu_launch = {args = [0, 1, 2, "null", "null", 4, "m", 3], block = 128 : i64
// CHECK-SAME: kernel = @qc_kernels_sm_90::@down_gemv
// CHECK: } else {
// CHECK: call @__qc_gpu_launch_1(%{{.*}}) {qc.gpu_launch = {args = [0, 1, 2, "null", "null", 4, "m", 3], block = 256 : i64
// CHECK-SAME: kernel = @qc_kernels_sm_90::@down_wo_mma
// CHECK: }
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]

// GLUE-LABEL: func.func @down_residual
// GLUE: scf.if
// GLUE: args = [0, 1, 2, "null", "null", 3, "m"]
// GLUE: } else {
// GLUE: args = [0, 1, 2, "null", "null", 3, "m"]
// GLUE: linalg.generic
// GLUE: arith.addf
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @down_residual(%x: tensor<?x64xf16>, %d: tensor<1280xi8>, %s: tensor<40x1xf16>, %res: tensor<?x40xf16>) -> tensor<?x40xf16> {
  %c0 = arith.constant 0 : index
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4>} : tensor<1280xi8>, tensor<40x1xf16> -> !qc.packed<40x64xi4>
  %y = qc.wo_matmul %x, %pw {layer = "down", kernel = #qc.kernel<gemv_mma, target = "sm_90", threshold = 24, gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 4]>>} : tensor<?x64xf16>, !qc.packed<40x64xi4> -> tensor<?x40xf16>
  %m = tensor.dim %x, %c0 : tensor<?x64xf16>
  %e = tensor.empty(%m) : tensor<?x40xf16>
  %r = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%res, %y : tensor<?x40xf16>, tensor<?x40xf16>) outs(%e : tensor<?x40xf16>) {
  ^bb0(%a: f16, %b: f16, %o: f16):
    %t = arith.addf %a, %b : f16
    linalg.yield %t : f16
  } -> tensor<?x40xf16>
  return %r : tensor<?x40xf16>
}

// -----

// Without an add to absorb: both launches end in y; the threshold is the
// kernel attribute's.
// CHECK-LABEL: func.func @plain
// CHECK: %[[C:.*]] = arith.constant 300 : index
// CHECK: arith.cmpi slt, %{{.*}}, %[[C]] : index
// CHECK: args = [0, 1, 2, "null", "null", 3, "m"]
// CHECK-SAME: kernel = @qc_kernels_sm_90::@up_gemv
// CHECK: args = [0, 1, 2, "null", "null", 3, "m"]
// CHECK-SAME: kernel = @qc_kernels_sm_90::@up_wo_mma
func.func @plain(%x: tensor<?x64xf16>, %d: tensor<1280xi8>, %s: tensor<40x1xf16>) -> tensor<?x40xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4>} : tensor<1280xi8>, tensor<40x1xf16> -> !qc.packed<40x64xi4>
  %y = qc.wo_matmul %x, %pw {layer = "up", kernel = #qc.kernel<gemv_mma, target = "sm_90", threshold = 300, gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 4]>>} : tensor<?x64xf16>, !qc.packed<40x64xi4> -> tensor<?x40xf16>
  return %y : tensor<?x40xf16>
}
