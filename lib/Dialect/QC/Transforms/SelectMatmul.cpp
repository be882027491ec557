//===- SelectMatmul.cpp - Choose a kernel per quantized matmul -*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-select-matmul: the kernel family registry's cost model
// (KernelFamilies.h, docs/passes.md) over the expected batch range picks the
// kernel family of every qc.wo_matmul among the families that fit its shape;
// qc.int8_matmul and unquantized f16 qc.linear get their only GPU kernel.
// Every GPU kernel carries its tiling from the pass options.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Kernels/KernelFamilies.h"
#include "qc/Target/TargetTable.h"

#include <cmath>

namespace mlir::qc {
#define GEN_PASS_DEF_QCSELECTMATMULPASS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {

struct SelectMatmulPass
    : public mlir::qc::impl::QCSelectMatmulPassBase<SelectMatmulPass> {
  using Base::Base;

  /// Batch sizes the model is evaluated at: powers of two in the range plus
  /// both ends.
  SmallVector<double> batchSamples() const {
    SmallVector<double> ms;
    for (int64_t m = minBatch; m < maxBatch; m *= 2)
      ms.push_back(double(m));
    ms.push_back(double(maxBatch));
    return ms;
  }

  /// Picks the family with the smallest mean slowdown against the best
  /// candidate at every sampled M; ties go to the earlier candidate.
  KernelKind choose(ArrayRef<KernelKind> candidates,
                    const ::qc::MatmulShape &s) const {
    const ::qc::TargetInfo &t = *::qc::lookupTarget(target);
    SmallVector<double> score(candidates.size(), 0.0);
    for (double m : batchSamples()) {
      SmallVector<double> times;
      for (KernelKind c : candidates)
        times.push_back(::qc::matmulFamily(c).cost(t, s, m));
      double best = *llvm::min_element(times);
      for (size_t i = 0; i < times.size(); ++i)
        score[i] += times[i] / best;
    }
    size_t bestIdx = 0;
    for (size_t i = 1; i < score.size(); ++i)
      if (score[i] < score[bestIdx] * (1 - 1e-9))
        bestIdx = i;
    return candidates[bestIdx];
  }

  /// The tiling options of the pass.
  ::qc::TilingOptions tilingOptions() const {
    ::qc::TilingOptions o;
    o.gemvWarps = gemvWarps;
    o.gemvRowsPerWarp = gemvRowsPerWarp;
    o.gemvChunks = gemvChunks;
    o.gemvMTiles.assign(gemvMTiles.begin(), gemvMTiles.end());
    o.mmaBlockM = mmaBlockM;
    o.mmaBlockN = mmaBlockN;
    o.mmaBlockKBytes = mmaBlockKBytes;
    o.mmaWarpsM = mmaWarpsM;
    o.mmaWarpsN = mmaWarpsN;
    o.mmaStages = mmaStages;
    o.wgmmaTokens = wgmmaTokens;
    o.wgmmaChannels = wgmmaChannels;
    o.wgmmaStages = wgmmaStages;
    o.wgmmaInt8 = wgmmaInt8;
    o.wgmmaTma = wgmmaTma;
    o.wgmmaPersistent = wgmmaPersistent;
    o.wgmmaTmaFp8 = wgmmaTmaFp8;
    o.fragWarpsK = fragWarpsK;
    o.fragNBlocks = fragNBlocks;
    o.fragStages = fragStages;
    o.fragSplitK = fragSplitK;
    o.fragPrefetch = fragPrefetch;
    o.fragStepUnits = fragStepUnits;
    o.fragMTiles.assign(fragMTiles.begin(), fragMTiles.end());
    return o;
  }

  /// The kernel attribute of `kind` with its tilings (none on the host).
  KernelAttr kernel(KernelKind kind, int64_t threshold = 0, Value packed = {}) {
    auto attr = KernelAttr::get(&getContext(), kind, target, threshold);
    return target == "host" ? attr
                            : ::qc::withTilings(attr, tilingOptions(), packed);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!::qc::lookupTarget(target)) {
      module.emitError() << "qc-select-matmul: unknown target '" << target
                         << "'; expected " << ::qc::targetNames();
      return signalPassFailure();
    }
    if (minBatch < 1 || maxBatch < minBatch) {
      module.emitError() << "qc-select-matmul: need 1 <= min-batch <= "
                            "max-batch, got "
                         << int64_t(minBatch) << " and " << int64_t(maxBatch);
      return signalPassFailure();
    }
    if (weightOnlyKernel != "auto" && weightOnlyKernel != "gemv" &&
        weightOnlyKernel != "mma" && weightOnlyKernel != "gemv_mma" &&
        weightOnlyKernel != "frag") {
      module.emitError() << "qc-select-matmul: unknown weight-only-kernel '"
                         << weightOnlyKernel
                         << "'; expected auto, gemv, mma, gemv_mma or frag";
      return signalPassFailure();
    }
    bool gpu = target != "host";
    // Tilings the option values cannot form fail once, here.
    if (gpu) {
      auto diag = [&] { return module.emitError("qc-select-matmul: "); };
      ::qc::TilingOptions o = tilingOptions();
      SmallVector<int64_t> tiles = o.gemvMTiles;
      llvm::sort(tiles);
      tiles.erase(std::unique(tiles.begin(), tiles.end()), tiles.end());
      if (tiles.empty())
        tiles.push_back(1);
      if (failed(GemvTilingAttr::verifyInvariants(
              diag, o.gemvWarps, o.gemvRowsPerWarp, o.gemvChunks, tiles)) ||
          o.mmaBlockKBytes <= 0 || o.mmaBlockKBytes % 2 ||
          failed(MmaTilingAttr::verifyInvariants(
              diag, o.mmaBlockM, o.mmaBlockN, o.mmaBlockKBytes / 2, o.mmaWarpsM,
              o.mmaWarpsN, o.mmaStages, /*tma=*/false,
              /*persistent=*/false)) ||
          failed(FragTilingAttr::verifyInvariants(
              diag, o.fragWarpsK, o.fragNBlocks ? o.fragNBlocks : 1,
              o.fragStages, o.fragSplitK ? o.fragSplitK : 1, o.fragPrefetch,
              o.fragStepUnits,
              o.fragMTiles.empty() ? SmallVector<int64_t>{16} : [&] {
                SmallVector<int64_t> t = o.fragMTiles;
                llvm::sort(t);
                t.erase(std::unique(t.begin(), t.end()), t.end());
                return t;
              }()))) {
        if (o.mmaBlockKBytes <= 0 || o.mmaBlockKBytes % 2)
          diag() << "mma-block-k-bytes must be a positive even number";
        return signalPassFailure();
      }
    }
    bool ok = true;
    module.walk([&](Operation *op) {
      if (auto wo = dyn_cast<WeightOnlyMatmulOp>(op)) {
        if (auto th = op->getAttrOfType<IntegerAttr>("qc.batch_threshold")) {
          PackedWeightOp def = getPackedWeightDef(wo.getWeight());
          bool fits =
              def && def.getScheme().getWeight().isSignlessInteger(8) &&
              def.getScheme().getSymmetric() &&
              def.getScheme().getGranularity() == Granularity::PerChannel;
          if (!fits || th.getInt() <= 0) {
            op->emitError() << "layer '" << wo.getLayer()
                            << "': the batch-adaptive kernel needs a positive "
                               "threshold and a symmetric per-channel i8 "
                               "weight";
            ok = false;
            return;
          }
          if (std::string why = ::qc::int8GemmUnsupported(
                  wo.getWeight(), ::qc::lookupTarget(target));
              gpu && !why.empty()) {
            op->emitError() << "layer '" << wo.getLayer()
                            << "': the batch-adaptive kernel on " << target
                            << " needs the int8_mma kernel: " << why;
            ok = false;
            return;
          }
          wo.setKernelAttr(kernel(KernelKind::Adaptive, th.getInt()));
          op->removeAttr("qc.batch_threshold");
          return;
        }
        KernelKind kind = KernelKind::Host;
        // The frag kernel where it can run the layer (its weight, read by
        // this op only, is repacked mma_frag), else null.
        auto fragKernel = [&]() -> KernelAttr {
          KernelAttr frag = kernel(KernelKind::Frag, 0, wo.getWeight());
          PackedWeightOp def = getPackedWeightDef(wo.getWeight());
          if (frag.getFrag() && def && def->hasOneUse() &&
              ::qc::weightOnlyFragUnsupported(wo, frag.getFrag()).empty())
            return frag;
          return {};
        };
        if (gpu && weightOnlyKernel == "frag") {
          // Forced: frag where it runs the layer, else the cost model.
          if (KernelAttr frag = fragKernel()) {
            wo.setKernelAttr(frag);
            return;
          }
        }
        if (gpu) {
          std::string noMma = ::qc::weightOnlyMmaUnsupported(wo);
          if (weightOnlyKernel == "gemv") {
            kind = KernelKind::Gemv;
          } else if (weightOnlyKernel == "mma" ||
                     weightOnlyKernel == "gemv_mma") {
            if (!noMma.empty()) {
              op->emitError() << "layer '" << wo.getLayer()
                              << "': weight-only-kernel=" << weightOnlyKernel
                              << ", but " << noMma;
              ok = false;
              return;
            }
            kind = KernelKind::Mma;
            if (weightOnlyKernel == "gemv_mma") {
              // The model's crossover, kept inside the expected range so
              // that both kernels serve some M of it.
              int64_t at = ::qc::gemvMmaCrossover(
                  *::qc::lookupTarget(target),
                  ::qc::matmulShape(wo.getWeight()), maxBatch);
              at = std::clamp<int64_t>(at ? at : maxBatch, minBatch + 1,
                                       std::max<int64_t>(maxBatch, 2));
              wo.setKernelAttr(kernel(KernelKind::GemvMma, at));
              return;
            }
          } else {
            // The families that can run the layer: the GEMV always, the
            // tensor-core ones where their configs accept it (frag can
            // take weights mma refuses: float minima).
            ::qc::MatmulShape shape = ::qc::matmulShape(wo.getWeight());
            SmallVector<KernelKind> candidates = {KernelKind::Gemv};
            if (noMma.empty())
              candidates.append({KernelKind::Mma, KernelKind::GemvMma});
            KernelAttr frag =
                fragInAuto && ::qc::lookupTarget(target)->allows("frag")
                    ? fragKernel()
                    : KernelAttr();
            if (frag)
              candidates.push_back(KernelKind::Frag);
            kind = choose(candidates, shape);
            if (kind == KernelKind::Frag) {
              wo.setKernelAttr(frag);
              return;
            }
            if (kind == KernelKind::GemvMma) {
              int64_t at = ::qc::gemvMmaCrossover(*::qc::lookupTarget(target),
                                                  shape, maxBatch);
              wo.setKernelAttr(kernel(kind, at));
              return;
            }
          }
        }
        wo.setKernelAttr(kernel(kind));
      } else if (auto i8 = dyn_cast<Int8MatmulOp>(op)) {
        // The only GPU W8A8 kernel is the tensor-core GEMM (INT8, or FP8 on
        // wgmma).
        KernelKind kind = KernelKind::Host;
        if (gpu) {
          if (std::string why = ::qc::int8GemmUnsupported(
                  i8.getWeight(), ::qc::lookupTarget(target));
              !why.empty()) {
            op->emitError() << "layer '" << i8.getLayer()
                            << "': no GPU kernel for this W8A8 matmul on "
                            << target << ": " << why;
            ok = false;
            return;
          }
          kind = KernelKind::Int8Mma;
        }
        i8.setKernelAttr(kernel(kind, 0, i8.getWeight()));
      } else if (auto lin = dyn_cast<LinearOp>(op)) {
        // Unquantized f16 layers run the fp16 GEMM; others stay glue.
        if (gpu && ::qc::fp16GemmFits(lin))
          lin.setKernelAttr(kernel(KernelKind::Fp16Mma));
      }
    });
    if (!ok)
      signalPassFailure();
  }
};

} // namespace
