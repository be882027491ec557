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
#include "qc/Dialect/QC/Utils/Fp8.h"

#include "mlir/IR/Builders.h"

#include "mlir/IR/Threading.h"

#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <tuple>

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
  std::vector<int32_t> q;          // N x K (FP8: the E4M3 codes, 0..255)
  std::vector<QuantParams> params; // rows x groups
  bool fp8 = false;                // q holds E4M3 codes, not integers

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

/// Computes the parameters of every group of `w` (N x K) from its min/max,
/// rows in parallel.
void computeAllParams(MLIRContext *ctx, QuantizedWeight &r, ArrayRef<double> w,
                      unsigned bits, bool symmetric) {
  int64_t rowsPerGroup = r.rows == 1 ? r.n : 1;
  parallelFor(ctx, 0, r.rows, [&](size_t row) {
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
  });
}

/// Round-to-nearest quantization, rows in parallel.
QuantizedWeight quantizeRTN(MLIRContext *ctx, SchemeAttr scheme,
                            ArrayRef<double> w, int64_t n, int64_t k) {
  QuantizedWeight r = makeGrid(scheme, n, k);
  unsigned bits = scheme.getWeightBits();
  bool sym = scheme.getSymmetric();
  computeAllParams(ctx, r, w, bits, sym);
  parallelFor(ctx, 0, n, [&](size_t i) {
    for (int64_t c = 0; c < k; ++c)
      r.q[i * k + c] = quantizeValue(w[i * k + c], r.paramsAt(i, c), bits, sym);
  });
  return r;
}

/// FP8 E4M3 quantization (round to nearest even, saturating: fp8.h): one
/// scale per channel or per tensor, s = f32(max|w| / 448) (1 for an all-zero
/// range), codes e4m3(f32(w / s)).
QuantizedWeight quantizeFp8(MLIRContext *ctx, SchemeAttr scheme,
                            ArrayRef<double> w, int64_t n, int64_t k) {
  QuantizedWeight r = makeGrid(scheme, n, k);
  r.fp8 = true;
  int64_t rowsPerScale = r.rows == 1 ? n : 1;
  parallelFor(ctx, 0, r.rows, [&](size_t row) {
    double amax = 0.0;
    for (int64_t i = row; i < static_cast<int64_t>(row) + rowsPerScale; ++i)
      for (int64_t c = 0; c < k; ++c)
        amax = std::max(amax, std::abs(w[i * k + c]));
    float s = static_cast<float>(amax / ::qc::fp8::kE4M3Max);
    if (!(s > 0.0f) || std::isinf(s))
      s = 1.0f;
    r.params[row].scale = s;
  });
  parallelFor(ctx, 0, n, [&](size_t i) {
    for (int64_t c = 0; c < k; ++c)
      r.q[i * k + c] = ::qc::fp8::encodeE4M3(
          static_cast<float>(w[i * k + c] / r.paramsAt(i, c).scale));
  });
  return r;
}

/// In-place lower Cholesky factor of the SPD matrix `a` (K x K); fails when
/// a pivot is not positive. The rows below each pivot are independent and
/// run in parallel.
bool cholesky(MLIRContext *ctx, std::vector<double> &a, int64_t k) {
  for (int64_t j = 0; j < k; ++j) {
    const double *aj = &a[j * k];
    double d = aj[j];
    for (int64_t t = 0; t < j; ++t)
      d -= aj[t] * aj[t];
    if (!(d > 0.0))
      return false;
    d = std::sqrt(d);
    a[j * k + j] = d;
    auto row = [&](size_t i) {
      double *ai = &a[i * k];
      double s = ai[j];
      for (int64_t t = 0; t < j; ++t)
        s -= ai[t] * aj[t];
      ai[j] = s / d;
    };
    if (k - j > 256)
      parallelFor(ctx, j + 1, k, row);
    else
      for (int64_t i = j + 1; i < k; ++i)
        row(i);
  }
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i + 1; j < k; ++j)
      a[i * k + j] = 0.0;
  return true;
}

/// Returns U, upper triangular with U^T U = H^-1, for SPD `h` (K x K). With
/// P the reversal permutation and P H P = M M^T (M lower), U = P M^-1 P: one
/// Cholesky and one triangular inverse.
bool upperCholeskyOfInverse(MLIRContext *ctx, const std::vector<double> &h,
                            int64_t k, std::vector<double> &u) {
  std::vector<double> m(k * k);
  for (int64_t a = 0; a < k; ++a)
    for (int64_t b = 0; b < k; ++b)
      m[a * k + b] = h[(k - 1 - a) * k + (k - 1 - b)];
  if (!cholesky(ctx, m, k))
    return false;
  // X = M^-1, row by row: X[i, :i] = -(sum_t M[i, t] X[t, :]) / M[i, i].
  std::vector<double> x(k * k, 0.0), acc(k);
  for (int64_t i = 0; i < k; ++i) {
    std::fill(acc.begin(), acc.begin() + i, 0.0);
    for (int64_t t = 0; t < i; ++t) {
      double c = m[i * k + t];
      const double *xt = &x[t * k];
      for (int64_t j = 0; j <= t; ++j)
        acc[j] += c * xt[j];
    }
    double inv = 1.0 / m[i * k + i];
    for (int64_t j = 0; j < i; ++j)
      x[i * k + j] = -acc[j] * inv;
    x[i * k + i] = inv;
  }
  u.assign(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i; j < k; ++j)
      u[i * k + j] = x[(k - 1 - i) * k + (k - 1 - j)];
  return true;
}

/// What GPTQ derives from one Hessian: shared by all layers reading the
/// same activation (q/k/v, gate/up).
struct GptqFactor {
  std::vector<double> h;     // the mean Hessian (before dampening)
  std::vector<bool> dead;    // channels never active in calibration
  SmallVector<int64_t> perm; // processing order of the columns
  std::vector<double> u;     // upper Cholesky factor of the permuted H^-1
};

/// Dead channels, act-order permutation, dampening and the factor U of
/// docs/passes.md for the mean Hessian `h`.
FailureOr<GptqFactor> computeGptqFactor(MLIRContext *ctx, std::vector<double> h,
                                        int64_t k, double damp, bool actOrder) {
  GptqFactor f;
  f.h = h;
  f.dead.assign(k, false);
  for (int64_t j = 0; j < k; ++j)
    if (h[j * k + j] == 0.0) {
      h[j * k + j] = 1.0;
      f.dead[j] = true;
    }
  f.perm.resize(k);
  std::iota(f.perm.begin(), f.perm.end(), 0);
  if (actOrder)
    std::stable_sort(f.perm.begin(), f.perm.end(), [&](int64_t a, int64_t b) {
      return h[a * k + a] > h[b * k + b];
    });
  std::vector<double> hp(k * k);
  double meanDiag = 0.0;
  for (int64_t a = 0; a < k; ++a) {
    for (int64_t b = 0; b < k; ++b)
      hp[a * k + b] = h[f.perm[a] * k + f.perm[b]];
    meanDiag += hp[a * k + a];
  }
  meanDiag /= double(k);
  for (int64_t a = 0; a < k; ++a)
    hp[a * k + a] += damp * meanDiag;
  if (!upperCholeskyOfInverse(ctx, hp, k, f.u))
    return failure();
  return f;
}

/// GPTQ (Frantar et al. 2022, reference gptq.py `fasterquant`) on `w0`
/// (N x K). Rows are independent (the error feedback stays within a row), so
/// they run in parallel; within a row, columns go in blocks of `blockSize`
/// with lazy updates of the columns after the block. See docs/passes.md.
QuantizedWeight quantizeGPTQ(MLIRContext *ctx, SchemeAttr scheme,
                             ArrayRef<double> w0, const GptqFactor &f,
                             int64_t n, int64_t k, int64_t blockSize,
                             bool actOrder) {
  unsigned bits = scheme.getWeightBits();
  bool sym = scheme.getSymmetric();
  bool perGroup = scheme.getGranularity() == Granularity::PerGroup;
  QuantizedWeight r = makeGrid(scheme, n, k);
  std::vector<double> w(w0.begin(), w0.end());
  for (int64_t j = 0; j < k; ++j)
    if (f.dead[j])
      for (int64_t i = 0; i < n; ++i)
        w[i * k + j] = 0.0;

  // Parameters fixed before the error feedback: per-tensor, per-channel and
  // (with act-order) per-group "static groups" over the original columns.
  bool dynamicGroups = perGroup && !actOrder;
  if (!dynamicGroups)
    computeAllParams(ctx, r, w, bits, sym);

  const std::vector<double> &u = f.u;
  parallelFor(ctx, 0, n, [&](size_t row) {
    std::vector<double> wp(k), err(blockSize);
    for (int64_t c = 0; c < k; ++c)
      wp[c] = w[row * k + f.perm[c]];
    for (int64_t i1 = 0; i1 < k; i1 += blockSize) {
      int64_t i2 = std::min(i1 + blockSize, k), count = i2 - i1;
      for (int64_t i = 0; i < count; ++i) {
        int64_t col = i1 + i;
        if (dynamicGroups && col % r.groupSize == 0) {
          // The group starting here, from the weights as updated by every
          // column quantized so far: in-block columns are current, columns
          // past the block still owe this block's pending updates.
          double lo = INFINITY, hi = -INFINITY;
          for (int64_t c = col; c < col + r.groupSize; ++c) {
            double v = wp[c];
            if (c >= i2)
              for (int64_t t = 0; t < i; ++t)
                v -= err[t] * u[(i1 + t) * k + c];
            lo = std::min(lo, v);
            hi = std::max(hi, v);
          }
          r.params[row * r.groups + col / r.groupSize] =
              computeQuantParams(lo, hi, bits, sym);
        }
        QuantParams p = r.paramsAt(row, f.perm[col]);
        double wv = wp[col];
        int32_t q = quantizeValue(wv, p, bits, sym);
        r.q[row * k + f.perm[col]] = q;
        double e = (wv - dequantizeValue(q, p)) / u[col * k + col];
        err[i] = e;
        const double *urow = &u[col * k];
        for (int64_t j = col + 1; j < i2; ++j)
          wp[j] -= e * urow[j];
      }
      // Lazy update of the columns after the block.
      for (int64_t t = 0; t < count; ++t) {
        double e = err[t];
        if (e == 0.0)
          continue;
        const double *urow = &u[(i1 + t) * k];
        for (int64_t c = i2; c < k; ++c)
          wp[c] -= e * urow[c];
      }
    }
  });
  return r;
}

struct QuantizeWeightsPass
    : public mlir::qc::impl::QCQuantizeWeightsPassBase<QuantizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override;

  LogicalResult quantizeLinear(LinearOp op, const StatsFile *stats);

  /// GPTQ factors by Hessian (file, offset) and smoothing factors: layers
  /// that read the same activation share one.
  std::map<std::tuple<std::string, int64_t, const void *>, GptqFactor>
      gptqFactors;

  /// Quantizations shared by linears that read the same weight under the
  /// same scheme, smoothing factors and layer (the importers' @forward and
  /// @decode): the first computes, the others reuse the codes and the
  /// recorded errors. Kept only until the last user is done.
  struct SharedQuantization {
    int64_t usersLeft = 0;
    std::optional<QuantizedWeight> r;
    Attribute quantError, outputError;
  };
  std::map<std::string, SharedQuantization> shared;
  /// The sharing key of `op`'s quantization, or "" when its weight has no
  /// stable identity.
  static std::string sharingKey(LinearOp op);

  LogicalResult insertActQuant(LinearOp op, SchemeAttr scheme,
                               const StatsFile *stats);
  /// Replaces `op`'s weight with the codes `r`, adds the activation
  /// quantization its scheme asks for and marks it quantized.
  LogicalResult finishQuantized(LinearOp op, SchemeAttr scheme,
                                const QuantizedWeight &r,
                                const StatsFile *stats);
};

} // namespace

std::string QuantizeWeightsPass::sharingKey(LinearOp op) {
  std::string key;
  llvm::raw_string_ostream os(key);
  Value w = op.getWeight();
  if (auto ext = w.getDefiningOp<ExternalWeightOp>())
    os << "ext:" << ext.getPath() << "@" << ext.getOffset() << ":"
       << ext.getType();
  else if (auto c = w.getDefiningOp<arith::ConstantOp>())
    os << "cst:" << c.getValue().getAsOpaquePointer();
  else
    return "";
  os << "|" << op.getSchemeAttr() << "|"
     << (op->getAttr("qc.smooth_factors")
             ? op->getAttr("qc.smooth_factors").getAsOpaquePointer()
             : nullptr)
     << "|" << op.getLayer();
  return key;
}

/// Records the calibration error of `what` (the dequantized weight, f32 as
/// every consumer computes it) against `w` on `op`: `qc.quant_error` =
/// ||W - What||_F / ||W||_F, and with a mean Hessian `h` (K x K) also
/// `qc.output_error` = sqrt(tr(dW H dW^T) / tr(W H W^T)), the relative
/// output error on the calibration inputs. Copied to the fused matmul;
/// read by qc::collectLayerReports.
static void recordError(Operation *op, ArrayRef<double> w,
                        ArrayRef<double> what, int64_t n, int64_t k,
                        const std::vector<double> *h) {
  // Per-row sums in parallel, added in row order (deterministic).
  MLIRContext *ctx = op->getContext();
  std::vector<double> numRow(n), denRow(n);
  parallelFor(ctx, 0, n, [&](size_t row) {
    double a = 0.0, b = 0.0;
    for (int64_t c = 0; c < k; ++c) {
      double d = w[row * k + c] - what[row * k + c];
      a += d * d;
      b += w[row * k + c] * w[row * k + c];
    }
    numRow[row] = a;
    denRow[row] = b;
  });
  double num = 0.0, den = 0.0;
  for (int64_t row = 0; row < n; ++row) {
    num += numRow[row];
    den += denRow[row];
  }
  auto f64 = Float64Type::get(ctx);
  op->setAttr("qc.quant_error",
              FloatAttr::get(f64, den > 0.0 ? std::sqrt(num / den) : 0.0));
  if (!h)
    return;
  // Rows are independent: x^T H x per row, in parallel.
  std::vector<double> rowNum(n), rowDen(n);
  parallelFor(ctx, 0, n, [&](size_t row) {
    const double *wr = &w[row * k], *qr = &what[row * k];
    std::vector<double> d(k);
    for (int64_t c = 0; c < k; ++c)
      d[c] = wr[c] - qr[c];
    double a = 0.0, b = 0.0;
    for (int64_t i = 0; i < k; ++i) {
      const double *hi = &(*h)[i * k];
      double hd = 0.0, hw = 0.0;
      for (int64_t j = 0; j < k; ++j) {
        hd += hi[j] * d[j];
        hw += hi[j] * wr[j];
      }
      a += d[i] * hd;
      b += wr[i] * hw;
    }
    rowNum[row] = a;
    rowDen[row] = b;
  });
  double a = 0.0, b = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    a += rowNum[i];
    b += rowDen[i];
  }
  op->setAttr(
      "qc.output_error",
      FloatAttr::get(f64, b > 0.0 ? std::sqrt(std::max(a, 0.0) / b) : 0.0));
}

/// The dequantized weight of `r`, (q - z) * s in f32.
static std::vector<double> dequantizeAll(MLIRContext *ctx,
                                         const QuantizedWeight &r) {
  std::vector<double> out(r.n * r.k);
  parallelFor(ctx, 0, r.n, [&](size_t i) {
    for (int64_t c = 0; c < r.k; ++c) {
      const QuantParams &p =
          r.params[(r.rows == 1 ? 0 : i) * r.groups + c / r.groupSize];
      float q = r.fp8 ? ::qc::fp8::decodeE4M3(r.q[i * r.k + c])
                      : static_cast<float>(r.q[i * r.k + c] - p.zero);
      out[i * r.k + c] = static_cast<double>(q * p.scale);
    }
  });
  return out;
}

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
  auto qType = RankedTensorType::get(xt.getShape(), scheme.getActType());
  double range = ::qc::fp8::actCodeRange(scheme.isFp8Weight());
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
    float s = static_cast<float>(amax / range);
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

  // FP8: round to nearest per channel / tensor (GPTQ's integer grid does
  // not apply to E4M3's).
  if (scheme.isFp8Weight()) {
    if (!isConstantWeight(w))
      return op.emitError() << "layer '" << op.getLayer()
                            << "': the weight is not a constant; "
                               "qc-quantize-weights needs a constant weight";
    FailureOr<std::vector<double>> vals =
        readConstantValues(w, op, "weight of layer '" + op.getLayer() + "'");
    if (failed(vals))
      return failure();
    QuantizedWeight r = quantizeFp8(op.getContext(), scheme, *vals, n, k);
    if (recordErrors)
      recordError(op, *vals, dequantizeAll(op.getContext(), r), n, k, nullptr);
    return finishQuantized(op, scheme, r, stats);
  }

  if (!scheme.isIntegerWeight()) {
    if (!scheme.getWeight().isF16())
      return op.emitError() << "layer '" << op.getLayer() << "': weight type "
                            << scheme.getWeight()
                            << " is not supported by qc-quantize-weights "
                               "(i4, i8, f16, f8E4M3FN)";
    if (wt.getElementType().isF16())
      return success();
    if (!isConstantWeight(w))
      return op.emitError() << "layer '" << op.getLayer()
                            << "': f16 scheme needs a constant weight";
    FailureOr<std::vector<double>> vals =
        readConstantValues(w, op, "weight of layer '" + op.getLayer() + "'");
    if (failed(vals))
      return failure();
    if (recordErrors) {
      std::vector<double> rounded(vals->size());
      for (size_t i = 0; i < vals->size(); ++i) {
        APFloat v(static_cast<float>((*vals)[i]));
        bool lost;
        v.convert(APFloat::IEEEhalf(), APFloat::rmNearestTiesToEven, &lost);
        rounded[i] = v.convertToDouble();
      }
      recordError(op, *vals, rounded, n, k, nullptr);
    }
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

  // A weight another linear already quantized the same way: its codes.
  std::string key = sharingKey(op);
  auto sharedIt = key.empty() ? shared.end() : shared.find(key);
  if (sharedIt != shared.end() && sharedIt->second.r) {
    SharedQuantization &sq = sharedIt->second;
    if (remarks)
      op.emitRemark() << "layer '" << op.getLayer()
                      << "': reuses the quantization of the same weight";
    if (sq.quantError)
      op->setAttr("qc.quant_error", sq.quantError);
    if (sq.outputError)
      op->setAttr("qc.output_error", sq.outputError);
    LogicalResult done = finishQuantized(op, scheme, *sq.r, stats);
    if (--sq.usersLeft <= 0)
      shared.erase(sharedIt);
    return done;
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
  const std::vector<double> *hessian = nullptr;
  if (algorithm == "gptq") {
    FailureOr<const LayerStats *> st = stats->lookup(op, op.getLayer(), k);
    if (failed(st))
      return failure();
    auto sf = op->getAttrOfType<DenseElementsAttr>("qc.smooth_factors");
    auto key = std::make_tuple((*st)->hessianFile, (*st)->hessianOffset,
                               sf.getAsOpaquePointer());
    auto it = gptqFactors.find(key);
    if (it == gptqFactors.end()) {
      FailureOr<std::vector<double>> h =
          stats->readHessian(op, op.getLayer(), **st);
      if (failed(h))
        return failure();
      double tokens = std::max<int64_t>((*st)->tokens, 1);
      std::vector<double> s(k, 1.0);
      if (sf) {
        int64_t i = 0;
        for (const APFloat &v : sf.getValues<APFloat>())
          s[i++] = v.convertToDouble();
      }
      // Mean Hessian of the (smoothed) input: E[x x^T] / (s_i s_j).
      for (int64_t a = 0; a < k; ++a)
        for (int64_t c = 0; c < k; ++c)
          (*h)[a * k + c] /= tokens * s[a] * s[c];
      FailureOr<GptqFactor> f = computeGptqFactor(
          op.getContext(), std::move(*h), k, gptqDamp, gptqActOrder);
      if (failed(f))
        return op.emitError()
               << "GPTQ: the dampened Hessian of layer '" << op.getLayer()
               << "' is not positive definite; increase "
                  "gptq-damp";
      it = gptqFactors.emplace(key, std::move(*f)).first;
    }
    r = quantizeGPTQ(op.getContext(), scheme, *vals, it->second, n, k,
                     gptqBlockSize, gptqActOrder);
    hessian = &it->second.h;
  } else {
    r = quantizeRTN(op.getContext(), scheme, *vals, n, k);
  }
  // RTN with calibration Hessians: the output error is still reported.
  std::vector<double> rtnHessian;
  if (recordErrors && !hessian && stats) {
    auto it = stats->layers.find(op.getLayer());
    if (it != stats->layers.end() && !it->second.hessianFile.empty() &&
        it->second.channels == k) {
      FailureOr<std::vector<double>> h =
          stats->readHessian(op, op.getLayer(), it->second);
      if (failed(h))
        return failure();
      rtnHessian = std::move(*h);
      double tokens = std::max<int64_t>(it->second.tokens, 1);
      std::vector<double> sf(k, 1.0);
      if (auto a = op->getAttrOfType<DenseElementsAttr>("qc.smooth_factors")) {
        int64_t i = 0;
        for (const APFloat &v : a.getValues<APFloat>())
          sf[i++] = v.convertToDouble();
      }
      for (int64_t a = 0; a < k; ++a)
        for (int64_t c = 0; c < k; ++c)
          rtnHessian[a * k + c] /= tokens * sf[a] * sf[c];
      hessian = &rtnHessian;
    }
  }
  if (recordErrors)
    recordError(op, *vals, dequantizeAll(op.getContext(), r), n, k, hessian);
  if (sharedIt != shared.end()) {
    SharedQuantization &sq = sharedIt->second;
    if (--sq.usersLeft > 0) {
      sq.quantError = op->getAttr("qc.quant_error");
      sq.outputError = op->getAttr("qc.output_error");
      sq.r = r;
    } else {
      shared.erase(sharedIt);
    }
  }
  return finishQuantized(op, scheme, r, stats);
}

LogicalResult QuantizeWeightsPass::finishQuantized(LinearOp op,
                                                   SchemeAttr scheme,
                                                   const QuantizedWeight &r,
                                                   const StatsFile *stats) {
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
  gptqFactors.clear();
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
  // Linears that share a quantization are processed one after the other,
  // so the shared codes live only until the group is done (not the whole
  // pass: @forward's weights would otherwise all wait for @decode).
  shared.clear();
  std::vector<SmallVector<LinearOp>> groups;
  std::map<std::string, size_t> groupOf;
  for (LinearOp op : linears) {
    std::string key =
        op.getSchemeAttr().isIntegerWeight() ? sharingKey(op) : std::string();
    if (key.empty()) {
      groups.push_back({op});
      continue;
    }
    ++shared[key].usersLeft;
    auto [it, fresh] = groupOf.try_emplace(key, groups.size());
    if (fresh)
      groups.emplace_back();
    groups[it->second].push_back(op);
  }
  bool ok = true;
  for (auto &group : groups)
    for (LinearOp op : group)
      ok &= succeeded(quantizeLinear(op, stats ? &*stats : nullptr));
  shared.clear();
  if (!ok)
    signalPassFailure();
}
