//===- SelectMatmul.cpp - Choose a kernel per quantized matmul -*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-select-matmul: a roofline cost model (docs/passes.md) over the expected
// batch range picks the kernel family of every qc.wo_matmul, among the
// kernels the GPU kernel builders (KernelBuilders.h) can build for its
// shape; qc.int8_matmul and unquantized f16 qc.linear get their only GPU
// kernel.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToNVVM/KernelBuilders.h"
#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Target/TargetTable.h"

#include <cmath>

namespace mlir::qc {
#define GEN_PASS_DEF_QCSELECTMATMULPASS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {

/// Throughput figures of one GPU (bytes/s and op/s), already multiplied by
/// the efficiency each kernel family reaches; from the target table.
struct GpuModel {
  double bandwidth; // DRAM read bandwidth
  double gemvBwEff; // fraction of it a CUDA-core GEMV streams
  double mmaBwEff; // fraction of it a tensor-core weight-only kernel streams at
                   // small M
  double fp32;     // CUDA-core FMA throughput (flop/s)
  double fp16Tc;   // dense fp16 tensor-core throughput reached by mma.sync
  double gemvFmaEff; // fraction of fp32 the GEMV's per-row work reaches
  double mmaKStep;   // seconds per 32-wide K step of one 128 x 128 CTA
  int64_t sms;
};

GpuModel modelFor(const ::qc::TargetInfo &t) {
  return {t.dramBandwidth,   t.gemvBandwidthEff, t.mmaBandwidthEff, t.fp32Flops,
          t.fp16TensorFlops, t.gemvFmaEff,       t.mmaKStepSeconds, t.smCount};
}

/// Shape facts of one matmul the model needs.
struct MatmulShape {
  double n, k, weightBytes; // packed weight + scales + zeros
};

double roundUp(double m, double to) { return std::ceil(m / to) * to; }

/// Weight-only kernels: bf16/f16 activations in and out (2 bytes). The GEMV
/// family streams the weight (its re-reads for M > 8 hit L2) and is
/// issue-bound by its per-row FMA work from a few rows on.
double timeWoGemv(const GpuModel &g, const MatmulShape &s, double m) {
  double bytes = s.weightBytes + 2 * m * s.k + 2 * m * s.n;
  return std::max(bytes / (g.bandwidth * g.gemvBwEff),
                  2 * m * s.n * s.k / (g.fp32 * g.gemvFmaEff));
}
double timeWoMma(const GpuModel &g, const MatmulShape &s, double m) {
  // 128-row M tiles each stream the weight once; m16 MMA tiles pad M. A
  // grid of few 128 x 128 CTAs (two resident per SM) is bound by each
  // CTA's walk over K.
  double bytes = s.weightBytes * std::ceil(m / 128) + 2 * m * s.k + 2 * m * s.n;
  double ctas = std::ceil(s.n / 128) * std::ceil(m / 128);
  double waves = std::ceil(ctas / double(2 * g.sms));
  return std::max({bytes / (g.bandwidth * g.mmaBwEff),
                   2 * roundUp(m, 16) * s.n * s.k / g.fp16Tc,
                   waves * std::ceil(s.k / 32) * g.mmaKStep});
}
/// gemv_mma: each M runs the faster of the two (the threshold is their
/// crossover).
double timeWoGemvMma(const GpuModel &g, const MatmulShape &s, double m) {
  return std::min(timeWoGemv(g, s, m), timeWoMma(g, s, m));
}
using TimeFn = double (*)(const GpuModel &, const MatmulShape &, double);

/// The smallest M at which the model prefers the tensor-core kernel over the
/// GEMV family (the gemv_mma threshold), searched up to `limit`; 0 if none.
int64_t gemvMmaCrossover(const GpuModel &g, const MatmulShape &s,
                         int64_t limit) {
  for (int64_t m = 1; m <= limit; ++m)
    if (timeWoMma(g, s, double(m)) < timeWoGemv(g, s, double(m)))
      return m;
  return 0;
}

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

  /// Picks the candidate with the smallest mean slowdown against the best
  /// candidate at every sampled M; ties go to the earlier candidate.
  KernelKind choose(ArrayRef<std::pair<KernelKind, TimeFn>> candidates,
                    const MatmulShape &s) const {
    GpuModel g = modelFor(*::qc::lookupTarget(target));
    SmallVector<double> score(candidates.size(), 0.0);
    for (double m : batchSamples()) {
      SmallVector<double> t;
      for (auto &c : candidates)
        t.push_back(c.second(g, s, m));
      double best = *llvm::min_element(t);
      for (size_t i = 0; i < t.size(); ++i)
        score[i] += t[i] / best;
    }
    size_t bestIdx = 0;
    for (size_t i = 1; i < score.size(); ++i)
      if (score[i] < score[bestIdx] * (1 - 1e-9))
        bestIdx = i;
    return candidates[bestIdx].first;
  }

  static MatmulShape shapeOf(Value packed) {
    auto t = cast<PackedWeightType>(packed.getType());
    MatmulShape s{double(t.getN()), double(t.getK()), 0};
    unsigned bits = t.getElementType().getIntOrFloatBitWidth();
    s.weightBytes = s.n * s.k * bits / 8;
    if (PackedWeightOp def = getPackedWeightDef(packed)) {
      double params = double(def.getScales().getType().getNumElements());
      s.weightBytes +=
          params * (def.getScales().getType().getElementTypeBitWidth() / 8);
      if (def.getZeros())
        s.weightBytes += params;
    } else {
      s.weightBytes += s.n * 4;
    }
    return s;
  }

  /// Why the weight-only mma kernel cannot run `op` ("" when it can):
  /// f16 activations and a shape WeightOnlyMmaKernelConfig accepts.
  static std::string woMmaUnsupported(WeightOnlyMatmulOp op) {
    if (!op.getInput().getType().getElementType().isF16())
      return "the mma kernel needs f16 activations";
    PackedWeightOp def = getPackedWeightDef(op.getWeight());
    if (!def)
      return "the weight must come from qc.packed_weight";
    SchemeAttr scheme = def.getScheme();
    ::qc::WeightOnlyMmaKernelConfig cfg;
    cfg.n = def.getResult().getType().getN();
    cfg.k = def.getResult().getType().getK();
    cfg.bits = scheme.getWeightBits();
    cfg.perTensor = scheme.getGranularity() == Granularity::PerTensor;
    cfg.groupSize = scheme.getGranularity() == Granularity::PerGroup
                        ? scheme.getGroupSize()
                        : cfg.k;
    return cfg.finalize();
  }

  /// Why the INT8 GEMM cannot run a K x N INT8 weight ("" when it can).
  static std::string int8MmaUnsupported(Value packed) {
    auto t = cast<PackedWeightType>(packed.getType());
    ::qc::Int8GemmKernelConfig cfg;
    cfg.n = t.getN();
    cfg.k = t.getK();
    return cfg.finalize();
  }

  /// The fp16 GEMM runs an unquantized linear with f16 activations, weight
  /// (a tensor, not a dequantized packed weight) and bias and K % 8 == 0.
  static bool fp16MmaFits(LinearOp op) {
    auto f16 = [](Value v) {
      return cast<ShapedType>(v.getType()).getElementType().isF16();
    };
    if ((op.getSchemeAttr() && op.getSchemeAttr().isIntegerWeight()) ||
        op.getWeight().getDefiningOp<DequantizeWeightOp>() ||
        !f16(op.getInput()) || !f16(op.getWeight()) || !f16(op.getResult()) ||
        (op.getBias() && !f16(op.getBias())))
      return false;
    ::qc::Fp16GemmKernelConfig cfg;
    cfg.n = op.getWeight().getType().getDimSize(0);
    cfg.k = op.getWeight().getType().getDimSize(1);
    return cfg.finalize().empty();
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
        weightOnlyKernel != "mma" && weightOnlyKernel != "gemv_mma") {
      module.emitError() << "qc-select-matmul: unknown weight-only-kernel '"
                         << weightOnlyKernel
                         << "'; expected auto, gemv, mma or gemv_mma";
      return signalPassFailure();
    }
    MLIRContext *ctx = &getContext();
    bool gpu = target != "host";
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
          if (std::string why = int8MmaUnsupported(wo.getWeight());
              gpu && !why.empty()) {
            op->emitError() << "layer '" << wo.getLayer()
                            << "': the batch-adaptive kernel on " << target
                            << " needs the int8_mma kernel: " << why;
            ok = false;
            return;
          }
          wo.setKernelAttr(
              KernelAttr::get(ctx, KernelKind::Adaptive, target, th.getInt()));
          op->removeAttr("qc.batch_threshold");
          return;
        }
        KernelKind kind = KernelKind::Host;
        if (gpu) {
          std::string noMma = woMmaUnsupported(wo);
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
              int64_t at =
                  gemvMmaCrossover(modelFor(*::qc::lookupTarget(target)),
                                   shapeOf(wo.getWeight()), maxBatch);
              at = std::clamp<int64_t>(at ? at : maxBatch, minBatch + 1,
                                       std::max<int64_t>(maxBatch, 2));
              wo.setKernelAttr(
                  KernelAttr::get(ctx, KernelKind::GemvMma, target, at));
              return;
            }
          } else if (!noMma.empty()) {
            kind = KernelKind::Gemv;
          } else {
            MatmulShape shape = shapeOf(wo.getWeight());
            kind = choose({{KernelKind::Gemv, timeWoGemv},
                           {KernelKind::Mma, timeWoMma},
                           {KernelKind::GemvMma, timeWoGemvMma}},
                          shape);
            if (kind == KernelKind::GemvMma) {
              int64_t at = gemvMmaCrossover(
                  modelFor(*::qc::lookupTarget(target)), shape, maxBatch);
              wo.setKernelAttr(KernelAttr::get(ctx, kind, target, at));
              return;
            }
          }
        }
        wo.setKernelAttr(KernelAttr::get(ctx, kind, target, 0));
      } else if (auto i8 = dyn_cast<Int8MatmulOp>(op)) {
        // The only GPU INT8 kernel is the tensor-core GEMM.
        KernelKind kind = KernelKind::Host;
        if (gpu) {
          if (std::string why = int8MmaUnsupported(i8.getWeight());
              !why.empty()) {
            op->emitError() << "layer '" << i8.getLayer()
                            << "': no GPU kernel for this INT8 matmul on "
                            << target << ": " << why;
            ok = false;
            return;
          }
          kind = KernelKind::Int8Mma;
        }
        i8.setKernelAttr(KernelAttr::get(ctx, kind, target, 0));
      } else if (auto lin = dyn_cast<LinearOp>(op)) {
        // Unquantized f16 layers run the fp16 GEMM; others stay glue.
        if (gpu && fp16MmaFits(lin))
          op->setAttr("kernel",
                      KernelAttr::get(ctx, KernelKind::Fp16Mma, target, 0));
      }
    });
    if (!ok)
      signalPassFailure();
  }
};

} // namespace
