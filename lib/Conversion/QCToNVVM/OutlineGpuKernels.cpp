//===- OutlineGpuKernels.cpp - Build device kernels for qc matmuls -*- C++ -*-//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToNVVM/EpilogueFusion.h"
#include "qc/Conversion/QCToNVVM/KernelBuilders.h"
#include "qc/Conversion/QCToNVVM/Passes.h"
#include "qc/Dialect/QC/IR/QC.h"
#include "qc/Target/TargetTable.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

namespace mlir::qc {
#define GEN_PASS_DEF_QCOUTLINEGPUKERNELS
#include "qc/Conversion/QCToNVVM/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {

/// Returns the gpu.module holding kernels for `chip`, creating it (with its
/// NVVM target) at the end of `module` when needed.
gpu::GPUModuleOp getOrCreateKernelModule(ModuleOp module, StringRef chip) {
  std::string name = ("qc_kernels_" + chip).str();
  if (auto existing = module.lookupSymbol<gpu::GPUModuleOp>(name))
    return existing;
  OpBuilder b(module.getBodyRegion());
  b.setInsertionPointToEnd(module.getBody());
  auto target = NVVM::NVVMTargetAttr::get(
      module.getContext(), /*optLevel=*/3, "nvptx64-nvidia-cuda", chip,
      ::qc::lookupGpuTarget(chip)->ptxFeatures());
  auto gm = gpu::GPUModuleOp::create(b, module.getLoc(), name,
                                     b.getArrayAttr({target}));
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  b.getUnitAttr());
  return gm;
}

/// Derives the GEMV config from a weight-only matmul; on failure returns the
/// reason.
FailureOr<::qc::GemvKernelConfig> gemvConfigFor(WeightOnlyMatmulOp op,
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
  SchemeAttr scheme = pw.getScheme();
  ::qc::GemvKernelConfig cfg;
  cfg.n = pw.getResult().getType().getN();
  cfg.k = pw.getResult().getType().getK();
  cfg.bits = scheme.getWeightBits();
  cfg.perTensor = scheme.getGranularity() == Granularity::PerTensor;
  cfg.groupSize = scheme.getGranularity() == Granularity::PerGroup
                      ? scheme.getGroupSize()
                      : cfg.k;
  cfg.symmetric = scheme.getSymmetric();
  cfg.hasBias = static_cast<bool>(op.getBias());
  Type act = op.getInput().getType().getElementType();
  if (!act.isF16() && !act.isF32()) {
    reason = "GPU kernels take f16 or f32 activations";
    return failure();
  }
  cfg.actF16 = act.isF16();
  cfg.scaleF16 = pw.getScales().getType().getElementType().isF16();
  return cfg;
}

/// A kernel symbol name for `layer` + `suffix` that is a valid identifier
/// and unused in `gm`.
std::string kernelName(gpu::GPUModuleOp gm, StringRef layer, StringRef suffix) {
  std::string base = (layer + "_" + suffix).str();
  for (char &c : base)
    if (!llvm::isAlnum(c) && c != '_')
      c = '_';
  std::string name = base;
  for (int i = 1; SymbolTable::lookupSymbolIn(gm, name); ++i)
    name = base + "_" + std::to_string(i);
  return name;
}

/// Element type of a float tensor value, or null.
Type elemType(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

/// Derives the W8A8 GEMM config for the INT8 weight `weight` (a
/// qc.packed_weight), the optional `bias`, result element type `out` and
/// activation scales per token or per tensor; on failure returns the reason.
FailureOr<::qc::Int8GemmKernelConfig> int8ConfigFor(Value weight, Value bias,
                                                    Type out, bool perTokenAct,
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
    reason = "the int8_mma kernel needs symmetric INT8 weights with "
             "per_channel or per_tensor scales";
    return failure();
  }
  ::qc::Int8GemmKernelConfig cfg;
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
  return cfg;
}

/// Derives the activation quantization config for quantizing `input`
/// (dynamic per token, or static per tensor with `scale`); on failure
/// returns the reason.
FailureOr<::qc::ActQuantKernelConfig>
actQuantConfigFor(Value input, bool dynamicPerToken, float scale,
                  int64_t threads, std::string &reason) {
  ::qc::ActQuantKernelConfig cfg;
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
FailureOr<::qc::Fp16GemmKernelConfig> fp16ConfigFor(LinearOp op,
                                                    std::string &reason) {
  if (op.getSchemeAttr() && op.getSchemeAttr().isIntegerWeight()) {
    reason = "the fp16_mma kernel runs unquantized layers; this one has an "
             "integer scheme";
    return failure();
  }
  if (!elemType(op.getInput()).isF16() || !elemType(op.getWeight()).isF16()) {
    reason = "the fp16_mma kernel needs f16 activations and weights";
    return failure();
  }
  ::qc::Fp16GemmKernelConfig cfg;
  auto wt = op.getWeight().getType();
  cfg.n = wt.getDimSize(0);
  cfg.k = wt.getDimSize(1);
  cfg.outF16 = true;
  cfg.hasBias = static_cast<bool>(op.getBias());
  if (cfg.hasBias && !elemType(op.getBias()).isF16()) {
    reason = "the bias must be f16";
    return failure();
  }
  return cfg;
}

/// The kernel element type of `t` (f32, f16 or bf16), or failure.
FailureOr<::qc::KernelElem> kernelElem(Type t) {
  if (t.isF32())
    return ::qc::KernelElem::F32;
  if (t.isF16())
    return ::qc::KernelElem::F16;
  if (t.isBF16())
    return ::qc::KernelElem::BF16;
  return failure();
}

/// Derives the row normalization config of a qc.rms_norm / qc.layer_norm;
/// on failure returns the reason.
FailureOr<::qc::RowNormKernelConfig> rowNormConfigFor(Operation *op,
                                                      std::string &reason) {
  ::qc::RowNormKernelConfig cfg;
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
  FailureOr<::qc::KernelElem> io = kernelElem(inTy.getElementType()),
                              w = kernelElem(elemType(weight)),
                              b = bias ? kernelElem(elemType(bias))
                                       : FailureOr<::qc::KernelElem>(
                                             ::qc::KernelElem::F32);
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
FailureOr<::qc::CacheAttentionKernelConfig>
cacheAttentionConfigFor(CacheAttentionOp op, std::string &reason) {
  auto qTy = cast<RankedTensorType>(op.getQuery().getType());
  auto cTy = cast<RankedTensorType>(op.getKCache().getType());
  ::qc::CacheAttentionKernelConfig cfg;
  cfg.heads = qTy.getDimSize(2);
  cfg.headDim = qTy.getDimSize(3);
  cfg.kvHeads = cTy.getDimSize(2);
  cfg.seqLen = cTy.getDimSize(3);
  cfg.layer = op.getLayer();
  cfg.scale = op.getScale().convertToFloat();
  FailureOr<::qc::KernelElem> q = kernelElem(qTy.getElementType()),
                              c = kernelElem(cTy.getElementType());
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

struct OutlineGpuKernelsPass
    : public mlir::qc::impl::QCOutlineGpuKernelsBase<OutlineGpuKernelsPass> {
  using Base::Base;

  /// Records on `op` the kernel symbol (`<prefix>kernel_symbol`) and its
  /// launch geometry (`<prefix>launch`).
  void record(Operation *op, gpu::GPUModuleOp gm, StringRef kernel,
              ArrayRef<std::pair<StringRef, int64_t>> launch,
              ArrayRef<int64_t> mTiles = {}, StringRef prefix = "qc.") {
    MLIRContext *ctx = &getContext();
    op->setAttr((prefix + "kernel_symbol").str(),
                SymbolRefAttr::get(gm.getNameAttr(),
                                   {FlatSymbolRefAttr::get(ctx, kernel)}));
    SmallVector<NamedAttribute> entries;
    for (auto [key, value] : launch)
      entries.emplace_back(StringAttr::get(ctx, key),
                           IntegerAttr::get(IntegerType::get(ctx, 64), value));
    if (!mTiles.empty())
      entries.emplace_back(StringAttr::get(ctx, "m_tiles"),
                           DenseI64ArrayAttr::get(ctx, mTiles));
    op->setAttr((prefix + "launch").str(), DictionaryAttr::get(ctx, entries));
  }

  /// The mma tiling from the pass options; `elemBytes` sizes block K.
  ::qc::MmaTileConfig mmaTile(int64_t elemBytes) {
    ::qc::MmaTileConfig t;
    t.blockM = mmaBlockM;
    t.blockN = mmaBlockN;
    t.blockK = mmaBlockKBytes / elemBytes;
    t.warpsM = mmaWarpsM;
    t.warpsN = mmaWarpsN;
    t.stages = mmaStages;
    return t;
  }

  std::vector<std::pair<StringRef, int64_t>>
  mmaLaunch(const ::qc::MmaTileConfig &t) {
    return {
        {"block", t.blockSize()}, {"block_m", t.blockM}, {"block_n", t.blockN}};
  }

  /// Inserts at the end of the kernel module of `chip`.
  OpBuilder kernelBuilder(gpu::GPUModuleOp gm) {
    OpBuilder b(gm.getBodyRegion());
    b.setInsertionPointToEnd(gm.getBody());
    return b;
  }

  /// Whether `op`'s kernels take the residual add that follows it into
  /// their epilogue: the weight-only kernels (gemv, mma, both sides of
  /// gemv_mma), not the adaptive kernel's INT8 side, and only an add that
  /// reads this matmul alone and whose other operand is available before.
  bool residualEpilogue(WeightOnlyMatmulOp op) {
    KernelKind kind = op.getKernelAttr().getKind();
    if (!fuseResidual || (kind != KernelKind::Gemv && kind != KernelKind::Mma &&
                          kind != KernelKind::GemvMma))
      return false;
    ::qc::ResidualAdd add = ::qc::residualAddUser(op.getResult());
    return add.add && DominanceInfo().properlyDominates(add.other, op);
  }

  /// Builds the GEMV family of `op` (one kernel per M tile) and records it.
  LogicalResult buildGemvFamily(WeightOnlyMatmulOp op,
                                ArrayRef<int64_t> tiles) {
    gpu::GPUModuleOp gm =
        getOrCreateKernelModule(getOperation(), op.getKernelAttr().getTarget());
    std::string base = (op.getLayer() + "_gemv").str();
    for (char &c : base)
      if (!llvm::isAlnum(c) && c != '_')
        c = '_';
    // The symbol names the family; uniquify it against earlier layers.
    std::string family = base;
    for (int i = 1;
         gm.lookupSymbol(family + "_mt" + std::to_string(tiles.front())); ++i)
      family = base + "_" + std::to_string(i);
    bool residual = residualEpilogue(op);
    ::qc::GemvKernelConfig last;
    for (int64_t tile : tiles) {
      std::string reason;
      FailureOr<::qc::GemvKernelConfig> cfg = gemvConfigFor(op, reason);
      if (succeeded(cfg)) {
        cfg->hasResidual = residual;
        cfg->warpsPerBlock = warpsPerBlock;
        cfg->rowsPerWarp = rowsPerWarp;
        cfg->chunksPerIter = chunksPerIter;
        cfg->mTile = tile;
        reason = cfg->finalize();
      }
      if (!reason.empty())
        return op.emitError("cannot build the gemv kernel for layer '")
               << op.getLayer() << "': " << reason;
      OpBuilder b = kernelBuilder(gm);
      ::qc::buildWeightOnlyGemvKernel(
          b, op.getLoc(), family + "_mt" + std::to_string(tile), *cfg);
      last = *cfg;
    }
    std::vector<std::pair<StringRef, int64_t>> launch = {
        {"block", last.blockSize()},
        {"rows_per_block", last.warpsPerBlock * last.rowsPerWarp}};
    if (residual)
      launch.push_back({"residual", 1});
    record(op, gm, family, launch, tiles);
    return success();
  }

  /// Builds the weight-only mma kernel of `op` and records it under
  /// `prefix` (`qc.mma_` for the large-M side of gemv_mma).
  LogicalResult buildWeightOnlyMma(WeightOnlyMatmulOp op, StringRef prefix) {
    std::string reason;
    FailureOr<::qc::GemvKernelConfig> g = gemvConfigFor(op, reason);
    ::qc::WeightOnlyMmaKernelConfig cfg;
    if (succeeded(g) && !g->actF16)
      reason = "the mma kernel needs f16 activations";
    if (reason.empty()) {
      cfg.n = g->n;
      cfg.k = g->k;
      cfg.bits = g->bits;
      cfg.groupSize = g->groupSize;
      cfg.perTensor = g->perTensor;
      cfg.symmetric = g->symmetric;
      cfg.hasBias = g->hasBias;
      cfg.scaleF16 = g->scaleF16;
      cfg.hasResidual = residualEpilogue(op);
      cfg.tile = mmaTile(2);
      reason = cfg.finalize();
    }
    if (!reason.empty())
      return op.emitError("cannot build the mma kernel for layer '")
             << op.getLayer() << "': " << reason;
    gpu::GPUModuleOp gm =
        getOrCreateKernelModule(getOperation(), op.getKernelAttr().getTarget());
    OpBuilder b = kernelBuilder(gm);
    std::string name = kernelName(gm, op.getLayer(), "wo_mma");
    ::qc::buildWeightOnlyMmaKernel(b, op.getLoc(), name, cfg);
    std::vector<std::pair<StringRef, int64_t>> launch = mmaLaunch(cfg.tile);
    if (cfg.hasResidual)
      launch.push_back({"residual", 1});
    record(op, gm, name, launch, {}, prefix);
    return success();
  }

  /// Builds the W8A8 GEMM for `op` (a qc.int8_matmul, or the INT8 side of
  /// an adaptive qc.wo_matmul) and records it under `prefix`.
  LogicalResult buildInt8Gemm(Operation *op, StringRef layer, StringRef chip,
                              Value weight, Value bias, Type out, bool perToken,
                              StringRef prefix) {
    std::string reason;
    FailureOr<::qc::Int8GemmKernelConfig> cfg =
        int8ConfigFor(weight, bias, out, perToken, reason);
    if (succeeded(cfg)) {
      cfg->tile = mmaTile(1);
      reason = cfg->finalize();
    }
    if (!reason.empty())
      return op->emitError("cannot build the int8_mma kernel for layer '")
             << layer << "': " << reason;
    gpu::GPUModuleOp gm = getOrCreateKernelModule(getOperation(), chip);
    OpBuilder b = kernelBuilder(gm);
    std::string name = kernelName(gm, layer, "int8_mma");
    ::qc::buildInt8GemmKernel(b, op->getLoc(), name, *cfg);
    record(op, gm, name, mmaLaunch(cfg->tile), {}, prefix);
    return success();
  }

  /// Builds the activation quantization kernel of `input` for `op` and
  /// records it under `prefix`.
  LogicalResult buildActQuant(Operation *op, StringRef layer, StringRef chip,
                              Value input, bool dynamicPerToken, float scale,
                              StringRef prefix) {
    std::string reason;
    FailureOr<::qc::ActQuantKernelConfig> cfg = actQuantConfigFor(
        input, dynamicPerToken, scale, actQuantThreads, reason);
    if (failed(cfg))
      return op->emitError("cannot build the activation quantization kernel: ")
             << reason;
    gpu::GPUModuleOp gm = getOrCreateKernelModule(getOperation(), chip);
    OpBuilder b = kernelBuilder(gm);
    std::string name = kernelName(gm, layer, "act_quant");
    ::qc::buildActQuantKernel(b, op->getLoc(), name, *cfg);
    record(op, gm, name, {{"block", cfg->threads}}, {}, prefix);
    return success();
  }

  /// The GPU chip of glue ops: the `chip` option, else the one target of
  /// the module's GPU matmuls ("" when none; failure when they disagree).
  FailureOr<std::string> glueChip(ModuleOp module) {
    if (!chip.empty()) {
      if (!::qc::lookupGpuTarget(chip)) {
        module.emitError("qc-outline-gpu-kernels: chip must be ")
            << ::qc::targetNames(/*gpuOnly=*/true) << ", got '" << chip << "'";
        return failure();
      }
      return std::string(chip);
    }
    std::string found;
    WalkResult r = module.walk([&](Operation *op) {
      auto kernel = op->getAttrOfType<KernelAttr>("kernel");
      if (!kernel || kernel.getTarget() == "host")
        return WalkResult::advance();
      if (!found.empty() && found != kernel.getTarget()) {
        op->emitError("GPU kernels for both ")
            << found << " and " << kernel.getTarget()
            << " in one module: pass qc-outline-gpu-kernels{chip=...}";
        return WalkResult::interrupt();
      }
      found = kernel.getTarget().str();
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      return failure();
    return found;
  }

  /// Builds the row normalization kernel of a qc.rms_norm / qc.layer_norm
  /// for `chip`, or leaves the op to the linalg glue (with a remark) when
  /// the kernel cannot take it.
  void buildRowNorm(Operation *op, StringRef chip) {
    std::string reason;
    FailureOr<::qc::RowNormKernelConfig> cfg = rowNormConfigFor(op, reason);
    if (failed(cfg)) {
      op->emitRemark("the norm stays linalg glue on ")
          << chip << ": " << reason;
      return;
    }
    gpu::GPUModuleOp gm = getOrCreateKernelModule(getOperation(), chip);
    // Norms of one shape and types share one kernel (a model's layers
    // repeat them).
    std::string key;
    llvm::raw_string_ostream(key)
        << cfg->layerNorm << cfg->k << '_'
        << llvm::bit_cast<uint32_t>(cfg->epsilon) << '_' << int(cfg->io)
        << int(cfg->weight) << int(cfg->bias);
    std::string &name = rowNormKernels[key];
    if (name.empty()) {
      OpBuilder b = kernelBuilder(gm);
      name = kernelName(gm, cfg->layerNorm ? "layer_norm" : "rms_norm",
                        "k" + std::to_string(cfg->k));
      ::qc::buildRowNormKernel(b, op->getLoc(), name, *cfg);
    }
    record(op, gm, name, {{"block", cfg->threads}});
  }
  /// Builds the row argmax kernel of a qc.argmax, or with `sample` the row
  /// sampling kernel of a qc.sample, for `chip` (one per row length and
  /// element type), or leaves the op to the linalg glue (with a remark).
  void buildRowSelect(Operation *op, RankedTensorType inTy, StringRef chip,
                      bool sample) {
    StringRef what = sample ? "sampling" : "argmax";
    ::qc::RowArgmaxKernelConfig cfg;
    cfg.k = inTy.getShape().back();
    FailureOr<::qc::KernelElem> io = kernelElem(inTy.getElementType());
    std::string reason =
        failed(io) ? ("the " + what + " kernel takes f32, f16 and bf16 " +
                      (sample ? "logits" : "tensors"))
                         .str()
                   : "";
    if (reason.empty()) {
      cfg.io = *io;
      // The radix select's histogram is zeroed by the first 256 threads.
      if (sample)
        cfg.threads = cfg.k >= 16384 ? 1024 : 256;
      reason = cfg.finalize();
    }
    if (!reason.empty()) {
      op->emitRemark("the ")
          << what << " stays linalg glue on " << chip << ": " << reason;
      return;
    }
    gpu::GPUModuleOp gm = getOrCreateKernelModule(getOperation(), chip);
    std::string key = std::to_string(cfg.k) + "_" + std::to_string(int(cfg.io));
    std::string &name = (sample ? sampleKernels : argmaxKernels)[key];
    if (name.empty()) {
      OpBuilder b = kernelBuilder(gm);
      if (sample) {
        name = kernelName(gm, "sample", "v" + std::to_string(cfg.k));
        ::qc::buildRowSampleKernel(b, op->getLoc(), name, cfg);
      } else {
        name = kernelName(gm, "argmax", "k" + std::to_string(cfg.k));
        ::qc::buildRowArgmaxKernel(b, op->getLoc(), name, cfg);
      }
    }
    record(op, gm, name, {{"block", cfg.threads}});
  }
  /// Row argmax / sampling kernels built so far, by config.
  std::map<std::string, std::string> argmaxKernels, sampleKernels;

  /// Builds the decode attention kernels of a qc.cache_attention for `chip`
  /// (`<name>_partial`, `<name>_combine`) and records them with what the
  /// launch needs; a shape the kernels do not take keeps the linalg glue,
  /// with a remark.
  void buildCacheAttention(CacheAttentionOp op, StringRef chip) {
    std::string reason;
    FailureOr<::qc::CacheAttentionKernelConfig> cfg =
        cacheAttentionConfigFor(op, reason);
    if (failed(cfg)) {
      op->emitRemark("the attention stays linalg glue on ")
          << chip << ": " << reason;
      return;
    }
    gpu::GPUModuleOp gm = getOrCreateKernelModule(getOperation(), chip);
    std::string key;
    llvm::raw_string_ostream(key)
        << cfg->heads << '_' << cfg->kvHeads << '_' << cfg->seqLen << '_'
        << cfg->headDim << '_' << cfg->layer << '_'
        << llvm::bit_cast<uint32_t>(cfg->scale) << '_' << int(cfg->query)
        << int(cfg->cache) << '_' << cfg->chunkLen;
    std::string &name = attentionKernels[key];
    if (name.empty()) {
      OpBuilder b = kernelBuilder(gm);
      name =
          kernelName(gm, "cache_attention", "l" + std::to_string(cfg->layer));
      // Both kernels' names must be free.
      for (int i = 1; gm.lookupSymbol(name + "_partial") ||
                      gm.lookupSymbol(name + "_combine");
           ++i)
        name = kernelName(gm, "cache_attention",
                          "l" + std::to_string(cfg->layer) + "_" +
                              std::to_string(i));
      ::qc::buildCacheAttentionKernels(b, op.getLoc(), name, *cfg);
    }
    record(op, gm, name,
           {{"block", 32},
            {"combine_block", cfg->headDim},
            {"chunks", cfg->numChunks()},
            {"kv_heads", cfg->kvHeads},
            {"heads", cfg->heads},
            {"record", cfg->recordFloats()},
            {"max_split_t", cfg->maxSplitT}});
  }
  std::map<std::string, std::string> attentionKernels;

  /// Row normalization kernels built so far, by config.
  std::map<std::string, std::string> rowNormKernels;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<std::string> gpuChip = glueChip(module);
    if (failed(gpuChip))
      return signalPassFailure();
    SmallVector<Operation *> norms;
    if (!gpuChip->empty() && normKernels)
      module.walk([&](Operation *op) {
        if (isa<RMSNormOp, LayerNormOp>(op))
          norms.push_back(op);
      });
    for (Operation *op : norms)
      buildRowNorm(op, *gpuChip);
    SmallVector<ArgMaxOp> argmaxes;
    if (!gpuChip->empty())
      module.walk([&](ArgMaxOp op) { argmaxes.push_back(op); });
    for (ArgMaxOp op : argmaxes)
      buildRowSelect(op, op.getInput().getType(), *gpuChip, /*sample=*/false);
    SmallVector<SampleOp> samples;
    if (!gpuChip->empty())
      module.walk([&](SampleOp op) { samples.push_back(op); });
    for (SampleOp op : samples)
      buildRowSelect(op, op.getLogits().getType(), *gpuChip, /*sample=*/true);
    SmallVector<CacheAttentionOp> attentions;
    if (!gpuChip->empty() && attentionKernels_)
      module.walk([&](CacheAttentionOp op) { attentions.push_back(op); });
    for (CacheAttentionOp op : attentions)
      buildCacheAttention(op, *gpuChip);

    SmallVector<WeightOnlyMatmulOp> gemvs, woMmas, gemvMmas, adaptives;
    SmallVector<Int8MatmulOp> int8s;
    SmallVector<LinearOp> fp16s;
    bool failedAny = false;
    module.walk([&](Operation *op) {
      auto kernel = op->getAttrOfType<KernelAttr>("kernel");
      if (!kernel || kernel.getTarget() == "host")
        return;
      auto wo = dyn_cast<WeightOnlyMatmulOp>(op);
      if (wo && kernel.getKind() == KernelKind::Gemv) {
        gemvs.push_back(wo);
        return;
      }
      if (wo && kernel.getKind() == KernelKind::Mma) {
        woMmas.push_back(wo);
        return;
      }
      if (wo && kernel.getKind() == KernelKind::Adaptive) {
        adaptives.push_back(wo);
        return;
      }
      if (wo && kernel.getKind() == KernelKind::GemvMma) {
        gemvMmas.push_back(wo);
        return;
      }
      auto i8mm = dyn_cast<Int8MatmulOp>(op);
      if (i8mm && kernel.getKind() == KernelKind::Int8Mma) {
        int8s.push_back(i8mm);
        return;
      }
      auto lin = dyn_cast<LinearOp>(op);
      if (lin && kernel.getKind() == KernelKind::Fp16Mma) {
        fp16s.push_back(lin);
        return;
      }
      op->emitError("GPU kernel '")
          << stringifyKernelKind(kernel.getKind()) << "' for " << op->getName()
          << " has no kernel builder yet";
      failedAny = true;
    });
    if (failedAny)
      return signalPassFailure();

    SmallVector<int64_t> tiles(mTiles.begin(), mTiles.end());
    if (tiles.empty())
      tiles.assign(::qc::kDefaultGemvRowTiles.begin(),
                   ::qc::kDefaultGemvRowTiles.end());
    llvm::sort(tiles);
    for (WeightOnlyMatmulOp op : gemvs)
      if (failed(buildGemvFamily(op, tiles)))
        return signalPassFailure();

    for (WeightOnlyMatmulOp op : woMmas)
      if (failed(buildWeightOnlyMma(op, "qc.")))
        return signalPassFailure();

    // gemv_mma: the GEMV family for M < threshold, the weight-only
    // tensor-core kernel (recorded under qc.mma_) from there on.
    for (WeightOnlyMatmulOp op : gemvMmas)
      if (failed(buildGemvFamily(op, tiles)) ||
          failed(buildWeightOnlyMma(op, "qc.mma_")))
        return signalPassFailure();

    // Batch-adaptive INT8: the GEMV family for M < threshold; for larger M
    // the input is quantized per token (as the host lowering does) and the
    // INT8 GEMM reads the same row_major bytes.
    for (WeightOnlyMatmulOp op : adaptives) {
      StringRef chip = op.getKernelAttr().getTarget();
      if (failed(buildGemvFamily(op, tiles)) ||
          failed(buildInt8Gemm(op, op.getLayer(), chip, op.getWeight(),
                               op.getBias(), op.getType().getElementType(),
                               /*perToken=*/true, "qc.int8_")) ||
          failed(buildActQuant(op, op.getLayer(), chip, op.getInput(),
                               /*dynamicPerToken=*/true, 1.0f,
                               "qc.act_quant_")))
        return signalPassFailure();
    }

    // Activation quantizations feeding a GPU INT8 matmul run on that GPU,
    // once however many matmuls read them.
    llvm::MapVector<QuantizeActOp, std::pair<StringRef, StringRef>> actQuants;
    for (Int8MatmulOp op : int8s) {
      auto sxTy = op.getInputScales().getType();
      bool perToken = !(sxTy.hasStaticShape() && sxTy.getNumElements() == 1);
      StringRef chip = op.getKernelAttr().getTarget();
      if (failed(buildInt8Gemm(op, op.getLayer(), chip, op.getWeight(),
                               op.getBias(), op.getType().getElementType(),
                               perToken, "qc.")))
        return signalPassFailure();
      if (auto qa = op.getInput().getDefiningOp<QuantizeActOp>())
        actQuants.insert({qa, {chip, op.getLayer()}});
    }
    for (auto [op, where] : actQuants) {
      bool dynamic = op.getMode() == ActMode::DynamicPerToken;
      float scale = !dynamic && op.getScaleAttr()
                        ? op.getScaleAttr().getValueAsDouble()
                        : 1.0f;
      if (failed(buildActQuant(op, where.second, where.first, op.getInput(),
                               dynamic, scale, "qc.")))
        return signalPassFailure();
    }

    for (LinearOp op : fp16s) {
      std::string reason;
      FailureOr<::qc::Fp16GemmKernelConfig> cfg = fp16ConfigFor(op, reason);
      if (succeeded(cfg)) {
        cfg->tile = mmaTile(2);
        reason = cfg->finalize();
      }
      if (!reason.empty()) {
        op.emitError("cannot build the fp16_mma kernel for layer '")
            << op.getLayer() << "': " << reason;
        return signalPassFailure();
      }
      StringRef chip = op->getAttrOfType<KernelAttr>("kernel").getTarget();
      gpu::GPUModuleOp gm = getOrCreateKernelModule(module, chip);
      OpBuilder b = kernelBuilder(gm);
      std::string name = kernelName(gm, op.getLayer(), "fp16_mma");
      ::qc::buildFp16GemmKernel(b, op.getLoc(), name, *cfg);
      record(op, gm, name, mmaLaunch(cfg->tile));
    }
  }
};
} // namespace
