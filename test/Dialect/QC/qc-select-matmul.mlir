// RUN: quant-opt %s -split-input-file --qc-select-matmul | FileCheck %s --check-prefix=HOST
// RUN: quant-opt %s -split-input-file --qc-select-matmul="target=sm_90 min-batch=1 max-batch=1" | FileCheck %s --check-prefix=DECODE
// RUN: quant-opt %s -split-input-file --qc-select-matmul="target=sm_90 min-batch=1024 max-batch=4096" | FileCheck %s --check-prefix=PREFILL
// RUN: quant-opt %s -split-input-file --qc-select-matmul="target=sm_80 min-batch=1 max-batch=1" | FileCheck %s --check-prefix=A100
// RUN: quant-opt %s -split-input-file --qc-select-matmul="target=sm_90 min-batch=1024 max-batch=4096 weight-only-kernel=gemv" | FileCheck %s --check-prefix=GEMV
// RUN: quant-opt %s -split-input-file --qc-select-matmul="target=sm_90 frag-in-auto=false" | FileCheck %s --check-prefix=RANGE
// RUN: quant-opt %s -split-input-file --qc-select-matmul="target=sm_90" | FileCheck %s --check-prefix=AUTOFRAG
// RUN: quant-opt %s -split-input-file --qc-select-matmul="target=sm_90 max-batch=1" | FileCheck %s --check-prefix=AUTOFRAG1
// RUN: quant-opt %s -split-input-file --qc-select-matmul="target=sm_90 frag-in-auto=false gemv-warps=8 gemv-rows-per-warp=1 gemv-chunks=2 gemv-m-tiles=4,1 mma-block-m=16 mma-block-n=64 mma-block-k-bytes=256 mma-warps-m=1 mma-warps-n=4 mma-stages=3" | FileCheck %s --check-prefix=TILE
// (@mma_limits cannot take a forced mma: qc-select-matmul-force-invalid.mlir.)
// RUN: not quant-opt %s -split-input-file --qc-select-matmul="target=sm_90 min-batch=1 max-batch=1 weight-only-kernel=mma" 2>/dev/null | FileCheck %s --check-prefix=MMA
// The cost model (docs/passes.md): at M = 1 every kernel is bound by the
// weight bytes and the CUDA-core GEMV streams them best; from M ~ 100 the
// tensor-core kernel wins. W8A8 layers always take int8_mma on GPUs (the
// only GPU INT8 kernel); unquantized f16 linears take fp16_mma.

// HOST-LABEL: func @layers
// HOST: qc.wo_matmul {{.*}}kernel = #qc.kernel<host>{{.*}}layer = "w4"
// HOST: qc.int8_matmul {{.*}}kernel = #qc.kernel<host>{{.*}}layer = "w8a8"
// HOST: qc.wo_matmul {{.*}}kernel = #qc.kernel<adaptive, threshold = 64>{{.*}}layer = "ad"
// HOST-NOT: qc.batch_threshold

// DECODE-LABEL: func @layers
// DECODE: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv, target = "sm_90", gemv = <warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 2, 4, 8]>>{{.*}}layer = "w4"
// DECODE: qc.int8_matmul {{.*}}kernel = #qc.kernel<int8_mma, target = "sm_90", mma = <block_m = 128, block_n = 128, block_k = 64, warps_m = 2, warps_n = 4, stages = 2>>{{.*}}layer = "w8a8"
// DECODE: qc.wo_matmul {{.*}}kernel = #qc.kernel<adaptive, target = "sm_90", threshold = 64, {{.*}}>{{.*}}layer = "ad"

// PREFILL-LABEL: func @layers
// PREFILL: qc.wo_matmul {{.*}}kernel = #qc.kernel<mma, target = "sm_90", {{.*}}>{{.*}}layer = "w4"
// PREFILL: qc.int8_matmul {{.*}}kernel = #qc.kernel<int8_mma, target = "sm_90", {{.*}}>{{.*}}layer = "w8a8"

// The default range (M = 1 .. 512: decode and a prompt's prefill through one
// function) spans the crossover: without the frag family, GEMV below it,
// the tensor-core kernel from it on; by the model the crossover of a 4096 x
// 4096 W4 layer lies between the GEMV's 8-row tile and the mma kernel's
// 128-row tile. The frag family (the default: dot path at M = 1, tensor
// cores from M = 2 on the same mma_frag bytes; H100 run 5: ~3 us above the
// GEMV at M = 1, 1.4-9x faster than it from M = 8) wins the range.
// RANGE-LABEL: func @layers
// RANGE: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv_mma, target = "sm_90", threshold = {{(9|[1-9][0-9]|1[01][0-9]|12[0-8])}}, {{.*}}>{{.*}}layer = "w4"
// AUTOFRAG-LABEL: func @layers
// AUTOFRAG: qc.wo_matmul {{.*}}kernel = #qc.kernel<frag, target = "sm_90", frag = <{{.*}}m_tiles = [1, 16, 32]>>{{.*}}layer = "w4"
// Decode only (M = 1): the GEMV still.
// AUTOFRAG1-LABEL: func @layers
// AUTOFRAG1: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv, target = "sm_90"{{.*}}layer = "w4"
// RANGE: qc.int8_matmul {{.*}}kernel = #qc.kernel<int8_mma, target = "sm_90", {{.*}}>{{.*}}layer = "w8a8"
// The tiling options reach every kernel, in the units of its side (block K
// in f16 elements for gemv_mma (@mma_limits), bytes for INT8); the M tiles
// sorted.
// TILE-LABEL: func @layers
// TILE: kernel = #qc.kernel<gemv_mma, target = "sm_90", threshold = {{[0-9]+}}, gemv = <warps = 8, rows_per_warp = 1, chunks = 2, m_tiles = [1, 4]>, mma = <block_m = 16, block_n = 64, block_k = 128, warps_m = 1, warps_n = 4, stages = 3>>{{.*}}layer = "w4"
// TILE: kernel = #qc.kernel<int8_mma, target = "sm_90", mma = <block_m = 16, block_n = 64, block_k = 256, warps_m = 1, warps_n = 4, stages = 3>>{{.*}}layer = "w8a8"
// TILE: kernel = #qc.kernel<adaptive, target = "sm_90", threshold = 64, gemv = <warps = 8, rows_per_warp = 1, chunks = 2, m_tiles = [1, 4]>, mma = <block_m = 16, block_n = 64, block_k = 256, warps_m = 1, warps_n = 4, stages = 3>>{{.*}}layer = "ad"

// A100-LABEL: func @layers
// A100: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv, target = "sm_80", {{.*}}>{{.*}}layer = "w4"

// Forced kinds win over the cost model.
// GEMV-LABEL: func @layers
// GEMV: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv, target = "sm_90", {{.*}}>{{.*}}layer = "w4"
// MMA-LABEL: func @layers
// MMA: qc.wo_matmul {{.*}}kernel = #qc.kernel<mma, target = "sm_90", {{.*}}>{{.*}}layer = "w4"
func.func @layers(%x: tensor<?x4096xf16>, %d4: tensor<4096x4096xi8>, %s4: tensor<4096x32xf16>,
                  %d8: tensor<4096x4096xi8>, %s8: tensor<4096x1xf32>, %q: tensor<?x4096xi8>, %qs: tensor<?xf32>)
    -> (tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>) {
  %pw4 = qc.packed_weight %d4, %s4 {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>} : tensor<4096x4096xi8>, tensor<4096x32xf16> -> !qc.packed<4096x4096xi4>
  %y0 = qc.wo_matmul %x, %pw4 {layer = "w4"} : tensor<?x4096xf16>, !qc.packed<4096x4096xi4> -> tensor<?x4096xf16>
  %pw8 = qc.packed_weight %d8, %s8 {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<4096x4096xi8>, tensor<4096x1xf32> -> !qc.packed<4096x4096xi8>
  %y1 = qc.int8_matmul %q, %qs, %pw8 {layer = "w8a8"} : tensor<?x4096xi8>, tensor<?xf32>, !qc.packed<4096x4096xi8> -> tensor<?x4096xf16>
  %pwa = qc.packed_weight %d8, %s8 {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<4096x4096xi8>, tensor<4096x1xf32> -> !qc.packed<4096x4096xi8>
  %y2 = qc.wo_matmul %x, %pwa {layer = "ad", qc.batch_threshold = 64 : i64} : tensor<?x4096xf16>, !qc.packed<4096x4096xi8> -> tensor<?x4096xf16>
  return %y0, %y1, %y2 : tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>
}

// -----

// Shapes and types the mma kernel cannot run stay on gemv whatever the
// batch range: f32 activations; K = 48 int4 (packed rows of 24 bytes, not
// whole 16-byte chunks). K = 64 int4 f16 fits.

// PREFILL-LABEL: func @mma_limits
// PREFILL: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv, target = "sm_90", {{.*}}>{{.*}}layer = "f32act"
// PREFILL: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv, target = "sm_90", {{.*}}>{{.*}}layer = "k48"
// PREFILL: qc.wo_matmul {{.*}}kernel = #qc.kernel<mma, target = "sm_90", {{.*}}>{{.*}}layer = "k64"
// RANGE-LABEL: func @mma_limits
// RANGE: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv, target = "sm_90", {{.*}}>{{.*}}layer = "f32act"
// RANGE: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv, target = "sm_90", {{.*}}>{{.*}}layer = "k48"
// RANGE: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv_mma, target = "sm_90", threshold = {{[0-9]+}}, {{.*}}>{{.*}}layer = "k64"
// TILE-LABEL: func @mma_limits
// TILE: kernel = #qc.kernel<gemv_mma, target = "sm_90", threshold = {{[0-9]+}}, gemv = <warps = 8, rows_per_warp = 1, chunks = 2, m_tiles = [1, 4]>, mma = <block_m = 16, block_n = 64, block_k = 128, warps_m = 1, warps_n = 4, stages = 3>>{{.*}}layer = "k64"
// GEMV-LABEL: func @mma_limits
// GEMV-COUNT-3: kernel = #qc.kernel<gemv, target = "sm_90", gemv =
func.func @mma_limits(%x32: tensor<?x64xf32>, %x48: tensor<?x48xf16>, %x64: tensor<?x64xf16>,
                      %d64: tensor<4096x64xi8>, %d48: tensor<4096x48xi8>, %s: tensor<4096x1xf32>)
    -> (tensor<?x4096xf32>, tensor<?x4096xf16>, tensor<?x4096xf16>) {
  %pw64 = qc.packed_weight %d64, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4>} : tensor<4096x64xi8>, tensor<4096x1xf32> -> !qc.packed<4096x64xi4>
  %pw48 = qc.packed_weight %d48, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4>} : tensor<4096x48xi8>, tensor<4096x1xf32> -> !qc.packed<4096x48xi4>
  %y0 = qc.wo_matmul %x32, %pw64 {layer = "f32act"} : tensor<?x64xf32>, !qc.packed<4096x64xi4> -> tensor<?x4096xf32>
  %y1 = qc.wo_matmul %x48, %pw48 {layer = "k48"} : tensor<?x48xf16>, !qc.packed<4096x48xi4> -> tensor<?x4096xf16>
  %y2 = qc.wo_matmul %x64, %pw64 {layer = "k64"} : tensor<?x64xf16>, !qc.packed<4096x64xi4> -> tensor<?x4096xf16>
  return %y0, %y1, %y2 : tensor<?x4096xf32>, tensor<?x4096xf16>, tensor<?x4096xf16>
}

// -----

// Unquantized linears: f16 with K % 8 == 0 takes fp16_mma on GPUs; f32,
// K = 12 and the host target leave them alone (glue path / host kernel).

// HOST-LABEL: func @unquantized
// HOST-NOT: kernel
// DECODE-LABEL: func @unquantized
// DECODE: qc.linear %{{.*}} {kernel = #qc.kernel<fp16_mma, target = "sm_90", {{.*}}>, layer = "h"}
// DECODE-NOT: kernel
// DECODE: return
// A100-LABEL: func @unquantized
// A100: {kernel = #qc.kernel<fp16_mma, target = "sm_80", {{.*}}>, layer = "h"}
func.func @unquantized(%x: tensor<?x16xf16>, %w: tensor<24x16xf16>, %b: tensor<24xf16>,
                       %x32: tensor<?x16xf32>, %w32: tensor<24x16xf32>,
                       %x12: tensor<?x12xf16>, %w12: tensor<24x12xf16>)
    -> (tensor<?x24xf16>, tensor<?x24xf32>, tensor<?x24xf16>) {
  %y0 = qc.linear %x, %w, %b {layer = "h"} : (tensor<?x16xf16>, tensor<24x16xf16>, tensor<24xf16>) -> tensor<?x24xf16>
  %y1 = qc.linear %x32, %w32 {layer = "f"} : (tensor<?x16xf32>, tensor<24x16xf32>) -> tensor<?x24xf32>
  %y2 = qc.linear %x12, %w12 {layer = "k12"} : (tensor<?x12xf16>, tensor<24x12xf16>) -> tensor<?x24xf16>
  return %y0, %y1, %y2 : tensor<?x24xf16>, tensor<?x24xf32>, tensor<?x24xf16>
}

// -----

// A small layer (SmolLM2's 576 x 576, groups of 64): the frag kernel's
// fixed cost (~4.6 us where the GEMV takes 2-4 us, H100 run 5) loses the
// decode range, so the default range takes gemv_mma.
// HOST-LABEL: func @small_layer
// AUTOFRAG-LABEL: func @small_layer
// AUTOFRAG: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv_mma, target = "sm_90"
func.func @small_layer(%x: tensor<?x576xf16>, %d: tensor<576x576xi8>, %s: tensor<576x9xf16>) -> tensor<?x576xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 64>} : tensor<576x576xi8>, tensor<576x9xf16> -> !qc.packed<576x576xi4>
  %y = qc.wo_matmul %x, %pw {layer = "small"} : tensor<?x576xf16>, !qc.packed<576x576xi4> -> tensor<?x576xf16>
  return %y : tensor<?x576xf16>
}
