// RUN: quant-opt %s --qc-outline-gpu-kernels --split-input-file | FileCheck %s --check-prefix=OUTLINE
// RUN: quant-opt %s --qc-outline-gpu-kernels --qc-lower-gpu-launches --split-input-file | FileCheck %s
// RUN: quant-opt %s --qc-outline-gpu-kernels="fuse-residual=false" --qc-lower-gpu-launches --split-input-file | FileCheck %s --check-prefix=GLUE

// A residual add r + y that is the only user of a gemv matmul goes into the
// kernel's epilogue (EpilogueFusion.h): the kernel takes r as its last
// argument and adds it next to the bias (f16: after rounding y, as the
// separate add does); the launch passes r and the add disappears.

// OUTLINE-LABEL: func.func @down_residual
// OUTLINE: qc.wo_matmul
// OUTLINE-SAME: qc.launch = #qc.launch<@{{.*}}, block = 128, tile_n = 8, tile_m = 1, m_tiles = [1, 4], residual = true>
// OUTLINE: gpu.func @down_gemv_mt1(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %[[Y:.*]]: !llvm.ptr<1>, %{{.*}}: i32, %[[R:.*]]: !llvm.ptr<1>)
// OUTLINE: %[[RP:.*]] = llvm.getelementptr %[[R]][%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f16
// OUTLINE: %[[RV:.*]] = llvm.load %[[RP]] {alignment = 2 : i64} : !llvm.ptr<1> -> f16
// OUTLINE: %[[RF:.*]] = arith.extf %[[RV]] : f16 to f32
// OUTLINE: %[[S:.*]] = arith.addf %[[RF]], %{{.*}} : f32
// OUTLINE: %[[H:.*]] = arith.truncf %[[S]] : f32 to f16
// OUTLINE: llvm.store %[[H]], %{{.*}} {alignment = 2 : i64} : f16, !llvm.ptr<1>

// CHECK-LABEL: func.func @down_residual
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf16>, %{{.*}}, %{{.*}}, %[[RES:.*]]: tensor<?x?x40xf16>)
// CHECK: %[[RROWS:.*]] = tensor.collapse_shape %[[RES]] {{\[\[}}0, 1], [2]] : tensor<?x?x40xf16> into tensor<?x40xf16>
// CHECK: %[[RB:.*]] = bufferization.to_buffer %[[RROWS]] read_only
// CHECK: call @__qc_gpu_launch_0(%{{.*}}, %{{.*}}, %{{.*}}, %[[RB]], %{{.*}}) {qc.gpu_launch = {args = [0, 1, 2, "null", "null", 4, "m", 3], block = 128 : i64
// CHECK-NOT: linalg.generic
// CHECK: return

// GLUE-LABEL: func.func @down_residual
// GLUE: call @__qc_gpu_launch_0
// GLUE-SAME: args = [0, 1, 2, "null", "null", 3, "m"]
// GLUE: linalg.generic
// GLUE: arith.addf
#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @down_residual(%x: tensor<?x?x64xf16>, %d: tensor<2560xi8>, %s: tensor<40x1xf16>, %res: tensor<?x?x40xf16>) -> tensor<?x?x40xf16> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<2560xi8>, tensor<40x1xf16> -> !qc.packed<40x64xi8>
  %y = qc.wo_matmul %x, %pw {layer = "down", kernel = #qc.kernel<gemv, target = "sm_90", gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 4]>>} : tensor<?x?x64xf16>, !qc.packed<40x64xi8> -> tensor<?x?x40xf16>
  %d0 = tensor.dim %x, %c0 : tensor<?x?x64xf16>
  %d1 = tensor.dim %x, %c1 : tensor<?x?x64xf16>
  %e = tensor.empty(%d0, %d1) : tensor<?x?x40xf16>
  %r = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%res, %y : tensor<?x?x40xf16>, tensor<?x?x40xf16>) outs(%e : tensor<?x?x40xf16>) {
  ^bb0(%a: f16, %b: f16, %o: f16):
    %t = arith.addf %a, %b : f16
    linalg.yield %t : f16
  } -> tensor<?x?x40xf16>
  return %r : tensor<?x?x40xf16>
}

// -----

// Not fused: the matmul has a second user, and the other add's operand is
// defined after the matmul.
// OUTLINE-LABEL: func.func @two_users
// OUTLINE: qc.launch = #qc.launch<@{{.*}}, block = 128, tile_n = 8, tile_m = 1, m_tiles = [1, 4]>
// OUTLINE-LABEL: func.func @late_operand
// OUTLINE: qc.launch = #qc.launch<@{{.*}}, block = 128, tile_n = 8, tile_m = 1, m_tiles = [1, 4]>
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @two_users(%x: tensor<?x64xf32>, %d: tensor<2560xi8>, %s: tensor<40x1xf32>, %res: tensor<?x40xf32>) -> (tensor<?x40xf32>, tensor<?x40xf32>) {
  %c0 = arith.constant 0 : index
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<2560xi8>, tensor<40x1xf32> -> !qc.packed<40x64xi8>
  %y = qc.wo_matmul %x, %pw {layer = "a", kernel = #qc.kernel<gemv, target = "sm_90", gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 4]>>} : tensor<?x64xf32>, !qc.packed<40x64xi8> -> tensor<?x40xf32>
  %m = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%m) : tensor<?x40xf32>
  %r = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%res, %y : tensor<?x40xf32>, tensor<?x40xf32>) outs(%e : tensor<?x40xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<?x40xf32>
  return %r, %y : tensor<?x40xf32>, tensor<?x40xf32>
}
func.func @late_operand(%x: tensor<?x64xf32>, %d: tensor<2560xi8>, %s: tensor<40x1xf32>) -> tensor<?x40xf32> {
  %c0 = arith.constant 0 : index
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>} : tensor<2560xi8>, tensor<40x1xf32> -> !qc.packed<40x64xi8>
  %y = qc.wo_matmul %x, %pw {layer = "b", kernel = #qc.kernel<gemv, target = "sm_90", gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 4]>>} : tensor<?x64xf32>, !qc.packed<40x64xi8> -> tensor<?x40xf32>
  %m = tensor.dim %x, %c0 : tensor<?x64xf32>
  %late = tensor.empty(%m) : tensor<?x40xf32>
  %e = tensor.empty(%m) : tensor<?x40xf32>
  %r = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%late, %y : tensor<?x40xf32>, tensor<?x40xf32>) outs(%e : tensor<?x40xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<?x40xf32>
  return %r : tensor<?x40xf32>
}
