//===- QuantizeWeights.cpp - RTN / GPTQ weight quantization ----*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-quantize-weights: turns the constant weight of every integer-scheme
// qc.linear into qc.packed_weight (unpacked) + qc.dequantize_weight, with
// round-to-nearest or GPTQ, and inserts activation quantize/dequantize for
// W8A8 schemes. The arithmetic is specified in docs/passes.md.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Dialect/QC/Transforms/QuantUtils.h"

#include "mlir/IR/Builders.h"

#include <cmath>
#include <numeric>

namespace mlir::qc {
#define GEN_PASS_DEF_QCQUANTIZEWEIGHTSPASS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {

/// Integers and parameters of one quantized N x K weight.
struct QuantizedWeight {
  int64_t n = 0, k = 0, rows = 0, groups = 0, groupSize = 0;
  std::vector<int32_t> q;          // N x K
  std::vector<QuantParams> params; // rows x groups

  QuantParams &paramsAt(int64_t row, int64_t col) {
    return params[(rows == 1 ? 0 : row) * groups + col / groupSize];
  }
};

/// Shapes the parameter grid of `scheme` for an N x K weight.
QuantizedWeight makeGrid(SchemeAttr scheme, int64_t n, int64_t k) {
  QuantizedWeight r;
  r.n = n;
  r.k = k;
  r.rows = scheme.getGranularity() == Granularity::PerTensor ? 1 : n;
  r.groups = scheme.getNumGroups(k);
  r.groupSize = k / r.groups;
  r.q.assign(n * k, 0);
  r.params.assign(r.rows * r.groups, QuantParams());
  return r;
}

/// Computes the parameters of every group of `w` (N x K) from its min/max.
void computeAllParams(QuantizedWeight &r, ArrayRef<double> w, unsigned bits,
                      bool symmetric) {
  int64_t rowsPerGroup = r.rows == 1 ? r.n : 1;
  for (int64_t row = 0; row < r.rows; ++row)
    for (int64_t g = 0; g < r.groups; ++g) {
      double lo = INFINITY, hi = -INFINITY;
      for (int64_t n = row; n < row + rowsPerGroup; ++n)
        for (int64_t c = g * r.groupSize; c < (g + 1) * r.groupSize; ++c) {
          lo = std::min(lo, w[n * r.k + c]);
          hi = std::max(hi, w[n * r.k + c]);
        }
      r.params[row * r.groups + g] =
          computeQuantParams(lo, hi, bits, symmetric);
    }
}

/// Round-to-nearest quantization.
QuantizedWeight quantizeRTN(SchemeAttr scheme, ArrayRef<double> w, int64_t n,
                            int64_t k) {
  QuantizedWeight r = makeGrid(scheme, n, k);
  unsigned bits = scheme.getWeightBits();
  bool sym = scheme.getSymmetric();
  computeAllParams(r, w, bits, sym);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < k; ++c)
      r.q[i * k + c] = quantizeValue(w[i * k + c], r.paramsAt(i, c), bits, sym);
  return r;
}

/// In-place lower Cholesky factor of the SPD matrix `a` (K x K); fails when
/// a pivot is not positive.
bool cholesky(std::vector<double> &a, int64_t k) {
  for (int64_t j = 0; j < k; ++j) {
    double d = a[j * k + j];
    for (int64_t t = 0; t < j; ++t)
      d -= a[j * k + t] * a[j * k + t];
    if (!(d > 0.0))
      return false;
    d = std::sqrt(d);
    a[j * k + j] = d;
    for (int64_t i = j + 1; i < k; ++i) {
      double s = a[i * k + j];
      for (int64_t t = 0; t < j; ++t)
        s -= a[i * k + t] * a[j * k + t];
      a[i * k + j] = s / d;
    }
    for (int64_t i = 0; i < j; ++i)
      a[i * k + j] = 0.0;
  }
  return true;
}

/// Returns U, upper triangular with U^T U = H^-1, for SPD `h` (K x K).
bool upperCholeskyOfInverse(std::vector<double> h, int64_t k,
                            std::vector<double> &u) {
  if (!cholesky(h, k)) // h = L L^T
    return false;
  // Linv = L^-1 (lower triangular), by forward substitution per column.
  std::vector<double> linv(k * k, 0.0);
  for (int64_t c = 0; c < k; ++c) {
    linv[c * k + c] = 1.0 / h[c * k + c];
    for (int64_t i = c + 1; i < k; ++i) {
      double s = 0.0;
      for (int64_t t = c; t < i; ++t)
        s += h[i * k + t] * linv[t * k + c];
      linv[i * k + c] = -s / h[i * k + i];
    }
  }
  // Hinv = Linv^T Linv.
  std::vector<double> hinv(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = 0.0;
      for (int64_t t = i; t < k; ++t)
        s += linv[t * k + i] * linv[t * k + j];
      hinv[i * k + j] = hinv[j * k + i] = s;
    }
  if (!cholesky(hinv, k)) // Hinv = C C^T; U = C^T
    return false;
  u.assign(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i; j < k; ++j)
      u[i * k + j] = hinv[j * k + i];
  return true;
}

/// GPTQ (Frantar et al. 2022, reference gptq.py `fasterquant`) on `w0`
/// (N x K) with mean Hessian `h` (K x K). See docs/passes.md.
FailureOr<QuantizedWeight> quantizeGPTQ(Operation *op, SchemeAttr scheme,
                                        ArrayRef<double> w0,
                                        std::vector<double> h, int64_t n,
                                        int64_t k, double damp,
                                        int64_t blockSize, bool actOrder) {
  unsigned bits = scheme.getWeightBits();
  bool sym = scheme.getSymmetric();
  bool perGroup = scheme.getGranularity() == Granularity::PerGroup;
  QuantizedWeight r = makeGrid(scheme, n, k);
  std::vector<double> w(w0.begin(), w0.end());

  // Dead input channels (never active during calibration) carry no signal.
  for (int64_t j = 0; j < k; ++j)
    if (h[j * k + j] == 0.0) {
      h[j * k + j] = 1.0;
      for (int64_t i = 0; i < n; ++i)
        w[i * k + j] = 0.0;
    }

  // Parameters fixed before the error feedback: per-tensor, per-channel and
  // (with act-order) per-group "static groups" over the original columns.
  bool dynamicGroups = perGroup && !actOrder;
  if (!dynamicGroups)
    computeAllParams(r, w, bits, sym);

  SmallVector<int64_t> perm(k);
  std::iota(perm.begin(), perm.end(), 0);
  if (actOrder)
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
      return h[a * k + a] > h[b * k + b];
    });

  // Permute W columns and H.
  std::vector<double> wp(n * k), hp(k * k);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < k; ++c)
      wp[i * k + c] = w[i * k + perm[c]];
  double meanDiag = 0.0;
  for (int64_t a = 0; a < k; ++a) {
    for (int64_t b = 0; b < k; ++b)
      hp[a * k + b] = h[perm[a] * k + perm[b]];
    meanDiag += hp[a * k + a];
  }
  meanDiag /= double(k);
  for (int64_t a = 0; a < k; ++a)
    hp[a * k + a] += damp * meanDiag;

  std::vector<double> u;
  if (!upperCholeskyOfInverse(std::move(hp), k, u))
    return op->emitError() << "GPTQ: the dampened Hessian of layer '"
                           << op->getAttrOfType<StringAttr>("layer").getValue()
                           << "' is not positive definite; increase gptq-damp";

  std::vector<int32_t> qp(n * k);
  for (int64_t i1 = 0; i1 < k; i1 += blockSize) {
    int64_t i2 = std::min(i1 + blockSize, k), count = i2 - i1;
    std::vector<double> err(n * count, 0.0);
    for (int64_t i = 0; i < count; ++i) {
      int64_t col = i1 + i;
      if (dynamicGroups && col % r.groupSize == 0) {
        // Parameters of the group starting here, from the weights as updated
        // by every column quantized so far: in-block columns are current,
        // columns past the block still owe this block's pending updates.
        int64_t g = col / r.groupSize;
        for (int64_t row = 0; row < n; ++row) {
          double lo = INFINITY, hi = -INFINITY;
          for (int64_t c = col; c < col + r.groupSize; ++c) {
            double v = wp[row * k + c];
            if (c >= i2)
              for (int64_t t = 0; t < i; ++t)
                v -= err[row * count + t] * u[(i1 + t) * k + c];
            lo = std::min(lo, v);
            hi = std::max(hi, v);
          }
          r.params[row * r.groups + g] = computeQuantParams(lo, hi, bits, sym);
        }
      }
      double d = u[col * k + col];
      for (int64_t row = 0; row < n; ++row) {
        QuantParams p = r.paramsAt(row, perm[col]);
        double wv = wp[row * k + col];
        int32_t q = quantizeValue(wv, p, bits, sym);
        qp[row * k + col] = q;
        double e = (wv - dequantizeValue(q, p)) / d;
        err[row * count + i] = e;
        for (int64_t j = col + 1; j < i2; ++j)
          wp[row * k + j] -= e * u[col * k + j];
      }
    }
    // Lazy batch update of the columns after the block.
    for (int64_t row = 0; row < n; ++row)
      for (int64_t t = 0; t < count; ++t) {
        double e = err[row * count + t];
        if (e == 0.0)
          continue;
        const double *urow = &u[(i1 + t) * k];
        double *wrow = &wp[row * k];
        for (int64_t c = i2; c < k; ++c)
          wrow[c] -= e * urow[c];
      }
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < k; ++c)
      r.q[i * k + perm[c]] = qp[i * k + c];
  return r;
}

struct QuantizeWeightsPass
    : public mlir::qc::impl::QCQuantizeWeightsPassBase<QuantizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override;

  LogicalResult quantizeLinear(LinearOp op, const StatsFile *stats);
  LogicalResult insertActQuant(LinearOp op, SchemeAttr scheme,
                               const StatsFile *stats);
};

} // namespace

/// Emits the packed_weight + dequantize_weight for `r` before `op` and
/// makes `op` read it.
static void materialize(LinearOp op, SchemeAttr scheme,
                        const QuantizedWeight &r) {
  OpBuilder b(op);
  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  auto i8 = IntegerType::get(ctx, 8);
  auto f32 = Float32Type::get(ctx);
  auto dataType = RankedTensorType::get({r.n, r.k}, i8);
  auto paramType = RankedTensorType::get({r.rows, r.groups}, f32);
  auto zeroType = RankedTensorType::get({r.rows, r.groups}, i8);

  // Unsigned (asymmetric) values keep their bit pattern in i8.
  SmallVector<int8_t> data(r.q.size());
  for (size_t i = 0; i < r.q.size(); ++i)
    data[i] = static_cast<int8_t>(static_cast<uint8_t>(r.q[i] & 0xff));
  SmallVector<float> scales;
  SmallVector<int8_t> zeros;
  for (const QuantParams &p : r.params) {
    scales.push_back(p.scale);
    zeros.push_back(static_cast<int8_t>(static_cast<uint8_t>(p.zero & 0xff)));
  }
  Value dataV = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(dataType, ArrayRef<int8_t>(data)));
  Value scalesV = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(paramType, ArrayRef<float>(scales)));
  Value zerosV;
  if (!scheme.getSymmetric())
    zerosV = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(zeroType, ArrayRef<int8_t>(zeros)));
  auto pwType = PackedWeightType::get(ctx, r.n, r.k, scheme.getWeight());
  auto pw =
      PackedWeightOp::create(b, loc, pwType, dataV, scalesV, zerosV, scheme,
                             LayoutAttr::get(ctx, LayoutKind::Unpacked, 1, 1));
  auto wd = DequantizeWeightOp::create(b, loc, op.getWeight().getType(), pw);
  Value old = op.getWeight();
  op.getWeightMutable().assign(wd);
  if (Operation *def = old.getDefiningOp())
    if (def->use_empty() && isConstantWeight(old))
      def->erase();
}

LogicalResult QuantizeWeightsPass::insertActQuant(LinearOp op,
                                                  SchemeAttr scheme,
                                                  const StatsFile *stats) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto xt = cast<RankedTensorType>(x.getType());
  auto qType = RankedTensorType::get(xt.getShape(), b.getI8Type());
  RankedTensorType sType;
  FloatAttr scaleAttr;
  if (scheme.getAct() == ActMode::DynamicPerToken) {
    sType = RankedTensorType::get(xt.getShape().drop_back(), b.getF32Type());
  } else {
    sType = RankedTensorType::get({1}, b.getF32Type());
    double amax;
    if (auto a = op->getAttrOfType<FloatAttr>("qc.act_absmax")) {
      amax = a.getValueAsDouble();
    } else {
      if (!stats)
        return op.emitError() << "layer '" << op.getLayer()
                              << "': static_per_tensor activations need a "
                                 "calibrated scale: pass stats=<file> (or run "
                                 "qc-smoothquant first)";
      FailureOr<const LayerStats *> st =
          stats->lookup(op, op.getLayer(), xt.getShape().back());
      if (failed(st))
        return failure();
      const std::vector<double> &src =
          (*st)->pmax.empty() ? (*st)->absmax : (*st)->pmax;
      amax = 0.0;
      for (double v : src)
        amax = std::max(amax, v);
    }
    float s = static_cast<float>(amax / 127.0);
    if (!(s > 0.0f) || std::isinf(s))
      s = 1.0f;
    scaleAttr = b.getF32FloatAttr(s);
  }
  auto q = QuantizeActOp::create(
      b, loc, qType, sType, x,
      ActModeAttr::get(op.getContext(), scheme.getAct()), scaleAttr);
  auto dq = DequantizeActOp::create(b, loc, xt, q.getOutput(), q.getScales());
  op.getInputMutable().assign(dq);
  return success();
}

LogicalResult QuantizeWeightsPass::quantizeLinear(LinearOp op,
                                                  const StatsFile *stats) {
  SchemeAttr scheme = op.getSchemeAttr();
  auto wt = op.getWeight().getType();
  int64_t n = wt.getDimSize(0), k = wt.getDimSize(1);
  Value w = op.getWeight();

  if (!scheme.isIntegerWeight()) {
    if (!scheme.getWeight().isF16())
      return op.emitError() << "layer '" << op.getLayer() << "': weight type "
                            << scheme.getWeight()
                            << " is not supported by qc-quantize-weights "
                               "(i4, i8, f16)";
    if (wt.getElementType().isF16())
      return success();
    if (!isConstantWeight(w))
      return op.emitError() << "layer '" << op.getLayer()
                            << "': f16 scheme needs a constant weight";
    FailureOr<std::vector<double>> vals =
        readConstantValues(w, op, "weight of layer '" + op.getLayer() + "'");
    if (failed(vals))
      return failure();
    OpBuilder b(op);
    auto t16 = RankedTensorType::get(wt.getShape(), b.getF16Type());
    Value c =
        arith::ConstantOp::create(b, op.getLoc(), makeFloatAttr(t16, *vals));
    op.getWeightMutable().assign(c);
    if (Operation *def = w.getDefiningOp())
      if (def->use_empty())
        def->erase();
    return success();
  }

  if (!isConstantWeight(w)) {
    if (isa<BlockArgument>(w))
      return op.emitError() << "layer '" << op.getLayer()
                            << "': the weight is a function argument; "
                               "qc-quantize-weights needs a constant weight";
    return op.emitError() << "layer '" << op.getLayer()
                          << "': the weight is not a constant; "
                             "qc-quantize-weights needs a constant weight";
  }
  FailureOr<std::vector<double>> vals =
      readConstantValues(w, op, "weight of layer '" + op.getLayer() + "'");
  if (failed(vals))
    return failure();

  QuantizedWeight r;
  if (algorithm == "gptq") {
    FailureOr<const LayerStats *> st = stats->lookup(op, op.getLayer(), k);
    if (failed(st))
      return failure();
    FailureOr<std::vector<double>> h =
        stats->readHessian(op, op.getLayer(), **st);
    if (failed(h))
      return failure();
    double tokens = std::max<int64_t>((*st)->tokens, 1);
    auto sf = op->getAttrOfType<DenseElementsAttr>("qc.smooth_factors");
    std::vector<double> s(k, 1.0);
    if (sf) {
      int64_t i = 0;
      for (const APFloat &f : sf.getValues<APFloat>())
        s[i++] = f.convertToDouble();
    }
    // Mean Hessian of the (smoothed) input: E[x x^T] / (s_i s_j).
    for (int64_t a = 0; a < k; ++a)
      for (int64_t c = 0; c < k; ++c)
        (*h)[a * k + c] /= tokens * s[a] * s[c];
    FailureOr<QuantizedWeight> g =
        quantizeGPTQ(op, scheme, *vals, std::move(*h), n, k, gptqDamp,
                     gptqBlockSize, gptqActOrder);
    if (failed(g))
      return failure();
    r = std::move(*g);
  } else {
    r = quantizeRTN(scheme, *vals, n, k);
  }
  materialize(op, scheme, r);
  if (scheme.quantizesActivations() &&
      failed(insertActQuant(op, scheme, stats)))
    return failure();
  op.removeSchemeAttr();
  // Consumed: the factors are in the weight, the maximum in the act scale.
  op->removeAttr("qc.smooth_factors");
  op->removeAttr("qc.act_absmax");
  op->setAttr("qc.quantized", UnitAttr::get(op.getContext()));
  return success();
}

void QuantizeWeightsPass::runOnOperation() {
  ModuleOp module = getOperation();
  if (algorithm != "rtn" && algorithm != "gptq") {
    module.emitError() << "qc-quantize-weights: unknown algorithm '"
                       << algorithm << "'; expected rtn or gptq";
    return signalPassFailure();
  }
  if (gptqBlockSize <= 0 || !(gptqDamp >= 0.0)) {
    module.emitError() << "qc-quantize-weights: gptq-block-size must be "
                          "positive and gptq-damp non-negative";
    return signalPassFailure();
  }
  if (algorithm == "gptq" && this->stats.empty()) {
    module.emitError("qc-quantize-weights: algorithm=gptq needs "
                     "stats=<file> with Hessians");
    return signalPassFailure();
  }
  std::optional<StatsFile> stats;
  if (!this->stats.empty()) {
    FailureOr<StatsFile> f = loadStatsFile(this->stats, module.getLoc());
    if (failed(f))
      return signalPassFailure();
    stats = std::move(*f);
  }
  SmallVector<LinearOp> linears;
  module.walk([&](LinearOp op) {
    if (op.getSchemeAttr())
      linears.push_back(op);
  });
  bool ok = true;
  for (LinearOp op : linears)
    ok &= succeeded(quantizeLinear(op, stats ? &*stats : nullptr));
  if (!ok)
    signalPassFailure();
}
