// RUN: quant-opt %s --split-input-file --qc-outline-gpu-kernels | FileCheck %s --check-prefixes=CHECK,NOPF
// RUN: quant-opt %s --split-input-file --qc-outline-gpu-kernels=weight-prefetch | FileCheck %s --check-prefixes=CHECK,PF

// The GEMV family builds one variant per M tile of the kernel's
// #qc.gemv_tiling, each with its own config: the weight load width follows
// the M tile (KernelConfigs.h: about 64 activation values in registers per
// chunk), so the 1-row variant streams 16-byte loads (32 INT4 values) and the
// 8-row one 8-byte loads (16 values). The launch record is the registry's:
// a CTA covers warps x rows_per_warp = 8 output channels.

// CHECK-LABEL: func.func @f
// CHECK: qc.launch = #qc.launch<@qc_kernels_sm_90::@a_gemv, block = 128, tile_n = 8, tile_m = 1, m_tiles = [1, 8]>
// With weight-prefetch on sm_90 (dependent launch) lane 0 of each warp of
// the first M tile first prefetches its 2 rows (2 KiB each) into L2, in an
// scf.if marked for qc-gpu-dependent-launch's wait to follow; the loads
// come after. Without it, no prefetch.
// CHECK: gpu.func @a_gemv_mt1(
// NOPF-NOT: nvvm.cp.async.bulk.prefetch
// PF: scf.if
// PF: %[[ROW:.*]] = arith.constant 2048 : i32
// PF: nvvm.cp.async.bulk.prefetch %{{.*}}, %[[ROW]] : <1>
// PF: nvvm.cp.async.bulk.prefetch
// PF: } {qc.dependent_wait_after}
// CHECK: llvm.load {{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xi32>
// CHECK: gpu.func @a_gemv_mt8(
// CHECK: llvm.load {{.*}} {alignment = 8 : i64} : !llvm.ptr<1> -> vector<2xi32>
func.func @f(%x: tensor<?x4096xf16>, %d: tensor<8388608xi8>, %s: tensor<4096x32xf16>) -> tensor<?x4096xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>} : tensor<8388608xi8>, tensor<4096x32xf16> -> !qc.packed<4096x4096xi4>
  %y = qc.wo_matmul %x, %pw {layer = "a", kernel = #qc.kernel<gemv, target = "sm_90", gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 8]>>} : tensor<?x4096xf16>, !qc.packed<4096x4096xi4> -> tensor<?x4096xf16>
  return %y : tensor<?x4096xf16>
}

// -----

// Without a tiling (hand-written IR) the family's defaults apply: 4 warps of
// 2 rows, M tiles 1, 2, 4, 8.
// CHECK-LABEL: func.func @defaults
// CHECK: qc.launch = #qc.launch<@qc_kernels_sm_90::@b_gemv, block = 128, tile_n = 8, tile_m = 1, m_tiles = [1, 2, 4, 8]>
func.func @defaults(%x: tensor<?x256xf16>, %d: tensor<16384xi8>, %s: tensor<128x2xf16>) -> tensor<?x128xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>} : tensor<16384xi8>, tensor<128x2xf16> -> !qc.packed<128x256xi4>
  %y = qc.wo_matmul %x, %pw {layer = "b", kernel = #qc.kernel<gemv, target = "sm_90">} : tensor<?x256xf16>, !qc.packed<128x256xi4> -> tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}
