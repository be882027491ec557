//===- KernelFamilies.cpp - The kernel family registry
//---------------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/Kernels/KernelFamilies.h"
#include "qc/Dialect/QC/IR/FragLayout.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::qc;
using ::qc::ActQuantKernelConfig;
using ::qc::CacheAttentionKernelConfig;
using ::qc::Fp16GemmKernelConfig;
using ::qc::GemvKernelConfig;
using ::qc::Int8GemmKernelConfig;
using ::qc::KernelArg;
using ::qc::KernelElem;
using ::qc::MatmulFamily;
using ::qc::MatmulShape;
using ::qc::MmaTileConfig;
using ::qc::RowArgmaxKernelConfig;
using ::qc::RowNormKernelConfig;
using ::qc::TargetInfo;
using ::qc::TilingOptions;
using ::qc::WeightOnlyFragKernelConfig;
using ::qc::WeightOnlyMmaKernelConfig;

namespace qc {

const char *kernelArgName(KernelArg arg) {
  switch (arg) {
  case KernelArg::Input:
    return "input";
  case KernelArg::InputScales:
    return "input_scales";
  case KernelArg::Weight:
    return "weight";
  case KernelArg::Scales:
    return "scales";
  case KernelArg::Zeros:
    return "zeros";
  case KernelArg::Bias:
    return "bias";
  case KernelArg::Output:
    return "output";
  case KernelArg::OutScales:
    return "out_scales";
  case KernelArg::Rows:
    return "rows";
  case KernelArg::Residual:
    return "residual";
  case KernelArg::NormWeight:
    return "norm_weight";
  case KernelArg::NormBias:
    return "norm_bias";
  case KernelArg::Workspace:
    return "workspace";
  case KernelArg::InputMap:
    return "input_map";
  case KernelArg::WeightMap:
    return "weight_map";
  }
  return "?";
}

//===----------------------------------------------------------------------===//
// Cost model (docs/passes.md)
//===----------------------------------------------------------------------===//

MatmulShape matmulShape(Value packed) {
  auto t = cast<PackedWeightType>(packed.getType());
  unsigned bits = t.getElementType().getIntOrFloatBitWidth();
  MatmulShape s{double(t.getN()), double(t.getK()), 0, bits};
  s.weightBytes = s.n * s.k * bits / 8;
  if (PackedWeightOp def = getPackedWeightDef(packed)) {
    double params = double(def.getScales().getType().getNumElements());
    s.weightBytes +=
        params * (def.getScales().getType().getElementTypeBitWidth() / 8);
    if (def.getZeros())
      s.weightBytes +=
          params * (def.getZeros().getType().getElementTypeBitWidth() / 8);
  } else {
    s.weightBytes += s.n * 4;
  }
  return s;
}

static double roundUp(double m, double to) { return std::ceil(m / to) * to; }

/// Weight-only kernels: bf16/f16 activations in and out (2 bytes). The GEMV
/// family streams the weight (its re-reads for M > 8 hit L2) and is
/// issue-bound by its per-row FMA work from a few rows on.
static double costGemv(const TargetInfo &g, const MatmulShape &s, double m) {
  double bytes = s.weightBytes + 2 * m * s.k + 2 * m * s.n;
  return std::max(bytes / (g.dramBandwidth * g.gemvBandwidthEff),
                  2 * m * s.n * s.k / (g.fp32Flops * g.gemvFmaEff));
}

/// The weight-only tensor-core kernel: 128-row M tiles each stream the
/// weight once; m16 MMA tiles pad M. A grid of few 128 x 128 CTAs (two
/// resident per SM) is bound by each CTA's walk over K.
static double costWoMma(const TargetInfo &g, const MatmulShape &s, double m) {
  double bytes = s.weightBytes * std::ceil(m / 128) + 2 * m * s.k + 2 * m * s.n;
  double ctas = std::ceil(s.n / 128) * std::ceil(m / 128);
  double waves = std::ceil(ctas / double(2 * g.smCount));
  return std::max({bytes / (g.dramBandwidth * g.mmaBandwidthEff),
                   2 * roundUp(m, 16) * s.n * s.k / g.fp16TensorFlops,
                   waves * std::ceil(s.k / 32) * g.mmaKStepSeconds});
}

/// gemv_mma: each M runs the faster of the two (the threshold is their
/// crossover).
static double costGemvMma(const TargetInfo &g, const MatmulShape &s, double m) {
  return std::min(costGemv(g, s, m), costWoMma(g, s, m));
}

/// A kernel launch inside a CUDA graph, launch gap included (H100,
/// 2026-12-07 run 3 profile: ~2 us per kernel of a decode step).
static constexpr double kLaunchSeconds = 2e-6;

int64_t fragSplitK(const TargetInfo &target, int64_t n, int64_t k,
                   unsigned bits, int64_t nBlocks, int64_t warpsK,
                   int64_t stepUnits) {
  int64_t tilesN = std::max<int64_t>(1, n / (16 * nBlocks));
  int64_t units = std::max<int64_t>(1, k / (256 / int64_t(bits ? bits : 4)));
  int64_t steps = units / (warpsK * stepUnits);
  // A short K walk is cheaper than the reduction kernel's launch.
  if (steps <= 8)
    return 1;
  int64_t splitK = (4 * target.smCount + tilesN - 1) / tilesN;
  int64_t most = target.clusters ? kMaxFragClusterSplit : 16;
  return std::clamp<int64_t>(
      splitK, 1, std::min<int64_t>(most, std::max<int64_t>(1, steps)));
}

bool fragClusterSplit(const TargetInfo &target, int64_t splitK) {
  return target.clusters && splitK > 1 && splitK <= kMaxFragClusterSplit;
}

/// The frag kernel (H100 figures of 2026-12-07, benchmarks/gpu/results/
/// 2026-12-07-h100-frag): M = 1 runs the dot path, which streams the weight
/// at ~0.87 of the GEMV's efficiency (0.83-1.28x the GEMV's time over the
/// Llama shapes); the tensor-core tiles (16 / 32 rows) stream it once per
/// 32 rows at ~0.7 of it (flat from M = 2 to 16), and their mma.sync work
/// with the per-tile dequantization reaches ~0.27 of the table's fp16 tensor
/// rate (~200 TFLOP/s at M = 64..256). Split-K adds the reduction launch
/// (none where the splits meet in a cluster's shared memory).
/// The frag kernel's time above the GEMV's that no byte or FLOP count
/// explains (H100, 2026-12-07 run 5 sweep, benchmarks/gpu/results/
/// 2026-12-07-h100-run5): +2.3..3.1 us at M = 1 on the Llama-7B and
/// SmolLM2 shapes, a floor of ~4.6 us where the GEMV takes 2-4 us.
static constexpr double kFragFixedSeconds = 2.5e-6;

static double costFrag(const TargetInfo &g, const MatmulShape &s, double m) {
  bool dot = m <= 1;
  double passes = dot ? 1 : std::ceil(m / 32);
  double eff = g.gemvBandwidthEff * (dot ? 0.87 : 0.7);
  double bytes = s.weightBytes * passes + 2 * m * s.k + 2 * m * s.n;
  double t = std::max(
      bytes / (g.dramBandwidth * eff),
      dot ? 0.0 : 2 * roundUp(m, 16) * s.n * s.k / (0.27 * g.fp16TensorFlops));
  int64_t split = fragSplitK(g, int64_t(s.n), int64_t(s.k), s.bits, 4, 4, 1);
  bool reduceLaunch = split > 1 && !fragClusterSplit(g, split);
  return t + kFragFixedSeconds +
         (reduceLaunch && m <= 32 ? kLaunchSeconds : 0.0);
}

/// The frag family's wgmma variant (sm_90a): 128-token tiles each stream
/// the weight once (L2 absorbs most re-reads); tensor time at the target's
/// wgmma throughput with M padded to the tile.
static double costFragWgmma(const TargetInfo &g, const MatmulShape &s,
                            double m) {
  double bytes = s.weightBytes * std::ceil(m / 128) + 2 * m * s.k + 2 * m * s.n;
  return std::max(bytes / (g.dramBandwidth * g.gemvBandwidthEff * 0.7),
                  2 * roundUp(m, 128) * s.n * s.k / g.wgmmaFlops) +
         kFragFixedSeconds;
}

int64_t fragWgmmaCrossover(const TargetInfo &target, const MatmulShape &shape) {
  if (!target.wgmma || target.wgmmaFlops <= 0)
    return 0;
  for (int64_t m = 1; m <= 8192; ++m)
    if (costFragWgmma(target, shape, double(m)) <
        costFrag(target, shape, double(m)))
      return m;
  return 0;
}

/// The frag family as selected: its wgmma variant from the crossover on.
static double costFragFamily(const TargetInfo &g, const MatmulShape &s,
                             double m) {
  int64_t at = fragWgmmaCrossover(g, s);
  return at && m >= double(at) ? costFragWgmma(g, s, m) : costFrag(g, s, m);
}

int64_t gemvMmaCrossover(const TargetInfo &target, const MatmulShape &shape,
                         int64_t limit) {
  for (int64_t m = 1; m <= limit; ++m)
    if (costWoMma(target, shape, double(m)) <
        costGemv(target, shape, double(m)))
      return m;
  return 0;
}

//===----------------------------------------------------------------------===//
// The families
//===----------------------------------------------------------------------===//

static const MatmulFamily kFamilies[] = {
    {KernelKind::Host, "host CPU code (linalg), the reference", "all", "-",
     false, false, nullptr},
    {KernelKind::Gemv,
     "CUDA-core GEMV, one warp per rows_per_warp output channels, one variant "
     "per M tile; weights dequantized in registers (magic-number f16x2)",
     "qc.wo_matmul (i4/i8, any granularity, f16/f32 activations)",
     "buildWeightOnlyGemvKernel", true, false, costGemv},
    {KernelKind::Mma,
     "weight-only tensor-core GEMM (mma.sync m16n8k16), weights dequantized "
     "to f16 in shared memory",
     "qc.wo_matmul (i4/i8, f16 activations, K * bits / 8 % 16 == 0)",
     "buildWeightOnlyMmaKernel", false, true, costWoMma},
    {KernelKind::GemvMma,
     "gemv for M < threshold, mma from it on (one branch on M)",
     "qc.wo_matmul (as mma)",
     "buildWeightOnlyGemvKernel + buildWeightOnlyMmaKernel", true, true,
     costGemvMma},
    {KernelKind::Int8Mma,
     "W8A8 tensor-core GEMM (mma.sync m16n8k32 s8), per-token x per-channel "
     "dequantization, bias and output cast in the epilogue",
     "qc.int8_matmul (+ its qc.quantize_act)",
     "buildInt8GemmKernel + buildActQuantKernel", false, true, nullptr},
    {KernelKind::Fp16Mma, "fp16 tensor-core GEMM (mma.sync m16n8k16)",
     "unquantized f16 qc.linear", "buildFp16GemmKernel", false, true, nullptr},
    {KernelKind::Adaptive,
     "gemv for M < threshold, per-token activation quantization + int8_mma "
     "on the same INT8 weight from it on",
     "qc.wo_matmul (symmetric per-channel i8, qc.batch_threshold)",
     "buildWeightOnlyGemvKernel + buildActQuantKernel + buildInt8GemmKernel",
     true, true, nullptr},
    {KernelKind::Frag,
     "weight-only tensor-core kernel on mma_frag weights: 16-byte loads "
     "straight into mma.sync B fragments (no shared memory), split-K over "
     "CTAs with a reduction kernel, M tiles 16/32",
     "qc.wo_matmul (i4/i8, f16 activations and scales, N % 16, K % 64 (i4) "
     "or 32 (i8), group size % 16)",
     "buildWeightOnlyFragKernel + buildFragReduceKernel (+ "
     "buildWeightOnlyWgmmaKernel from threshold on, sm_90a)",
     false, false, costFragFamily, /*fragSide=*/true},
};

ArrayRef<MatmulFamily> matmulFamilies() { return kFamilies; }

const MatmulFamily &matmulFamily(KernelKind kind) {
  for (const MatmulFamily &f : kFamilies)
    if (f.kind == kind)
      return f;
  llvm_unreachable("every kernel kind has a family");
}

//===----------------------------------------------------------------------===//
// Tilings
//===----------------------------------------------------------------------===//

GemvTilingAttr gemvTiling(MLIRContext *ctx, const TilingOptions &o) {
  SmallVector<int64_t> tiles = o.gemvMTiles;
  if (tiles.empty())
    tiles.assign(kDefaultGemvRowTiles.begin(), kDefaultGemvRowTiles.end());
  llvm::sort(tiles);
  tiles.erase(std::unique(tiles.begin(), tiles.end()), tiles.end());
  auto pick = [](int64_t v, int64_t def) { return v ? v : def; };
  return GemvTilingAttr::get(ctx, pick(o.gemvWarps, 4),
                             pick(o.gemvRowsPerWarp, 2), pick(o.gemvChunks, 1),
                             tiles);
}

MmaTilingAttr mmaTiling(MLIRContext *ctx, int64_t elemBytes,
                        const TilingOptions &o) {
  auto pick = [](int64_t v, int64_t def) { return v ? v : def; };
  return MmaTilingAttr::get(ctx, pick(o.mmaBlockM, 128), pick(o.mmaBlockN, 128),
                            pick(o.mmaBlockKBytes, 64) / elemBytes,
                            pick(o.mmaWarpsM, 2), pick(o.mmaWarpsN, 4),
                            pick(o.mmaStages, 2), /*tma=*/false,
                            /*persistent=*/false);
}

FragTilingAttr fragTiling(MLIRContext *ctx, const TargetInfo &target, int64_t n,
                          int64_t k, unsigned bits, const TilingOptions &o) {
  SmallVector<int64_t> tiles = o.fragMTiles;
  // Decode rows (M = 1) on the CUDA-core dot path, 2..32 on tensor cores.
  if (tiles.empty())
    tiles = {1, 16, 32};
  llvm::sort(tiles);
  tiles.erase(std::unique(tiles.begin(), tiles.end()), tiles.end());
  int64_t warpsK = o.fragWarpsK ? o.fragWarpsK : 4;
  int64_t nBlocks = o.fragNBlocks;
  if (!nBlocks) {
    nBlocks = tiles.back() >= 64 ? 2 : 4;
    while (nBlocks > 1 && (n % (16 * nBlocks)) != 0)
      nBlocks /= 2;
  }
  int64_t stages = o.fragStages ? o.fragStages : 3;
  int64_t prefetch = o.fragPrefetch ? o.fragPrefetch : 1;
  int64_t stepUnits = o.fragStepUnits ? o.fragStepUnits : 1;
  int64_t splitK = o.fragSplitK;
  if (!splitK)
    splitK = fragSplitK(target, n, k, bits, nBlocks, warpsK, stepUnits);
  return FragTilingAttr::get(ctx, warpsK, nBlocks, stages, splitK, prefetch,
                             stepUnits, tiles);
}

MmaTilingAttr wgmmaGemmTiling(MLIRContext *ctx, int64_t elemBytes,
                              const TilingOptions &o) {
  int64_t blockM = o.wgmmaTokens ? o.wgmmaTokens : 128;
  return MmaTilingAttr::get(ctx, blockM,
                            o.wgmmaChannels ? o.wgmmaChannels : 256,
                            /*blockK=*/128 / elemBytes, /*warpsM=*/blockM / 16,
                            /*warpsN=*/1, o.wgmmaStages ? o.wgmmaStages : 4,
                            o.wgmmaTma || o.wgmmaPersistent, o.wgmmaPersistent);
}

bool isWgmmaGemmTiling(MmaTilingAttr t, int64_t elemBytes) {
  return t && t.getWarpsN() == 1 && t.getWarpsM() * 16 == t.getBlockM() &&
         t.getBlockK() * elemBytes == 128;
}

MmaTilingAttr fragWgmmaTiling(MLIRContext *ctx, const TargetInfo &target,
                              int64_t n, int64_t k, const TilingOptions &o) {
  if (!target.wgmma || n % 64 != 0)
    return {};
  int64_t blockN = o.wgmmaChannels ? o.wgmmaChannels : n % 128 == 0 ? 128 : 64;
  if (n % blockN != 0)
    blockN = 64;
  return MmaTilingAttr::get(ctx, /*blockM=*/o.wgmmaTokens ? o.wgmmaTokens : 128,
                            blockN, /*blockK=*/64, /*warpsM=*/1,
                            /*warpsN=*/blockN / 16,
                            /*stages=*/o.wgmmaStages ? o.wgmmaStages : 3,
                            /*tma=*/false, /*persistent=*/false);
}

KernelAttr withTilings(KernelAttr kernel, const TilingOptions &options,
                       Value packed) {
  const MatmulFamily &f = matmulFamily(kernel.getKind());
  MLIRContext *ctx = kernel.getContext();
  GemvTilingAttr gemv = kernel.getGemv();
  MmaTilingAttr mma = kernel.getMma();
  if (f.gemvSide && !gemv)
    gemv = gemvTiling(ctx, options);
  bool int8 = kernel.getKind() == KernelKind::Int8Mma ||
              kernel.getKind() == KernelKind::Adaptive;
  bool fp8 = int8 && packed &&
             isa<Float8E4M3FNType>(
                 cast<PackedWeightType>(packed.getType()).getElementType());
  const TargetInfo *targetInfo = lookupTarget(kernel.getTarget());
  // wgmma GEMMs on targets with wgmma: fp16 and FP8 always, INT8 with
  // wgmma-int8.
  bool wgmma = targetInfo && targetInfo->wgmma &&
               (kernel.getKind() == KernelKind::Fp16Mma || fp8 ||
                (int8 && options.wgmmaInt8));
  if (f.mmaSide && !mma) {
    TilingOptions o = options;
    // FP8 adds each step's sums into a second set of f32 registers
    // (promotion): 128 channels per CTA keep both sets in registers.
    if (fp8 && !o.wgmmaChannels)
      o.wgmmaChannels = 128;
    if (fp8 && o.wgmmaTmaFp8)
      o.wgmmaTma = true;
    mma = wgmma ? wgmmaGemmTiling(ctx, int8 ? 1 : 2, o)
                : mmaTiling(ctx, int8 ? 1 : 2, o);
  }
  FragTilingAttr frag = kernel.getFrag();
  if (f.fragSide && !frag && packed) {
    auto t = cast<PackedWeightType>(packed.getType());
    const TargetInfo *target = lookupTarget(kernel.getTarget());
    if (target)
      frag = fragTiling(ctx, *target, t.getN(), t.getK(),
                        t.getElementType().getIntOrFloatBitWidth(), options);
  }
  int64_t threshold = kernel.getThreshold();
  // The frag family's wgmma variant from the cost model's crossover on
  // (not for float-minimum weights, which it does not read).
  PackedWeightOp packedDef = packed ? getPackedWeightDef(packed) : nullptr;
  if (f.fragSide && !mma && packed &&
      !(packedDef && packedDef.getScheme().hasFloatMinimum()))
    if (const TargetInfo *target = lookupTarget(kernel.getTarget())) {
      auto t = cast<PackedWeightType>(packed.getType());
      int64_t at = fragWgmmaCrossover(*target, matmulShape(packed));
      if (MmaTilingAttr w =
              fragWgmmaTiling(ctx, *target, t.getN(), t.getK(), options);
          w && at > 0) {
        mma = w;
        threshold = at;
      }
    }
  return KernelAttr::get(ctx, kernel.getKind(), kernel.getTarget(), threshold,
                         gemv, mma, frag);
}

/// The builders' tile config of `t`.
static MmaTileConfig tileOf(MmaTilingAttr t) {
  MmaTileConfig c;
  c.blockM = t.getBlockM();
  c.blockN = t.getBlockN();
  c.blockK = t.getBlockK();
  c.warpsM = t.getWarpsM();
  c.warpsN = t.getWarpsN();
  c.stages = t.getStages();
  c.tma = t.getTma();
  c.persistent = t.getPersistent();
  return c;
}

//===----------------------------------------------------------------------===//
// Configs from ops
//===----------------------------------------------------------------------===//

/// The weight facts of `pw` (and whether there is a `bias`) that every
/// weight-only config starts from.
static ::qc::WeightOnlyWeightConfig weightOf(PackedWeightOp pw, Value bias) {
  SchemeAttr scheme = pw.getScheme();
  ::qc::WeightOnlyWeightConfig w;
  w.n = pw.getResult().getType().getN();
  w.k = pw.getResult().getType().getK();
  w.bits = scheme.getWeightBits();
  w.perTensor = scheme.getGranularity() == Granularity::PerTensor;
  w.groupSize = scheme.getGranularity() == Granularity::PerGroup
                    ? scheme.getGroupSize()
                    : w.k;
  w.symmetric = scheme.getSymmetric();
  w.floatMinimum = scheme.hasFloatMinimum();
  w.minimumF16 = w.floatMinimum && scheme.getMinimum().isF16();
  w.hasBias = static_cast<bool>(bias);
  return w;
}

/// Derives the GEMV config from a weight-only matmul; on failure returns the
/// reason.
FailureOr<GemvKernelConfig> gemvConfig(WeightOnlyMatmulOp op,
                                       GemvTilingAttr tiling, int64_t mTile,
                                       std::string &reason) {
  PackedWeightOp pw = getPackedWeightDef(op.getWeight());
  if (!pw) {
    reason = "the weight must come from qc.packed_weight";
    return failure();
  }
  if (pw.getLayout().getKind() != LayoutKind::RowMajor) {
    reason = "the gemv kernel reads row_major packed weights, got layout '" +
             stringifyLayoutKind(pw.getLayout().getKind()).str() + "'";
    return failure();
  }
  GemvKernelConfig cfg;
  static_cast<::qc::WeightOnlyWeightConfig &>(cfg) = weightOf(pw, op.getBias());
  Type act = op.getInput().getType().getElementType();
  FailureOr<KernelElem> actElem = kernelElemOf(act);
  if (failed(actElem)) {
    reason = "the GEMV kernel takes f32, f16 or bf16 activations";
    return failure();
  }
  cfg.act = *actElem;
  cfg.scaleF16 = pw.getScales().getType().getElementType().isF16();
  if (!tiling)
    tiling = gemvTiling(op.getContext());
  cfg.warpsPerBlock = tiling.getWarps();
  cfg.rowsPerWarp = tiling.getRowsPerWarp();
  cfg.chunksPerIter = tiling.getChunks();
  cfg.mTile = mTile;
  reason = cfg.finalize();
  if (!reason.empty())
    return failure();
  return cfg;
}

/// Element type of a float tensor value, or null.
static Type elemType(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

/// Derives the W8A8 GEMM config for the INT8 weight `weight` (a
/// qc.packed_weight), the optional `bias`, result element type `out` and
/// activation scales per token or per tensor; on failure returns the reason.
FailureOr<Int8GemmKernelConfig> int8GemmConfig(Value weight, Value bias,
                                               Type out, bool perTokenAct,
                                               MmaTilingAttr tiling,
                                               std::string &reason) {
  PackedWeightOp pw = getPackedWeightDef(weight);
  if (!pw) {
    reason = "the weight must come from qc.packed_weight";
    return failure();
  }
  // For 8-bit values unpacked and row_major hold the same N x K bytes.
  LayoutKind layout = pw.getLayout().getKind();
  if (layout != LayoutKind::RowMajor && layout != LayoutKind::Unpacked) {
    reason = "the int8_mma kernel reads row_major INT8 weights, got layout '" +
             stringifyLayoutKind(layout).str() + "'";
    return failure();
  }
  SchemeAttr scheme = pw.getScheme();
  if (scheme.getWeightBits() != 8 || !scheme.getSymmetric() ||
      scheme.getGranularity() == Granularity::PerGroup) {
    reason = "the int8_mma kernel needs symmetric INT8 or FP8 weights with "
             "per_channel or per_tensor scales";
    return failure();
  }
  Int8GemmKernelConfig cfg;
  cfg.fp8 = scheme.isFp8Weight();
  cfg.n = pw.getResult().getType().getN();
  cfg.k = pw.getResult().getType().getK();
  cfg.perTensorWeight = scheme.getGranularity() == Granularity::PerTensor;
  cfg.weightScaleF16 = pw.getScales().getType().getElementType().isF16();
  cfg.perTokenAct = perTokenAct;
  if (!out.isF16() && !out.isF32()) {
    reason = "GPU kernels produce f16 or f32 results";
    return failure();
  }
  cfg.outF16 = out.isF16();
  cfg.hasBias = static_cast<bool>(bias);
  if (cfg.hasBias && elemType(bias) != out) {
    reason = "the bias must have the result's element type";
    return failure();
  }
  cfg.tile = tileOf(tiling ? tiling : mmaTiling(weight.getContext(), 1));
  cfg.wgmma = isWgmmaGemmTiling(tiling, 1);
  reason = cfg.finalize();
  if (!reason.empty())
    return failure();
  return cfg;
}

/// Derives the activation quantization config for quantizing `input`
/// (dynamic per token, or static per tensor with `scale`); on failure
/// returns the reason.
FailureOr<ActQuantKernelConfig> actQuantConfig(Value input, Type outElem,
                                               bool dynamicPerToken,
                                               float scale, int64_t threads,
                                               std::string &reason) {
  ActQuantKernelConfig cfg;
  cfg.fp8 = isa<Float8E4M3FNType>(outElem);
  auto inTy = cast<RankedTensorType>(input.getType());
  cfg.k = inTy.getRank() ? inTy.getShape().back() : 0;
  cfg.inF16 = inTy.getElementType().isF16();
  cfg.dynamicPerToken = dynamicPerToken;
  cfg.staticScale = scale;
  cfg.threads = threads;
  if (!inTy.getElementType().isF16() && !inTy.getElementType().isF32())
    reason = "GPU kernels take f16 or f32 activations";
  else if (ShapedType::isDynamic(cfg.k))
    reason = "the last dimension must be static";
  else
    reason = cfg.finalize();
  if (!reason.empty())
    return failure();
  return cfg;
}

/// Derives the fp16 GEMM config from an unquantized linear layer.
FailureOr<Fp16GemmKernelConfig>
fp16GemmConfig(LinearOp op, MmaTilingAttr tiling, std::string &reason) {
  if (op.getSchemeAttr() && op.getSchemeAttr().isQuantizedWeight()) {
    reason = "the fp16_mma kernel runs unquantized layers; this one has a "
             "quantized scheme";
    return failure();
  }
  if (!elemType(op.getInput()).isF16() || !elemType(op.getWeight()).isF16()) {
    reason = "the fp16_mma kernel needs f16 activations and weights";
    return failure();
  }
  Fp16GemmKernelConfig cfg;
  auto wt = op.getWeight().getType();
  cfg.n = wt.getDimSize(0);
  cfg.k = wt.getDimSize(1);
  cfg.outF16 = true;
  cfg.hasBias = static_cast<bool>(op.getBias());
  if (cfg.hasBias && !elemType(op.getBias()).isF16()) {
    reason = "the bias must be f16";
    return failure();
  }
  if (KernelAttr kernel = op.getKernelAttr())
    if (const TargetInfo *target = lookupTarget(kernel.getTarget()))
      cfg.wgmma = target->wgmma && (!tiling || isWgmmaGemmTiling(tiling, 2));
  cfg.tile = tileOf(tiling      ? tiling
                    : cfg.wgmma ? wgmmaGemmTiling(op.getContext(), 2)
                                : mmaTiling(op.getContext(), 2));
  reason = cfg.finalize();
  if (!reason.empty())
    return failure();
  return cfg;
}

FailureOr<KernelElem> kernelElemOf(Type t) {
  if (t.isF32())
    return KernelElem::F32;
  if (t.isF16())
    return KernelElem::F16;
  if (t.isBF16())
    return KernelElem::BF16;
  return failure();
}

/// Derives the row normalization config of a qc.rms_norm / qc.layer_norm;
/// on failure returns the reason.
FailureOr<RowNormKernelConfig> rowNormConfig(Operation *op,
                                             std::string &reason) {
  RowNormKernelConfig cfg;
  Value input, weight, bias;
  double eps;
  if (auto rms = dyn_cast<RMSNormOp>(op)) {
    input = rms.getInput();
    weight = rms.getWeight();
    eps = rms.getEpsilon().convertToDouble();
  } else {
    auto ln = cast<LayerNormOp>(op);
    input = ln.getInput();
    weight = ln.getWeight();
    bias = ln.getBias();
    eps = ln.getEpsilon().convertToDouble();
    cfg.layerNorm = true;
  }
  auto inTy = cast<RankedTensorType>(input.getType());
  cfg.k = inTy.getShape().back();
  cfg.epsilon = static_cast<float>(eps);
  FailureOr<KernelElem> io = kernelElemOf(inTy.getElementType()),
                        w = kernelElemOf(elemType(weight)),
                        b = bias ? kernelElemOf(elemType(bias))
                                 : FailureOr<KernelElem>(KernelElem::F32);
  if (failed(io) || failed(w) || failed(b)) {
    reason = "the norm kernel takes f32, f16 and bf16 tensors";
    return failure();
  }
  cfg.io = *io;
  cfg.weight = *w;
  cfg.bias = *b;
  reason = cfg.finalize();
  if (!reason.empty())
    return failure();
  return cfg;
}

/// Derives the decode attention config of a qc.cache_attention; on failure
/// returns the reason.
FailureOr<CacheAttentionKernelConfig>
cacheAttentionConfig(CacheAttentionOp op, std::string &reason) {
  auto qTy = cast<RankedTensorType>(op.getQuery().getType());
  auto cTy = cast<RankedTensorType>(op.getKCache().getType());
  CacheAttentionKernelConfig cfg;
  cfg.heads = qTy.getDimSize(2);
  cfg.headDim = qTy.getDimSize(3);
  cfg.kvHeads = cTy.getDimSize(2);
  cfg.seqLen = cTy.getDimSize(3);
  cfg.layer = op.getLayer();
  cfg.scale = op.getScale().convertToFloat();
  FailureOr<KernelElem> q = kernelElemOf(qTy.getElementType()),
                        c = kernelElemOf(cTy.getElementType());
  if (failed(q) || failed(c) ||
      op.getVCache().getType() != op.getKCache().getType()) {
    reason = "the attention kernel takes f32, f16 and bf16 tensors and one "
             "cache type";
    return failure();
  }
  if (ShapedType::isDynamic(cfg.heads) || ShapedType::isDynamic(cfg.headDim) ||
      ShapedType::isDynamic(cfg.kvHeads) || ShapedType::isDynamic(cfg.seqLen)) {
    reason = "H, D, KV and S must be static";
    return failure();
  }
  if (!cTy.isDynamicDim(0) && cfg.layer >= cTy.getDimSize(0)) {
    reason = "the layer is out of the cache";
    return failure();
  }
  cfg.query = *q;
  cfg.cache = *c;
  reason = cfg.finalize();
  if (!reason.empty())
    return failure();
  return cfg;
}

FailureOr<WeightOnlyMmaKernelConfig> weightOnlyMmaConfig(WeightOnlyMatmulOp op,
                                                         MmaTilingAttr tiling,
                                                         std::string &reason) {
  // The tensor-core kernel reads the GEMV's operands (one ABI).
  FailureOr<GemvKernelConfig> g =
      gemvConfig(op, GemvTilingAttr(), /*mTile=*/1, reason);
  if (failed(g))
    return failure();
  if (g->act != KernelElem::F16) {
    reason = "the mma kernel needs f16 activations (its dequantization and "
             "operands are f16; bf16 runs the GEMV)";
    return failure();
  }
  WeightOnlyMmaKernelConfig cfg;
  static_cast<::qc::WeightOnlyWeightConfig &>(cfg) = *g;
  cfg.scaleF16 = g->scaleF16;
  cfg.tile = tileOf(tiling ? tiling : mmaTiling(op.getContext(), 2));
  reason = cfg.finalize();
  if (!reason.empty())
    return failure();
  return cfg;
}

FailureOr<RowArgmaxKernelConfig>
rowSelectConfig(RankedTensorType input, bool sample, std::string &reason) {
  RowArgmaxKernelConfig cfg;
  cfg.k = input.getShape().back();
  FailureOr<KernelElem> io = kernelElemOf(input.getElementType());
  if (failed(io)) {
    reason = sample ? "the sampling kernel takes f32, f16 and bf16 logits"
                    : "the argmax kernel takes f32, f16 and bf16 tensors";
    return failure();
  }
  cfg.io = *io;
  // The radix select's histogram is zeroed by the first 256 threads.
  if (sample)
    cfg.threads = cfg.k >= 16384 ? 1024 : 256;
  reason = cfg.finalize();
  if (!reason.empty())
    return failure();
  return cfg;
}

bool fragScalesRoundToF16(PackedWeightOp pw) {
  Type elem = pw.getScales().getType().getElementType();
  if (elem.isF16())
    return true;
  DenseFPElementsAttr values;
  if (!elem.isF32() || !matchPattern(pw.getScales(), m_Constant(&values)))
    return false;
  for (APFloat v : values.getValues<APFloat>()) {
    float f = std::fabs(v.convertToFloat());
    if (!(f == 0.0f || (f >= 0x1p-14f && f <= 65504.0f)))
      return false;
  }
  return true;
}

/// The frag config of `op` for M tile `mTile`; `checkLayout` requires the
/// weight to be packed mma_frag already.
static FailureOr<WeightOnlyFragKernelConfig>
fragConfigOf(WeightOnlyMatmulOp op, FragTilingAttr tiling, int64_t mTile,
             bool checkLayout, std::string &reason) {
  PackedWeightOp pw = getPackedWeightDef(op.getWeight());
  if (!pw) {
    reason = "the weight must come from qc.packed_weight";
    return failure();
  }
  if (checkLayout && pw.getLayout().getKind() != LayoutKind::MmaFrag) {
    reason = "the frag kernel reads mma_frag packed weights, got layout '" +
             stringifyLayoutKind(pw.getLayout().getKind()).str() + "'";
    return failure();
  }
  if (!elemType(op.getInput()).isF16() || !elemType(op.getResult()).isF16()) {
    reason = "the frag kernel needs f16 activations and results";
    return failure();
  }
  // f16 scales; before packing, f32 constant scales that qc-pack-weights
  // will round to f16 (normal f16 range) will do.
  if (!pw.getScales().getType().getElementType().isF16() &&
      (checkLayout || !fragScalesRoundToF16(pw))) {
    reason = checkLayout ? "the frag kernel needs f16 scales"
                         : "the frag kernel needs f16 scales, and these f32 "
                           "scales are not constants in the normal f16 range";
    return failure();
  }
  if (op.getBias() && !elemType(op.getBias()).isF16()) {
    reason = "the bias must be f16";
    return failure();
  }
  if (!tiling) {
    reason = "no frag tiling (qc-select-matmul sets it)";
    return failure();
  }
  WeightOnlyFragKernelConfig cfg;
  static_cast<::qc::WeightOnlyWeightConfig &>(cfg) = weightOf(pw, op.getBias());
  cfg.mTile = mTile;
  cfg.nBlocks = tiling.getNBlocks();
  cfg.warpsK = tiling.getWarpsK();
  cfg.prefetch = tiling.getPrefetch();
  cfg.stepUnits = tiling.getStepUnits();
  if (KernelAttr kernel = op.getKernelAttr())
    if (const TargetInfo *target = lookupTarget(kernel.getTarget())) {
      cfg.clusterSplit = fragClusterSplit(*target, tiling.getSplitK())
                             ? tiling.getSplitK()
                             : 0;
    }
  // Fewer stages where this M tile's activations would not fit.
  int64_t fit = kMaxStaticSharedBytes / (mTile * cfg.aStride());
  cfg.stages = std::min<int64_t>(tiling.getStages(), fit);
  reason = cfg.finalize();
  if (!reason.empty())
    return failure();
  return cfg;
}

FailureOr<WeightOnlyFragKernelConfig>
weightOnlyFragConfig(WeightOnlyMatmulOp op, FragTilingAttr tiling,
                     int64_t mTile, std::string &reason) {
  return fragConfigOf(op, tiling, mTile, /*checkLayout=*/true, reason);
}

FailureOr<WeightOnlyWgmmaKernelConfig>
weightOnlyWgmmaConfig(WeightOnlyMatmulOp op, MmaTilingAttr tiling,
                      std::string &reason) {
  // The frag variants' checks (layout, f16 activations, scales and bias).
  FragTilingAttr frag =
      op.getKernelAttr() ? op.getKernelAttr().getFrag() : FragTilingAttr();
  if (failed(fragConfigOf(op, frag, 16, /*checkLayout=*/true, reason)))
    return failure();
  if (!tiling) {
    reason = "no mma tiling for the wgmma variant";
    return failure();
  }
  if (tiling.getBlockK() != 64 || tiling.getWarpsM() != 1 ||
      tiling.getWarpsN() * 16 != tiling.getBlockN()) {
    reason = "the wgmma variant's mma tiling must be block_k = 64, warps_m = "
             "1, warps_n = block_n / 16 (4 warps per 64 channels)";
    return failure();
  }
  PackedWeightOp pw = getPackedWeightDef(op.getWeight());
  WeightOnlyWgmmaKernelConfig cfg;
  static_cast<::qc::WeightOnlyWeightConfig &>(cfg) = weightOf(pw, op.getBias());
  cfg.tokens = tiling.getBlockM();
  cfg.warpgroups = tiling.getBlockN() / 64;
  cfg.stages = tiling.getStages();
  cfg.prefetch = frag.getPrefetch();
  reason = cfg.finalize();
  if (!reason.empty())
    return failure();
  return cfg;
}

std::string weightOnlyFragUnsupported(WeightOnlyMatmulOp op,
                                      FragTilingAttr tiling) {
  std::string reason;
  PackedWeightOp pw = getPackedWeightDef(op.getWeight());
  if (pw && !fragLayoutFits(pw.getResult().getType().getN(),
                            pw.getResult().getType().getK(),
                            pw.getScheme().getWeightBits()))
    return "the weight is not whole mma_frag units (N % 16, K % " +
           std::to_string(fragUnitK(pw.getScheme().getWeightBits())) + ")";
  if (tiling)
    for (int64_t t : tiling.getMTiles())
      if (failed(fragConfigOf(op, tiling, t, /*checkLayout=*/false, reason)))
        return reason;
  if (!tiling && failed(fragConfigOf(op, tiling, 16, false, reason)))
    return reason;
  return "";
}

std::string weightOnlyMmaUnsupported(WeightOnlyMatmulOp op) {
  // Selection runs before qc-pack-weights: the scheme and shape decide, not
  // the (later) layout.
  if (!op.getInput().getType().getElementType().isF16())
    return "the mma kernel needs f16 activations";
  PackedWeightOp def = getPackedWeightDef(op.getWeight());
  if (!def)
    return "the weight must come from qc.packed_weight";
  WeightOnlyMmaKernelConfig cfg;
  static_cast<::qc::WeightOnlyWeightConfig &>(cfg) =
      weightOf(def, op.getBias());
  cfg.tile = tileOf(mmaTiling(op.getContext(), 2));
  return cfg.finalize();
}

std::string int8GemmUnsupported(Value packed, const TargetInfo *target) {
  auto t = cast<PackedWeightType>(packed.getType());
  Int8GemmKernelConfig cfg;
  cfg.n = t.getN();
  cfg.k = t.getK();
  cfg.fp8 = isa<Float8E4M3FNType>(t.getElementType());
  cfg.wgmma = target && target->wgmma;
  cfg.tile = tileOf(cfg.wgmma ? wgmmaGemmTiling(packed.getContext(), 1)
                              : mmaTiling(packed.getContext(), 1));
  return cfg.finalize();
}

bool fp16GemmFits(LinearOp op) {
  auto f16 = [](Value v) {
    return cast<ShapedType>(v.getType()).getElementType().isF16();
  };
  if ((op.getSchemeAttr() && op.getSchemeAttr().isQuantizedWeight()) ||
      op.getWeight().getDefiningOp<DequantizeWeightOp>() ||
      !f16(op.getInput()) || !f16(op.getWeight()) || !f16(op.getResult()) ||
      (op.getBias() && !f16(op.getBias())))
    return false;
  std::string reason;
  return succeeded(fp16GemmConfig(op, MmaTilingAttr(), reason));
}

//===----------------------------------------------------------------------===//
// Launch geometry and arguments
//===----------------------------------------------------------------------===//

LaunchAttr gemvLaunch(SymbolRefAttr kernel, const GemvKernelConfig &cfg,
                      ArrayRef<int64_t> mTiles) {
  // SwiGLU: a warp's rows are gate / up pairs, one output channel each.
  int64_t channels = cfg.warpsPerBlock * cfg.rowsPerWarp / (cfg.swiGlu ? 2 : 1);
  return LaunchAttr::get(kernel.getContext(), kernel, cfg.blockSize(), channels,
                         /*tileM=*/1, mTiles, cfg.hasResidual, 1, cfg.swiGlu,
                         /*sharedBytes=*/0, /*tma=*/false,
                         /*ctas=*/0);
}

LaunchAttr mmaLaunch(SymbolRefAttr kernel, const MmaTileConfig &tile,
                     bool residual, int64_t sharedBytes, int64_t ctas) {
  return LaunchAttr::get(kernel.getContext(), kernel, tile.blockSize(),
                         tile.blockN, tile.blockM, {}, residual, 1, false,
                         sharedBytes, tile.tma, ctas);
}

LaunchAttr fragLaunch(SymbolRefAttr kernel,
                      const WeightOnlyFragKernelConfig &cfg,
                      ArrayRef<int64_t> mTiles, int64_t splitK) {
  return LaunchAttr::get(kernel.getContext(), kernel, cfg.blockSize(),
                         16 * cfg.nBlocks, /*tileM=*/1, mTiles, cfg.hasResidual,
                         splitK, false, /*sharedBytes=*/0, /*tma=*/false,
                         /*ctas=*/0);
}

LaunchAttr rowLaunch(SymbolRefAttr kernel, int64_t threads) {
  return LaunchAttr::get(kernel.getContext(), kernel, threads, 0, 0, {}, false,
                         1, false, /*sharedBytes=*/0, /*tma=*/false,
                         /*ctas=*/0);
}

AttentionLaunchAttr attentionLaunch(SymbolRefAttr kernel,
                                    const CacheAttentionKernelConfig &cfg) {
  // prefill_tokens 0: no prefill kernel (the pair serves every T).
  return AttentionLaunchAttr::get(
      kernel.getContext(), kernel, cfg.numChunks(), cfg.kvHeads, cfg.heads,
      cfg.headDim, cfg.recordFloats(), cfg.maxSplitT,
      cfg.usesPrefillKernel() ? cfg.prefillTokens() : 0);
}

SmallVector<KernelArg> weightOnlyArgs(bool residual, bool norm) {
  SmallVector<KernelArg> args = {
      KernelArg::Input, KernelArg::Weight, KernelArg::Scales, KernelArg::Zeros,
      KernelArg::Bias,  KernelArg::Output, KernelArg::Rows};
  if (residual)
    args.push_back(KernelArg::Residual);
  if (norm)
    args.push_back(KernelArg::NormWeight);
  return args;
}

SmallVector<KernelArg> weightOnlyFragArgs(bool residual) {
  SmallVector<KernelArg> args = weightOnlyArgs(/*residual=*/false);
  args.push_back(KernelArg::Workspace);
  if (residual)
    args.push_back(KernelArg::Residual);
  return args;
}

SmallVector<KernelArg> fragReduceArgs(bool residual) {
  SmallVector<KernelArg> args = {KernelArg::Workspace, KernelArg::Bias,
                                 KernelArg::Output, KernelArg::Rows};
  if (residual)
    args.push_back(KernelArg::Residual);
  return args;
}

SmallVector<KernelArg> int8GemmArgs(bool tma) {
  SmallVector<KernelArg> args = {KernelArg::Input,  KernelArg::InputScales,
                                 KernelArg::Weight, KernelArg::Scales,
                                 KernelArg::Bias,   KernelArg::Output,
                                 KernelArg::Rows};
  if (tma)
    args.append({KernelArg::InputMap, KernelArg::WeightMap});
  return args;
}

SmallVector<KernelArg> fp16GemmArgs(bool tma) {
  SmallVector<KernelArg> args = {KernelArg::Input, KernelArg::Weight,
                                 KernelArg::Bias, KernelArg::Output,
                                 KernelArg::Rows};
  if (tma)
    args.append({KernelArg::InputMap, KernelArg::WeightMap});
  return args;
}

SmallVector<KernelArg> normActQuantArgs() {
  return {KernelArg::Input,  KernelArg::NormWeight, KernelArg::NormBias,
          KernelArg::Output, KernelArg::OutScales,  KernelArg::Rows};
}

SmallVector<KernelArg> actQuantArgs() {
  return {KernelArg::Input, KernelArg::Output, KernelArg::OutScales,
          KernelArg::Rows};
}

SmallVector<KernelArg> rowNormArgs() {
  return {KernelArg::Input, KernelArg::NormWeight, KernelArg::NormBias,
          KernelArg::Output, KernelArg::Rows};
}

//===----------------------------------------------------------------------===//
// --list-kernels
//===----------------------------------------------------------------------===//

/// Whether `kind`'s weight-only kernels may take the residual epilogue
/// (EpilogueFusion.h): one more, last, argument.
static bool residualEpilogue(KernelKind kind) {
  return kind == KernelKind::Gemv || kind == KernelKind::Mma ||
         kind == KernelKind::GemvMma || kind == KernelKind::Frag;
}

/// The arguments of `kind`'s (first) kernel, for the listing.
static SmallVector<KernelArg> familyArgs(KernelKind kind) {
  switch (kind) {
  case KernelKind::Host:
    return {};
  case KernelKind::Int8Mma:
    return ::qc::int8GemmArgs();
  case KernelKind::Fp16Mma:
    return ::qc::fp16GemmArgs();
  case KernelKind::Frag:
    return ::qc::weightOnlyFragArgs(/*residual=*/false);
  default:
    return ::qc::weightOnlyArgs(/*residual=*/false);
  }
}

void printKernelFamilies(raw_ostream &os, KernelListingFormat format) {
  auto targetsOf = [](KernelKind kind) {
    SmallVector<std::string> names;
    for (const TargetInfo &t : kTargets)
      if (t.allows(stringifyKernelKind(kind)))
        names.push_back(t.name);
    return names;
  };
  if (format == KernelListingFormat::Json) {
    llvm::json::Array families;
    for (const MatmulFamily &f : kFamilies) {
      llvm::json::Array targets, args;
      for (const std::string &t : targetsOf(f.kind))
        targets.push_back(t);
      for (KernelArg a : familyArgs(f.kind))
        args.push_back(kernelArgName(a));
      llvm::json::Object extra;
      if (f.kind == KernelKind::Frag) {
        // The split-K reduction kernel `<kernel>_reduce`.
        llvm::json::Array reduceArgs;
        for (KernelArg a : ::qc::fragReduceArgs(false))
          reduceArgs.push_back(kernelArgName(a));
        extra["reduce_args"] = std::move(reduceArgs);
        extra["reduce_block"] = ::qc::FragReduceKernelConfig().threads;
        extra["reduce_tile_n"] = ::qc::FragReduceKernelConfig().tileN();
      }
      if (f.kind == KernelKind::Int8Mma || f.kind == KernelKind::Fp16Mma) {
        // The wgmma GEMMs' TMA pipeline (MmaTileConfig::tma).
        llvm::json::Array tmaArgs;
        for (KernelArg a : f.kind == KernelKind::Int8Mma
                               ? ::qc::int8GemmArgs(/*tma=*/true)
                               : ::qc::fp16GemmArgs(/*tma=*/true))
          tmaArgs.push_back(kernelArgName(a));
        extra["tma_args"] = std::move(tmaArgs);
      }
      families.push_back(llvm::json::Object{
          {"name", stringifyKernelKind(f.kind)},
          {"summary", f.summary},
          {"ops", f.ops},
          {"builders", f.builders},
          {"gemv_tiling", f.gemvSide},
          {"mma_tiling", f.mmaSide},
          {"frag_tiling", f.fragSide},
          {"cost_model", f.cost != nullptr},
          {"targets", std::move(targets)},
          {"args", std::move(args)},
          {"optional_args",
           residualEpilogue(f.kind)
               ? llvm::json::Array{kernelArgName(KernelArg::Residual)}
               : llvm::json::Array{}},
          {"extra", std::move(extra)}});
    }
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(families)))
       << "\n";
    return;
  }
  if (format == KernelListingFormat::Markdown) {
    os << "<!-- Generated by `quant-compile --list-kernels=markdown` from "
          "include/qc/Kernels/KernelFamilies.h; do not edit. -->\n\n"
          "# Kernel families\n\n"
          "The matmul kernel families of the kernel family registry: the "
          "`#qc.kernel` kinds `qc-select-matmul` chooses among (by the cost "
          "model where a family has one), the builders "
          "`qc-outline-gpu-kernels` calls, the tilings the kind carries and "
          "the kernel arguments `qc-lower-gpu-launches` binds, in order.\n\n"
          "| kind | what | ops | builders | tiling | targets | cost model | "
          "arguments |\n|---|---|---|---|---|---|---|---|\n";
    for (const MatmulFamily &f : kFamilies) {
      SmallVector<std::string> args;
      for (KernelArg a : familyArgs(f.kind))
        args.push_back(kernelArgName(a));
      if (residualEpilogue(f.kind))
        args.push_back(std::string("[") + kernelArgName(KernelArg::Residual) +
                       "]");
      os << "| `" << stringifyKernelKind(f.kind) << "` | " << f.summary << " | "
         << f.ops << " | " << f.builders << " | "
         << (f.gemvSide && f.mmaSide ? "gemv + mma"
             : f.gemvSide            ? "gemv"
             : f.mmaSide             ? "mma"
             : f.fragSide            ? "frag"
                                     : "-")
         << " | " << llvm::join(targetsOf(f.kind), ", ") << " | "
         << (f.cost ? "yes" : "-") << " | "
         << (args.empty() ? std::string("-") : llvm::join(args, ", "))
         << " |\n";
    }
    os << "\n`[residual]`: the last argument when the kernel's epilogue adds "
          "the residual that follows the matmul (EpilogueFusion.h).\n";
    return;
  }
  for (const MatmulFamily &f : kFamilies) {
    os << stringifyKernelKind(f.kind) << ": " << f.summary << "\n";
    os << "  ops:      " << f.ops << "\n";
    os << "  builders: " << f.builders << "\n";
    os << "  targets:  " << llvm::join(targetsOf(f.kind), ", ") << "\n";
    os << "  tiling:   "
       << (f.gemvSide && f.mmaSide ? "gemv + mma"
           : f.gemvSide            ? "gemv"
           : f.mmaSide             ? "mma"
           : f.fragSide            ? "frag"
                                   : "-")
       << "\n";
    SmallVector<KernelArg> args = familyArgs(f.kind);
    if (!args.empty()) {
      os << "  args:     ";
      for (auto [j, a] : llvm::enumerate(args))
        os << (j ? ", " : "") << kernelArgName(a);
      if (residualEpilogue(f.kind))
        os << " [, " << kernelArgName(KernelArg::Residual)
           << ": the fused residual add]";
      os << "\n";
    }
  }
}

} // namespace qc
