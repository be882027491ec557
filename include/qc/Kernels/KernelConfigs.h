//===- KernelConfigs.h - What each GPU kernel is built from ----*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The configuration of every GPU kernel quant builds: one struct per kernel,
// spelling out its tiling, memory path and instruction choice, with the
// checks (`finalize`) that say whether a shape fits. Plain data: the kernel
// family registry (KernelFamilies.h), the passes that choose kernels and the
// builders (qc/Conversion/QCToNVVM/KernelBuilders.h) all use these structs,
// but only the builders link the NVVM code that emits the kernels.
//
//===----------------------------------------------------------------------===//

#ifndef QC_KERNELS_KERNELCONFIGS_H
#define QC_KERNELS_KERNELCONFIGS_H

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

namespace qc {

/// Element types the glue kernels read and write.
enum class KernelElem { F32, F16, BF16 };

/// Bytes of one element of `e`.
inline int64_t kernelElemBytes(KernelElem e) {
  return e == KernelElem::F32 ? 4 : 2;
}

/// The widest power-of-two element count of at most 16 bytes that divides
/// `k` (elements of `elemBytes`): the vector width of a row kernel's loads,
/// which keeps every row start aligned.
inline int64_t widestRowVector(int64_t k, int64_t elemBytes) {
  for (int64_t v = 16 / elemBytes; v > 1; v /= 2)
    if (k % v == 0)
      return v;
  return 1;
}

/// Static shared memory a kernel may declare (every GPU target's limit
/// without the dynamic opt-in).
inline constexpr int64_t kMaxStaticSharedBytes = 48 * 1024;

/// Configuration of the weight-only GEMV kernel (small M).
///
/// Tiling: one warp owns `rowsPerWarp` output channels n; a block holds
/// `warpsPerBlock` warps; blockIdx.y walks the M rows in tiles of `mTile`
/// (every thread keeps mTile x rowsPerWarp fp32 accumulators).
/// Memory path: each lane streams its weight row(s) from global memory in
/// `vecBytes`-wide loads (16 bytes when the row and group sizes allow),
/// consecutive lanes reading consecutive chunks (fully coalesced); the
/// activation chunk for the same k range is loaded once per m row and reused
/// for all rows of the warp. No shared memory: activations are small and hit
/// L1/L2.
/// Instructions: no int->float converts: a field u is OR-ed into the
/// mantissa of a power of two (2^23 in fp32, 1024 in f16) and one subtract
/// of (magic + zero point) yields u - z exactly; symmetric (signed) fields
/// are first made unsigned by flipping their sign bits with one XOR per
/// word. With f16 activations (`halfMath`) two weights are dequantized per
/// 32-bit op into f16x2 and multiplied with packed HFMA2; otherwise fp32
/// FMAs. Each chunk's partial dot product is scaled once and accumulated in
/// fp32. A butterfly
/// shuffle (shfl.sync.bfly) reduces the warp's partial sums; lane 0 adds the
/// bias and stores.
/// The GEMV family's default row tiles (qc-outline-gpu-kernels `m-tiles`):
/// one kernel per tile, M > 8 rows run ceil(M / 8) passes over the weight.
/// The 8-row tile is 6-27% faster than two 4-row passes at M = 16..64 on an
/// H200 and a 16-row one is slower (208 registers, 2 blocks per SM):
/// benchmarks/gpu/results/2026-11-26-h200-small-m/NOTES.md.
inline constexpr std::array<int64_t, 4> kDefaultGemvRowTiles = {1, 2, 4, 8};

/// The packed weight every weight-only family's config starts from: an N x
/// K weight of `bits` bits with one scale (and zero point) per output
/// channel and group of `groupSize` input channels, or for the whole tensor.
struct WeightOnlyWeightConfig {
  int64_t n = 0, k = 0;
  /// The kernel starts by prefetching its CTA's weight bytes into L2
  /// (cp.async.bulk.prefetch.L2, sm_90) and marks that prologue
  /// (kWaitAfterAttrName) so that qc-gpu-dependent-launch puts the wait for
  /// the previous kernel after it: the weights, which no earlier kernel
  /// writes, stream in while that kernel finishes. Set by
  /// qc-outline-gpu-kernels `weight-prefetch` on targets with dependent
  /// launch (TargetInfo::dependentLaunch).
  bool l2Prefetch = false;
  /// Weight bits: 4 or 8.
  unsigned bits = 4;
  /// Input channels per scale; k for per-channel.
  int64_t groupSize = 0;
  /// One scale (and zero point) for the whole tensor.
  bool perTensor = false;
  bool symmetric = true;
  /// Float minima (scheme `minimum`): w = q * s + m with unsigned q and the
  /// minimum m of each scale in the zeros argument, f16 when `minimumF16`,
  /// else f32. Read by the GEMV and frag families (frag: its mma.sync
  /// kernels; not its wgmma variant).
  bool floatMinimum = false;
  bool minimumF16 = false;
  bool hasBias = false;

  /// Checks the bits and the shape and sets groupSize to K for per-channel
  /// and per-tensor scales; refuses float minima unless the family
  /// `readsFloatMinimum`. Returns an error message or "".
  std::string checkWeight(bool readsFloatMinimum = false);
};

struct GemvKernelConfig : WeightOnlyWeightConfig {
  /// Epilogue: y = r + (x W^T + b) with the residual r [M, N] (activation
  /// type) read by lane 0 next to the bias: the residual add of a decoder
  /// block fused (EpilogueFusion.h). Same rounding as the separate add: the
  /// matmul result is rounded to the activation type first.
  bool hasResidual = false;
  /// Prologue: the RMSNorm that feeds the matmul fused in (EpilogueFusion.h:
  /// normProducer). `x` is the norm's input and the activations are x /
  /// sqrt(mean(x^2) + eps) * g rounded to the activation type, per element
  /// the row norm kernel's arithmetic (f32; only the order of the row sum
  /// differs). Each CTA normalizes its M tile's rows into static shared
  /// memory before the main loop (one pass summing squares, a barrier, one
  /// pass normalizing, a barrier) and the main loop reads them there: the
  /// norm kernel, its launch and its output's round trip through global
  /// memory are gone. The norm weight g [K] (`normWeight`) is the last
  /// kernel argument. Needs mTile * K activations in 48 KiB.
  bool normPrologue = false;
  float normEpsilon = 1e-5f;
  /// Epilogue: the gated MLP's SiLU * mul fused (EpilogueFusion.h
  /// swiGluUser). The weight's N rows are gate [0, N/2) and up [N/2, N); a
  /// warp's rowsPerWarp rows are rowsPerWarp / 2 gate rows j and the up rows
  /// N/2 + j, and lane 0 writes y[m, j] = silu(g) * u with g and u rounded
  /// to the activation type first and silu in f32 (the glue's arithmetic):
  /// y has N/2 channels. Needs an even rowsPerWarp and no residual.
  bool swiGlu = false;
  KernelElem normWeight = KernelElem::F32;
  /// Activation/result element type: f16, bf16 or f32 (f32 accumulation;
  /// a 16-bit result rounded to nearest even). Packed half math (halfMath,
  /// the f16x2 magic-number dequant) is f16 only: bf16 takes the fp32 path
  /// (codes to f32 by the 2^23 magic number, f32 FMAs; a bf16x2 FMA would
  /// round every partial sum to 8 bits of mantissa).
  KernelElem act = KernelElem::F16;
  /// Bytes of one activation.
  int64_t actBytes() const { return act == KernelElem::F32 ? 4 : 2; }
  /// Scale element type: f16 or f32 (zero points are i8 bit patterns, float
  /// minima f16 or f32: minimumF16).
  bool scaleF16 = false;
  /// With f16 activations: dequantize two weights at a time straight into
  /// f16x2 (magic number 1024 + u in the mantissa) and multiply-accumulate
  /// with packed HFMA2 over one load chunk (at most 32 values), then widen
  /// the chunk's partial sum to fp32. Halves the instruction count per
  /// weight; the partial sums carry f16 rounding (about 1e-3 relative).
  bool halfMath = true;
  int64_t warpsPerBlock = 4;
  int64_t rowsPerWarp = 2;
  int64_t mTile = 4;
  /// Load chunks per lane per loop iteration (bytes in flight per lane =
  /// rowsPerWarp x chunksPerIter x vecBytes).
  int64_t chunksPerIter = 1;
  /// Bytes per weight load; 0 picks the widest of 16/8/4/2/1 that divides the
  /// row and keeps a load inside one group.
  int64_t vecBytes = 0;

  /// Picks vecBytes when 0 and checks the shape; returns an error message or
  /// the empty string.
  std::string finalize();
  /// Output channels: n, or n / 2 with the SwiGLU epilogue.
  int64_t outChannels() const { return swiGlu ? n / 2 : n; }
  /// Grid size for M rows: {ceil(outChannels / channels per CTA), ceil(M /
  /// mTile)}.
  std::array<int64_t, 2> grid(int64_t m) const;
  int64_t blockSize() const { return 32 * warpsPerBlock; }
  /// Static shared memory of the norm prologue: the normalized M tile
  /// (activation type) and one partial sum per row and warp.
  int64_t normSharedBytes() const {
    return mTile * k * actBytes() + mTile * warpsPerBlock * 4;
  }
};

/// Tiling of the tensor-core GEMM kernels (mma.sync), shared by the INT8,
/// fp16 and weight-only builders.
///
/// Tiling: a block computes a `blockM` x `blockN` tile of y; its
/// `warpsM` x `warpsN` warps each own a (blockM / warpsM) x (blockN / warpsN)
/// sub-tile made of m16 x n8 mma tiles whose accumulators stay in registers
/// for the whole K loop. blockIdx.x walks N tiles, blockIdx.y M tiles.
/// Memory path: each K step stages a blockM x blockK tile of the activations
/// and a blockN x blockK tile of the weights (both K-contiguous, exactly as
/// they lie in global memory) in shared memory with 16-byte cp.async copies
/// (cache global: L2 only), `stages` buffers deep (cp.async.wait_group keeps
/// stages - 1 tiles in flight while the current one is multiplied). Shared
/// rows are padded by 16 bytes, which makes both the cp.async stores and the
/// ldmatrix reads bank-conflict free. Rows past M or N and chunks past K are
/// zero-filled (cp.async src-size 0), so any M and N work; K rows must be a
/// whole number of 16-byte chunks.
/// Instructions: fragments are read with ldmatrix.x4 (m8n8 b16; for INT8 the
/// b16 pairs carry the four s8 values of the mma fragment, whose layout is
/// the same in bytes), then mma.sync row.col.
struct MmaTileConfig {
  int64_t blockM = 128, blockN = 128;
  /// K elements per pipeline stage (a multiple of the mma K).
  int64_t blockK = 64;
  int64_t warpsM = 2, warpsN = 4;
  /// Shared-memory buffers in the cp.async pipeline (>= 2).
  int64_t stages = 2;
  /// The wgmma GEMMs' warp-specialized pipeline: a producer warpgroup (one
  /// thread of it) fills the stages with TMA tensor copies (128-byte
  /// swizzle, zero fill past the tensor's edges) and signals a "full"
  /// mbarrier per stage; the warpsM x warpsN consumer warps wait on it,
  /// issue the wgmmas and release the stage through an "empty" mbarrier.
  /// The operands reach the kernel as two TMA tensor maps (qc-lower-gpu-
  /// launches encodes them at launch: KernelArg::InputMap / WeightMap).
  bool tma = false;
  /// With `tma`: a persistent grid of one CTA per SM (the launch's `ctas`),
  /// each CTA walking the output tiles bid, bid + P, ...; its producer fills
  /// the next tile's stages while its MMA warpgroups run the epilogue.
  bool persistent = false;

  /// Threads per CTA: the MMA warps, plus the producer warpgroup with `tma`.
  int64_t blockSize() const { return 32 * warpsM * warpsN + (tma ? 128 : 0); }
  /// Grid for M rows: {ceil(n / blockN), ceil(M / blockM)}.
  std::array<int64_t, 2> grid(int64_t n, int64_t m) const {
    return {(n + blockN - 1) / blockN, (m + blockM - 1) / blockM};
  }
  /// Static shared memory the kernel declares, in bytes, for elements of
  /// `elemBytes` bytes.
  int64_t sharedBytes(int64_t elemBytes) const {
    return stages * (blockM + blockN) * (blockK * elemBytes + 16);
  }
  /// The wgmma GEMMs' stages (x and w rows of 128 bytes each): one stage's
  /// bytes; whether they are dynamic shared memory (past the static limit);
  /// the bytes the kernel declares (static) or its launch passes (dynamic:
  /// 1 KiB of alignment slack more); what the launch record passes (0:
  /// static).
  int64_t wgmmaStageBytes() const { return (blockM + blockN) * 128; }
  bool wgmmaDynamicShared() const {
    return stages * wgmmaStageBytes() > kMaxStaticSharedBytes;
  }
  int64_t wgmmaSharedBytes() const {
    return stages * wgmmaStageBytes() + (wgmmaDynamicShared() ? 1024 : 0);
  }
  int64_t wgmmaLaunchSharedBytes() const {
    return wgmmaDynamicShared() ? wgmmaSharedBytes() : 0;
  }
  /// Checks the tiling for a K x `elemBytes` row and an mma of K depth
  /// `mmaK`; returns an error message or the empty string. `checkShared`
  /// also checks sharedBytes(elemBytes) against the static limit (the
  /// weight-only kernel, whose weight stages are packed, checks its own).
  std::string check(int64_t k, int64_t elemBytes, int64_t mmaK,
                    bool checkShared = true) const;
};

/// Configuration of the W8A8 tensor-core GEMM:
/// y[m, n] = (sum_k qx[m, k] * qw[n, k]) * sx[m or 0] * sw[n or 0] (+ b[n]).
///
/// The i32 accumulators come from mma.sync m16n8k32 s8 x s8 -> s32 (exact:
/// no overflow for K < 2^17). Epilogue, fused, from registers: each i32 is
/// converted to f32 (exact below 2^24), multiplied by the activation scale of
/// its row and the weight scale of its column, the bias added, and the value
/// stored as f16 or f32 (two adjacent columns per store when N is even).
/// Weights: qc.packed_weight, symmetric INT8, row_major layout (N x K bytes,
/// the mma's "col" B operand as is). Requirements: K % 16 == 0 (16-byte
/// rows for cp.async); any N and M.
struct Int8GemmKernelConfig {
  int64_t n = 0, k = 0;
  /// Activation scales: one per row (dynamic per-token) or one in all.
  bool perTokenAct = true;
  /// Weight scales: one per output channel or one in all.
  bool perTensorWeight = false;
  /// Weight scale element type f16 (else f32). Activation scales are f32.
  bool weightScaleF16 = false;
  bool hasBias = false;
  /// Result (and bias) element type f16, else f32.
  bool outF16 = true;
  /// Hopper (sm_90a; buildInt8WgmmaGemmKernel): the fp16 GEMM's wgmma
  /// pipeline (Fp16GemmKernelConfig) on 8-bit tiles, wgmma m64nNk32 s8 x s8
  /// -> s32 (or e4m3 x e4m3 -> f32 with `fp8`), blockK = 128 elements (the
  /// 128 swizzled bytes); the same epilogue. INT8 on wgmma is
  /// qc-select-matmul's `wgmma-int8` (default on; validated on an H100 in
  /// run 7); FP8 always runs here, promoting each step's sums (128 K) into
  /// f32 registers, 128 channels per CTA.
  bool wgmma = false;
  /// FP8 E4M3 operands (f32 accumulators; the epilogue skips the i32 ->
  /// f32 conversion). Needs `wgmma`.
  bool fp8 = false;
  /// FP8: whether each step's wgmma sums are promoted into a second set of
  /// f32 registers (the tensor cores keep about 14 significant bits). Both
  /// sets fit in registers up to blockN = 192 (239 registers, no spills;
  /// the default FP8 tiling is 128 wide); a 256-wide tiling accumulates on
  /// the tensor cores alone (faster, error growing with K: 2e-3 relative
  /// at K = 8192 on an H100).
  bool fp8Promote() const { return fp8 && tile.blockN <= 192; }
  MmaTileConfig tile;

  /// Checks the shape and tiling; returns an error message or "".
  std::string finalize();
};

/// Configuration of the fp16 tensor-core GEMM for unquantized layers:
/// y[m, n] = sum_k x[m, k] * w[n, k] (+ b[n]) with f16 x and w (N x K, row
/// major), mma.sync m16n8k16 f16 x f16 -> f32, f32 accumulation, the bias
/// added in f32 and the result stored as f16 or f32. Same tiling and memory
/// path as the INT8 kernel (MmaTileConfig, blockK in f16 elements).
/// Requirements: K % 8 == 0; any N and M.
///
/// With `wgmma` (sm_90a; buildFp16WgmmaGemmKernel): a CTA of blockM / 64
/// warpgroups (warpsM = blockM / 16 warps of 16 rows, warpsN = 1) owns
/// blockM rows x blockN channels; per 64-wide K step x and w tiles are
/// copied by cp.async into 128-byte-swizzled stages (`stages` deep, dynamic
/// shared memory past 48 KiB, zero fill past M, N and K) and each
/// warpgroup issues 4 wgmma.mma_async m64n<blockN>k16 f32.f16.f16 with both
/// operands from K-major SW128 descriptors (its 64 rows of the x tile);
/// one commit group per step, one left in flight from 4 stages on. The
/// epilogue adds the bias in f32 and stores column pairs from registers.
struct Fp16GemmKernelConfig {
  int64_t n = 0, k = 0;
  bool hasBias = false;
  bool outF16 = true;
  bool wgmma = false;
  MmaTileConfig tile{128, 128, 32, 2, 4, 2};

  std::string finalize();
};

/// Configuration of the activation quantization kernel (the GPU form of
/// qc.quantize_act), symmetric INT8 with q = clamp(roundeven(x / s), -127,
/// 127), or with `fp8` E4M3 with q = e4m3(x / s) (cvt.rn.satfinite: round to
/// nearest even, saturating to +-448, qc/Dialect/QC/Utils/Fp8.h) and range
/// 448 in place of 127:
/// - dynamic per-token: s = max_k |x[m, k]| / 127 per row, s = 1 for an
///   all-zero row (the convention of the host lowering, bit for bit: true
///   IEEE division, round half to even);
/// - static per-tensor: s = `staticScale`, a compile-time constant.
/// The quotient is clamped to [-127, 127] before rounding (same result as
/// clamping after). Difference from the host lowering: a NaN in a row is
/// ignored by the max (fmax) instead of propagating.
///
/// Tiling: one block per row (blockIdx.x = row), `threads` threads striding
/// over the row `vecElems` elements at a time (16-byte loads for f16 when K
/// allows). Dynamic mode reduces |x| with warp butterfly shuffles and a
/// shared-memory step across warps, then re-reads the row (an L1/L2 hit) to
/// quantize it; thread 0 writes the row's scale. Static mode writes scales[0]
/// from block 0.
struct ActQuantKernelConfig {
  int64_t k = 0;
  bool dynamicPerToken = true;
  float staticScale = 1.0f;
  /// Input element type f16, else f32.
  bool inF16 = true;
  /// E4M3 codes out (else INT8).
  bool fp8 = false;
  int64_t threads = 128;
  /// Elements per load; 0 picks the widest of 8/4/2/1 (f16) or 4/2/1 (f32)
  /// that divides K.
  int64_t vecElems = 0;

  std::string finalize();
};

/// Configuration of the weight-only tensor-core GEMM (larger M):
/// y[m, n] = sum_k x[m, k] * (q[n, k] - z[n, g]) * s[n, g] (+ b[n]), f16 x.
///
/// Same tiling and activation path as the fp16 GEMM (MmaTileConfig, blockK
/// in f16 elements, mma.sync m16n8k16 f16 -> f32). The packed weight tile
/// (row_major: N x K * bits / 8 bytes, INT4 even k in the low nibble) is
/// staged raw with cp.async, `stages` deep; once per K step the block
/// dequantizes it into one f16 tile in shared memory (8 values per thread
/// step: one shared load, the group's scale and zero point from global
/// memory (L1-resident), (q - z) * s rounded to f16 (f16x2 magic-number
/// arithmetic with f16 scales, `halfDequant`; else in f32), one 16-byte
/// shared store), which ldmatrix then reads like the fp16 kernel's B tile.
/// Small M (<= 64) wants block M 16/32/64 with one or two warps along M (see
/// docs/performance.md); the default 128x128 tile is for prefill.
/// Requirements: K * bits / 8 % 16 == 0 (K % 16 for INT8, K % 32 for INT4),
/// group size % 8 == 0, f16 activations; any N and M. Kernel arguments are
/// those of the GEMV kernel, so one launch ABI serves both.
struct WeightOnlyMmaKernelConfig : WeightOnlyWeightConfig {
  /// Scale element type f16, else f32 (zero points are u8 bit patterns).
  bool scaleF16 = false;
  /// With f16 scales: dequantize two values per 32-bit op (magic number 1024
  /// + u in the f16 mantissa, HSUB2 of 1024 + z, HMUL2 by the scale): no
  /// int->float or float->half converts, the same f16 values as the f32
  /// path (both round the exact product (q - z) * s once).
  bool halfDequant = true;
  /// Epilogue: y = r + (x W^T + b) with the residual r [M, N] (f16), passed
  /// as the last kernel argument (as in the GEMV family).
  bool hasResidual = false;
  MmaTileConfig tile{128, 128, 32, 2, 4, 2};

  std::string finalize();
  /// Static shared memory of the kernel in bytes.
  int64_t sharedBytes() const {
    return tile.stages * (tile.blockM * (tile.blockK * 2 + 16) +
                          tile.blockN * tile.blockK * bits / 8) +
           tile.blockN * (tile.blockK * 2 + 16);
  }
};

/// Configuration of the weight-only fragment-layout tensor-core kernel
/// (family `frag`): y[m, n] = sum_k x[m, k] * (q[n, k] - z[n, g]) * s[n, g]
/// (+ b[n]) (+ r[m, n]) with f16 x, y and scales, weights packed
/// `#qc.layout<mma_frag>` (qc/Dialect/QC/IR/FragLayout.h).
///
/// Tiling: a CTA of `warpsK` warps owns `nBlocks` x 16 output channels and
/// `mTile` rows (16, 32 or 64: mma m16 tiles; 1, 2, 4 or 8: the dot path
/// below); grid x = channel tiles x the
/// run-time split count S (gridDim.x / channel tiles), grid y = M tiles. The
/// S CTAs of a channel tile cut its K units (16 x kUnit weights, kUnit 64
/// for INT4, 32 for INT8) into S contiguous ranges; inside a CTA, warp w
/// takes units w, w + warpsK, ... of its range.
/// Memory path: each lane loads its 16 bytes of a unit per channel block
/// straight from global memory into registers (ld.global.nc, `prefetch`
/// units ahead: the weights never touch shared memory); activations for the
/// warpsK units of one step are staged by cp.async (`stages` deep, zero
/// fill past M and past the CTA's K range) and read with ldmatrix.x4.
/// Instructions: per 32-bit word a shift/and/or per f16x2 pair, HSUB2 of
/// (1024 + z) and HMUL2 by the group's scale (the GEMV's exact
/// dequantization: (q - z) * s rounded once to f16), then mma.sync
/// m16n8k16 f16 -> f32. At the end the warps add their accumulators
/// through shared memory and warp 0 writes: with S = 1 the epilogue (bias,
/// residual, f16 store); with S > 1 f32 partial sums ws[split, m, n] that
/// the reduction kernel (FragReduceKernelConfig) adds in split order
/// (deterministic).
/// The dot path (mTile < 16, the decode rows): the same CTAs, units, weight
/// loads and dequantization, but no tensor cores, no activation stages and
/// no barrier in the main loop. Lane l's 16 bytes of a unit are the B
/// fragments of channels g and g + 8 (g = l / 4) of each channel block at
/// the K pairs 16 s + 2 (l % 4) + 8 r (+0, +1); the lane loads the matching
/// f16x2 activation pairs of its mTile rows itself (ld.global.nc, 4 bytes
/// each, L1/L2 hits: every CTA reads the same rows), multiplies the
/// dequantized pairs into one f16x2 partial per row, channel and unit
/// (fma.rn.f16x2, 8 (INT4) / 4 (INT8) pairs: the GEMV's packed math on
/// scaled weights) and adds it to an f32 accumulator. Four lanes share a
/// channel: two butterfly shuffles add them, the warps meet in shared
/// memory, and the epilogue (or the split-K workspace) is the mma path's.
/// Requirements: N % (16 nBlocks) == 0, K % kUnit == 0, group size a
/// multiple of 16 (or per-channel / per-tensor), f16 scales.
struct WeightOnlyFragKernelConfig : WeightOnlyWeightConfig {
  /// Epilogue: y = r + (x W^T + b), r [M, N] f16 the last argument (after
  /// the workspace; with S > 1 the reduction kernel adds it).
  bool hasResidual = false;
  int64_t mTile = 16, nBlocks = 4, warpsK = 4, stages = 3;
  /// Weight units each warp has in flight (registers) ahead of the one it
  /// multiplies. One (the default) is what was measured (H100, 2026-12-07:
  /// 1.9 TB/s at M = 1 on 28672 x 8192, latency-bound); deeper is built and
  /// assembled but not yet measured.
  int64_t prefetch = 1;
  /// Units each warp multiplies per pipeline step (one barrier per step):
  /// a step stages warpsK x stepUnits units of activations.
  int64_t stepUnits = 1;
  /// Split-K through a thread-block cluster (sm_90), 0 for none: the S =
  /// clusterSplit CTAs of a channel tile are launched as one cluster of S
  /// along x (S <= 8); each writes its summed accumulators into its own
  /// shared memory, and after a cluster barrier the first CTA loads all the
  /// others' at once (mapa + ld.shared::cluster, S known here: one
  /// round-trip of latency), adds them in split order and runs the
  /// epilogue (bias, residual, f16): one launch, no workspace. Without it,
  /// S > 1 writes f32 partial sums to a workspace that the reduction kernel
  /// adds.
  int64_t clusterSplit = 0;

  std::string finalize();
  /// Input channels per mma_frag unit.
  int64_t unitK() const { return 256 / bits; }
  int64_t units() const { return k / unitK(); }
  /// Output channel tiles (grid x without split).
  int64_t channelTiles() const { return n / (16 * nBlocks); }
  int64_t blockSize() const { return 32 * warpsK; }
  /// The CUDA-core dot path (M tiles below one mma tile).
  bool dotPath() const { return mTile < 16; }
  /// f32 accumulators per lane: per row, channel block and 8-channel tile
  /// (dot path), or the m16n8 mma accumulators.
  int64_t numAcc() const {
    return dotPath() ? mTile * nBlocks * 2 : (mTile / 16) * nBlocks * 2 * 4;
  }
  /// Bytes of a padded activation row in shared memory (one step).
  int64_t aStride() const { return warpsK * stepUnits * unitK() * 2 + 16; }
  /// Static shared memory in bytes: the activation stages, reused for the
  /// warps' accumulators at the end (warps - 1 slots, and the last one for
  /// the CTA's sums a cluster reads).
  int64_t sharedBytes() const {
    int64_t reduce = warpsK * numAcc() * 32 * 4;
    return dotPath() ? reduce : std::max(stages * mTile * aStride(), reduce);
  }
};

/// Configuration of the Hopper large-M variant of the frag family
/// (sm_90a): the same y[m, n] = sum_k x[m, k] * (q[n, k] - z[n, g]) *
/// s[n, g] (+ b[n]) (+ r[m, n]) on the same `#qc.layout<mma_frag>` bytes,
/// through wgmma.
///
/// Tiling: the transposed problem y^T = W x^T. Warpgroup j of a CTA owns
/// output channels [64 j, 64 j + 64) of the CTA's `warpgroups` x 64, warp w
/// of it the mma_frag channel block of rows [16 w, 16 w + 16): exactly the
/// rows of the m64nNk16 A fragment that warp holds. A CTA covers `tokens`
/// rows of x (the wgmma N: 64, 128 or 256); grid (N / (64 warpgroups),
/// ceil(M / tokens)), block 128 x warpgroups; each CTA walks all of K in
/// 64-wide steps (one INT4 unit or two INT8 units per warp).
/// Memory path: weights as in the frag kernel, each lane's 16 bytes of its
/// warp's unit straight from global memory into registers (ld.global.nc,
/// `prefetch` steps ahead), never through shared memory; activations: per
/// step a `tokens` x 128-byte tile of x copied by cp.async.cg into
/// 128-byte-swizzled shared memory (16-byte chunk c of row r at chunk c ^ (r
/// % 8), tiles 1024-byte aligned), `stages` deep, zero fill past M and K;
/// past 48 KiB the stages are dynamic shared memory (the launch records
/// `shared_bytes`; 1 KiB more, the base aligned at run time).
/// Instructions: the frag kernel's f16x2 dequantization (HMUL2/HSUB2 on
/// magic-number halves) produces the wgmma A register fragment directly (an
/// mma_frag lane's registers {t0r0, t1r0, t0r1, t1r1} are the fragment's a0
/// .. a3); 4 x wgmma.mma_async.sync.aligned.m64n<tokens>k16.f32.f16.f16 per
/// step with B from a K-major, 128-byte-swizzle shared-memory descriptor
/// (start + 32 bytes per k16), one commit group per step, waited for before
/// the next step's barrier (stages - 1 steps of activations in flight).
/// Keeping a group in flight while the next step's weights are dequantized
/// does not pay with a register A operand (H100, 2026-12-07, run 6): a
/// one-step loop redefines the in-flight wgmma's A registers in the next
/// iteration (wrong results), and with two steps per loop body ptxas
/// serializes the wgmmas (warning C7513, 81 us against 64 us at 4096 x
/// 4096, M = 1024).
/// Epilogue: from registers, f32 acc + bias + residual rounded once to f16
/// (the frag kernel's rounding); each lane stores its channels g and g + 8
/// of the token columns it holds.
/// Requirements: N % (64 warpgroups) == 0, K % 8 == 0 and a multiple of the
/// mma_frag unit, group size a multiple of 16 (or per channel / tensor),
/// f16 scales, tokens x 128 x stages bytes within 227 KiB.
struct WeightOnlyWgmmaKernelConfig : WeightOnlyWeightConfig {
  /// Epilogue: y = r + (x W^T + b), r [M, N] f16 the last argument.
  bool hasResidual = false;
  int64_t warpgroups = 2, tokens = 128, stages = 3, prefetch = 1;

  std::string finalize();
  /// Input channels per mma_frag unit, and units per 64-wide K step.
  int64_t unitK() const { return 256 / bits; }
  int64_t unitsPerStep() const { return 64 / unitK(); }
  int64_t steps() const { return (k + 63) / 64; }
  int64_t channelsPerCta() const { return 64 * warpgroups; }
  int64_t blockSize() const { return 128 * warpgroups; }
  /// f32 accumulators per thread (the m64 x tokens tile over 128 threads).
  int64_t numAcc() const { return tokens / 2; }
  /// Bytes of one activation stage (tokens rows of 128 bytes).
  int64_t stageBytes() const { return tokens * 128; }
  /// Whether the stages live in dynamic shared memory (past 48 KiB).
  bool dynamicShared() const {
    return stages * stageBytes() > kMaxStaticSharedBytes;
  }
  /// Shared memory the kernel declares (static) or its launch passes
  /// (dynamic: 1 KiB of alignment slack more).
  int64_t sharedBytes() const {
    return stages * stageBytes() + (dynamicShared() ? 1024 : 0);
  }
};

/// Configuration of the split-K reduction of the frag family:
/// y[m, n] = sum_s ws[s, m, n] (+ b[n]) (+ r[m, n]) in f32 in split order,
/// rounded once to f16. One thread per two channels (f32x2 loads, one f16x2
/// store), `threads` per CTA, grid (ceil(N / (2 threads)), M).
struct FragReduceKernelConfig {
  int64_t n = 0, splits = 2;
  bool hasBias = false, hasResidual = false;
  int64_t threads = 128;

  std::string finalize();
  /// Channels per CTA.
  int64_t tileN() const { return 2 * threads; }
};

/// Configuration of the row normalization kernel (the GPU form of
/// qc.rms_norm and qc.layer_norm over the last dimension K):
/// - RMSNorm: y = x / sqrt(mean(x^2) + eps) * w;
/// - LayerNorm: y = (x - mean(x)) / sqrt(mean((x - mean)^2) + eps) * w + b
///   (two-pass variance, as the host lowering).
/// All arithmetic in f32 (inputs widened on load, the result rounded once to
/// the output type); per element the same operations as the host lowering
/// (x / rms, then * w), only the order of the row sums differs.
///
/// Tiling: one CTA per row (blockIdx.x = row). The CTA size comes from K:
/// about `vecsPerThread` (default 4) vector loads per thread, rounded up to
/// a multiple of 32, between 32 and 1024 threads; a row of up to 32 x 4
/// vectors (e.g. K <= 512 in f32, 1024 in f16) gets one warp, which skips the
/// shared-memory step and the barrier. Each thread keeps its `slots()`
/// vectors of the row in registers, so the row is read from global memory
/// exactly once and written once.
/// Memory path: x, w (and b) are read with `vecElems`-wide loads (16 bytes:
/// 4 x f32 or 8 x f16/bf16 when K allows: the widest of 16/8/4/2 bytes
/// whose element count divides K, so that every row start stays aligned;
/// an odd K uses scalar loads), consecutive threads reading consecutive
/// vectors (coalesced); y is stored the same way.
/// Reduction: per thread, then butterfly shuffles (shfl.sync.bfly) across
/// the warp, then one f32 per warp through shared memory (a barrier) summed
/// by every thread. LayerNorm reduces twice (sum, then the squared
/// deviations from registers) into two shared arrays, so one barrier each.
///
/// Fused activation quantization (`quantize`; qc-outline-gpu-kernels
/// `fuse-norm-quant`): the W8A8 layer after the norm quantizes its output
/// (a qc.quantize_act whose input is the norm's result and its only user).
/// The kernel then takes (x, w, b, q, scales, M) and, instead of storing
/// the normalized row, rounds it to `io` in registers, reduces its max |y|
/// across the CTA (shuffles + one f32 per warp) into the per-token scale
/// and writes the INT8 / E4M3 codes and the scale -- the values
/// buildActQuantKernel would compute from the stored row, bit for bit
/// (ActQuantEmitter.h), without writing and re-reading the row and without
/// a second launch.
struct RowNormKernelConfig {
  int64_t k = 0;
  bool layerNorm = false;
  /// The fused quantization: on, E4M3 codes (else INT8), dynamic per-token
  /// scales (else the static per-tensor `quantScale`).
  bool quantize = false, quantFp8 = false, quantDynamic = true;
  float quantScale = 1.0f;
  float epsilon = 1e-5f;
  /// Element type of x and y, of the weight and of the bias (LayerNorm).
  KernelElem io = KernelElem::F32, weight = KernelElem::F32,
             bias = KernelElem::F32;
  /// Threads per row (CTA size); 0 picks from K (see above).
  int64_t threads = 0;
  /// Elements per load; 0 picks the widest that divides K (<= 16 bytes).
  int64_t vecElems = 0;
  /// Target vector loads per thread when `threads` is picked.
  int64_t vecsPerThread = 4;
  /// Most vectors a thread may hold in registers; a longer row is refused
  /// (the caller keeps the linalg glue for it).
  int64_t maxSlots = 16;

  std::string finalize();
  /// Vectors per row.
  int64_t vecs() const { return k / vecElems; }
  /// Vectors each thread holds: ceil(vecs / threads).
  int64_t slots() const { return (vecs() + threads - 1) / threads; }
};

/// Configuration of the row argmax kernel (the GPU form of qc.argmax over
/// the last dimension K; greedy decoding on the device): out[m] = the first
/// index of the largest x[m, k] as i64, a NaN larger than every number (the
/// first NaN wins), a row of only -inf giving 0: numpy's argmax, bit for bit.
///
/// Tiling: one CTA per row (blockIdx.x = row) of `threads` threads; thread
/// t reads vectors t, t + threads, ... of the row (`vecElems` elements each,
/// 16-byte loads when K allows: coalesced), keeping its best (value, index)
/// in registers; since a thread visits increasing indices, a strict `>`
/// keeps the first maximum. Reduction: butterfly shuffles of (value,
/// index) pairs across the warp (ties to the smaller index), one pair per
/// warp through shared memory, and thread 0 folds the warps' pairs and
/// stores the index. The vocabulary row of a 128k-token model is read once
/// at DRAM speed by one CTA per sequence.
struct RowArgmaxKernelConfig {
  int64_t k = 0;
  KernelElem io = KernelElem::F32;
  /// Threads per row; 0 picks 1024 for rows of at least 16k elements, else
  /// enough for about 4 vectors per thread (a multiple of 32).
  int64_t threads = 0;
  /// Elements per load; 0 picks the widest that divides K (<= 16 bytes).
  int64_t vecElems = 0;

  std::string finalize();
  int64_t vecs() const { return k / vecElems; }
};

/// Configuration of the decode attention kernels over a KV cache (the GPU
/// form of qc.cache_attention; flash-decoding): query [B, T, H, D], caches
/// [L, B', KV, S, D] (B' the cache's batch extent, passed at run time), pos
/// [B] i64 in device memory. Query (b, t, h) at p = pos[b] + t attends to
/// keys 0 .. min(p, S - 1) of layer `layer`, sequence b, KV head h / G
/// (G = H / KV): out = sum_j softmax_j(scale * <q, k_j>) v_j, f32 math.
///
/// Two kernels, position-independent launches (nothing about pos is known
/// on the host, so a captured CUDA graph serves every step):
/// - `<name>_partial`, grid (numChunks * KV, T, B), one warp per CTA: CTA
///   (chunk, kv head, t, b) reads pos[b], exits when its chunk starts past
///   p (or past the effective chunk count, below), else streams keys
///   [chunk * len, min((chunk + 1) * len, p + 1, S)) of its KV head. Each
///   lane owns E = D / 32 consecutive elements of the head dimension: the G
///   query heads of the KV head are loaded once into registers (E x G values,
///   pre-scaled by scale * log2(e)), every key and value row is one
///   coalesced warp load (E-element vector per lane: 16 bytes for f32 D = 128
///   and f16 D = 256), the G dot products are reduced with butterfly
///   shuffles (every lane gets the score), and the online softmax (running
///   max m and sum l in f32, base-2 exponentials: ex2.approx) updates the
///   lane's E x G output accumulators. No shared memory. The CTA writes its
///   unnormalized partial (o[D], m, l) per query head to a f32 workspace
///   record of D + 4 floats (16-byte aligned).
/// - `<name>_combine`, grid (H, T, B), D threads: recomputes the number of
///   valid chunks from pos, merges their partials (max of m, then
///   sum_c 2^(m_c - M) (l_c, o_c)) and stores o / l in the query's type (0
///   for a query with no key: p < 0).
/// Chunking: `chunkLen` keys per chunk, by default the largest power of two
/// in [8, 256] that still gives ceil(S / len) * KV >= `targetCtas` (132: one
/// H100 wave for one token) CTAs, else 8. Queries with T > `maxSplitT`
/// (prefill) use one chunk of S keys instead (the kernels read T), so the
/// workspace stays B * T * H * (D + 4) floats; for T <= maxSplitT it is
/// B * T * H * numChunks * (D + 4) floats (workspaceChunks(T)).
///
/// Prefill (T > maxSplitT) takes a third kernel instead when
/// prefillUnsupported() is empty: `<name>_prefill`, FlashAttention-2
/// forward on tensor cores (buildPrefillAttentionKernel), grid (KV,
/// ceil(T / prefillTokens()), B), 4 warps: one CTA owns the prefillRows
/// query rows (t, g) of prefillTokens() consecutive tokens x the G heads of
/// one KV head and streams that head's keys in tiles of prefillKeys; no
/// workspace.
struct CacheAttentionKernelConfig {
  int64_t heads = 0, kvHeads = 0, seqLen = 0, headDim = 0, layer = 0;
  float scale = 1.0f;
  /// Element types of the query (and result) and of the caches.
  KernelElem query = KernelElem::F32, cache = KernelElem::F32;
  /// Keys per chunk; 0 picks (see above).
  int64_t chunkLen = 0;
  int64_t targetCtas = 132;
  /// Largest T that splits the sequence into chunks.
  int64_t maxSplitT = 16;
  /// Prefill kernel (T > maxSplitT): query rows per CTA (16 per warp) and
  /// keys per shared-memory tile; `prefill` false keeps the partial /
  /// combine pair for every T (the reference path).
  static constexpr int64_t prefillRows = 64, prefillKeys = 64;
  bool prefill = true;

  std::string finalize();
  int64_t group() const { return heads / kvHeads; }
  /// Head-dimension elements per lane.
  int64_t lanesElems() const { return headDim / 32; }
  int64_t numChunks() const { return (seqLen + chunkLen - 1) / chunkLen; }
  /// Floats per workspace record: o[D], m, l, padding to 16 bytes.
  int64_t recordFloats() const { return headDim + 4; }

  /// Why the prefill kernel does not run T > maxSplitT ("" when it does):
  /// the one home of that choice (outlining and the launch follow it). It
  /// needs `prefill`, 16-bit queries and caches of one type (f16 or bf16:
  /// the mma.sync operands; f32 queries keep the pair), D in {64, 128}
  /// and G <= prefillRows.
  std::string prefillUnsupported() const;
  bool usesPrefillKernel() const { return prefillUnsupported().empty(); }
  /// Tokens per prefill CTA: its rows are (t, g) pairs, t-major, so
  /// floor(prefillRows / G) tokens (rows past tokens x G idle).
  int64_t prefillTokens() const { return prefillRows / group(); }
  /// Bytes of the prefill kernel's static shared memory: one K and one V
  /// tile of prefillKeys rows of D elements, each row padded by 16 bytes.
  int64_t prefillSharedBytes() const {
    return 2 * prefillKeys * (headDim * 2 + 16);
  }
};

} // namespace qc

#endif // QC_KERNELS_KERNELCONFIGS_H
