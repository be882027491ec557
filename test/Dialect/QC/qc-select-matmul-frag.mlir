// RUN: quant-opt %s --qc-select-matmul="target=sm_90 weight-only-kernel=frag" | FileCheck %s --check-prefix=H100 --enable-var-scope
// RUN: quant-opt %s --qc-select-matmul="target=sm_80 weight-only-kernel=frag" | FileCheck %s --check-prefix=A100
// RUN: quant-opt %s --qc-select-matmul="target=sm_90a weight-only-kernel=frag" | FileCheck %s --check-prefix=WGMMA
// RUN: quant-opt %s --qc-select-matmul="target=sm_90 weight-only-kernel=frag frag-warps-k=2 frag-n-blocks=2 frag-stages=4 frag-split-k=3 frag-prefetch=3 frag-m-tiles=64,16" | FileCheck %s --check-prefix=OPTS
// RUN: not quant-opt %s --qc-select-matmul="target=sm_90 weight-only-kernel=frag frag-m-tiles=12" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not quant-opt %s --qc-select-matmul="target=sm_90 weight-only-kernel=frag frag-prefetch=5" 2>&1 | FileCheck %s --check-prefix=BADPF
// RUN: quant-opt %s --qc-select-matmul="target=sm_90 weight-only-kernel=frag" --qc-pack-weights | FileCheck %s --check-prefix=PACK
// RUN: quant-opt %s --qc-pack-weights=layout=mma_frag --qc-select-matmul="target=sm_90 weight-only-kernel=frag" --qc-pack-weights | FileCheck %s --check-prefix=EARLY

// weight-only-kernel=frag: every weight-only layer the frag kernel runs gets
// the frag kind and its tiling; split_k fills about four CTAs per SM (132 on
// sm_90, 108 on sm_80) over the channel tiles, at most 16 (8, one
// thread-block cluster, on sm_90) and at least warps_k units per split. Layers it cannot run keep the cost model's kind,
// and only the frag layers' weights are repacked mma_frag.

// 4096 x 4096 i4 g128: 64 channel tiles of 64; ceil(528 / 64) = 9 splits,
// capped at the cluster size 8 on sm_90 (sm_80: ceil(432 / 64) = 7).
// H100-LABEL: func @layers
// H100: qc.wo_matmul {{.*}}kernel = #qc.kernel<frag, target = "sm_90", frag = <warps_k = 4, n_blocks = 4, stages = 3, split_k = 8, prefetch = 1, step_units = 1, m_tiles = [1, 16, 32]>>{{.*}}layer = "big"
// A100: qc.wo_matmul {{.*}}kernel = #qc.kernel<frag, target = "sm_80", frag = <warps_k = 4, n_blocks = 4, stages = 3, split_k = 7, prefetch = 1, step_units = 1, m_tiles = [1, 16, 32]>>{{.*}}layer = "big"
// OPTS: qc.wo_matmul {{.*}}kernel = #qc.kernel<frag, target = "sm_90", frag = <warps_k = 2, n_blocks = 2, stages = 4, split_k = 3, prefetch = 3, step_units = 1, m_tiles = [16, 64]>>{{.*}}layer = "big"
// sm_90a: the frag family's wgmma variant from the cost model's crossover
// on (threshold), 128 tokens x two warpgroups (128 channels) per CTA; N =
// 48 is not a multiple of 64 channels: no wgmma variant.
// WGMMA: qc.wo_matmul {{.*}}kernel = #qc.kernel<frag, target = "sm_90a", threshold = 33, mma = <block_m = 128, block_n = 128, block_k = 64, warps_m = 1, warps_n = 8, stages = 3>, frag = <warps_k = 4, n_blocks = 4, stages = 3, split_k = 8, {{.*}}layer = "big"
// WGMMA: qc.wo_matmul {{.*}}kernel = #qc.kernel<frag, target = "sm_90a", frag = <{{.*}}layer = "i8"
// 48 x 512 i8 per channel, f32 scales (constants in the f16 range: rounded
// to f16 when packed): 48 is not a multiple of 64 channels, so 1 block of
// 16 (3 tiles); 16 units / 4 warps are 4 steps per CTA, too short a K walk
// to pay for the reduction kernel: no split.
// H100: qc.wo_matmul {{.*}}kernel = #qc.kernel<frag, target = "sm_90", frag = <warps_k = 4, n_blocks = 1, stages = 3, split_k = 1, prefetch = 1, step_units = 1, m_tiles = [1, 16, 32]>>{{.*}}layer = "i8"
// N = 40 is not whole 16-channel units: the cost model's kind.
// H100: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv, {{.*}}layer = "odd"
// f32 activations: no frag kernel.
// H100: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv, {{.*}}layer = "f32"
// f32 scales below the normal f16 range (1e-6) cannot be rounded to f16.
// H100: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv, {{.*}}layer = "tiny"

// BAD: error: qc-select-matmul: frag tiling: m_tiles must be 1, 2, 4, 8 (the dot path), 16, 32 or 64, got 12
// BADPF: error: qc-select-matmul: frag tiling: prefetch must be in [1, 4], got 5

// PACK-LABEL: func @layers
// PACK: qc.packed_weight {{.*}}layout = #qc.layout<mma_frag>{{.*}} -> !qc.packed<4096x4096xi4>
// PACK: %[[S2:.*]] = arith.constant dense<9.997550e-02> : tensor<48x1xf16>
// PACK: qc.packed_weight %{{.*}}, %[[S2]] {{.*}}layout = #qc.layout<mma_frag>{{.*}} -> !qc.packed<48x512xi8>
// PACK: qc.packed_weight {{.*}}layout = #qc.layout<row_major>{{.*}} -> !qc.packed<40x512xi8>
// PACK: qc.packed_weight {{.*}}layout = #qc.layout<row_major>{{.*}} : {{.*}}tensor<64x1xf32> -> !qc.packed<64x512xi8>
// PACK: qc.packed_weight {{.*}}layout = #qc.layout<row_major>{{.*}} : {{.*}}tensor<64x1xf32> -> !qc.packed<64x512xi8>

// Packed mma_frag before selection: the frag layer's f32 scales are still
// rounded to f16 afterwards, and mma_frag weights of other GPU kernels
// (f32 activations: gemv) go back to row_major.
// EARLY-LABEL: func @layers
// EARLY: %[[S2:.*]] = arith.constant dense<9.997550e-02> : tensor<48x1xf16>
// EARLY: qc.packed_weight %{{.*}}, %[[S2]] {{.*}}layout = #qc.layout<mma_frag>{{.*}} -> !qc.packed<48x512xi8>
// EARLY: qc.packed_weight {{.*}}layout = #qc.layout<row_major>{{.*}} : {{.*}}tensor<64x1xf32> -> !qc.packed<64x512xi8>

func.func @layers(%x: tensor<?x4096xf16>, %x2: tensor<?x512xf16>, %x3: tensor<?x512xf32>) -> (tensor<?x4096xf16>, tensor<?x48xf16>, tensor<?x40xf16>, tensor<?x64xf32>, tensor<?x64xf16>) {
  %d = arith.constant dense<1> : tensor<4096x4096xi8>
  %s = arith.constant dense<1.0> : tensor<4096x32xf16>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>} : tensor<4096x4096xi8>, tensor<4096x32xf16> -> !qc.packed<4096x4096xi4>
  %y = qc.wo_matmul %x, %pw {layer = "big"} : tensor<?x4096xf16>, !qc.packed<4096x4096xi4> -> tensor<?x4096xf16>
  %d2 = arith.constant dense<3> : tensor<48x512xi8>
  %s2 = arith.constant dense<0.100000001> : tensor<48x1xf32>
  %pw2 = qc.packed_weight %d2, %s2 {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<48x512xi8>, tensor<48x1xf32> -> !qc.packed<48x512xi8>
  %y2 = qc.wo_matmul %x2, %pw2 {layer = "i8"} : tensor<?x512xf16>, !qc.packed<48x512xi8> -> tensor<?x48xf16>
  %d3 = arith.constant dense<3> : tensor<40x512xi8>
  %s3 = arith.constant dense<1.0> : tensor<40x1xf16>
  %pw3 = qc.packed_weight %d3, %s3 {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<40x512xi8>, tensor<40x1xf16> -> !qc.packed<40x512xi8>
  %y3 = qc.wo_matmul %x2, %pw3 {layer = "odd"} : tensor<?x512xf16>, !qc.packed<40x512xi8> -> tensor<?x40xf16>
  %d4 = arith.constant dense<3> : tensor<64x512xi8>
  %s4 = arith.constant dense<1.0> : tensor<64x1xf32>
  %pw4 = qc.packed_weight %d4, %s4 {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<64x512xi8>, tensor<64x1xf32> -> !qc.packed<64x512xi8>
  %y4 = qc.wo_matmul %x3, %pw4 {layer = "f32"} : tensor<?x512xf32>, !qc.packed<64x512xi8> -> tensor<?x64xf32>
  %d5 = arith.constant dense<3> : tensor<64x512xi8>
  %s5 = arith.constant dense<1.0e-06> : tensor<64x1xf32>
  %pw5 = qc.packed_weight %d5, %s5 {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<64x512xi8>, tensor<64x1xf32> -> !qc.packed<64x512xi8>
  %y5 = qc.wo_matmul %x2, %pw5 {layer = "tiny"} : tensor<?x512xf16>, !qc.packed<64x512xi8> -> tensor<?x64xf16>
  return %y, %y2, %y3, %y4, %y5 : tensor<?x4096xf16>, tensor<?x48xf16>, tensor<?x40xf16>, tensor<?x64xf32>, tensor<?x64xf16>
}
