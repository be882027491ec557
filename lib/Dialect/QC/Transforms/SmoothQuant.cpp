//===- SmoothQuant.cpp - SmoothQuant activation smoothing -------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-smoothquant (Xiao et al. 2023): per input channel j,
// s_j = max|X_j|^alpha / max|W_j|^(1-alpha); X / s feeds W * s, so the
// product is unchanged while activation outliers move into the weights.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Dialect/QC/Transforms/QuantUtils.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <cmath>

namespace mlir::qc {
#define GEN_PASS_DEF_QCSMOOTHQUANTPASS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

/// Smoothing factors are clamped to this range so that no channel is
/// scaled into overflow or underflow.
static constexpr double kMinFactor = 1e-5, kMaxFactor = 1e5;

namespace {
struct SmoothQuantPass
    : public mlir::qc::impl::QCSmoothQuantPassBase<SmoothQuantPass> {
  using Base::Base;

  void runOnOperation() override;
  LogicalResult smoothGroup(Value x, ArrayRef<LinearOp> group,
                            const StatsFile &stats);
};
} // namespace

/// Replaces operand `v` (a constant of float type) with a new dense
/// constant holding `vals`, created before `user`. With `widen`, a 16-bit
/// float constant becomes f32 (smoothed linear weights: rounding them back
/// to f16/bf16 would make their codes depend on the checkpoint's storage
/// type; qc.linear takes a weight of any float type).
static void replaceWithConstant(OpOperand &operand, ArrayRef<double> vals,
                                bool widen = false) {
  Operation *user = operand.getOwner();
  Value old = operand.get();
  OpBuilder b(user);
  auto type = cast<RankedTensorType>(old.getType());
  if (widen && type.getElementType().getIntOrFloatBitWidth() < 32)
    type = type.clone(b.getF32Type());
  Value c =
      arith::ConstantOp::create(b, user->getLoc(), makeFloatAttr(type, vals));
  operand.set(c);
  if (Operation *def = old.getDefiningOp())
    if (def->use_empty() && isConstantWeight(old))
      def->erase();
}

LogicalResult SmoothQuantPass::smoothGroup(Value x, ArrayRef<LinearOp> group,
                                           const StatsFile &stats) {
  int64_t k = cast<RankedTensorType>(x.getType()).getShape().back();
  // One migration strength for the shared activation.
  auto alphaOf = [&](LinearOp op) {
    FloatAttr a = op.getSchemeAttr().getAlpha();
    return a ? a.getValueAsDouble() : double(alpha);
  };
  double a = alphaOf(group.front());
  for (LinearOp op : group)
    if (alphaOf(op) != a)
      return op.emitError() << "layers '" << LinearOp(group.front()).getLayer()
                            << "' and '" << op.getLayer()
                            << "' read the same activation but have different "
                               "SmoothQuant alpha ("
                            << a << " vs " << alphaOf(op) << ")";

  std::vector<double> xmax(k, 0.0), xclip(k, 0.0), wmax(k, 0.0);
  SmallVector<std::vector<double>> weights;
  for (LinearOp op : group) {
    Value w = op.getWeight();
    if (isa<BlockArgument>(w))
      return op.emitError() << "layer '" << op.getLayer()
                            << "': SmoothQuant scales the weight, but it is a "
                               "function argument; make it a constant";
    if (!isConstantWeight(w))
      return op.emitError() << "layer '" << op.getLayer()
                            << "': SmoothQuant needs a constant weight";
    FailureOr<const LayerStats *> st = stats.lookup(op, op.getLayer(), k);
    if (failed(st))
      return failure();
    for (int64_t j = 0; j < k; ++j) {
      xmax[j] = std::max(xmax[j], (*st)->absmax[j]);
      xclip[j] = std::max(xclip[j], (*st)->pmax.empty() ? (*st)->absmax[j]
                                                        : (*st)->pmax[j]);
    }
    FailureOr<std::vector<double>> vals =
        readConstantValues(w, op, "weight of layer '" + op.getLayer() + "'");
    if (failed(vals))
      return failure();
    int64_t n = vals->size() / k;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < k; ++j)
        wmax[j] = std::max(wmax[j], std::fabs((*vals)[i * k + j]));
    weights.push_back(std::move(*vals));
  }

  // Factors are rounded to f32 once; every use below sees the same values.
  std::vector<double> s(k, 1.0);
  for (int64_t j = 0; j < k; ++j) {
    if (xmax[j] > 0.0 && wmax[j] > 0.0) {
      double v = std::pow(xmax[j], a) / std::pow(wmax[j], 1.0 - a);
      s[j] = std::clamp(v, kMinFactor, kMaxFactor);
    }
    s[j] = static_cast<float>(s[j]);
  }
  double actMax = 0.0;
  for (int64_t j = 0; j < k; ++j)
    actMax = std::max(actMax, xclip[j] / s[j]);

  MLIRContext *ctx = &getContext();
  auto sType = RankedTensorType::get({k}, Float32Type::get(ctx));
  SmallVector<float> sf(s.begin(), s.end());
  auto sAttr = DenseElementsAttr::get(sType, ArrayRef<float>(sf));
  for (LinearOp op : group)
    op->setAttr("qc.act_absmax", FloatAttr::get(Float64Type::get(ctx), actMax));
  return scaleInputChannels(x, group, weights, s);
}

LogicalResult
mlir::qc::scaleInputChannels(Value x, ArrayRef<LinearOp> group,
                             MutableArrayRef<std::vector<double>> weights,
                             ArrayRef<double> s) {
  int64_t k = s.size();
  MLIRContext *ctx = x.getContext();
  auto sType = RankedTensorType::get({k}, Float32Type::get(ctx));
  SmallVector<float> sf(s.begin(), s.end());
  auto sAttr = DenseElementsAttr::get(sType, ArrayRef<float>(sf));
  for (auto [cop, vals] : llvm::zip(group, weights)) {
    LinearOp op = cop;
    for (size_t i = 0; i < vals.size(); ++i)
      vals[i] *= s[i % k];
    replaceWithConstant(op.getWeightMutable(), vals, /*widen=*/true);
    // GPTQ and the error report read the input's scaling from here.
    op->setAttr("qc.smooth_factors", sAttr);
  }

  // Fold 1/s into a norm that feeds only this group.
  llvm::SmallPtrSet<Operation *, 8> members;
  for (LinearOp op : group)
    members.insert(op);
  Operation *def = x.getDefiningOp();
  bool onlyGroup = llvm::all_of(
      x.getUsers(), [&](Operation *u) { return members.contains(u); });
  auto fold = [&](OpOperand &param) -> LogicalResult {
    FailureOr<std::vector<double>> v =
        readConstantValues(param.get(), param.getOwner(), "norm parameter");
    if (failed(v))
      return failure();
    for (int64_t j = 0; j < k; ++j)
      (*v)[j] /= s[j];
    replaceWithConstant(param, *v);
    return success();
  };
  if (onlyGroup && def) {
    if (auto rms = dyn_cast<RMSNormOp>(def);
        rms && isConstantWeight(rms.getWeight()))
      return fold(rms.getWeightMutable());
    if (auto ln = dyn_cast<LayerNormOp>(def);
        ln && isConstantWeight(ln.getWeight()) &&
        isConstantWeight(ln.getBias())) {
      if (failed(fold(ln.getWeightMutable())))
        return failure();
      return fold(ln.getBiasMutable());
    }
  }
  OpBuilder b(ctx);
  if (def)
    b.setInsertionPointAfter(def);
  else
    b.setInsertionPointToStart(cast<BlockArgument>(x).getOwner());
  Value sc = arith::ConstantOp::create(b, x.getLoc(), sAttr);
  Value smoothed = SmoothOp::create(b, x.getLoc(), x.getType(), x, sc);
  for (LinearOp op : group)
    op.getInputMutable().assign(smoothed);
  return success();
}

void SmoothQuantPass::runOnOperation() {
  ModuleOp module = getOperation();
  if (stats.empty()) {
    module.emitError("qc-smoothquant needs stats=<file>");
    return signalPassFailure();
  }
  if (!(alpha >= 0.0 && alpha <= 1.0)) {
    module.emitError() << "qc-smoothquant: alpha must be in [0, 1], got "
                       << alpha;
    return signalPassFailure();
  }
  FailureOr<StatsFile> file = loadStatsFile(stats, module.getLoc());
  if (failed(file))
    return signalPassFailure();
  llvm::MapVector<Value, SmallVector<LinearOp>> groups;
  module.walk([&](LinearOp op) {
    SchemeAttr s = op.getSchemeAttr();
    if (s && s.quantizesActivations() && !op->hasAttr("qc.smooth_factors"))
      groups[op.getInput()].push_back(op);
  });
  bool ok = true;
  for (auto &[x, group] : groups)
    ok &= succeeded(smoothGroup(x, group, *file));
  if (!ok)
    signalPassFailure();
}
