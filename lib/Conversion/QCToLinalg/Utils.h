//===- Utils.h - Shared helpers of the qc host lowering ---------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_QCTOLINALG_UTILS_H
#define QC_LIB_CONVERSION_QCTOLINALG_UTILS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/Value.h"

#include <functional>

namespace qc::detail {

/// Collapses an activation [d0, ..., dn-2, K] to [M, K] (a rank-1 input
/// becomes [1, K]).
mlir::Value collapseToRows(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value t);

/// Expands a [M, N] result back to `orig`'s leading shape with N columns,
/// typed `resultType`.
mlir::Value expandFromRows(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value rows, mlir::Value orig,
                           mlir::Type resultType);

/// Collapses a per-token vector shaped like `input`'s leading dims to [M].
mlir::Value collapseLeading(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value t);

/// Expands an [M] vector to `resultType` (the leading shape of `orig`).
mlir::Value expandLeading(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value vec, mlir::Value orig,
                          mlir::Type resultType);

/// Casts a float scalar or vector to f32 (extf) or from f32 to `to` (truncf).
mlir::Value castFloat(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                      mlir::Type to);

/// A linalg.generic over [M, K] (or [M] when `rowOnly`) filling `init`.
/// Inputs are indexed by their maps; `body` gets the block arguments and
/// returns the value to yield.
using GenericBody = std::function<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                              mlir::ValueRange)>;
mlir::Value buildGeneric(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::ValueRange inputs,
                         llvm::ArrayRef<mlir::AffineMap> inputMaps,
                         mlir::Value init, mlir::AffineMap initMap,
                         unsigned numLoops, unsigned numReductionLoops,
                         GenericBody body);

/// tensor.empty of [M, n] (M the dim 0 of `rows`) or [M] when n < 0.
mlir::Value emptyRows(mlir::OpBuilder &b, mlir::Location loc, mlir::Value rows,
                      int64_t n, mlir::Type elem);

/// Per-row sums of f(x) over the last dim of x [M, K], in f32.
mlir::Value
rowReduce(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
          mlir::Value init, bool isMax,
          std::function<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                    mlir::Value x, mlir::ValueRange extra)>
              f,
          mlir::ValueRange extraRowInputs = {});

/// Dynamic per-token symmetric 8-bit quantization of x [M, K] to `elem`
/// (i8 or f8E4M3FN): s = max|x_row| / range (127 or 448; 1 for an all-zero
/// row), q as in quantizeRows. Returns {q [M, K], s [M] f32}.
std::pair<mlir::Value, mlir::Value> quantizeRowsDynamic(mlir::OpBuilder &b,
                                                        mlir::Location loc,
                                                        mlir::Value x,
                                                        mlir::Type elem);

/// q = quantize(x / s) with x [M, K] and s a scalar f32 value (per-tensor)
/// or an [M] tensor (per-token): i8 clamp(roundeven(.), -127, 127), or
/// f8E4M3FN e4m3(.) (round to nearest even, saturating: qc/Dialect/QC/
/// Utils/Fp8.h).
mlir::Value quantizeRows(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                         mlir::Value scale, mlir::Type elem);

/// Picks the largest power-of-two chunk length <= 16 that divides k.
int64_t chooseFloatVectorWidth(int64_t k);

/// The buffer under a chain of views (subview, reshapes, casts).
mlir::Value rootBuffer(mlir::Value v);

/// Dimension `i` of memref `v` as a static size or the SSA value it was
/// built from (through allocation sizes, expand_shape output shapes,
/// same-rank subview sizes, casts and memref.dim); null when unknown.
mlir::OpFoldResult extentOf(mlir::Value v, int64_t i);

} // namespace qc::detail

#endif // QC_LIB_CONVERSION_QCTOLINALG_UTILS_H
