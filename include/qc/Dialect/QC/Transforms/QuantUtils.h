//===- QuantUtils.h - Helpers shared by the qc passes -----------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Reading weight constants (dense, dense_resource, qc.external_weight),
// writing float constants back, the calibration statistics file
// (docs/formats.md) and the scalar quantization arithmetic of
// docs/passes.md, so every pass and test computes the same numbers.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_TRANSFORMS_QUANTUTILS_H
#define QC_DIALECT_QC_TRANSFORMS_QUANTUTILS_H

#include "qc/Dialect/QC/IR/QC.h"
#include "qc/Dialect/QC/IR/WeightStore.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringMap.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

namespace mlir::qc {

/// True when `v` is produced by an op whose value the passes can read at
/// compile time: `arith.constant` (dense or dense_resource) or
/// `qc.external_weight`.
bool isConstantWeight(Value v);

/// Reads the elements of the constant `v` (see isConstantWeight) in
/// row-major order as doubles (f16/bf16/f32 convert exactly). On failure
/// emits one error at `user` naming `what` and returns failure. A relative
/// `qc.external_weight` path is resolved against the directory of the file
/// named by the op's location (the input IR), else the working directory.
FailureOr<std::vector<double>> readConstantValues(Value v, Operation *user,
                                                  const Twine &what);

/// The stored elements of a constant weight (see isConstantWeight), located
/// and checked on the thread that owns the IR but not decoded, so that
/// other threads can read them (`read`) without touching the IR: the raw
/// little-endian bytes of a dense attribute or dense_resource blob (owned by
/// the context), a slice of a `qc.external_weight` file, or, for constants
/// without such a form (splats, other element types), every value decoded
/// up front.
struct ConstantSource {
  Type elementType;
  int64_t count = 0;
  /// In-memory element bytes, or empty.
  ArrayRef<char> memory;
  /// External weight file (resolved path) and the byte offset of element 0,
  /// or an empty path.
  std::string path;
  uint64_t offset = 0;
  /// All values, when neither `memory` nor `path` is set.
  std::vector<double> values;

  /// Decodes elements [begin, begin + size) into `out` (f16/bf16/f32
  /// convert exactly, as readConstantValues). Safe to call from any thread
  /// while the constant's storage lives; on failure sets `err` to a
  /// message that completes "<what>: ".
  LogicalResult read(int64_t begin, int64_t size, double *out,
                     std::string &err) const;
};

/// Locates the elements of the constant `v` for ConstantSource::read. Emits
/// the errors readConstantValues would (missing data, a short or
/// unreadable external file, an unsupported element type) at `user`.
FailureOr<ConstantSource> locateConstantValues(Value v, Operation *user,
                                               const Twine &what);

/// Scales input channel j of the linears in `group` (all reading `x`) by
/// s[j] and x by 1/s[j], so that their products are unchanged: the weights
/// (`weights`, their values row-major, updated in place) become f32
/// constants W * s; 1/s is folded into the RMSNorm / LayerNorm producing
/// `x` when only the group reads it, else a qc.smooth is inserted; each
/// linear records s as `qc.smooth_factors` (GPTQ's Hessian of the scaled
/// input). Shared by qc-smoothquant and qc-awq.
LogicalResult scaleInputChannels(Value x, ArrayRef<LinearOp> group,
                                 MutableArrayRef<std::vector<double>> weights,
                                 ArrayRef<double> s);

/// Builds a dense float attribute of `type` (f16, bf16, f32 or f64 element
/// type) from doubles, rounding to nearest even.
DenseElementsAttr makeFloatAttr(RankedTensorType type, ArrayRef<double> vals);

/// Resolves `path` relative to the directory of the file that `loc` names
/// (the IR file being compiled); absolute paths and unknown locations are
/// returned unchanged.
std::string resolveInputRelativePath(Location loc, StringRef path);

/// The raw little-endian storage of the non-splat int/float constant
/// `attr` (dense or dense_resource), or std::nullopt. Stored weights are
/// mapped: call releaseWeightPages(attr) once done with the bytes.
std::optional<ArrayRef<char>> rawConstantData(Attribute attr);

//===----------------------------------------------------------------------===//
// Calibration statistics (qc-stats version 1)
//===----------------------------------------------------------------------===//

/// Statistics of one layer's input activation.
struct LayerStats {
  int64_t channels = 0;
  int64_t tokens = 0;
  std::vector<double> absmax;
  std::optional<double> percentile;
  std::vector<double> pmax;
  /// Hessian blob (resolved path) and byte offset; empty path when absent.
  std::string hessianFile;
  int64_t hessianOffset = 0;
};

/// A parsed statistics file.
struct StatsFile {
  std::string path;
  llvm::StringMap<LayerStats> layers;

  /// Returns the statistics of `layer` checked against `channels` input
  /// channels; emits an error at `op` naming the layer and the file when
  /// the layer is missing or its channel count differs.
  FailureOr<const LayerStats *> lookup(Operation *op, StringRef layer,
                                       int64_t channels) const;

  /// Reads the K x K Hessian sum of `layer` (float64, row-major); emits an
  /// error at `op` naming the layer and file when absent or truncated.
  FailureOr<std::vector<double>> readHessian(Operation *op, StringRef layer,
                                             const LayerStats &st) const;
};

/// Parses the statistics file at `path`; emits one error at `loc` naming the
/// file and the problem on failure.
FailureOr<StatsFile> loadStatsFile(StringRef path, Location loc);

//===----------------------------------------------------------------------===//
// Scalar quantization arithmetic (docs/passes.md)
//===----------------------------------------------------------------------===//

/// Scale and zero point (or float minimum) of one quantization group.
struct QuantParams {
  float scale = 1.0f;
  int32_t zero = 0;
  /// Float-minimum grids (scheme `minimum`): w = q * s + minimum, `zero`
  /// unused; `minimum` holds a value of the minimum's type (f16 or f32).
  bool floatMinimum = false;
  float minimum = 0.0f;
};

/// Computes the parameters of a group with minimum `lo` and maximum `hi`:
/// symmetric: s = f32(max(|lo|, |hi|) / qmax), qmax = 2^(bits-1) - 1, z = 0;
/// asymmetric: lo' = min(lo, 0), hi' = max(hi, 0), s = f32((hi' - lo') /
/// (2^bits - 1)), z = clamp(rint(-lo' / s), 0, 2^bits - 1); float minimum
/// (`minimum` = f16 or f32, asymmetric): m = lo rounded to nearest in
/// `minimum`, s = f32((hi - m) / (2^bits - 1)). A zero range gives s = 1.
QuantParams computeQuantParams(double lo, double hi, unsigned bits,
                               bool symmetric, Type minimum = {});

/// Quantizes one value: symmetric clamp(rint(w / s), -qmax, qmax);
/// asymmetric clamp(rint(w / s) + z, 0, 2^bits - 1); float minimum
/// clamp(rint((w - m) / s), 0, 2^bits - 1). Division in f64.
/// Inline: it is the inner loop of weight quantization.
inline int32_t quantizeValue(double w, QuantParams p, unsigned bits,
                             bool symmetric) {
  if (p.floatMinimum) {
    double q = std::rint((w - double(p.minimum)) / double(p.scale));
    return static_cast<int32_t>(std::clamp(q, 0.0, double((1 << bits) - 1)));
  }
  double q = std::rint(w / double(p.scale));
  if (symmetric) {
    double qmax = double((1 << (bits - 1)) - 1);
    return static_cast<int32_t>(std::clamp(q, -qmax, qmax));
  }
  double qmax = double((1 << bits) - 1);
  return static_cast<int32_t>(std::clamp(q + p.zero, 0.0, qmax));
}

/// The value an integer code stands for as every consumer computes it in
/// f32: (q - z) * s, or q * s + m (two roundings, no fused multiply-add).
inline float dequantizeF32(int32_t q, QuantParams p) {
  if (p.floatMinimum) {
    float qs = static_cast<float>(q) * p.scale;
    return qs + p.minimum;
  }
  return static_cast<float>(q - p.zero) * p.scale;
}

/// The value a quantized integer stands for: (q - z) * s in f64 (float
/// minimum: its f32 value, dequantizeF32).
inline double dequantizeValue(int32_t q, QuantParams p) {
  if (p.floatMinimum)
    return double(dequantizeF32(q, p));
  return double(q - p.zero) * double(p.scale);
}

} // namespace mlir::qc

#endif // QC_DIALECT_QC_TRANSFORMS_QUANTUTILS_H
