//===- QCToLinalg.h - Lower qc ops for the host -----------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Patterns lowering the qc dialect to linalg/tensor/vector/scf/arith/math on
// tensors, and the builders of the register-blocked matmul kernels they use.
//
//===----------------------------------------------------------------------===//

#ifndef QC_CONVERSION_QCTOLINALG_QCTOLINALG_H
#define QC_CONVERSION_QCTOLINALG_QCTOLINALG_H

#include "qc/Dialect/QC/IR/QC.h"

#include "mlir/IR/Builders.h"
#include "mlir/Transforms/DialectConversion.h"

#include <functional>

namespace qc {

/// Adds one conversion pattern per qc op (linear, rms_norm, layer_norm,
/// external_weight, observe, smooth, quantize_act, dequantize_act,
/// dequantize_weight, wo_matmul, int8_matmul) to `patterns`. `packed_weight`
/// ops are not converted: their users read the operands, and the pass erases
/// them once dead. With `parallelKernels`, the outlined matmul kernels take
/// their output and a range of column panels (see `qc.parallel_range` in
/// docs/host-lowering.md) so that `qc-host-parallelize-calls` can split them
/// across threads.
void populateQCToLinalgConversionPatterns(mlir::RewritePatternSet &patterns,
                                          bool parallelKernels = false);

//===----------------------------------------------------------------------===//
// Matmul kernel builders
//===----------------------------------------------------------------------===//

/// Loads `vl` consecutive K elements of one row of a matmul operand starting
/// at column `k0` (a multiple of `vl`) and returns them converted to the
/// accumulation vector type: vector<vl x f32>, or for integer kernels
/// vector<vl x i16> (products are formed in i16 and summed in i32).
using RowChunkLoader = std::function<mlir::Value(
    mlir::OpBuilder &, mlir::Location, mlir::Value row, mlir::Value k0)>;

/// Turns one accumulated dot product (f32 or i32) of output row `m` and
/// column `n` into the output element.
using MatmulEpilogue =
    std::function<mlir::Value(mlir::OpBuilder &, mlir::Location,
                              mlir::Value acc, mlir::Value m, mlir::Value n)>;

/// A "dot-product form" matmul y[m, n] = epilogue(sum_k lhs[m, k] * rhs[n, k])
/// where both operands are read along K (the weight is N x K).
struct MatmulKernelSpec {
  int64_t n = 0;           ///< Static number of output columns.
  int64_t k = 0;           ///< Static reduction size.
  int64_t vectorWidth = 1; ///< K chunk length `vl`; divides k.
  bool integer = false;    ///< i16 multiply, i32 add instead of f32 fma.
  RowChunkLoader loadLhs;  ///< Row m of the activation.
  RowChunkLoader loadRhs;  ///< Row n of the (possibly packed) weight.
  MatmulEpilogue epilogue;
  int64_t rowBlock = 4;  ///< Rows of y per register block (mr).
  int64_t colBlock = 4;  ///< Columns of y per register block (nr).
  int64_t colPanel = 64; ///< Columns per cache panel (weight rows kept hot).
  /// Optional range of column panels (index values) to compute, in units of
  /// `getPanelWidth()` columns; null computes all of them. A caller running
  /// disjoint ranges on several threads gets exactly the serial result.
  mlir::Value panelBegin, panelEnd;
  /// Float kernels with an expensive `loadRhs` (dequantization): for
  /// M >= stageRhsMinRows, each weight panel is loaded once into an f32
  /// scratch buffer ([panel, k]) and the register blocks read it from there
  /// (bit-identical results). 0: never.
  int64_t stageRhsMinRows = 0;

  /// Register block columns (nr): the largest divisor of n <= colBlock.
  int64_t getColumnBlock() const;
  /// Columns per panel: a multiple of nr close to colPanel.
  int64_t getPanelWidth() const;
  /// Number of column panels, ceil(n / getPanelWidth()).
  int64_t getNumPanels() const;
};

/// Builds the tiled, vectorized kernel into `init` (a tensor<M x N>, M =
/// `numRows` dynamic) and returns the filled tensor. Loop nest:
///
///   for nb in [0, N) step colPanel          // weight panel stays in cache
///                                           // (panelBegin/End: some panels)
///     for m in [0, M - M % mr) step mr      // full register blocks
///       for n in [nb, nb + colPanel) step nr
///         acc[mr][nr] = for k0 in [0, K) step vl: fma(lhs chunk, rhs chunk)
///         y[m + i, n + j] = epilogue(reduce(acc[i][j]))
///     for m in [M - M % mr, M)              // leftover rows, mr = 1
///       ...
///
/// The rhs chunk (the weight) is loaded and dequantized once per register
/// block and reused by its mr rows.
mlir::Value buildBlockedMatmul(mlir::OpBuilder &b, mlir::Location loc,
                               const MatmulKernelSpec &spec,
                               mlir::Value numRows, mlir::Value init);

/// Reads chunks of a `qc.packed_weight` in any layout.
struct PackedWeightAccess {
  mlir::Value data, scales, zeros;
  mlir::qc::SchemeAttr scheme;
  mlir::qc::LayoutAttr layout;
  int64_t n = 0, k = 0;
  unsigned bits = 8;

  /// Collects the operands of `def`; fails with a reason when the kernels
  /// cannot read this layout.
  static mlir::FailureOr<PackedWeightAccess> get(mlir::qc::PackedWeightOp def,
                                                 std::string &reason);

  /// Largest K chunk length the layout, group size and packing allow (at
  /// most `maxWidth`).
  int64_t chooseVectorWidth(int64_t maxWidth) const;

  /// The raw integers q of row `row`, columns [k0, k0 + vl), as
  /// vector<vl x i8> (signed values for symmetric, unsigned bit patterns for
  /// asymmetric schemes).
  mlir::Value loadQuantized(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value row, mlir::Value k0, int64_t vl) const;

  /// loadQuantized for the mma_frag layout: one element at a time.
  mlir::Value loadFragQuantized(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::Value row, mlir::Value k0,
                                int64_t vl) const;

  /// (q - z) as vector<vl x f32> (FP8: the decoded E4M3 values), times the
  /// scale when `applyScale`; float-minimum schemes always give q * s + m
  /// (their scale cannot move to the epilogue).
  mlir::Value loadDequantized(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value row, mlir::Value k0, int64_t vl,
                              bool applyScale) const;

  /// q sign-extended to vector<vl x i16> (symmetric integer schemes only).
  mlir::Value loadInt16(mlir::OpBuilder &b, mlir::Location loc, mlir::Value row,
                        mlir::Value k0, int64_t vl) const;

  /// The zero point (i8 code) or float minimum (f16 / f32, as stored) of
  /// element (row, col); asymmetric schemes only.
  mlir::Value zeroAt(mlir::OpBuilder &b, mlir::Location loc, mlir::Value row,
                     mlir::Value col) const;

  /// The f32 scale of element (row, col).
  mlir::Value scaleAt(mlir::OpBuilder &b, mlir::Location loc, mlir::Value row,
                      mlir::Value col) const;

  /// True when one scale covers a whole row (per-tensor, per-channel) and
  /// nothing is added after scaling (no float minimum), so kernels can apply
  /// it once in the epilogue.
  bool rowConstantScale() const {
    return scheme.getGranularity() != mlir::qc::Granularity::PerGroup &&
           !scheme.hasFloatMinimum();
  }
};

} // namespace qc

#endif // QC_CONVERSION_QCTOLINALG_QCTOLINALG_H
