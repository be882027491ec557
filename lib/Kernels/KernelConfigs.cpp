//===- KernelConfigs.cpp - Checks of the GPU kernel configs ---------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// `finalize` of every kernel config: picks what was left to pick and says
// whether the shape fits (qc/Kernels/KernelConfigs.h).
//
//===----------------------------------------------------------------------===//

#include "qc/Kernels/KernelConfigs.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cmath>

std::string qc::ActQuantKernelConfig::finalize() {
  if (k <= 0)
    return "K must be positive";
  if (threads <= 0 || threads % 32 != 0 || threads > 1024)
    return "threads must be a multiple of 32 up to 1024";
  if (!dynamicPerToken && !(staticScale > 0.0f && std::isfinite(staticScale)))
    return "the static scale must be positive and finite";
  if (vecElems == 0)
    for (int64_t v : {8, 4, 2, 1})
      if ((inF16 || v <= 4) && k % v == 0) {
        vecElems = v;
        break;
      }
  if (vecElems <= 0 || k % vecElems != 0 || vecElems * (inF16 ? 2 : 4) > 16)
    return "the load width must divide K and be at most 16 bytes";
  return "";
}

std::string qc::RowArgmaxKernelConfig::finalize() {
  if (k <= 0)
    return "K must be positive";
  if (k >= (int64_t(1) << 31))
    return "K must be below 2^31";
  int64_t eb = kernelElemBytes(io);
  if (vecElems == 0)
    vecElems = widestRowVector(k, eb);
  if (vecElems <= 0 || k % vecElems != 0 || vecElems * eb > 16 ||
      (vecElems & (vecElems - 1)) != 0)
    return "the load width must be a power of two dividing K and at most 16 "
           "bytes";
  if (threads == 0) {
    int64_t want = (vecs() + 3) / 4;
    threads = k >= 16384
                  ? 1024
                  : std::min<int64_t>(
                        1024, std::max<int64_t>(32, (want + 31) / 32 * 32));
  }
  if (threads <= 0 || threads % 32 != 0 || threads > 1024)
    return "threads must be a multiple of 32 up to 1024";
  return "";
}

std::string qc::CacheAttentionKernelConfig::finalize() {
  if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0)
    return "H must be a positive multiple of KV";
  if (seqLen <= 0)
    return "S must be static and positive";
  if (layer < 0)
    return "the layer must be non-negative";
  int64_t eb = kernelElemBytes(cache);
  if (headDim <= 0 || headDim % 32 != 0 || (headDim / 32) * eb > 16 ||
      ((headDim / 32) & (headDim / 32 - 1)) != 0)
    return "D = " + std::to_string(headDim) +
           " must be 32 x a power of two with at most 16 bytes of a cache "
           "row per lane (D in {32, 64, 128}, 256 for 16-bit caches)";
  if (!std::isfinite(scale))
    return "the scale must be finite";
  if (group() > 16)
    return "at most 16 query heads per KV head";
  if (targetCtas <= 0 || maxSplitT < 1)
    return "targetCtas and maxSplitT must be positive";
  if (chunkLen == 0) {
    chunkLen = 8;
    for (int64_t len = 256; len >= 8; len /= 2)
      if ((seqLen + len - 1) / len * kvHeads >= targetCtas) {
        chunkLen = len;
        break;
      }
  }
  if (chunkLen <= 0)
    return "chunkLen must be positive";
  return "";
}

std::string qc::CacheAttentionKernelConfig::prefillUnsupported() const {
  if (!prefill)
    return "the prefill kernel is off";
  if (query == KernelElem::F32 || cache != query)
    return "the prefill kernel needs f16 or bf16 queries and caches of the "
           "same type";
  if (headDim != 64 && headDim != 128)
    return "the prefill kernel needs D in {64, 128}";
  if (group() > prefillRows)
    return "the prefill kernel needs at most 64 query heads per KV head";
  return "";
}

std::string qc::WeightOnlyWeightConfig::checkWeight(bool readsFloatMinimum) {
  if (bits != 4 && bits != 8)
    return "weight bits must be 4 or 8";
  if (floatMinimum && !readsFloatMinimum)
    return "float-minimum weights (scheme minimum = f16/f32) are read by the "
           "gemv and frag kernels only";
  if (n <= 0 || k <= 0)
    return "N and K must be positive";
  if (groupSize == 0 || perTensor)
    groupSize = k;
  if (k % groupSize != 0)
    return "group size " + std::to_string(groupSize) + " does not divide K";
  return "";
}

std::string qc::GemvKernelConfig::finalize() {
  if (std::string err = checkWeight(/*readsFloatMinimum=*/true); !err.empty())
    return err;
  if ((k * bits) % 8 != 0)
    return "int4 rows need an even K";
  if (warpsPerBlock <= 0 || rowsPerWarp <= 0 || mTile <= 0 ||
      chunksPerIter <= 0)
    return "tile parameters must be positive";
  int64_t rowBytes = k * bits / 8;
  if (vecBytes == 0) {
    // Keep the activation registers of a chunk (mTile x values) near 64.
    int64_t maxValues = std::max<int64_t>(16, 64 / mTile);
    for (int64_t v : {16, 8, 4, 2, 1}) {
      int64_t values = v * 8 / bits;
      if (values <= maxValues && rowBytes % v == 0 && groupSize % values == 0) {
        vecBytes = v;
        break;
      }
    }
  }
  if (vecBytes == 0 || rowBytes % vecBytes != 0)
    return "no load width divides the weight row";
  if (bits == 4 && vecBytes < 1)
    return "int4 needs whole bytes per load";
  if (groupSize % (vecBytes * 8 / bits) != 0)
    return "a weight load would straddle two scale groups";
  if (swiGlu && (rowsPerWarp % 2 != 0 || n % 2 != 0 || hasResidual))
    return "the SwiGLU epilogue needs an even number of rows per warp, an "
           "even N (gate and up halves) and no residual epilogue";
  if (normPrologue) {
    if (normSharedBytes() > kMaxStaticSharedBytes)
      return "the fused norm's " + std::to_string(mTile) + " rows of " +
             std::to_string(k) + " activations exceed 48 KiB of shared memory";
    if (!(normEpsilon >= 0.0f && std::isfinite(normEpsilon)))
      return "the norm's epsilon must be non-negative and finite";
  }
  return "";
}

std::array<int64_t, 2> qc::GemvKernelConfig::grid(int64_t m) const {
  int64_t perBlock = warpsPerBlock * rowsPerWarp / (swiGlu ? 2 : 1);
  return {(outChannels() + perBlock - 1) / perBlock, (m + mTile - 1) / mTile};
}

std::string qc::MmaTileConfig::check(int64_t k, int64_t elemBytes, int64_t mmaK,
                                     bool checkShared) const {
  if (blockM <= 0 || blockN <= 0 || blockK <= 0 || warpsM <= 0 || warpsN <= 0)
    return "tile parameters must be positive";
  if (stages < 2)
    return "the cp.async pipeline needs at least 2 stages";
  if (blockK % mmaK != 0)
    return "block K " + std::to_string(blockK) +
           " is not a multiple of the mma K " + std::to_string(mmaK);
  if (blockM % (16 * warpsM) != 0)
    return "block M must be a multiple of 16 x warps along M";
  if (blockN % (16 * warpsN) != 0)
    return "block N must be a multiple of 16 x warps along N";
  if ((k * elemBytes) % 16 != 0)
    return "K = " + std::to_string(k) +
           " gives weight/activation rows that are not a whole number of "
           "16-byte chunks (K must be a multiple of " +
           std::to_string(16 / elemBytes) + ")";
  int64_t chunksPerRow = blockK * elemBytes / 16;
  if ((blockM * chunksPerRow) % blockSize() != 0 ||
      (blockN * chunksPerRow) % blockSize() != 0)
    return "the threads of a block must evenly split a tile's 16-byte chunks";
  if (checkShared && sharedBytes(elemBytes) > kMaxStaticSharedBytes)
    return "tiles need " + std::to_string(sharedBytes(elemBytes)) +
           " bytes of shared memory, over the 48 KiB static limit";
  return "";
}

/// The wgmma GEMMs' tiling rules (elements of `elemBytes` bytes).
static std::string checkWgmmaGemmTile(const qc::MmaTileConfig &tile,
                                      int64_t elemBytes) {
  if ((tile.blockM != 64 && tile.blockM != 128) ||
      tile.blockK * elemBytes != 128 || tile.warpsM * 16 != tile.blockM ||
      tile.warpsN != 1)
    return "the wgmma GEMM tiling needs block_m 64 or 128 (one warpgroup per "
           "64 rows, warps_m = block_m / 16, warps_n = 1) and 128 bytes of K "
           "per stage (block_k " +
           std::to_string(128 / elemBytes) + ")";
  if (tile.blockN % 8 != 0 || tile.blockN < 8 || tile.blockN > 256)
    return "the wgmma GEMM tiling needs block_n a multiple of 8 in [8, 256]";
  if (tile.stages < 2 || tile.wgmmaSharedBytes() > 227 * 1024)
    return "the wgmma GEMM tiling needs 2 or more stages within 227 KiB";
  return "";
}

std::string qc::Int8GemmKernelConfig::finalize() {
  if (n <= 0 || k <= 0)
    return "N and K must be positive";
  if (k >= (int64_t(1) << 17))
    return "K must be below 2^17 (i32 accumulators could overflow)";
  if (fp8 && !wgmma)
    return "FP8 E4M3 matmuls run on wgmma: compile for a target with wgmma "
           "(sm_90a) or for the host";
  if (!wgmma)
    return tile.check(k, /*elemBytes=*/1, /*mmaK=*/32);
  if (k % 16 != 0)
    return "K must be a multiple of 16 (16-byte rows for cp.async)";
  return checkWgmmaGemmTile(tile, /*elemBytes=*/1);
}

std::string qc::Fp16GemmKernelConfig::finalize() {
  if (n <= 0 || k <= 0)
    return "N and K must be positive";
  if (!wgmma)
    return tile.check(k, /*elemBytes=*/2, /*mmaK=*/16);
  if (k % 8 != 0)
    return "K must be a multiple of 8 (16-byte rows for cp.async)";
  return checkWgmmaGemmTile(tile, /*elemBytes=*/2);
}

std::string qc::WeightOnlyMmaKernelConfig::finalize() {
  if (std::string err = checkWeight(); !err.empty())
    return err;
  if (groupSize % 8 != 0)
    return "the group size must be a multiple of 8";
  if ((k * bits / 8) % 16 != 0 || (k * bits) % 8 != 0)
    return "K = " + std::to_string(k) +
           " gives packed weight rows that are not a whole number of 16-byte "
           "chunks (K must be a multiple of " +
           std::to_string(128 / bits) + ")";
  // The packed weight stages are smaller than f16 ones: the shared memory
  // is checked below, with sharedBytes().
  std::string err =
      tile.check(k, /*elemBytes=*/2, /*mmaK=*/16, /*checkShared=*/false);
  if (!err.empty())
    return err;
  if ((tile.blockK * bits / 8) % 16 != 0)
    return "block K must hold whole 16-byte chunks of packed weights";
  if (sharedBytes() > kMaxStaticSharedBytes)
    return "tiles need " + std::to_string(sharedBytes()) +
           " bytes of shared memory, over the 48 KiB static limit";
  return "";
}

std::string qc::WeightOnlyFragKernelConfig::finalize() {
  if (std::string err = checkWeight(/*readsFloatMinimum=*/true); !err.empty())
    return err;
  if (groupSize % 16 != 0)
    return "the group size must be a multiple of 16 (one scale per mma K "
           "step)";
  if (k % unitK() != 0)
    return "K = " + std::to_string(k) + " is not a multiple of the " +
           std::to_string(unitK()) + "-channel mma_frag unit";
  if (!llvm::is_contained({1, 2, 4, 8, 16, 32, 64}, mTile))
    return "the M tile must be 1, 2, 4, 8 (dot path), 16, 32 or 64";
  if (nBlocks != 1 && nBlocks != 2 && nBlocks != 4)
    return "n_blocks must be 1, 2 or 4";
  if (n % (16 * nBlocks) != 0)
    return "N = " + std::to_string(n) + " is not a multiple of " +
           std::to_string(16 * nBlocks) + " channels (n_blocks x 16)";
  if (warpsK < 1 || warpsK > 16 || stages < 2)
    return "warps_k must be in [1, 16] and stages at least 2";
  if (prefetch < 1 || prefetch > 4)
    return "the weight prefetch depth must be in [1, 4]";
  if (stepUnits < 1 || stepUnits > 4)
    return "the units per step must be in [1, 4]";
  if (numAcc() > 64)
    return "an M tile of " + std::to_string(mTile) + " with " +
           std::to_string(nBlocks) +
           " channel blocks needs more than 64 accumulators per lane";
  if (sharedBytes() > kMaxStaticSharedBytes)
    return "tiles need " + std::to_string(sharedBytes()) +
           " bytes of shared memory, over the 48 KiB static limit";
  return "";
}

std::string qc::WeightOnlyWgmmaKernelConfig::finalize() {
  if (std::string err = checkWeight(); !err.empty())
    return err;
  if (groupSize % 16 != 0)
    return "the group size must be a multiple of 16 (one scale per wgmma K "
           "step)";
  if (k % unitK() != 0 || k % 8 != 0)
    return "K = " + std::to_string(k) + " is not a multiple of the " +
           std::to_string(unitK()) + "-channel mma_frag unit";
  if (warpgroups != 1 && warpgroups != 2)
    return "warpgroups must be 1 or 2";
  if (n % channelsPerCta() != 0)
    return "N = " + std::to_string(n) + " is not a multiple of " +
           std::to_string(channelsPerCta()) + " channels (64 per warpgroup)";
  if (!llvm::is_contained({64, 128, 256}, tokens))
    return "the token tile (wgmma N) must be 64, 128 or 256";
  if (stages < 2)
    return "stages must be at least 2";
  if (prefetch < 1 || prefetch > 4)
    return "the weight prefetch depth must be in [1, 4]";
  if (sharedBytes() > 227 * 1024)
    return "tiles need " + std::to_string(sharedBytes()) +
           " bytes of shared memory, over the 227 KiB limit";
  return "";
}

std::string qc::FragReduceKernelConfig::finalize() {
  if (n <= 0 || n % 2 != 0)
    return "N must be positive and even";
  if (splits < 2)
    return "a reduction needs at least two splits";
  if (threads < 32 || threads > 1024 || threads % 32 != 0)
    return "threads must be a multiple of 32 in [32, 1024]";
  return "";
}

std::string qc::RowNormKernelConfig::finalize() {
  if (k <= 0)
    return "K must be positive";
  if (!(epsilon >= 0.0f && std::isfinite(epsilon)))
    return "epsilon must be non-negative and finite";
  int64_t eb = kernelElemBytes(io);
  if (vecElems == 0)
    vecElems = widestRowVector(k, eb);
  if (vecElems <= 0 || k % vecElems != 0 || vecElems * eb > 16 ||
      (vecElems & (vecElems - 1)) != 0)
    return "the load width must be a power of two dividing K and at most 16 "
           "bytes";
  if (vecsPerThread <= 0)
    return "vecsPerThread must be positive";
  if (threads == 0) {
    int64_t want = (vecs() + vecsPerThread - 1) / vecsPerThread;
    threads =
        std::min<int64_t>(1024, std::max<int64_t>(32, (want + 31) / 32 * 32));
  }
  if (threads <= 0 || threads % 32 != 0 || threads > 1024)
    return "threads must be a multiple of 32 up to 1024";
  if (slots() > maxSlots)
    return "a row of " + std::to_string(k) + " elements needs " +
           std::to_string(slots()) + " vectors per thread (at most " +
           std::to_string(maxSlots) + ")";
  if (quantize && io == KernelElem::BF16)
    return "the fused activation quantization takes f16 or f32 rows";
  return "";
}
