//===- OutlineGpuKernels.cpp - Build device kernels for qc matmuls -*- C++ -*-//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToNVVM/KernelBuilders.h"
#include "qc/Conversion/QCToNVVM/Passes.h"
#include "qc/Dialect/QC/IR/QC.h"
#include "qc/Kernels/EpilogueFusion.h"
#include "qc/Kernels/KernelFamilies.h"
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

/// `@<gm>::@<kernel>`.
SymbolRefAttr kernelRef(gpu::GPUModuleOp gm, StringRef kernel) {
  return SymbolRefAttr::get(gm.getNameAttr(),
                            {FlatSymbolRefAttr::get(gm.getContext(), kernel)});
}

struct OutlineGpuKernelsPass
    : public mlir::qc::impl::QCOutlineGpuKernelsBase<OutlineGpuKernelsPass> {
  using Base::Base;

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
    if (!fuseResidual ||
        (kind != KernelKind::Gemv && kind != KernelKind::Mma &&
         kind != KernelKind::GemvMma && kind != KernelKind::Frag))
      return false;
    ::qc::ResidualAdd add = ::qc::residualAddUser(op.getResult());
    return add.add && DominanceInfo().properlyDominates(add.other, op);
  }

  /// Whether `op`'s GEMV family writes silu(gate) * up (the SiLU * mul glue
  /// that alone reads its output absorbed; `swiglu-epilogue`): gemv and
  /// gemv_mma (whose mma side keeps the glue), an even rows_per_warp.
  bool fuseSwiGlu(WeightOnlyMatmulOp op, GemvTilingAttr tiling) {
    KernelKind kind = op.getKernelAttr().getKind();
    return swiGluEpilogue &&
           (kind == KernelKind::Gemv || kind == KernelKind::GemvMma) &&
           tiling.getRowsPerWarp() % 2 == 0 &&
           ::qc::swiGluUser(op.getResult()).glue;
  }

  /// Builds the GEMV family of `op` (one kernel per M tile of its tiling)
  /// and records it as `qc.launch`.
  LogicalResult buildGemvFamily(WeightOnlyMatmulOp op) {
    KernelAttr kernel = op.getKernelAttr();
    GemvTilingAttr tiling =
        kernel.getGemv() ? kernel.getGemv() : ::qc::gemvTiling(&getContext());
    gpu::GPUModuleOp gm =
        getOrCreateKernelModule(getOperation(), kernel.getTarget());
    ArrayRef<int64_t> tiles = tiling.getMTiles();
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
    bool swiGlu = fuseSwiGlu(op, tiling);
    ::qc::GemvKernelConfig last;
    for (int64_t tile : tiles) {
      std::string reason;
      FailureOr<::qc::GemvKernelConfig> cfg =
          ::qc::gemvConfig(op, tiling, tile, reason);
      if (succeeded(cfg)) {
        cfg->hasResidual = residual;
        cfg->swiGlu = swiGlu;
        cfg->l2Prefetch = prefetchesWeights(kernel.getTarget());
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
    op->setAttr("qc.launch",
                ::qc::gemvLaunch(kernelRef(gm, family), last, tiles));
    return buildNormGemvFamily(op, gm, family, tiling, residual, swiGlu);
  }

  /// With `norm-prologue`: the GEMV variants that normalize their input
  /// first (EpilogueFusion.h normProducer), for the M tiles of `tiling`
  /// whose rows fit shared memory, recorded as `qc.norm_launch`.
  LogicalResult buildNormGemvFamily(WeightOnlyMatmulOp op, gpu::GPUModuleOp gm,
                                    StringRef family, GemvTilingAttr tiling,
                                    bool residual, bool swiGlu) {
    RMSNormOp norm = normPrologue ? ::qc::normProducer(op) : RMSNormOp();
    if (!norm)
      return success();
    FailureOr<::qc::KernelElem> gElem = ::qc::kernelElemOf(
        cast<ShapedType>(norm.getWeight().getType()).getElementType());
    if (failed(gElem))
      return success();
    SmallVector<int64_t> fused;
    ::qc::GemvKernelConfig last;
    for (int64_t tile : tiling.getMTiles()) {
      std::string reason;
      FailureOr<::qc::GemvKernelConfig> cfg =
          ::qc::gemvConfig(op, tiling, tile, reason);
      if (failed(cfg) || !::qc::normProloguePays(tile, cfg->k))
        continue;
      cfg->hasResidual = residual;
      cfg->swiGlu = swiGlu;
      cfg->l2Prefetch = prefetchesWeights(op.getKernelAttr().getTarget());
      cfg->normPrologue = true;
      cfg->normEpsilon =
          static_cast<float>(norm.getEpsilon().convertToDouble());
      cfg->normWeight = *gElem;
      if (!cfg->finalize().empty())
        continue; // e.g. the tile's rows exceed 48 KiB
      OpBuilder b = kernelBuilder(gm);
      ::qc::buildWeightOnlyGemvKernel(
          b, op.getLoc(), (family + "_norm_mt" + Twine(tile)).str(), *cfg);
      fused.push_back(tile);
      last = *cfg;
    }
    if (!fused.empty())
      op->setAttr("qc.norm_launch",
                  ::qc::gemvLaunch(kernelRef(gm, (family + "_norm").str()),
                                   last, fused));
    return success();
  }

  /// Whether the weight-only kernels for `target` prefetch their weights
  /// before the dependent-launch wait (`weight-prefetch`, targets with
  /// dependent launch only: the prefetch is an sm_90 instruction).
  bool prefetchesWeights(StringRef target) {
    const ::qc::TargetInfo *t = ::qc::lookupTarget(target);
    return weightPrefetch && t && t->dependentLaunch;
  }

  /// Builds the frag family of `op` (one kernel per M tile of its tiling,
  /// and the split-K reduction when split_k > 1 and the splits do not meet
  /// in a thread-block cluster) and records it as
  /// `qc.launch`.
  LogicalResult buildFragFamily(WeightOnlyMatmulOp op) {
    KernelAttr kernel = op.getKernelAttr();
    FragTilingAttr tiling = kernel.getFrag();
    if (!tiling)
      return op.emitError("cannot build the frag kernel for layer '")
             << op.getLayer() << "': its #qc.kernel has no frag tiling";
    gpu::GPUModuleOp gm =
        getOrCreateKernelModule(getOperation(), kernel.getTarget());
    ArrayRef<int64_t> tiles = tiling.getMTiles();
    std::string family = kernelName(gm, op.getLayer(), "frag");
    for (int i = 1;
         gm.lookupSymbol(family + "_mt" + std::to_string(tiles.front())) ||
         gm.lookupSymbol(family + "_reduce");
         ++i)
      family = kernelName(gm, op.getLayer(), "frag") + "_" + std::to_string(i);
    bool residual = residualEpilogue(op);
    ::qc::WeightOnlyFragKernelConfig last;
    for (int64_t tile : tiles) {
      std::string reason;
      FailureOr<::qc::WeightOnlyFragKernelConfig> cfg =
          ::qc::weightOnlyFragConfig(op, tiling, tile, reason);
      if (succeeded(cfg)) {
        cfg->hasResidual = residual;
        cfg->l2Prefetch = prefetchesWeights(kernel.getTarget());
        reason = cfg->finalize();
      }
      if (!reason.empty())
        return op.emitError("cannot build the frag kernel for layer '")
               << op.getLayer() << "': " << reason;
      OpBuilder b = kernelBuilder(gm);
      ::qc::buildWeightOnlyFragKernel(
          b, op.getLoc(), family + "_mt" + std::to_string(tile), *cfg);
      last = *cfg;
    }
    if (tiling.getSplitK() > 1 && !last.clusterSplit) {
      ::qc::FragReduceKernelConfig red;
      red.n = last.n;
      red.splits = tiling.getSplitK();
      red.hasBias = last.hasBias;
      red.hasResidual = residual;
      if (std::string reason = red.finalize(); !reason.empty())
        return op.emitError("cannot build the frag reduction for layer '")
               << op.getLayer() << "': " << reason;
      OpBuilder b = kernelBuilder(gm);
      ::qc::buildFragReduceKernel(b, op.getLoc(), family + "_reduce", red);
    }
    op->setAttr("qc.launch", ::qc::fragLaunch(kernelRef(gm, family), last,
                                              tiles, tiling.getSplitK()));
    // The wgmma variant (M >= the kernel's threshold, sm_90a), recorded as
    // `qc.mma_launch` like gemv_mma's large-M side.
    if (MmaTilingAttr wt = kernel.getMma()) {
      std::string reason;
      FailureOr<::qc::WeightOnlyWgmmaKernelConfig> cfg =
          ::qc::weightOnlyWgmmaConfig(op, wt, reason);
      if (succeeded(cfg)) {
        cfg->hasResidual = residual;
        reason = cfg->finalize();
      }
      if (!reason.empty())
        return op.emitError("cannot build the frag wgmma kernel for layer '")
               << op.getLayer() << "': " << reason;
      OpBuilder b = kernelBuilder(gm);
      std::string name = family + "_wgmma";
      ::qc::buildWeightOnlyWgmmaKernel(b, op.getLoc(), name, *cfg);
      ::qc::MmaTileConfig tile;
      tile.blockM = cfg->tokens;
      tile.blockN = cfg->channelsPerCta();
      tile.warpsM = 1;
      tile.warpsN = 4 * cfg->warpgroups;
      op->setAttr(
          "qc.mma_launch",
          ::qc::mmaLaunch(kernelRef(gm, name), tile, residual,
                          cfg->dynamicShared() ? cfg->sharedBytes() : 0));
    }
    return success();
  }

  /// Builds the weight-only mma kernel of `op` and records it under
  /// `attrName` (`qc.mma_launch` for the large-M side of gemv_mma).
  LogicalResult buildWeightOnlyMma(WeightOnlyMatmulOp op, StringRef attrName) {
    std::string reason;
    FailureOr<::qc::WeightOnlyMmaKernelConfig> cfg =
        ::qc::weightOnlyMmaConfig(op, op.getKernelAttr().getMma(), reason);
    if (succeeded(cfg)) {
      cfg->hasResidual = residualEpilogue(op);
      reason = cfg->finalize();
    }
    if (!reason.empty())
      return op.emitError("cannot build the mma kernel for layer '")
             << op.getLayer() << "': " << reason;
    gpu::GPUModuleOp gm =
        getOrCreateKernelModule(getOperation(), op.getKernelAttr().getTarget());
    OpBuilder b = kernelBuilder(gm);
    std::string name = kernelName(gm, op.getLayer(), "wo_mma");
    ::qc::buildWeightOnlyMmaKernel(b, op.getLoc(), name, *cfg);
    op->setAttr(attrName, ::qc::mmaLaunch(kernelRef(gm, name), cfg->tile,
                                          cfg->hasResidual));
    return success();
  }

  /// Builds the W8A8 GEMM for `op` (a qc.int8_matmul, or the INT8 side of
  /// an adaptive qc.wo_matmul) with `tiling` and records it under
  /// `attrName`.
  LogicalResult buildInt8Gemm(Operation *op, StringRef layer, StringRef chip,
                              Value weight, Value bias, Type out, bool perToken,
                              MmaTilingAttr tiling, StringRef attrName) {
    std::string reason;
    FailureOr<::qc::Int8GemmKernelConfig> cfg =
        ::qc::int8GemmConfig(weight, bias, out, perToken, tiling, reason);
    if (failed(cfg))
      return op->emitError("cannot build the int8_mma kernel for layer '")
             << layer << "': " << reason;
    gpu::GPUModuleOp gm = getOrCreateKernelModule(getOperation(), chip);
    OpBuilder b = kernelBuilder(gm);
    std::string name = kernelName(gm, layer, "int8_mma");
    const ::qc::TargetInfo *target = ::qc::lookupTarget(chip);
    if (cfg->wgmma && !(target && target->wgmma))
      return op->emitError("cannot build the int8_mma kernel for layer '")
             << layer << "': its wgmma tiling needs a target with wgmma";
    ::qc::buildInt8GemmKernel(b, op->getLoc(), name, *cfg);
    op->setAttr(
        attrName,
        ::qc::mmaLaunch(kernelRef(gm, name), cfg->tile, false,
                        cfg->wgmma ? cfg->tile.wgmmaLaunchSharedBytes() : 0,
                        cfg->tile.persistent ? target->smCount : 0));
    return success();
  }

  /// Builds the activation quantization kernel of `input` for `op` and
  /// records it under `attrName`.
  LogicalResult buildActQuant(Operation *op, StringRef layer, StringRef chip,
                              Value input, Type outElem, bool dynamicPerToken,
                              float scale, StringRef attrName) {
    std::string reason;
    FailureOr<::qc::ActQuantKernelConfig> cfg = ::qc::actQuantConfig(
        input, outElem, dynamicPerToken, scale, actQuantThreads, reason);
    if (failed(cfg))
      return op->emitError("cannot build the activation quantization kernel: ")
             << reason;
    gpu::GPUModuleOp gm = getOrCreateKernelModule(getOperation(), chip);
    OpBuilder b = kernelBuilder(gm);
    std::string name = kernelName(gm, layer, "act_quant");
    ::qc::buildActQuantKernel(b, op->getLoc(), name, *cfg);
    op->setAttr(attrName, ::qc::rowLaunch(kernelRef(gm, name), cfg->threads));
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

  /// The norm whose output `qa` quantizes when the two fuse into one
  /// kernel (`fuse-norm-quant`): a qc.rms_norm / qc.layer_norm whose only
  /// user is `qa`, every user of `qa` a GPU qc.int8_matmul, f16 or f32 rows.
  Operation *fusableNorm(QuantizeActOp qa) {
    if (!fuseNormQuant || !normKernels)
      return nullptr;
    Operation *norm = qa.getInput().getDefiningOp();
    if (!norm || !isa<RMSNormOp, LayerNormOp>(norm) || !norm->hasOneUse())
      return nullptr;
    Type elem =
        cast<RankedTensorType>(qa.getInput().getType()).getElementType();
    if (!elem.isF16() && !elem.isF32())
      return nullptr;
    for (Operation *user : qa->getUsers()) {
      auto mm = dyn_cast<Int8MatmulOp>(user);
      if (!mm || !mm.getKernelAttr() ||
          mm.getKernelAttr().getTarget() == "host")
        return nullptr;
    }
    return norm;
  }

  /// Builds the row norm kernel of `norm` with the activation quantization
  /// of `qa` fused (RowNormKernelConfig::quantize), records it on `qa`
  /// (`qc.launch`, `qc.fused_norm`); false when the kernel cannot take them.
  bool buildNormActQuant(Operation *norm, QuantizeActOp qa, StringRef chip,
                         StringRef layer) {
    std::string reason;
    FailureOr<::qc::RowNormKernelConfig> cfg =
        ::qc::rowNormConfig(norm, reason);
    if (failed(cfg))
      return false;
    cfg->quantize = true;
    cfg->quantFp8 =
        isa<Float8E4M3FNType>(qa.getOutput().getType().getElementType());
    cfg->quantDynamic = qa.getMode() == ActMode::DynamicPerToken;
    cfg->quantScale = !cfg->quantDynamic && qa.getScaleAttr()
                          ? qa.getScaleAttr().getValueAsDouble()
                          : 1.0f;
    if (!cfg->finalize().empty())
      return false;
    gpu::GPUModuleOp gm = getOrCreateKernelModule(getOperation(), chip);
    OpBuilder b = kernelBuilder(gm);
    std::string name = kernelName(gm, layer, "norm_act_quant");
    ::qc::buildRowNormKernel(b, norm->getLoc(), name, *cfg);
    qa->setAttr("qc.launch",
                ::qc::rowLaunch(kernelRef(gm, name), cfg->threads));
    qa->setAttr("qc.fused_norm", UnitAttr::get(qa.getContext()));
    return true;
  }

  /// Builds the row normalization kernel of a qc.rms_norm / qc.layer_norm
  /// for `chip`, or leaves the op to the linalg glue (with a remark) when
  /// the kernel cannot take it.
  void buildRowNorm(Operation *op, StringRef chip) {
    std::string reason;
    FailureOr<::qc::RowNormKernelConfig> cfg = ::qc::rowNormConfig(op, reason);
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
    op->setAttr("qc.launch",
                ::qc::rowLaunch(kernelRef(gm, name), cfg->threads));
  }
  /// Builds the row argmax kernel of a qc.argmax, or with `sample` the row
  /// sampling kernel of a qc.sample, for `chip` (one per row length and
  /// element type), or leaves the op to the linalg glue (with a remark).
  void buildRowSelect(Operation *op, RankedTensorType inTy, StringRef chip,
                      bool sample) {
    std::string reason;
    FailureOr<::qc::RowArgmaxKernelConfig> selected =
        ::qc::rowSelectConfig(inTy, sample, reason);
    if (failed(selected)) {
      op->emitRemark("the ")
          << (sample ? "sampling" : "argmax") << " stays linalg glue on "
          << chip << ": " << reason;
      return;
    }
    ::qc::RowArgmaxKernelConfig cfg = *selected;
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
    op->setAttr("qc.launch", ::qc::rowLaunch(kernelRef(gm, name), cfg.threads));
  }
  /// Row argmax / sampling kernels built so far, by config.
  std::map<std::string, std::string> argmaxKernels, sampleKernels;

  /// Builds the attention kernels of a qc.cache_attention for `chip`
  /// (`<name>_partial`, `<name>_combine` and, where
  /// CacheAttentionKernelConfig::usesPrefillKernel says so, the tensor-core
  /// `<name>_prefill` for T > max_split_t) and records them with what the
  /// launch needs; a shape the kernels do not take keeps the linalg glue,
  /// with a remark.
  void buildCacheAttention(CacheAttentionOp op, StringRef chip) {
    std::string reason;
    FailureOr<::qc::CacheAttentionKernelConfig> cfg =
        ::qc::cacheAttentionConfig(op, reason);
    if (failed(cfg)) {
      op->emitRemark("the attention stays linalg glue on ")
          << chip << ": " << reason;
      return;
    }
    cfg->prefill = attentionPrefill;
    bool prefill = cfg->usesPrefillKernel();
    gpu::GPUModuleOp gm = getOrCreateKernelModule(getOperation(), chip);
    std::string key;
    llvm::raw_string_ostream(key)
        << cfg->heads << '_' << cfg->kvHeads << '_' << cfg->seqLen << '_'
        << cfg->headDim << '_' << cfg->layer << '_'
        << llvm::bit_cast<uint32_t>(cfg->scale) << '_' << int(cfg->query)
        << int(cfg->cache) << '_' << cfg->chunkLen << '_' << prefill;
    std::string &name = attentionKernels[key];
    if (name.empty()) {
      OpBuilder b = kernelBuilder(gm);
      name =
          kernelName(gm, "cache_attention", "l" + std::to_string(cfg->layer));
      // Every kernel's name must be free.
      for (int i = 1; gm.lookupSymbol(name + "_partial") ||
                      gm.lookupSymbol(name + "_combine") ||
                      gm.lookupSymbol(name + "_prefill");
           ++i)
        name = kernelName(gm, "cache_attention",
                          "l" + std::to_string(cfg->layer) + "_" +
                              std::to_string(i));
      ::qc::buildCacheAttentionKernels(b, op.getLoc(), name, *cfg);
      if (prefill)
        ::qc::buildPrefillAttentionKernel(b, op.getLoc(), name + "_prefill",
                                          *cfg);
    }
    op->setAttr("qc.launch", ::qc::attentionLaunch(kernelRef(gm, name), *cfg));
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
        // A norm that its activation quantization fuses is built with it.
        if (isa<RMSNormOp, LayerNormOp>(op) &&
            !(op->hasOneUse() && isa<QuantizeActOp>(*op->user_begin()) &&
              fusableNorm(cast<QuantizeActOp>(*op->user_begin())) == op))
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

    SmallVector<WeightOnlyMatmulOp> gemvs, woMmas, gemvMmas, adaptives, frags;
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
      if (wo && kernel.getKind() == KernelKind::Frag) {
        frags.push_back(wo);
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

    for (WeightOnlyMatmulOp op : gemvs)
      if (failed(buildGemvFamily(op)))
        return signalPassFailure();

    for (WeightOnlyMatmulOp op : woMmas)
      if (failed(buildWeightOnlyMma(op, "qc.launch")))
        return signalPassFailure();

    for (WeightOnlyMatmulOp op : frags)
      if (failed(buildFragFamily(op)))
        return signalPassFailure();

    // gemv_mma: the GEMV family for M < threshold, the weight-only
    // tensor-core kernel (recorded as qc.mma_launch) from there on.
    for (WeightOnlyMatmulOp op : gemvMmas)
      if (failed(buildGemvFamily(op)) ||
          failed(buildWeightOnlyMma(op, "qc.mma_launch")))
        return signalPassFailure();

    // Batch-adaptive INT8: the GEMV family for M < threshold; for larger M
    // the input is quantized per token (as the host lowering does) and the
    // INT8 GEMM reads the same row_major bytes.
    for (WeightOnlyMatmulOp op : adaptives) {
      StringRef chip = op.getKernelAttr().getTarget();
      if (failed(buildGemvFamily(op)) ||
          failed(buildInt8Gemm(op, op.getLayer(), chip, op.getWeight(),
                               op.getBias(), op.getType().getElementType(),
                               /*perToken=*/true, op.getKernelAttr().getMma(),
                               "qc.int8_launch")) ||
          failed(buildActQuant(op, op.getLayer(), chip, op.getInput(),
                               IntegerType::get(op.getContext(), 8),
                               /*dynamicPerToken=*/true, 1.0f,
                               "qc.act_quant_launch")))
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
                               perToken, op.getKernelAttr().getMma(),
                               "qc.launch")))
        return signalPassFailure();
      if (auto qa = op.getInput().getDefiningOp<QuantizeActOp>())
        actQuants.insert({qa, {chip, op.getLayer()}});
    }
    for (auto [op, where] : actQuants) {
      if (Operation *norm = fusableNorm(op)) {
        if (buildNormActQuant(norm, op, where.first, where.second))
          continue;
        // The row kernel cannot take it: the norm alone, then the
        // quantization.
        buildRowNorm(norm, *gpuChip);
      }
      bool dynamic = op.getMode() == ActMode::DynamicPerToken;
      float scale = !dynamic && op.getScaleAttr()
                        ? op.getScaleAttr().getValueAsDouble()
                        : 1.0f;
      if (failed(buildActQuant(op, where.second, where.first, op.getInput(),
                               op.getOutput().getType().getElementType(),
                               dynamic, scale, "qc.launch")))
        return signalPassFailure();
    }

    for (LinearOp op : fp16s) {
      std::string reason;
      FailureOr<::qc::Fp16GemmKernelConfig> cfg =
          ::qc::fp16GemmConfig(op, op.getKernelAttr().getMma(), reason);
      if (failed(cfg)) {
        op.emitError("cannot build the fp16_mma kernel for layer '")
            << op.getLayer() << "': " << reason;
        return signalPassFailure();
      }
      gpu::GPUModuleOp gm =
          getOrCreateKernelModule(module, op.getKernelAttr().getTarget());
      OpBuilder b = kernelBuilder(gm);
      std::string name = kernelName(gm, op.getLayer(), "fp16_mma");
      ::qc::buildFp16GemmKernel(b, op.getLoc(), name, *cfg);
      const ::qc::TargetInfo *target =
          ::qc::lookupTarget(op.getKernelAttr().getTarget());
      op->setAttr("qc.launch",
                  ::qc::mmaLaunch(
                      kernelRef(gm, name), cfg->tile, false,
                      cfg->wgmma ? cfg->tile.wgmmaLaunchSharedBytes() : 0,
                      cfg->tile.persistent && target ? target->smCount : 0));
    }
  }
};
} // namespace
