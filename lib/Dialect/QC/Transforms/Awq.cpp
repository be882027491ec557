//===- Awq.cpp - Activation-aware weight scaling -----------------*- C++
//-*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-awq (Lin et al. 2024, AWQ): before weight-only integer quantization,
// input channel j of the linears sharing an activation is scaled by
// s_j = absmax(X_j)^a (normalized), the activation by 1/s_j (folded into
// the norm that produces it), so that salient channels get a finer grid.
// The strength a is searched per group on a grid by the calibration
// Hessian H = X^T X: the output error of RTN on the scaled weights,
// sum_rows d H d^T with d = Q(w * s) / s - w, which is what AWQ measures on
// sample activations (||X d^T||^2), without keeping the activations.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Dialect/QC/Transforms/QuantUtils.h"

#include "mlir/IR/Threading.h"
#include "llvm/ADT/MapVector.h"

#include <cmath>

namespace mlir::qc {
#define GEN_PASS_DEF_QCAWQPASS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {

/// One layer of a group: its scheme, weight values (N x K) and Hessian.
struct AwqLayer {
  LinearOp op;
  SchemeAttr scheme;
  int64_t n = 0;
  std::vector<double> w, h;
};

/// RTN of `w` (n x k, row-major) with an integer `scheme`, dequantized into
/// `out`: qc-quantize-weights' grid (computeQuantParams, float minimum
/// included, over the tensor, each row, or each group of a row; f32 scales).
void fakeQuantize(ArrayRef<double> w, int64_t n, int64_t k, SchemeAttr scheme,
                  std::vector<double> &out) {
  unsigned bits = scheme.getWeight().getIntOrFloatBitWidth();
  bool sym = scheme.getSymmetric();
  out.resize(w.size());
  auto quantizeRange = [&](int64_t begin, int64_t end, QuantParams p) {
    for (int64_t i = begin; i < end; ++i)
      out[i] = double(static_cast<float>(
          dequantizeValue(quantizeValue(w[i], p, bits, sym), p)));
  };
  auto paramsOf = [&](int64_t begin, int64_t end, int64_t stride, int64_t len) {
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t b = begin; b < end; b += stride)
      for (int64_t i = b; i < b + len; ++i) {
        lo = std::min(lo, w[i]);
        hi = std::max(hi, w[i]);
      }
    return computeQuantParams(lo, hi, bits, sym, scheme.getMinimum());
  };
  switch (scheme.getGranularity()) {
  case Granularity::PerTensor:
    quantizeRange(0, n * k, paramsOf(0, n * k, n * k, n * k));
    return;
  case Granularity::PerChannel:
    for (int64_t r = 0; r < n; ++r)
      quantizeRange(r * k, (r + 1) * k, paramsOf(r * k, r * k + 1, 1, k));
    return;
  case Granularity::PerGroup: {
    int64_t g = scheme.getGroupSize();
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < k; c += g)
        quantizeRange(r * k + c, r * k + c + g,
                      paramsOf(r * k + c, r * k + c + 1, 1, g));
    return;
  }
  }
}

/// The scales of strength `a`: s_j = absmax_j^a (1 where the channel was
/// never active), divided by sqrt(max s * min s), clamped, rounded to f32.
std::vector<double> scalesFor(ArrayRef<double> xmax, double a) {
  int64_t k = xmax.size();
  std::vector<double> s(k, 1.0);
  double lo = INFINITY, hi = 0.0;
  for (int64_t j = 0; j < k; ++j)
    if (xmax[j] > 0.0) {
      s[j] = std::pow(xmax[j], a);
      lo = std::min(lo, s[j]);
      hi = std::max(hi, s[j]);
    }
  double norm = hi > 0.0 ? std::sqrt(hi * lo) : 1.0;
  for (int64_t j = 0; j < k; ++j) {
    if (xmax[j] > 0.0)
      s[j] = std::clamp(s[j] / norm, 1e-4, 1e4);
    s[j] = static_cast<float>(s[j]);
  }
  return s;
}

/// The group's output error with scales `s`: sum over the layers and
/// their sampled rows of d H d^T, d = Q(w * s) / s - w.
double groupLoss(ArrayRef<AwqLayer> layers, ArrayRef<double> s,
                 int64_t sampleRows) {
  int64_t k = s.size();
  double loss = 0.0;
  std::vector<double> scaled, deq, d(k), hd(k);
  for (const AwqLayer &l : layers) {
    scaled.resize(l.w.size());
    for (size_t i = 0; i < l.w.size(); ++i)
      scaled[i] = l.w[i] * s[i % k];
    fakeQuantize(scaled, l.n, k, l.scheme, deq);
    int64_t rows = std::min(sampleRows, l.n);
    for (int64_t t = 0; t < rows; ++t) {
      int64_t r = t * l.n / rows;
      for (int64_t j = 0; j < k; ++j)
        d[j] = deq[r * k + j] / s[j] - l.w[r * k + j];
      for (int64_t i = 0; i < k; ++i) {
        const double *hi = &l.h[i * k];
        double acc = 0.0;
        for (int64_t j = 0; j < k; ++j)
          acc += hi[j] * d[j];
        loss += d[i] * acc;
      }
    }
  }
  return loss;
}

struct AwqPass : public mlir::qc::impl::QCAwqPassBase<AwqPass> {
  using Base::Base;

  void runOnOperation() override;
  LogicalResult searchGroup(Value x, ArrayRef<LinearOp> group,
                            const StatsFile &stats);
};
} // namespace

LogicalResult AwqPass::searchGroup(Value x, ArrayRef<LinearOp> group,
                                   const StatsFile &stats) {
  int64_t k = cast<RankedTensorType>(x.getType()).getShape().back();
  std::vector<double> xmax(k, 0.0);
  SmallVector<AwqLayer> layers;
  for (LinearOp op : group) {
    Value w = op.getWeight();
    if (!isConstantWeight(w))
      return op.emitError() << "layer '" << op.getLayer()
                            << "': AWQ scales the weight, but it is not a "
                               "constant";
    FailureOr<const LayerStats *> st = stats.lookup(op, op.getLayer(), k);
    if (failed(st))
      return failure();
    for (int64_t j = 0; j < k; ++j)
      xmax[j] = std::max(xmax[j], (*st)->absmax[j]);
    FailureOr<std::vector<double>> h =
        stats.readHessian(op, op.getLayer(), **st);
    if (failed(h))
      return failure();
    FailureOr<std::vector<double>> vals =
        readConstantValues(w, op, "weight of layer '" + op.getLayer() + "'");
    if (failed(vals))
      return failure();
    AwqLayer l{op, op.getSchemeAttr()};
    l.n = vals->size() / k;
    l.w = std::move(*vals);
    l.h = std::move(*h);
    layers.push_back(std::move(l));
  }

  // The strengths i / grid, each loss independent (any thread order gives
  // the same values; ties go to the smaller strength).
  std::vector<double> losses(grid + 1);
  parallelFor(&getContext(), 0, grid + 1, [&](size_t i) {
    losses[i] = groupLoss(layers, scalesFor(xmax, double(i) / grid), rows);
  });
  int64_t best = 0;
  for (int64_t i = 1; i <= grid; ++i)
    if (losses[i] < losses[best])
      best = i;
  MLIRContext *ctx = &getContext();
  double a = double(best) / grid;
  double ratio = losses[0] > 0.0 ? losses[best] / losses[0] : 1.0;
  for (LinearOp op : group) {
    op->setAttr("qc.awq_alpha", FloatAttr::get(Float64Type::get(ctx), a));
    op->setAttr("qc.awq_loss_ratio",
                FloatAttr::get(Float64Type::get(ctx), ratio));
  }
  if (best == 0)
    return success(); // s = 1: nothing to scale
  SmallVector<std::vector<double>> weights;
  for (AwqLayer &l : layers)
    weights.push_back(std::move(l.w));
  return scaleInputChannels(x, group, weights, scalesFor(xmax, a));
}

void AwqPass::runOnOperation() {
  ModuleOp module = getOperation();
  if (stats.empty()) {
    module.emitError("qc-awq needs stats=<file> (with Hessians: calibrate "
                     "with hessian)");
    return signalPassFailure();
  }
  if (grid < 1 || rows < 1) {
    module.emitError() << "qc-awq: grid and rows must be positive, got grid="
                       << int64_t(grid) << " rows=" << int64_t(rows);
    return signalPassFailure();
  }
  FailureOr<StatsFile> file = loadStatsFile(stats, module.getLoc());
  if (failed(file))
    return signalPassFailure();
  llvm::MapVector<Value, SmallVector<LinearOp>> groups;
  module.walk([&](LinearOp op) {
    SchemeAttr s = op.getSchemeAttr();
    if (s && s.getWeight().isSignlessInteger() && !s.quantizesActivations() &&
        !op->hasAttr("qc.awq_alpha"))
      groups[op.getInput()].push_back(op);
  });
  bool ok = true;
  for (auto &[x, group] : groups)
    ok &= succeeded(searchGroup(x, group, *file));
  if (!ok)
    signalPassFailure();
}
