// RUN: quant-opt %s --qc-outline-gpu-kernels="swiglu-epilogue=true" --split-input-file | FileCheck %s --check-prefix=OUTLINE --enable-var-scope
// RUN: quant-opt %s --qc-outline-gpu-kernels="swiglu-epilogue=true" --qc-lower-gpu-launches --split-input-file | FileCheck %s --enable-var-scope
// RUN: quant-opt %s --qc-outline-gpu-kernels --qc-lower-gpu-launches --split-input-file | FileCheck %s --check-prefix=OFF

// qc-outline-gpu-kernels swiglu-epilogue=true: a gemv / gemv_mma matmul of
// the fused gate and up projections (2F = 128 channels) whose output only
// the gated MLP's SiLU * mul reads gets GEMV variants that write
// silu(gate) * up (F = 64 channels; GemvKernelConfig::swiGlu): a warp's 2
// rows are gate row j and up row 64 + j, its output channel j. gemv_mma:
// M < threshold runs the fused GEMV, larger M the tensor-core kernel and a
// copy of the glue. Off by default: the glue stays its own kernel.

// OUTLINE-LABEL: func.func @gemv_mma
// 4 warps x 1 output channel each per CTA.
// OUTLINE: qc.wo_matmul {{.*}}qc.launch = #qc.launch<@qc_kernels_sm_90::@gateup_gemv, block = 128, tile_n = 4, tile_m = 1, m_tiles = [1, 2, 4, 8], swiglu = true>
// OUTLINE: qc.mma_launch = #qc.launch<@qc_kernels_sm_90::@gateup_wo_mma, block = 256, tile_n = 128, tile_m = 128>
// OUTLINE-LABEL: gpu.func @gateup_gemv_mt1(
// Rows j and 64 + j (clamped to 63 and 127).
// OUTLINE: %[[C63:.*]] = arith.constant 63 : i32
// OUTLINE: %[[J:.*]] = arith.minsi %{{.*}}, %[[C63]] : i32
// OUTLINE: %[[C64:.*]] = arith.constant 64 : i32
// OUTLINE: arith.addi %{{.*}}, %[[C64]] : i32
// OUTLINE: nvvm.shfl.sync bfly
// Lane 0: both sums rounded to f16 and back, g / (1 + exp(-g)) * u, one
// f16 store at row * 64 + j.
// OUTLINE: %[[G:.*]] = arith.extf %{{.*}} : f16 to f32
// OUTLINE: %[[U:.*]] = arith.extf %{{.*}} : f16 to f32
// OUTLINE: %[[NG:.*]] = arith.negf %[[G]] : f32
// OUTLINE: %[[E:.*]] = math.exp %[[NG]] : f32
// OUTLINE: %[[DEN:.*]] = arith.addf %[[E]], %{{.*}} : f32
// OUTLINE: %[[S:.*]] = arith.divf %[[G]], %[[DEN]] : f32
// OUTLINE: %[[P:.*]] = arith.mulf %[[S]], %[[U]] : f32
// OUTLINE: %[[H:.*]] = arith.truncf %[[P]] : f32 to f16
// OUTLINE: llvm.store %[[H]], %{{.*}} {alignment = 2 : i64} : f16, !llvm.ptr<1>
// OUTLINE: gpu.return

// CHECK-LABEL: func.func @gemv_mma
// CHECK-SAME: (%[[X:.*]]: tensor<?x256xf16>
// CHECK: %[[SMALL:.*]] = arith.cmpi slt, %{{.*}}, %c16
// CHECK: %[[Y:.*]] = scf.if %[[SMALL]] -> (tensor<?x64xf16>)
// The GEMV writes 64 channels: grid over n = 64 in tiles of 4.
// CHECK: qc.gpu_launch = {args = [0, 1, 2, "null", "null", 3, "m"], block = 128 : i64, grid = ["n", "m"], grid_tile = array<i64: 4, 1>, kernel = @qc_kernels_sm_90::@gateup_gemv, m_tiles = array<i64: 1, 2, 4, 8>, n = 64 : i64}
// CHECK: } else {
// The tensor-core kernel writes all 128 channels, then the glue's copy.
// CHECK: qc.gpu_launch = {{.*}}kernel = @qc_kernels_sm_90::@gateup_wo_mma, n = 128 : i64}
// CHECK: %[[GATE:.*]] = tensor.extract_slice %{{.*}}[0, 0] [%{{.*}}, 64] [1, 1]
// CHECK: %[[UP:.*]] = tensor.extract_slice %{{.*}}[0, 64] [%{{.*}}, 64] [1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[GATE]], %[[UP]] : tensor<?x64xf16>, tensor<?x64xf16>)
// CHECK: math.exp
// CHECK: scf.yield
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]] : tensor<?x64xf16>

// OFF-LABEL: func.func @gemv_mma
// OFF: kernel = @qc_kernels_sm_90::@gateup_gemv, m_tiles = array<i64: 1, 2, 4, 8>, n = 128 : i64
// OFF: linalg.generic
// OFF: math.exp

#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @gemv_mma(%x: tensor<?x256xf16>, %d: tensor<16384xi8>, %s: tensor<128x2xf16>) -> tensor<?x64xf16> {
  %one = arith.constant 1.000000e+00 : f32
  %c0 = arith.constant 0 : index
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>} : tensor<16384xi8>, tensor<128x2xf16> -> !qc.packed<128x256xi4>
  %y = qc.wo_matmul %x, %pw {layer = "gateup", kernel = #qc.kernel<gemv_mma, target = "sm_90", threshold = 16>} : tensor<?x256xf16>, !qc.packed<128x256xi4> -> tensor<?x128xf16>
  %m = tensor.dim %y, %c0 : tensor<?x128xf16>
  %g = tensor.extract_slice %y[0, 0] [%m, 64] [1, 1] : tensor<?x128xf16> to tensor<?x64xf16>
  %u = tensor.extract_slice %y[0, 64] [%m, 64] [1, 1] : tensor<?x128xf16> to tensor<?x64xf16>
  %e = tensor.empty(%m) : tensor<?x64xf16>
  %r = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%g, %u : tensor<?x64xf16>, tensor<?x64xf16>) outs(%e : tensor<?x64xf16>) {
  ^bb0(%a: f16, %b: f16, %o: f16):
    %af = arith.extf %a : f16 to f32
    %n = arith.negf %af : f32
    %ex = math.exp %n : f32
    %den = arith.addf %ex, %one : f32
    %si = arith.divf %af, %den : f32
    %bf = arith.extf %b : f16 to f32
    %p = arith.mulf %si, %bf : f32
    %h = arith.truncf %p : f32 to f16
    linalg.yield %h : f16
  } -> tensor<?x64xf16>
  return %r : tensor<?x64xf16>
}

// -----

// Not the SiLU * mul (a plain product of the halves): no fusion.
// OUTLINE-LABEL: func.func @product
// OUTLINE: qc.launch = #qc.launch<@qc_kernels_sm_90::@prod_gemv, block = 128, tile_n = 8, tile_m = 1, m_tiles = [1, 2, 4, 8]>
// OUTLINE-NOT: swiglu
// CHECK-LABEL: func.func @product
// CHECK: n = 128 : i64
// CHECK: linalg.generic
#map1 = affine_map<(d0, d1) -> (d0, d1)>
func.func @product(%x: tensor<?x256xf16>, %d: tensor<16384xi8>, %s: tensor<128x2xf16>) -> tensor<?x64xf16> {
  %c0 = arith.constant 0 : index
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>} : tensor<16384xi8>, tensor<128x2xf16> -> !qc.packed<128x256xi4>
  %y = qc.wo_matmul %x, %pw {layer = "prod", kernel = #qc.kernel<gemv, target = "sm_90">} : tensor<?x256xf16>, !qc.packed<128x256xi4> -> tensor<?x128xf16>
  %m = tensor.dim %y, %c0 : tensor<?x128xf16>
  %g = tensor.extract_slice %y[0, 0] [%m, 64] [1, 1] : tensor<?x128xf16> to tensor<?x64xf16>
  %u = tensor.extract_slice %y[0, 64] [%m, 64] [1, 1] : tensor<?x128xf16> to tensor<?x64xf16>
  %e = tensor.empty(%m) : tensor<?x64xf16>
  %r = linalg.generic {indexing_maps = [#map1, #map1, #map1], iterator_types = ["parallel", "parallel"]} ins(%g, %u : tensor<?x64xf16>, tensor<?x64xf16>) outs(%e : tensor<?x64xf16>) {
  ^bb0(%a: f16, %b: f16, %o: f16):
    %p = arith.mulf %a, %b : f16
    linalg.yield %p : f16
  } -> tensor<?x64xf16>
  return %r : tensor<?x64xf16>
}

// -----

// The gate half read by another op as well: no fusion.
// OUTLINE-LABEL: func.func @shared
// OUTLINE-NOT: swiglu = true
// OUTLINE: return
#map2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @shared(%x: tensor<?x256xf16>, %d: tensor<16384xi8>, %s: tensor<128x2xf16>) -> (tensor<?x64xf16>, tensor<?x64xf16>) {
  %one = arith.constant 1.000000e+00 : f32
  %c0 = arith.constant 0 : index
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>} : tensor<16384xi8>, tensor<128x2xf16> -> !qc.packed<128x256xi4>
  %y = qc.wo_matmul %x, %pw {layer = "sh", kernel = #qc.kernel<gemv, target = "sm_90">} : tensor<?x256xf16>, !qc.packed<128x256xi4> -> tensor<?x128xf16>
  %m = tensor.dim %y, %c0 : tensor<?x128xf16>
  %g = tensor.extract_slice %y[0, 0] [%m, 64] [1, 1] : tensor<?x128xf16> to tensor<?x64xf16>
  %u = tensor.extract_slice %y[0, 64] [%m, 64] [1, 1] : tensor<?x128xf16> to tensor<?x64xf16>
  %e = tensor.empty(%m) : tensor<?x64xf16>
  %r = linalg.generic {indexing_maps = [#map2, #map2, #map2], iterator_types = ["parallel", "parallel"]} ins(%g, %u : tensor<?x64xf16>, tensor<?x64xf16>) outs(%e : tensor<?x64xf16>) {
  ^bb0(%a: f16, %b: f16, %o: f16):
    %af = arith.extf %a : f16 to f32
    %n = arith.negf %af : f32
    %ex = math.exp %n : f32
    %den = arith.addf %ex, %one : f32
    %si = arith.divf %af, %den : f32
    %bf = arith.extf %b : f16 to f32
    %p = arith.mulf %si, %bf : f32
    %h = arith.truncf %p : f32 to f16
    linalg.yield %h : f16
  } -> tensor<?x64xf16>
  return %r, %g : tensor<?x64xf16>, tensor<?x64xf16>
}
