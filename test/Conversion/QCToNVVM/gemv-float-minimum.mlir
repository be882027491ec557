// RUN: quant-opt %s --split-input-file --qc-outline-gpu-kernels | FileCheck %s

// Float minima (w = q * s + m) in the GEMV family: per chunk (inside one
// group) the dot product runs on the codes centred like symmetric ones
// (c = q - 8 for int4: the f16x2 magic number 1024 + q minus a 1032 splat),
// and the chunk's activation sum (its 8-wide f16 pieces added as vectors,
// then the lanes in f32) times the row's shifted minimum m + 8 s is added
// after the scaled dot: acc = fma(sum x, m', fma(dot, s, acc)). The minima
// come from the zeros argument (%arg3) in their own type.

// CHECK-LABEL: gpu.func @q_gemv_mt1(
// CHECK: %[[S:.*]] = llvm.load %{{.*}} {alignment = 2 : i64} : !llvm.ptr<1> -> f16
// CHECK: %[[SF:.*]] = arith.extf %[[S]] : f16 to f32
// CHECK: %[[MP:.*]] = llvm.getelementptr %arg3[%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f16
// CHECK: %[[M:.*]] = llvm.load %[[MP]] {alignment = 2 : i64} : !llvm.ptr<1> -> f16
// CHECK: %[[MF:.*]] = arith.extf %[[M]] : f16 to f32
// CHECK: %[[EIGHT:.*]] = arith.constant 8.000000e+00 : f32
// CHECK: %[[MS:.*]] = math.fma %[[SF]], %[[EIGHT]], %[[MF]] : f32
// CHECK: %[[A:.*]] = arith.addf %{{.*}}, %{{.*}} : vector<8xf16>
// CHECK: %[[B:.*]] = arith.addf %{{.*}}, %{{.*}} : vector<8xf16>
// CHECK: arith.addf %[[A]], %[[B]] : vector<8xf16>
// CHECK: arith.addf %{{.*}}, %{{.*}} : f32
// CHECK-COUNT-5: arith.addf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT: %[[SUM:.*]] = arith.addf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT: arith.constant 8 : i32
// CHECK-NEXT: arith.constant 25600 : i32
// CHECK: %[[DOT:.*]] = math.fma %{{.*}}, %[[SF]], %arg
// CHECK-NEXT: math.fma %[[SUM]], %[[MS]], %[[DOT]] : f32
func.func @f16(%x: tensor<?x256xf16>, %d: tensor<16384xi8>, %s: tensor<128x8xf16>, %m: tensor<128x8xf16>) -> tensor<?x128xf16> {
  %pw = qc.packed_weight %d, %s, %m {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false, minimum = f16>} : tensor<16384xi8>, tensor<128x8xf16>, tensor<128x8xf16> -> !qc.packed<128x256xi4>
  %y = qc.wo_matmul %x, %pw {layer = "q", kernel = #qc.kernel<gemv, target = "sm_90", gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1]>>} : tensor<?x256xf16>, !qc.packed<128x256xi4> -> tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}

// -----

// f32 activations, int8 codes, f32 minima: the fp32 path (magic 2^23 + q
// minus 2^23 + 128 exactly), the activation sum in f32, m' = m + 128 s.
// CHECK-LABEL: gpu.func @r_gemv_mt1(
// CHECK: %[[MP:.*]] = llvm.getelementptr %arg3[%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f32
// CHECK: %[[M:.*]] = llvm.load %[[MP]] {alignment = 4 : i64} : !llvm.ptr<1> -> f32
// CHECK: %[[C:.*]] = arith.constant 1.280000e+02 : f32
// CHECK: %[[MS:.*]] = math.fma %{{.*}}, %[[C]], %[[M]] : f32
// CHECK: arith.constant 0x4B000080 : f32
// CHECK: %[[DOT:.*]] = math.fma %{{.*}}, %{{.*}}, %arg
// CHECK-NEXT: math.fma %{{.*}}, %[[MS]], %[[DOT]] : f32
func.func @f32(%x: tensor<?x128xf32>, %d: tensor<8192xi8>, %s: tensor<64x4xf32>, %m: tensor<64x4xf32>) -> tensor<?x64xf32> {
  %pw = qc.packed_weight %d, %s, %m {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, granularity = per_group, group_size = 32, symmetric = false, minimum = f32>} : tensor<8192xi8>, tensor<64x4xf32>, tensor<64x4xf32> -> !qc.packed<64x128xi8>
  %y = qc.wo_matmul %x, %pw {layer = "r", kernel = #qc.kernel<gemv, target = "sm_90", gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1]>>} : tensor<?x128xf32>, !qc.packed<64x128xi8> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
