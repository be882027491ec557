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
// Round-to-nearest weights (integer and FP8) are quantized on the context's
// threads: the main thread checks and locates every weight (RtnJob), the row
// blocks of a wave of weights run in parallel, each writing only its rows,
// and the main thread then builds the attributes and rewrites the IR in
// program order, so the output does not depend on the thread count. A weight
// shared by several linears (@forward and @decode) is read and quantized
// once. GPTQ and f16 casts run on the main thread, one linear at a time.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Dialect/QC/Transforms/QuantUtils.h"
#include "qc/Dialect/QC/Utils/Fp8.h"

#include "DenseLinearAlgebra.h"

#include "mlir/IR/Builders.h"

#include "mlir/IR/Threading.h"

#include <cmath>
#include <map>
#include <memory>
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

/// qc.output_error sums its Hessian forms d^T H d and w^T H w (2 K^2 flops
/// each per row: at K = 11008 twice GPTQ's own work) over all rows up to
/// this many, else over this many evenly spaced rows (r_j = floor(j N / S)).
constexpr int64_t kOutputErrorRows = 256;

/// Whether row `i` of `n` is one of the output error's rows.
bool outputErrorRow(int64_t i, int64_t n) {
  if (n <= kOutputErrorRows)
    return true;
  int64_t j = (i * kOutputErrorRows + n - 1) / n; // ceil(i S / n)
  return j < kOutputErrorRows && (j * n) / kOutputErrorRows == i;
}

/// Copies the output error's rows among rows [r0, r1) of `n` from `x`
/// (rows r0.. at x, K values each) to `out`; returns their global indices.
SmallVector<int64_t> gatherOutputErrorRows(int64_t r0, int64_t r1, int64_t n,
                                           int64_t k, const double *x,
                                           std::vector<double> &out) {
  SmallVector<int64_t> rows;
  out.clear();
  for (int64_t i = r0; i < r1; ++i)
    if (outputErrorRow(i, n)) {
      rows.push_back(i);
      out.insert(out.end(), &x[(i - r0) * k], &x[(i - r0) * k] + k);
    }
  return rows;
}

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
                      unsigned bits, bool symmetric, Type minimum) {
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
          computeQuantParams(lo, hi, bits, symmetric, minimum);
    }
  });
}

/// What GPTQ derives from one Hessian: shared by all layers reading the
/// same activation (q/k/v, gate/up).
struct GptqFactor {
  std::vector<double> h;     // the mean Hessian (before dampening), kept
                             // only when errors are recorded
  std::vector<bool> dead;    // channels never active in calibration
  SmallVector<int64_t> perm; // processing order of the columns
  // The upper Cholesky factor U of the permuted H^-1, in the precision
  // asked for (gptq-precision): one of the two is filled.
  std::vector<double> u;
  std::vector<float> uF32;
};

/// U of computeGptqFactor in precision T from M's input `m` (consumed).
template <typename T>
bool factorInPrecision(MLIRContext *ctx, std::vector<T> &m, int64_t k,
                       std::vector<T> &u) {
  if (!la::choleskyLower(ctx, m.data(), k))
    return false;
  u.resize(k * k);
  la::invertLower(ctx, m.data(), u.data(), k);
  m = {};
  // U = P X P: a half turn of X, in place.
  std::reverse(u.begin(), u.end());
  return true;
}

/// Dead channels, act-order permutation, dampening and the factor U of
/// docs/passes.md for the mean Hessian `h`: with P the reversal
/// permutation and P Hp P = M M^T (M lower, Hp the permuted, dampened
/// Hessian), U = P M^-1 P is upper triangular with U^T U = Hp^-1: one
/// Cholesky and one triangular inverse (blocked, DenseLinearAlgebra.h).
/// Peak memory two K x K matrices besides `h` (kept with `keepHessian`).
/// `f32`: the factor (and GPTQ's updates with it) in float32, about twice
/// as fast as float64 (gptq-precision).
FailureOr<GptqFactor> computeGptqFactor(MLIRContext *ctx, std::vector<double> h,
                                        int64_t k, double damp, bool actOrder,
                                        bool keepHessian, bool f32) {
  GptqFactor f;
  f.dead.assign(k, false);
  std::vector<double> diag(k);
  for (int64_t j = 0; j < k; ++j) {
    diag[j] = h[j * k + j];
    if (diag[j] == 0.0) {
      diag[j] = 1.0;
      f.dead[j] = true;
    }
  }
  f.perm.resize(k);
  std::iota(f.perm.begin(), f.perm.end(), 0);
  if (actOrder)
    std::stable_sort(f.perm.begin(), f.perm.end(),
                     [&](int64_t a, int64_t b) { return diag[a] > diag[b]; });
  double meanDiag = 0.0;
  for (int64_t a = 0; a < k; ++a)
    meanDiag += diag[a];
  meanDiag /= double(k);
  // M's input: P Hp P, i.e. element (a, b) = Hp[k-1-a, k-1-b].
  auto fill = [&](auto &m) {
    m.resize(k * k);
    parallelFor(ctx, 0, k, [&](size_t a) {
      int64_t ra = f.perm[k - 1 - a];
      for (int64_t b = 0; b < k; ++b)
        m[a * k + b] = h[ra * k + f.perm[k - 1 - b]];
      m[a * k + a] = diag[ra] + damp * meanDiag;
    });
    if (keepHessian)
      f.h = std::move(h);
    else
      h = {};
  };
  bool ok;
  if (f32) {
    std::vector<float> m;
    fill(m);
    ok = factorInPrecision(ctx, m, k, f.uF32);
  } else {
    std::vector<double> m;
    fill(m);
    ok = factorInPrecision(ctx, m, k, f.u);
  }
  if (!ok)
    return failure();
  return f;
}

/// GPTQ's column loop in precision T (the weight, the errors and U): the
/// codes and, with dynamic groups, the parameters go to `r`.
template <typename T>
void gptqColumns(MLIRContext *ctx, SchemeAttr scheme, ArrayRef<double> w0,
                 const GptqFactor &f, const std::vector<T> &u, int64_t n,
                 int64_t k, int64_t blockSize, bool dynamicGroups,
                 QuantizedWeight &r) {
  unsigned bits = scheme.getWeightBits();
  bool sym = scheme.getSymmetric();
  // The weight in processing order, dead channels zeroed.
  std::vector<T> wp(n * k);
  parallelFor(ctx, 0, n, [&](size_t row) {
    for (int64_t c = 0; c < k; ++c) {
      int64_t src = f.perm[c];
      wp[row * k + c] = f.dead[src] ? T(0) : T(w0[row * k + src]);
    }
  });
  std::vector<T> err(n * blockSize);
  for (int64_t i1 = 0; i1 < k; i1 += blockSize) {
    int64_t i2 = std::min(i1 + blockSize, k), count = i2 - i1;
    parallelFor(ctx, 0, n, [&](size_t row) {
      T *w = &wp[row * k];
      T *e = &err[row * blockSize];
      for (int64_t i = 0; i < count; ++i) {
        int64_t col = i1 + i;
        if (dynamicGroups && col % r.groupSize == 0) {
          // The group starting here, from the weights as updated by every
          // column quantized so far: in-block columns are current, columns
          // past the block still owe this block's pending updates.
          double lo = INFINITY, hi = -INFINITY;
          for (int64_t c = col; c < col + r.groupSize; ++c) {
            double v = w[c];
            if (c >= i2)
              for (int64_t t = 0; t < i; ++t)
                v -= e[t] * u[(i1 + t) * k + c];
            lo = std::min(lo, v);
            hi = std::max(hi, v);
          }
          r.params[row * r.groups + col / r.groupSize] =
              computeQuantParams(lo, hi, bits, sym, scheme.getMinimum());
        }
        QuantParams p = r.paramsAt(row, f.perm[col]);
        double wv = w[col];
        int32_t q = quantizeValue(wv, p, bits, sym);
        r.q[row * k + f.perm[col]] = q;
        T d = T((wv - dequantizeValue(q, p)) / u[col * k + col]);
        e[i] = d;
        const T *urow = &u[col * k];
        for (int64_t j = col + 1; j < i2; ++j)
          w[j] -= d * urow[j];
      }
    });
    // Lazy update of the columns after the block, all rows at once.
    la::gemmSubtract(ctx, n, k - i2, count, err.data(), blockSize,
                     &u[i1 * k + i2], k, &wp[i2], k);
  }
}

/// GPTQ (Frantar et al. 2022, reference gptq.py `fasterquant`) on `w0`
/// (N x K). Columns go in blocks of `blockSize`: inside a block, column by
/// column with the error fed back to the block's later columns (rows in
/// parallel: the feedback stays within a row); after the block, one lazy
/// update of every later column, W[:, i2:] -= E U[i1:i2, i2:] (a GEMM on
/// all rows). See docs/passes.md.
QuantizedWeight quantizeGPTQ(MLIRContext *ctx, SchemeAttr scheme,
                             ArrayRef<double> w0, const GptqFactor &f,
                             int64_t n, int64_t k, int64_t blockSize,
                             bool actOrder) {
  unsigned bits = scheme.getWeightBits();
  bool sym = scheme.getSymmetric();
  bool perGroup = scheme.getGranularity() == Granularity::PerGroup;
  QuantizedWeight r = makeGrid(scheme, n, k);
  blockSize = std::min(blockSize, k);

  // Parameters fixed before the error feedback: per-tensor, per-channel and
  // (with act-order) per-group "static groups" over the original columns.
  bool dynamicGroups = perGroup && !actOrder;
  if (!dynamicGroups) {
    std::vector<double> w(w0.begin(), w0.end());
    for (int64_t j = 0; j < k; ++j)
      if (f.dead[j])
        for (int64_t i = 0; i < n; ++i)
          w[i * k + j] = 0.0;
    computeAllParams(ctx, r, w, bits, sym, scheme.getMinimum());
  }

  if (f.uF32.empty())
    gptqColumns<double>(ctx, scheme, w0, f, f.u, n, k, blockSize, dynamicGroups,
                        r);
  else
    gptqColumns<float>(ctx, scheme, w0, f, f.uF32, n, k, blockSize,
                       dynamicGroups, r);
  return r;
}
/// The constants of one quantized weight as qc.packed_weight takes them,
/// and the errors recorded for it: built once on the main thread and used
/// by every linear that shares the quantization.
struct QuantizedAttrs {
  /// The codes: inline, or in the weight store (WeightSink).
  ElementsAttr data;
  DenseElementsAttr scales, zeros;   // zeros: asymmetric schemes only
  Attribute quantError, outputError; // null when not recorded
};

/// The bit pattern of a code in an i8 constant (unsigned codes keep their
/// bits).
int8_t toByte(int32_t v) {
  return static_cast<int8_t>(static_cast<uint8_t>(v & 0xff));
}

/// Builds the constants of `n` x `k` codes `data` (i8 bit patterns; through
/// `sink`, errors on `op`: a null `data` then) and the `rows` x `groups`
/// parameters `params`.
QuantizedAttrs buildAttrs(MLIRContext *ctx, SchemeAttr scheme, int64_t n,
                          int64_t k, int64_t rows, int64_t groups,
                          ArrayRef<int8_t> data, ArrayRef<QuantParams> params,
                          const WeightSink &sink, Operation *op) {
  auto i8 = IntegerType::get(ctx, 8);
  auto f32 = Float32Type::get(ctx);
  SmallVector<float> scales;
  SmallVector<int8_t> zeros;
  SmallVector<APFloat> minima;
  scales.reserve(params.size());
  zeros.reserve(params.size());
  Type minimum = scheme.getMinimum();
  for (const QuantParams &p : params) {
    scales.push_back(p.scale);
    zeros.push_back(toByte(p.zero));
    if (minimum) {
      // Exact: computeQuantParams rounded the minimum to its type.
      APFloat m(p.minimum);
      bool lost;
      m.convert(cast<FloatType>(minimum).getFloatSemantics(),
                APFloat::rmNearestTiesToEven, &lost);
      minima.push_back(m);
    }
  }
  QuantizedAttrs a;
  a.data = sink.get(
      op, RankedTensorType::get({n, k}, i8),
      ArrayRef<char>(reinterpret_cast<const char *>(data.data()), data.size()));
  a.scales = DenseElementsAttr::get(RankedTensorType::get({rows, groups}, f32),
                                    ArrayRef<float>(scales));
  if (minimum)
    a.zeros = DenseElementsAttr::get(
        RankedTensorType::get({rows, groups}, minimum), minima);
  else if (!scheme.getSymmetric())
    a.zeros = DenseElementsAttr::get(RankedTensorType::get({rows, groups}, i8),
                                     ArrayRef<int8_t>(zeros));
  return a;
}

/// The relative error attribute sqrt(num / den) (0 for a zero `den`).
FloatAttr errorAttr(MLIRContext *ctx, double num, double den) {
  return FloatAttr::get(Float64Type::get(ctx),
                        den > 0.0 ? std::sqrt(std::max(num, 0.0) / den) : 0.0);
}

/// Round-to-nearest quantization (integer or FP8) of one weight, shared by
/// the linears in `users`. Its rows go in blocks of about kBlockElements
/// values, run on the context's threads (mlir::parallelFor, so
/// --mlir-disable-threading runs them in order on the main thread). The
/// main thread gathers everything a block reads (the located weight bytes,
/// the scheme, the Hessian) before, and builds attributes and IR after; a
/// block reads only its rows and writes only its rows of the results (codes,
/// parameters, per-row error sums, summed in row order afterwards), so the
/// output is bit-identical for any number of threads.
struct RtnJob {
  static constexpr int64_t kBlockElements = int64_t(1) << 18;

  // Gathered on the main thread.
  SmallVector<LinearOp> users;
  SchemeAttr scheme;
  std::string what; // "weight of layer '<name>'", for read errors
  ConstantSource source;
  int64_t n = 0, k = 0, rows = 0, groups = 0, groupSize = 0;
  int64_t rowsPerBlock = 1, numBlocks = 0;
  unsigned bits = 0;
  bool fp8 = false, symmetric = false, perTensor = false, errors = false;
  /// The float minimum's type (scheme `minimum`), or null.
  Type minimum;
  /// The mean Hessian (K x K) for the output error, or empty.
  std::vector<double> hessian;

  // Written by the blocks, each its own part.
  /// N x K codes (i8 bit patterns), in the pass's code buffer.
  MutableArrayRef<int8_t> data;
  std::vector<QuantParams> params; // rows x groups
  /// Per row: sum (w - what)^2, sum w^2; with a Hessian d^T H d, w^T H w.
  std::vector<double> errNum, errDen, outNum, outDen;
  /// Per-tensor schemes, per block and group: min and max (FP8: max |w| in
  /// blockHi) of the block's values.
  std::vector<double> blockLo, blockHi;
  /// Per block: why reading its rows failed, or empty.
  std::vector<std::string> blockErrors;

  RtnJob(LinearOp op, SchemeAttr scheme, ConstantSource source,
         std::vector<double> hessian, bool errors)
      : users({op}), scheme(scheme),
        what("weight of layer '" + op.getLayer().str() + "'"),
        source(std::move(source)), hessian(std::move(hessian)) {
    auto wt = op.getWeight().getType();
    n = wt.getDimSize(0);
    k = wt.getDimSize(1);
    perTensor = scheme.getGranularity() == Granularity::PerTensor;
    rows = perTensor ? 1 : n;
    groups = scheme.getNumGroups(k);
    groupSize = k / groups;
    bits = scheme.getWeightBits();
    fp8 = scheme.isFp8Weight();
    symmetric = scheme.getSymmetric();
    minimum = scheme.getMinimum();
    this->errors = errors;
    rowsPerBlock =
        std::max<int64_t>(1, kBlockElements / std::max<int64_t>(k, 1));
    numBlocks = (n + rowsPerBlock - 1) / rowsPerBlock;
  }

  int64_t elements() const { return n * k; }

  /// Allocates the results (main thread), the codes in `codes` (N x K).
  void allocate(MutableArrayRef<int8_t> codes) {
    data = codes;
    params.assign(rows * groups, QuantParams());
    if (errors) {
      errNum.assign(n, 0.0);
      errDen.assign(n, 0.0);
      if (!hessian.empty()) {
        outNum.assign(n, 0.0);
        outDen.assign(n, 0.0);
      }
    }
    if (perTensor) {
      blockLo.assign(numBlocks * groups, INFINITY);
      blockHi.assign(numBlocks * groups, -INFINITY);
    }
    blockErrors.assign(numBlocks, std::string());
  }

  /// The first read error in block order, or empty.
  StringRef error() const {
    for (const std::string &e : blockErrors)
      if (!e.empty())
        return e;
    return "";
  }

  /// Per-tensor schemes: the range (FP8: max |w|) of block `b`'s values.
  void rangeOfBlock(int64_t b);
  /// Per-tensor schemes, main thread, after every rangeOfBlock: the
  /// parameters from the ranges of all blocks.
  void reduceRanges();
  /// Quantizes the rows of block `b` (per-tensor: after reduceRanges).
  void quantizeBlock(int64_t b);

private:
  /// Reads the values of block `b` into a per-thread buffer; null (and the
  /// block's error set) on failure.
  const double *readBlock(int64_t b, int64_t &r0, int64_t &r1);
};

const double *RtnJob::readBlock(int64_t b, int64_t &r0, int64_t &r1) {
  r0 = b * rowsPerBlock;
  r1 = std::min(n, r0 + rowsPerBlock);
  static thread_local std::vector<double> values;
  values.resize((r1 - r0) * k);
  std::string err;
  if (failed(source.read(r0 * k, (r1 - r0) * k, values.data(), err))) {
    blockErrors[b] = std::move(err);
    return nullptr;
  }
  return values.data();
}

void RtnJob::rangeOfBlock(int64_t b) {
  int64_t r0, r1;
  const double *w = readBlock(b, r0, r1);
  if (!w)
    return;
  double *lo = &blockLo[b * groups], *hi = &blockHi[b * groups];
  for (int64_t i = 0; i < r1 - r0; ++i)
    for (int64_t c = 0; c < k; ++c) {
      double v = w[i * k + c];
      int64_t g = c / groupSize;
      if (fp8) {
        hi[g] = std::max(hi[g], std::abs(v));
      } else {
        lo[g] = std::min(lo[g], v);
        hi[g] = std::max(hi[g], v);
      }
    }
}

void RtnJob::reduceRanges() {
  // Minima and maxima are exact: any block order gives the same values.
  for (int64_t g = 0; g < groups; ++g) {
    double lo = INFINITY, hi = fp8 ? 0.0 : -INFINITY;
    for (int64_t b = 0; b < numBlocks; ++b) {
      lo = std::min(lo, blockLo[b * groups + g]);
      hi = std::max(hi, blockHi[b * groups + g]);
    }
    if (fp8) {
      float s = static_cast<float>(hi / ::qc::fp8::kE4M3Max);
      if (!(s > 0.0f) || std::isinf(s))
        s = 1.0f;
      params[g].scale = s;
    } else {
      params[g] = computeQuantParams(lo, hi, bits, symmetric, minimum);
    }
  }
}

void RtnJob::quantizeBlock(int64_t b) {
  int64_t r0, r1;
  const double *w = readBlock(b, r0, r1);
  if (!w)
    return;
  // The block's rows of D = W - What, for the output error's d^T H d.
  static thread_local std::vector<double> diff;
  if (errors && !hessian.empty())
    diff.resize((r1 - r0) * k);
  for (int64_t i = r0; i < r1; ++i) {
    const double *wr = &w[(i - r0) * k];
    QuantParams *p = &params[perTensor ? 0 : i * groups];
    // Per-channel / per-group parameters from the row's range (docs/passes.md).
    if (!perTensor) {
      for (int64_t g = 0; g < groups; ++g) {
        double lo = INFINITY, hi = fp8 ? 0.0 : -INFINITY;
        for (int64_t c = g * groupSize; c < (g + 1) * groupSize; ++c) {
          if (fp8) {
            hi = std::max(hi, std::abs(wr[c]));
          } else {
            lo = std::min(lo, wr[c]);
            hi = std::max(hi, wr[c]);
          }
        }
        if (fp8) {
          float s = static_cast<float>(hi / ::qc::fp8::kE4M3Max);
          if (!(s > 0.0f) || std::isinf(s))
            s = 1.0f;
          p[g].scale = s;
        } else {
          p[g] = computeQuantParams(lo, hi, bits, symmetric, minimum);
        }
      }
    }
    int8_t *out = &data[i * k];
    double num = 0.0, den = 0.0;
    for (int64_t g = 0; g < groups; ++g) {
      const QuantParams pg = p[g];
      for (int64_t c = g * groupSize; c < (g + 1) * groupSize; ++c) {
        // The dequantized value in f32, as every consumer computes it.
        float dq;
        if (fp8) {
          uint8_t code =
              ::qc::fp8::encodeE4M3(static_cast<float>(wr[c] / pg.scale));
          out[c] = static_cast<int8_t>(code);
          dq = ::qc::fp8::decodeE4M3(code) * pg.scale;
        } else {
          int32_t q = quantizeValue(wr[c], pg, bits, symmetric);
          out[c] = toByte(q);
          dq = dequantizeF32(q, pg);
        }
        if (!errors)
          continue;
        double d = wr[c] - static_cast<double>(dq);
        num += d * d;
        den += wr[c] * wr[c];
        if (!hessian.empty())
          diff[(i - r0) * k + c] = d;
      }
    }
    if (!errors)
      continue;
    errNum[i] = num;
    errDen[i] = den;
  }
  if (!errors || hessian.empty())
    return;
  // d^T H d and w^T H w of every row (docs/passes.md, qc.output_error).
  static thread_local std::vector<double> sample;
  std::vector<double> forms;
  for (int pass = 0; pass < 2; ++pass) {
    SmallVector<int64_t> rows = gatherOutputErrorRows(
        r0, r1, n, k, pass == 0 ? diff.data() : w, sample);
    forms.resize(rows.size());
    la::rowQuadraticForms(rows.size(), k, sample.data(), hessian.data(),
                          forms.data());
    for (size_t j = 0; j < rows.size(); ++j)
      (pass == 0 ? outNum : outDen)[rows[j]] = forms[j];
  }
}

struct QuantizeWeightsPass
    : public mlir::qc::impl::QCQuantizeWeightsPassBase<QuantizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override;

  /// Quantizes `op` on the main thread: f16 schemes and GPTQ.
  LogicalResult quantizeLinear(LinearOp op, const StatsFile *stats);

  /// Checks and locates the weight of `op` for round-to-nearest (with the
  /// Hessian for its output error when recorded): everything its RtnJob
  /// reads. Emits the errors at `op`.
  FailureOr<std::unique_ptr<RtnJob>> gatherRtnJob(LinearOp op,
                                                  const StatsFile *stats);
  /// Runs `jobs` on the context's threads, then materializes their results
  /// for every user in order on the main thread.
  LogicalResult runRtnJobs(ArrayRef<std::unique_ptr<RtnJob>> jobs,
                           const StatsFile *stats);

  /// GPTQ factors by Hessian (file, offset) and smoothing factors: layers
  /// that read the same activation share one. A factor is freed after the
  /// last linear that may use it (`gptqUsesLeft`), so at most one or two
  /// K x K factors are alive at a time.
  using FactorKey = std::tuple<std::string, int64_t, const void *>;
  std::map<FactorKey, GptqFactor> gptqFactors;
  std::map<FactorKey, int64_t> gptqUsesLeft;
  /// The factor `op` would use, when its statistics name a Hessian.
  static std::optional<FactorKey> gptqFactorKey(LinearOp op,
                                                const StatsFile *stats);

  /// GPTQ quantizations shared by linears that read the same weight under
  /// the same scheme, smoothing factors and layer (the importers' @forward
  /// and @decode): the first computes, the others reuse the constants and
  /// the recorded errors.
  std::map<std::string, QuantizedAttrs> shared;
  /// The codes of the RTN jobs of one wave.
  std::vector<int8_t> codeBuffer;
  /// Where the codes go (the weight-store options).
  WeightSink sink;
  /// The sharing key of `op`'s quantization, or "" when its weight has no
  /// stable identity.
  static std::string sharingKey(LinearOp op);

  /// The mean Hessian of `op`'s input for its output error under RTN, read
  /// when errors are recorded and the statistics have one (else empty).
  FailureOr<std::vector<double>> rtnHessian(LinearOp op,
                                            const StatsFile *stats);

  LogicalResult insertActQuant(LinearOp op, SchemeAttr scheme,
                               const StatsFile *stats);
  /// Replaces `op`'s weight with the constants `a`, adds the activation
  /// quantization its scheme asks for and marks it quantized.
  LogicalResult finishQuantized(LinearOp op, SchemeAttr scheme,
                                const QuantizedAttrs &a,
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
  // x^T H x for the output error's rows, row tiles in parallel.
  std::vector<double> d(n * k), sample;
  for (int64_t i = 0; i < n * k; ++i)
    d[i] = w[i] - what[i];
  double a = 0.0, b = 0.0;
  for (int pass = 0; pass < 2; ++pass) {
    SmallVector<int64_t> rows = gatherOutputErrorRows(
        0, n, n, k, pass == 0 ? d.data() : w.data(), sample);
    std::vector<double> forms(rows.size());
    la::rowQuadraticForms(ctx, rows.size(), k, sample.data(), h->data(),
                          forms.data());
    for (double f : forms)
      (pass == 0 ? a : b) += f;
  }
  op->setAttr(
      "qc.output_error",
      FloatAttr::get(f64, b > 0.0 ? std::sqrt(std::max(a, 0.0) / b) : 0.0));
}

/// The dequantized weight of `r` in f32: (q - z) * s or q * s + m.
static std::vector<double> dequantizeAll(MLIRContext *ctx,
                                         const QuantizedWeight &r) {
  std::vector<double> out(r.n * r.k);
  parallelFor(ctx, 0, r.n, [&](size_t i) {
    for (int64_t c = 0; c < r.k; ++c) {
      const QuantParams &p =
          r.params[(r.rows == 1 ? 0 : i) * r.groups + c / r.groupSize];
      float v = r.fp8 ? ::qc::fp8::decodeE4M3(r.q[i * r.k + c]) * p.scale
                      : dequantizeF32(r.q[i * r.k + c], p);
      out[i * r.k + c] = static_cast<double>(v);
    }
  });
  return out;
}

/// Emits the packed_weight + dequantize_weight of the constants `a` before
/// `op` and makes `op` read it.
static void materialize(LinearOp op, SchemeAttr scheme,
                        const QuantizedAttrs &a) {
  OpBuilder b(op);
  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  ShapedType dataType = a.data.getShapedType();
  int64_t n = dataType.getDimSize(0), k = dataType.getDimSize(1);
  Value dataV = arith::ConstantOp::create(b, loc, cast<TypedAttr>(a.data));
  Value scalesV = arith::ConstantOp::create(b, loc, a.scales);
  Value zerosV;
  if (a.zeros)
    zerosV = arith::ConstantOp::create(b, loc, a.zeros);
  auto pwType = PackedWeightType::get(ctx, n, k, scheme.getWeight());
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

  // GPTQ. A weight another linear already quantized the same way: its
  // constants.
  std::string key = sharingKey(op);
  if (!key.empty()) {
    auto it = shared.find(key);
    if (it != shared.end()) {
      if (remarks)
        op.emitRemark() << "layer '" << op.getLayer()
                        << "': reuses the quantization of the same weight";
      return finishQuantized(op, scheme, it->second, stats);
    }
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

  FailureOr<const LayerStats *> st = stats->lookup(op, op.getLayer(), k);
  if (failed(st))
    return failure();
  auto sf = op->getAttrOfType<DenseElementsAttr>("qc.smooth_factors");
  FactorKey factorKey = std::make_tuple(
      (*st)->hessianFile, (*st)->hessianOffset, sf.getAsOpaquePointer());
  auto it = gptqFactors.find(factorKey);
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
    FailureOr<GptqFactor> f =
        computeGptqFactor(op.getContext(), std::move(*h), k, gptqDamp,
                          gptqActOrder, recordErrors, gptqPrecision == "f32");
    if (failed(f))
      return op.emitError()
             << "GPTQ: the dampened Hessian of layer '" << op.getLayer()
             << "' is not positive definite; increase "
                "gptq-damp";
    it = gptqFactors.emplace(factorKey, std::move(*f)).first;
  }
  QuantizedWeight r = quantizeGPTQ(op.getContext(), scheme, *vals, it->second,
                                   n, k, gptqBlockSize, gptqActOrder);
  if (recordErrors)
    recordError(op, *vals, dequantizeAll(op.getContext(), r), n, k,
                &it->second.h);
  vals->clear();
  vals->shrink_to_fit();
  std::vector<int8_t> data(r.q.size());
  for (size_t i = 0; i < r.q.size(); ++i)
    data[i] = toByte(r.q[i]);
  r.q = {};
  QuantizedAttrs attrs = buildAttrs(op.getContext(), scheme, n, k, r.rows,
                                    r.groups, data, r.params, sink, op);
  if (!attrs.data)
    return failure();
  attrs.quantError = op->getAttr("qc.quant_error");
  attrs.outputError = op->getAttr("qc.output_error");
  if (!key.empty())
    shared[key] = attrs;
  return finishQuantized(op, scheme, attrs, stats);
}

std::optional<QuantizeWeightsPass::FactorKey>
QuantizeWeightsPass::gptqFactorKey(LinearOp op, const StatsFile *stats) {
  if (!stats)
    return std::nullopt;
  auto it = stats->layers.find(op.getLayer());
  if (it == stats->layers.end() || it->second.hessianFile.empty())
    return std::nullopt;
  auto sf = op->getAttrOfType<DenseElementsAttr>("qc.smooth_factors");
  return std::make_tuple(it->second.hessianFile, it->second.hessianOffset,
                         sf.getAsOpaquePointer());
}

FailureOr<std::vector<double>>
QuantizeWeightsPass::rtnHessian(LinearOp op, const StatsFile *stats) {
  std::vector<double> h;
  int64_t k = op.getWeight().getType().getDimSize(1);
  if (!recordErrors || !stats)
    return h;
  auto it = stats->layers.find(op.getLayer());
  if (it == stats->layers.end() || it->second.hessianFile.empty() ||
      it->second.channels != k)
    return h;
  FailureOr<std::vector<double>> read =
      stats->readHessian(op, op.getLayer(), it->second);
  if (failed(read))
    return failure();
  h = std::move(*read);
  double tokens = std::max<int64_t>(it->second.tokens, 1);
  std::vector<double> sf(k, 1.0);
  if (auto a = op->getAttrOfType<DenseElementsAttr>("qc.smooth_factors")) {
    int64_t i = 0;
    for (const APFloat &v : a.getValues<APFloat>())
      sf[i++] = v.convertToDouble();
  }
  for (int64_t a = 0; a < k; ++a)
    for (int64_t c = 0; c < k; ++c)
      h[a * k + c] /= tokens * sf[a] * sf[c];
  return h;
}

FailureOr<std::unique_ptr<RtnJob>>
QuantizeWeightsPass::gatherRtnJob(LinearOp op, const StatsFile *stats) {
  SchemeAttr scheme = op.getSchemeAttr();
  Value w = op.getWeight();
  if (!isConstantWeight(w)) {
    if (isa<BlockArgument>(w) && !scheme.isFp8Weight())
      return op.emitError() << "layer '" << op.getLayer()
                            << "': the weight is a function argument; "
                               "qc-quantize-weights needs a constant weight";
    return op.emitError() << "layer '" << op.getLayer()
                          << "': the weight is not a constant; "
                             "qc-quantize-weights needs a constant weight";
  }
  FailureOr<ConstantSource> source =
      locateConstantValues(w, op, "weight of layer '" + op.getLayer() + "'");
  if (failed(source))
    return failure();
  // RTN with calibration Hessians: the output error is still reported.
  std::vector<double> hessian;
  if (!scheme.isFp8Weight()) {
    FailureOr<std::vector<double>> h = rtnHessian(op, stats);
    if (failed(h))
      return failure();
    hessian = std::move(*h);
  }
  return std::make_unique<RtnJob>(op, scheme, std::move(*source),
                                  std::move(hessian), recordErrors);
}

LogicalResult
QuantizeWeightsPass::runRtnJobs(ArrayRef<std::unique_ptr<RtnJob>> jobs,
                                const StatsFile *stats) {
  MLIRContext *ctx = &getContext();
  // The (job, block) pairs of `which` jobs, in job and row order.
  auto blocksOf = [&](function_ref<bool(const RtnJob &)> which) {
    std::vector<std::pair<RtnJob *, int64_t>> items;
    for (const std::unique_ptr<RtnJob> &job : jobs)
      if (which(*job))
        for (int64_t b = 0; b < job->numBlocks; ++b)
          items.emplace_back(job.get(), b);
    return items;
  };
  // The wave's codes in one buffer kept across waves: its pages are
  // touched once per pass, not once per weight.
  int64_t total = 0;
  for (const std::unique_ptr<RtnJob> &job : jobs)
    total += job->elements();
  if (static_cast<int64_t>(codeBuffer.size()) < total)
    codeBuffer.resize(total);
  int64_t at = 0;
  for (const std::unique_ptr<RtnJob> &job : jobs) {
    job->allocate(
        MutableArrayRef<int8_t>(codeBuffer).slice(at, job->elements()));
    at += job->elements();
  }
  // Per-tensor schemes: the ranges of all blocks before any is quantized.
  auto ranges = blocksOf([](const RtnJob &j) { return j.perTensor; });
  parallelForEach(ctx, ranges, [](const std::pair<RtnJob *, int64_t> &item) {
    item.first->rangeOfBlock(item.second);
  });
  for (const std::unique_ptr<RtnJob> &job : jobs)
    if (job->perTensor && job->error().empty())
      job->reduceRanges();
  auto blocks = blocksOf([](const RtnJob &j) { return j.error().empty(); });
  parallelForEach(ctx, blocks, [](const std::pair<RtnJob *, int64_t> &item) {
    item.first->quantizeBlock(item.second);
  });

  // Main thread: attributes and IR, job by job, user by user.
  bool ok = true;
  for (const std::unique_ptr<RtnJob> &job : jobs) {
    if (StringRef err = job->error(); !err.empty()) {
      for (LinearOp op : job->users)
        op.emitError() << job->what << ": " << err;
      ok = false;
      continue;
    }
    QuantizedAttrs attrs =
        buildAttrs(ctx, job->scheme, job->n, job->k, job->rows, job->groups,
                   job->data, job->params, sink, job->users.front());
    if (!attrs.data) {
      ok = false;
      continue;
    }
    job->params = {};
    if (job->errors) {
      double num = 0.0, den = 0.0;
      for (int64_t i = 0; i < job->n; ++i) {
        num += job->errNum[i];
        den += job->errDen[i];
      }
      attrs.quantError = errorAttr(ctx, num, den);
      if (!job->hessian.empty()) {
        double a = 0.0, b = 0.0;
        for (int64_t i = 0; i < job->n; ++i) {
          a += job->outNum[i];
          b += job->outDen[i];
        }
        attrs.outputError = errorAttr(ctx, a, b);
      }
    }
    for (auto [i, op] : llvm::enumerate(job->users)) {
      if (i > 0 && remarks)
        op.emitRemark() << "layer '" << op.getLayer()
                        << "': reuses the quantization of the same weight";
      ok &= succeeded(finishQuantized(op, job->scheme, attrs, stats));
    }
  }
  return success(ok);
}

LogicalResult QuantizeWeightsPass::finishQuantized(LinearOp op,
                                                   SchemeAttr scheme,
                                                   const QuantizedAttrs &a,
                                                   const StatsFile *stats) {
  if (a.quantError)
    op->setAttr("qc.quant_error", a.quantError);
  if (a.outputError)
    op->setAttr("qc.output_error", a.outputError);
  materialize(op, scheme, a);
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
  if (gptqPrecision != "f64" && gptqPrecision != "f32") {
    module.emitError() << "qc-quantize-weights: unknown gptq-precision '"
                       << gptqPrecision << "'; expected f64 or f32";
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
  FailureOr<WeightSink> opened =
      WeightSink::open(module, weightStore, weightStoreMinBytes);
  if (failed(opened))
    return signalPassFailure();
  sink = *opened;
  std::optional<StatsFile> stats;
  if (!this->stats.empty()) {
    FailureOr<StatsFile> f = loadStatsFile(this->stats, module.getLoc());
    if (failed(f))
      return signalPassFailure();
    stats = std::move(*f);
  }
  const StatsFile *statsPtr = stats ? &*stats : nullptr;
  SmallVector<LinearOp> linears;
  module.walk([&](LinearOp op) {
    if (op.getSchemeAttr())
      linears.push_back(op);
  });
  // Linears that share a quantization (integer and FP8 weights) form one
  // group, in the order of their first linear.
  std::vector<SmallVector<LinearOp>> groups;
  std::map<std::string, size_t> groupOf;
  for (LinearOp op : linears) {
    SchemeAttr scheme = op.getSchemeAttr();
    std::string key = scheme.isIntegerWeight() || scheme.isFp8Weight()
                          ? sharingKey(op)
                          : std::string();
    if (key.empty()) {
      groups.push_back({op});
      continue;
    }
    auto [it, fresh] = groupOf.try_emplace(key, groups.size());
    if (fresh)
      groups.emplace_back();
    groups[it->second].push_back(op);
  }

  // Round to nearest: one job per group, run in waves of about
  // kWaveElements weight values on the context's threads; a wave's codes
  // are freed once its attributes are built, so memory beyond the
  // attributes stays bounded. f16 casts and GPTQ run here, one by one.
  constexpr int64_t kWaveElements = int64_t(1) << 25;
  bool ok = true;
  shared.clear();
  gptqUsesLeft.clear();
  auto isGptq = [&](SchemeAttr scheme) {
    return scheme.isIntegerWeight() && algorithm == "gptq";
  };
  for (SmallVector<LinearOp> &group : groups)
    if (isGptq(group.front().getSchemeAttr()))
      for (LinearOp op : group)
        if (std::optional<FactorKey> key = gptqFactorKey(op, statsPtr))
          ++gptqUsesLeft[*key];
  std::vector<std::unique_ptr<RtnJob>> wave;
  int64_t waveElements = 0;
  auto runWave = [&] {
    if (!wave.empty())
      ok &= succeeded(runRtnJobs(wave, statsPtr));
    wave.clear();
    waveElements = 0;
  };
  for (SmallVector<LinearOp> &group : groups) {
    SchemeAttr scheme = group.front().getSchemeAttr();
    bool rtn = scheme.isFp8Weight() ||
               (scheme.isIntegerWeight() && algorithm == "rtn");
    if (!rtn) {
      for (LinearOp op : group) {
        std::optional<FactorKey> key =
            isGptq(scheme) ? gptqFactorKey(op, statsPtr) : std::nullopt;
        ok &= succeeded(quantizeLinear(op, statsPtr));
        if (key && --gptqUsesLeft[*key] == 0)
          gptqFactors.erase(*key);
      }
      continue;
    }
    // The first linear whose weight reads computes; a linear whose weight
    // fails reports it, and the next one tries again.
    std::unique_ptr<RtnJob> job;
    for (LinearOp op : group) {
      if (job) {
        job->users.push_back(op);
        continue;
      }
      FailureOr<std::unique_ptr<RtnJob>> j = gatherRtnJob(op, statsPtr);
      if (failed(j)) {
        ok = false;
        continue;
      }
      job = std::move(*j);
    }
    if (!job)
      continue;
    waveElements += job->elements();
    wave.push_back(std::move(job));
    if (waveElements >= kWaveElements)
      runWave();
  }
  runWave();
  shared.clear();
  codeBuffer = {};
  if (!ok)
    signalPassFailure();
}
