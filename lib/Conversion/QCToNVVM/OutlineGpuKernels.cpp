//===- OutlineGpuKernels.cpp - Build device kernels for qc matmuls -*- C++ -*-//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToNVVM/KernelBuilders.h"
#include "qc/Conversion/QCToNVVM/Passes.h"
#include "qc/Dialect/QC/IR/QC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/MapVector.h"

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
      chip == "sm_90" ? "+ptx80" : "+ptx70");
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

/// Derives the W8A8 GEMM config from an INT8 matmul; on failure returns the
/// reason.
FailureOr<::qc::Int8GemmKernelConfig> int8ConfigFor(Int8MatmulOp op,
                                                    std::string &reason) {
  PackedWeightOp pw = getPackedWeightDef(op.getWeight());
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
  auto sxTy = op.getInputScales().getType();
  cfg.perTokenAct = !(sxTy.hasStaticShape() && sxTy.getNumElements() == 1);
  Type out = op.getResult().getType().getElementType();
  if (!out.isF16() && !out.isF32()) {
    reason = "GPU kernels produce f16 or f32 results";
    return failure();
  }
  cfg.outF16 = out.isF16();
  cfg.hasBias = static_cast<bool>(op.getBias());
  if (cfg.hasBias && elemType(op.getBias()) != out) {
    reason = "the bias must have the result's element type";
    return failure();
  }
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

struct OutlineGpuKernelsPass
    : public mlir::qc::impl::QCOutlineGpuKernelsBase<OutlineGpuKernelsPass> {
  using Base::Base;

  /// Records the kernel symbol and its launch geometry on `op`.
  void record(Operation *op, gpu::GPUModuleOp gm, gpu::GPUFuncOp func,
              ArrayRef<std::pair<StringRef, int64_t>> launch) {
    MLIRContext *ctx = &getContext();
    op->setAttr("qc.kernel_symbol",
                SymbolRefAttr::get(gm.getNameAttr(), {FlatSymbolRefAttr::get(
                                                         func.getNameAttr())}));
    SmallVector<NamedAttribute> entries;
    for (auto [key, value] : launch)
      entries.emplace_back(StringAttr::get(ctx, key),
                           IntegerAttr::get(IntegerType::get(ctx, 64), value));
    op->setAttr("qc.launch", DictionaryAttr::get(ctx, entries));
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

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<WeightOnlyMatmulOp> gemvs, woMmas;
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
      tiles = {1, 2, 4};
    llvm::sort(tiles);
    for (WeightOnlyMatmulOp op : gemvs) {
      StringRef chip = op.getKernelAttr().getTarget();
      gpu::GPUModuleOp gm = getOrCreateKernelModule(module, chip);
      std::string base = (op.getLayer() + "_gemv").str();
      for (char &c : base)
        if (!llvm::isAlnum(c) && c != '_')
          c = '_';
      // One kernel per activation-row tile; the symbol names the family.
      std::string family;
      ::qc::GemvKernelConfig last;
      for (int64_t tile : tiles) {
        std::string reason;
        FailureOr<::qc::GemvKernelConfig> cfg = gemvConfigFor(op, reason);
        if (succeeded(cfg)) {
          cfg->warpsPerBlock = warpsPerBlock;
          cfg->rowsPerWarp = rowsPerWarp;
          cfg->chunksPerIter = chunksPerIter;
          cfg->mTile = tile;
          reason = cfg->finalize();
        }
        if (!reason.empty()) {
          op.emitError("cannot build the gemv kernel for layer '")
              << op.getLayer() << "': " << reason;
          return signalPassFailure();
        }
        OpBuilder b(gm.getBodyRegion());
        b.setInsertionPointToEnd(gm.getBody());
        if (family.empty()) {
          // Uniquify the family name against earlier layers.
          family = base;
          for (int i = 1;
               gm.lookupSymbol(family + "_mt" + std::to_string(tiles.front()));
               ++i)
            family = base + "_" + std::to_string(i);
        }
        ::qc::buildWeightOnlyGemvKernel(
            b, op.getLoc(), family + "_mt" + std::to_string(tile), *cfg);
        last = *cfg;
      }
      MLIRContext *ctx = &getContext();
      op->setAttr("qc.kernel_symbol",
                  SymbolRefAttr::get(gm.getNameAttr(),
                                     {FlatSymbolRefAttr::get(ctx, family)}));
      auto i64 = [&](int64_t v) {
        return IntegerAttr::get(IntegerType::get(ctx, 64), v);
      };
      op->setAttr(
          "qc.launch",
          DictionaryAttr::get(
              ctx,
              {NamedAttribute("block", i64(last.blockSize())),
               NamedAttribute("m_tiles", DenseI64ArrayAttr::get(ctx, tiles)),
               NamedAttribute("rows_per_block",
                              i64(last.warpsPerBlock * last.rowsPerWarp))}));
    }

    for (WeightOnlyMatmulOp op : woMmas) {
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
        cfg.tile = mmaTile(2);
        reason = cfg.finalize();
      }
      if (!reason.empty()) {
        op.emitError("cannot build the mma kernel for layer '")
            << op.getLayer() << "': " << reason;
        return signalPassFailure();
      }
      StringRef chip = op.getKernelAttr().getTarget();
      gpu::GPUModuleOp gm = getOrCreateKernelModule(module, chip);
      OpBuilder b(gm.getBodyRegion());
      b.setInsertionPointToEnd(gm.getBody());
      std::string name = kernelName(gm, op.getLayer(), "wo_mma");
      auto func = ::qc::buildWeightOnlyMmaKernel(b, op.getLoc(), name, cfg);
      record(op, gm, func, mmaLaunch(cfg.tile));
    }

    // Activation quantizations feeding a GPU INT8 matmul run on that GPU.
    llvm::MapVector<QuantizeActOp, StringRef> actQuants;
    for (Int8MatmulOp op : int8s) {
      std::string reason;
      FailureOr<::qc::Int8GemmKernelConfig> cfg = int8ConfigFor(op, reason);
      if (succeeded(cfg)) {
        cfg->tile = mmaTile(1);
        reason = cfg->finalize();
      }
      if (!reason.empty()) {
        op.emitError("cannot build the int8_mma kernel for layer '")
            << op.getLayer() << "': " << reason;
        return signalPassFailure();
      }
      StringRef chip = op.getKernelAttr().getTarget();
      gpu::GPUModuleOp gm = getOrCreateKernelModule(module, chip);
      OpBuilder b(gm.getBodyRegion());
      b.setInsertionPointToEnd(gm.getBody());
      std::string name = kernelName(gm, op.getLayer(), "int8_mma");
      auto func = ::qc::buildInt8GemmKernel(b, op.getLoc(), name, *cfg);
      record(op, gm, func, mmaLaunch(cfg->tile));
      if (auto qa = op.getInput().getDefiningOp<QuantizeActOp>())
        actQuants.insert({qa, chip});
    }

    for (auto [op, chip] : actQuants) {
      ::qc::ActQuantKernelConfig cfg;
      auto inTy = op.getInput().getType();
      cfg.k = inTy.getRank() ? inTy.getShape().back() : 0;
      cfg.inF16 = inTy.getElementType().isF16();
      cfg.dynamicPerToken = op.getMode() == ActMode::DynamicPerToken;
      if (!cfg.dynamicPerToken && op.getScaleAttr())
        cfg.staticScale = op.getScaleAttr().getValueAsDouble();
      cfg.threads = actQuantThreads;
      std::string reason;
      if (!inTy.getElementType().isF16() && !inTy.getElementType().isF32())
        reason = "GPU kernels take f16 or f32 activations";
      else if (ShapedType::isDynamic(cfg.k))
        reason = "the last dimension must be static";
      else
        reason = cfg.finalize();
      if (!reason.empty()) {
        op.emitError("cannot build the activation quantization kernel: ")
            << reason;
        return signalPassFailure();
      }
      gpu::GPUModuleOp gm = getOrCreateKernelModule(module, chip);
      OpBuilder b(gm.getBodyRegion());
      b.setInsertionPointToEnd(gm.getBody());
      std::string layer = "act";
      for (Operation *user : op->getUsers())
        if (auto mm = dyn_cast<Int8MatmulOp>(user)) {
          layer = mm.getLayer().str();
          break;
        }
      std::string name = kernelName(gm, layer, "act_quant");
      auto func = ::qc::buildActQuantKernel(b, op.getLoc(), name, cfg);
      record(op, gm, func, {{"block", cfg.threads}});
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
      OpBuilder b(gm.getBodyRegion());
      b.setInsertionPointToEnd(gm.getBody());
      std::string name = kernelName(gm, op.getLayer(), "fp16_mma");
      auto func = ::qc::buildFp16GemmKernel(b, op.getLoc(), name, *cfg);
      record(op, gm, func, mmaLaunch(cfg->tile));
    }
  }
};
} // namespace
