//===- KernelFamilies.h - The kernel family registry -----------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The one home of what quant knows about each GPU kernel family: which ops
// and schemes it takes, its config from an op and its tiling, whether it fits
// a target, its cost on a target at a given M (the roofline model of
// qc-select-matmul, docs/passes.md), its default tiling, its launch geometry
// (the #qc.launch it records) and its argument list. qc-select-matmul,
// qc-outline-gpu-kernels, qc-lower-gpu-launches, `quant-compile
// --list-kernels` (docs, the benchmark harness) all ask this registry; the
// builders that emit a family's kernels (KernelBuilders.h) are named by it
// but linked only by the outlining pass, so the dialect's passes do not link
// NVVM code.
//
//===----------------------------------------------------------------------===//

#ifndef QC_KERNELS_KERNELFAMILIES_H
#define QC_KERNELS_KERNELFAMILIES_H

#include "qc/Dialect/QC/IR/QC.h"
#include "qc/Kernels/KernelConfigs.h"
#include "qc/Kernels/KernelListing.h"
#include "qc/Target/TargetTable.h"

#include "llvm/Support/raw_ostream.h"

#include <string>

namespace qc {

//===----------------------------------------------------------------------===//
// Kernel arguments
//===----------------------------------------------------------------------===//

/// What one kernel argument is bound to at launch. Pointers are to the
/// first element of a dense row-major buffer (`!llvm.ptr<1>`); `Rows` is M
/// as i32.
enum class KernelArg {
  Input,       ///< the activations x [M, K] (or the quantized q [M, K] i8)
  InputScales, ///< the activation scales of an INT8 matmul (M or 1, f32)
  Weight,      ///< the packed weight bytes (or the f16 weight [N, K])
  Scales,      ///< the weight scales
  Zeros,       ///< the weight zero points (null when symmetric)
  Bias,        ///< the bias [N] (null when none)
  Output,      ///< the result y [M, N]
  OutScales,   ///< the per-row scales an activation quantization writes
  Rows,        ///< M (i32)
  Residual,    ///< the residual r [M, N] the epilogue adds
  NormWeight,  ///< a norm's weight [K]
  NormBias,    ///< a LayerNorm's bias [K] (null for RMSNorm)
  Workspace,   ///< f32 split-K partial sums [S, M, N] (the frag family)
  InputMap,    ///< the TMA tensor map of Input (128 bytes by value)
  WeightMap,   ///< the TMA tensor map of Weight (128 bytes by value)
};

/// The argument's name (`quant-compile --list-kernels`, the harness).
const char *kernelArgName(KernelArg arg);

//===----------------------------------------------------------------------===//
// Matmul families
//===----------------------------------------------------------------------===//

/// Shape facts of one matmul the cost model needs.
struct MatmulShape {
  /// Output channels, input channels, and the bytes of the packed weight
  /// plus its scales and zero points.
  double n, k, weightBytes;
  /// Bits per weight value (4 or 8; 0 when unknown).
  unsigned bits = 0;
};

/// The MatmulShape of a qc.packed value (its defining qc.packed_weight's
/// scales and zero points included when visible).
MatmulShape matmulShape(mlir::Value packed);

/// One matmul kernel family: a `#qc.kernel` kind and what it stands for.
/// gemv_mma and adaptive compose two families (their `sides`).
struct MatmulFamily {
  mlir::qc::KernelKind kind;
  /// One line for --list-kernels and the docs.
  const char *summary;
  /// The ops it runs.
  const char *ops;
  /// The builder(s) emitting its kernels (KernelBuilders.h).
  const char *builders;
  /// Its tiling: whether the kind carries a gemv and/or an mma tiling.
  bool gemvSide, mmaSide;
  /// Seconds one layer of `shape` takes at M rows on `target` (null: not
  /// chosen by the cost model).
  double (*cost)(const TargetInfo &target, const MatmulShape &shape, double m);
  /// Whether the kind carries a frag tiling.
  bool fragSide = false;
};

/// Every matmul family, in the order --list-kernels prints them.
llvm::ArrayRef<MatmulFamily> matmulFamilies();
/// The family of `kind`.
const MatmulFamily &matmulFamily(mlir::qc::KernelKind kind);

/// The cost model's crossover: the smallest M in [1, limit] at which the
/// weight-only tensor-core kernel is faster than the GEMV family (the
/// gemv_mma threshold), or 0.
int64_t gemvMmaCrossover(const TargetInfo &target, const MatmulShape &shape,
                         int64_t limit);

//===----------------------------------------------------------------------===//
// Tilings: defaults and options
//===----------------------------------------------------------------------===//

/// Tiling choices a pass passes down (qc-select-matmul options); zero or
/// empty fields take the family default.
struct TilingOptions {
  int64_t gemvWarps = 0, gemvRowsPerWarp = 0, gemvChunks = 0;
  llvm::SmallVector<int64_t> gemvMTiles;
  int64_t mmaBlockM = 0, mmaBlockN = 0, mmaBlockKBytes = 0, mmaWarpsM = 0,
          mmaWarpsN = 0, mmaStages = 0;
  int64_t fragWarpsK = 0, fragNBlocks = 0, fragStages = 0, fragSplitK = 0,
          fragPrefetch = 0, fragStepUnits = 0;
  llvm::SmallVector<int64_t> fragMTiles;
  int64_t wgmmaTokens = 0, wgmmaChannels = 0, wgmmaStages = 0;
  bool wgmmaInt8 = true;
  /// The wgmma GEMMs' TMA warp-specialized pipeline (MmaTileConfig::tma).
  bool wgmmaTma = false;
  /// ... with the persistent tile scheduler (MmaTileConfig::persistent).
  bool wgmmaPersistent = false;
  /// FP8 GEMMs on the TMA pipeline even without wgmmaTma (run 8: 4-13%
  /// faster than cp.async, same error; INT8 / fp16 equal within 2%).
  bool wgmmaTmaFp8 = true;
};

/// The GEMV tiling from `options` (defaults: 4 warps, 2 rows per warp, 1
/// chunk, M tiles kDefaultGemvRowTiles).
mlir::qc::GemvTilingAttr gemvTiling(mlir::MLIRContext *ctx,
                                    const TilingOptions &options = {});
/// The tensor-core tiling from `options` for elements of `elemBytes` bytes
/// (defaults: 128 x 128 blocks, 64 bytes of K per stage, 2 x 4 warps, 2
/// stages).
mlir::qc::MmaTilingAttr mmaTiling(mlir::MLIRContext *ctx, int64_t elemBytes,
                                  const TilingOptions &options = {});

/// The frag family's default split_k: enough CTAs for 4 per SM of `target`
/// (at most 16, or kMaxFragClusterSplit where the target has clusters; at
/// least one step of warpsK x stepUnits units each), and 1 where a CTA's
/// whole K walk is at most 8 steps (then the reduction costs more than the
/// split saves).
int64_t fragSplitK(const TargetInfo &target, int64_t n, int64_t k,
                   unsigned bits, int64_t nBlocks, int64_t warpsK,
                   int64_t stepUnits);

/// The largest split_k whose CTAs form one thread-block cluster (the
/// portable cluster size of sm_90).
inline constexpr int64_t kMaxFragClusterSplit = 8;

/// Whether the `splitK` CTAs of a frag channel tile add their partial sums
/// through distributed shared memory as one thread-block cluster (one
/// launch, no workspace) rather than through a workspace and the reduction
/// kernel: on targets with clusters, for 1 < splitK <= kMaxFragClusterSplit.
bool fragClusterSplit(const TargetInfo &target, int64_t splitK);

/// The frag tiling of an `n` x `k` weight of `bits` bits on `target` from
/// `options` (defaults: 4 warps along K, the widest of 4/2/1 channel blocks
/// that divides N (2 with an M tile of 64), 3 stages, one weight unit in
/// flight per warp (the depth measured on an H100), M tiles 1 (the dot
/// path), 16 and 32, and split_k from fragSplitK).
mlir::qc::FragTilingAttr fragTiling(mlir::MLIRContext *ctx,
                                    const TargetInfo &target, int64_t n,
                                    int64_t k, unsigned bits,
                                    const TilingOptions &options = {});

/// The tiling of the frag family's wgmma variant (its large-M side on
/// targets with wgmma) for an `n` x `k` weight, or null where the target
/// has none or N is not a multiple of 64. Defaults (the wgmma-* options
/// override them): 128 tokens per CTA (block_m), two warpgroups (block_n
/// 128) where N % 128 == 0, else one, K steps of 64, 3 stages (48 KiB of
/// static shared memory; the fastest measured, run 6).
mlir::qc::MmaTilingAttr fragWgmmaTiling(mlir::MLIRContext *ctx,
                                        const TargetInfo &target, int64_t n,
                                        int64_t k,
                                        const TilingOptions &options = {});

/// The tiling of the wgmma GEMMs (fp16, and INT8 with `wgmma-int8`) for
/// elements of `elemBytes` bytes (defaults, overridden by the wgmma-*
/// options: 128 rows (two warpgroups) x 256 channels, 128 bytes of K per
/// stage, 4 stages).
mlir::qc::MmaTilingAttr wgmmaGemmTiling(mlir::MLIRContext *ctx,
                                        int64_t elemBytes,
                                        const TilingOptions &options = {});
/// Whether `tiling` is a wgmma GEMM tiling (one warp column, 16 rows per
/// warp, 128 bytes of K per stage) rather than an mma.sync one.
bool isWgmmaGemmTiling(mlir::qc::MmaTilingAttr tiling, int64_t elemBytes);

/// The cost model's crossover of the frag family: the smallest M in [1,
/// 8192] at which its wgmma variant is faster than the mma.sync variants,
/// or 0.
int64_t fragWgmmaCrossover(const TargetInfo &target, const MatmulShape &shape);

/// `kernel` with every tiling its kind needs filled in from `options` (the
/// tilings it already carries are kept). `elemBytes` is the tensor-core
/// side's element size (1 for int8_mma and adaptive, else 2). The frag
/// side's tiling depends on the weight: pass it as `packed`.
mlir::qc::KernelAttr withTilings(mlir::qc::KernelAttr kernel,
                                 const TilingOptions &options = {},
                                 mlir::Value packed = {});

//===----------------------------------------------------------------------===//
// Configs from ops
//===----------------------------------------------------------------------===//

/// The config of the GEMV variant for M tile `mTile` of a weight-only
/// matmul with `tiling` (its load width depends on the M tile), or the
/// reason it does not fit.
mlir::FailureOr<GemvKernelConfig> gemvConfig(mlir::qc::WeightOnlyMatmulOp op,
                                             mlir::qc::GemvTilingAttr tiling,
                                             int64_t mTile,
                                             std::string &reason);
/// The weight-only tensor-core config of `op` with `tiling`, or the reason.
mlir::FailureOr<WeightOnlyMmaKernelConfig>
weightOnlyMmaConfig(mlir::qc::WeightOnlyMatmulOp op,
                    mlir::qc::MmaTilingAttr tiling, std::string &reason);
/// The config of the frag variant for M tile `mTile` of a weight-only
/// matmul (its weight packed mma_frag) with `tiling`, or the reason. The
/// variant keeps the tiling's stages where its activations fit 48 KiB, else
/// as many as fit.
mlir::FailureOr<WeightOnlyFragKernelConfig>
weightOnlyFragConfig(mlir::qc::WeightOnlyMatmulOp op,
                     mlir::qc::FragTilingAttr tiling, int64_t mTile,
                     std::string &reason);
/// The config of the frag family's wgmma variant of `op` with `tiling` (its
/// kernel's mma tiling), or the reason it does not fit.
mlir::FailureOr<WeightOnlyWgmmaKernelConfig>
weightOnlyWgmmaConfig(mlir::qc::WeightOnlyMatmulOp op,
                      mlir::qc::MmaTilingAttr tiling, std::string &reason);
/// The W8A8 GEMM config for the INT8 `weight` (a qc.packed_weight), the
/// optional `bias`, result element type `out` and per-token or per-tensor
/// activation scales, or the reason.
mlir::FailureOr<Int8GemmKernelConfig>
int8GemmConfig(mlir::Value weight, mlir::Value bias, mlir::Type out,
               bool perTokenAct, mlir::qc::MmaTilingAttr tiling,
               std::string &reason);
/// The fp16 GEMM config of an unquantized f16 linear, or the reason.
mlir::FailureOr<Fp16GemmKernelConfig>
fp16GemmConfig(mlir::qc::LinearOp op, mlir::qc::MmaTilingAttr tiling,
               std::string &reason);
/// The activation quantization config of `input` to `outElem` (i8 or
/// f8E4M3FN; dynamic per token, or static per tensor with `scale`), or the
/// reason.
mlir::FailureOr<ActQuantKernelConfig>
actQuantConfig(mlir::Value input, mlir::Type outElem, bool dynamicPerToken,
               float scale, int64_t threads, std::string &reason);
/// The row normalization config of a qc.rms_norm / qc.layer_norm, or the
/// reason.
mlir::FailureOr<RowNormKernelConfig> rowNormConfig(mlir::Operation *op,
                                                   std::string &reason);
/// The row argmax (or, with `sample`, sampling) config over rows of
/// `input`, or the reason.
mlir::FailureOr<RowArgmaxKernelConfig>
rowSelectConfig(mlir::RankedTensorType input, bool sample, std::string &reason);
/// The decode attention config of a qc.cache_attention, or the reason.
mlir::FailureOr<CacheAttentionKernelConfig>
cacheAttentionConfig(mlir::qc::CacheAttentionOp op, std::string &reason);
/// The kernel element type of `t` (f32, f16 or bf16), or failure.
mlir::FailureOr<KernelElem> kernelElemOf(mlir::Type t);

/// Why the weight-only tensor-core kernel cannot run `op` with the default
/// tiling ("" when it can); used by selection.
std::string weightOnlyMmaUnsupported(mlir::qc::WeightOnlyMatmulOp op);
/// Why the frag kernel cannot run `op` with `tiling` (scheme, types and
/// shape; the weight is repacked mma_frag after selection), "" when it can.
std::string weightOnlyFragUnsupported(mlir::qc::WeightOnlyMatmulOp op,
                                      mlir::qc::FragTilingAttr tiling);
/// Whether `pw`'s scales are f16, or f32 constants in the normal f16 range
/// (which qc-pack-weights rounds to f16 when it packs the weight mma_frag).
bool fragScalesRoundToF16(mlir::qc::PackedWeightOp pw);
/// Why the W8A8 GEMM cannot run the INT8 or FP8 `packed` weight on `target`
/// ("" when it can). FP8 needs wgmma (sm_90a).
std::string int8GemmUnsupported(mlir::Value packed, const TargetInfo *target);
/// Whether the fp16 GEMM runs the unquantized linear `op`.
bool fp16GemmFits(mlir::qc::LinearOp op);

//===----------------------------------------------------------------------===//
// Launch geometry and arguments
//===----------------------------------------------------------------------===//

/// The launch record of a GEMV family `kernel` (variants `<kernel>_mt<T>`).
mlir::qc::LaunchAttr gemvLaunch(mlir::SymbolRefAttr kernel,
                                const GemvKernelConfig &cfg,
                                llvm::ArrayRef<int64_t> mTiles);
/// The launch record of a tensor-core kernel with tiling `tile` (and
/// `sharedBytes` of dynamic shared memory, 0: none; `ctas` CTAs of a
/// persistent kernel, 0: one per tile).
mlir::qc::LaunchAttr mmaLaunch(mlir::SymbolRefAttr kernel,
                               const MmaTileConfig &tile, bool residual,
                               int64_t sharedBytes = 0, int64_t ctas = 0);
/// The launch record of a frag family `kernel` (variants `<kernel>_mt<T>`,
/// with `split_k` > 1 also `<kernel>_reduce`).
mlir::qc::LaunchAttr fragLaunch(mlir::SymbolRefAttr kernel,
                                const WeightOnlyFragKernelConfig &cfg,
                                llvm::ArrayRef<int64_t> mTiles, int64_t splitK);
/// The launch record of a row kernel (one CTA of `threads` per row).
mlir::qc::LaunchAttr rowLaunch(mlir::SymbolRefAttr kernel, int64_t threads);
/// The launch record of the decode attention kernels.
mlir::qc::AttentionLaunchAttr
attentionLaunch(mlir::SymbolRefAttr kernel,
                const CacheAttentionKernelConfig &cfg);

/// Arguments of the weight-only kernels (GEMV and tensor-core: one ABI);
/// a GEMV with the fused norm prologue takes the norm weight last.
llvm::SmallVector<KernelArg> weightOnlyArgs(bool residual, bool norm = false);
/// Arguments of the frag kernels: the weight-only ones without the
/// residual, the workspace, then the residual.
llvm::SmallVector<KernelArg> weightOnlyFragArgs(bool residual);
/// Arguments of the frag family's split-K reduction.
llvm::SmallVector<KernelArg> fragReduceArgs(bool residual);
/// Arguments of the W8A8 GEMM; `tma` (MmaTileConfig::tma): then the tensor
/// maps of the input and the weight.
llvm::SmallVector<KernelArg> int8GemmArgs(bool tma = false);
/// Arguments of the fp16 GEMM (`tma` as int8GemmArgs).
llvm::SmallVector<KernelArg> fp16GemmArgs(bool tma = false);
/// Arguments of the activation quantization kernel.
llvm::SmallVector<KernelArg> actQuantArgs();
/// Arguments of the row norm kernel with the activation quantization fused
/// (RowNormKernelConfig::quantize).
llvm::SmallVector<KernelArg> normActQuantArgs();
/// Arguments of the row normalization kernel.
llvm::SmallVector<KernelArg> rowNormArgs();

} // namespace qc

#endif // QC_KERNELS_KERNELFAMILIES_H
