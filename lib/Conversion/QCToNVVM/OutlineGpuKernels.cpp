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

struct OutlineGpuKernelsPass
    : public mlir::qc::impl::QCOutlineGpuKernelsBase<OutlineGpuKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<WeightOnlyMatmulOp> gemvs;
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
      op->emitError("GPU kernel '")
          << stringifyKernelKind(kernel.getKind()) << "' for "
          << op->getName() << " has no kernel builder yet";
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
          for (int i = 1; gm.lookupSymbol(family + "_mt" +
                                          std::to_string(tiles.front()));
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
              ctx, {NamedAttribute("block", i64(last.blockSize())),
                    NamedAttribute("m_tiles",
                                   DenseI64ArrayAttr::get(ctx, tiles)),
                    NamedAttribute("rows_per_block",
                                   i64(last.warpsPerBlock * last.rowsPerWarp))}));
    }
  }
};
} // namespace
