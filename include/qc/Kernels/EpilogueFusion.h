//===- EpilogueFusion.h - Glue a matmul epilogue absorbs -------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The one definition of which glue op a GEMV epilogue (or prologue)
// absorbs (the residual add, the gated MLP's SiLU * mul, the RMSNorm), asked by
// qc-outline-gpu-kernels (builds the kernel with the fused epilogue / prologue)
// and qc-lower-gpu-launches (passes the extra operand and drops the glue op),
// so the two decisions cannot disagree.
//
//===----------------------------------------------------------------------===//

#ifndef QC_KERNELS_EPILOGUEFUSION_H
#define QC_KERNELS_EPILOGUEFUSION_H

#include "qc/Dialect/QC/IR/QC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

namespace qc {

namespace detail {
/// True when `op` is elementwise: identity indexing maps, parallel loops.
inline bool elementwise(mlir::linalg::GenericOp op) {
  using namespace mlir;
  return llvm::all_of(op.getIndexingMapsArray(),
                      [](AffineMap map) { return map.isIdentity(); }) &&
         llvm::all_of(op.getIteratorTypesArray(), [](utils::IteratorType it) {
           return it == utils::IteratorType::parallel;
         });
}
/// `v` without an arith.extf to f32 in front (f16 activations).
inline mlir::Value skipExt(mlir::Value v) {
  if (auto ext = v.getDefiningOp<mlir::arith::ExtFOp>())
    return ext.getIn();
  return v;
}
/// True when `slice` takes all rows of its source: a static extent equal
/// to the source's, or `tensor.dim %source, 0`.
inline bool allRows(mlir::tensor::ExtractSliceOp slice) {
  using namespace mlir;
  OpFoldResult size = slice.getMixedSizes()[0];
  if (auto attr = dyn_cast<Attribute>(size))
    return cast<IntegerAttr>(attr).getInt() ==
           slice.getSourceType().getDimSize(0);
  auto dim = cast<Value>(size).getDefiningOp<tensor::DimOp>();
  std::optional<int64_t> index = dim ? dim.getConstantIndex() : std::nullopt;
  return dim && dim.getSource() == slice.getSource() && index && *index == 0;
}
} // namespace detail

/// A residual add a GEMV epilogue absorbs: `add` computes `other + y`
/// elementwise (a linalg.generic of two inputs of y's type, identity maps,
/// all loops parallel, body one arith.addf of the two inputs) and is the
/// only user of `y`.
struct ResidualAdd {
  mlir::linalg::GenericOp add;
  mlir::Value other;
};

/// The residual add that is the only user of `y`, or {} (null add).
inline ResidualAdd residualAddUser(mlir::Value y) {
  using namespace mlir;
  if (!y || !y.hasOneUse())
    return {};
  auto add = dyn_cast<linalg::GenericOp>(*y.getUsers().begin());
  if (!add || add.getNumDpsInputs() != 2 || add.getNumDpsInits() != 1 ||
      add->getNumResults() != 1 || add->getResult(0).getType() != y.getType())
    return {};
  if (!detail::elementwise(add))
    return {};
  Value in0 = add.getDpsInputOperand(0)->get(),
        in1 = add.getDpsInputOperand(1)->get();
  if (in0.getType() != y.getType() || in1.getType() != y.getType() ||
      (in0 != y) == (in1 != y))
    return {};
  Block &body = add.getRegion().front();
  if (body.getOperations().size() != 2)
    return {};
  auto sum = dyn_cast<arith::AddFOp>(body.front());
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (!sum || !yield || yield.getNumOperands() != 1 ||
      yield.getOperand(0) != sum.getResult())
    return {};
  Value a0 = body.getArgument(0), a1 = body.getArgument(1);
  if (!((sum.getLhs() == a0 && sum.getRhs() == a1) ||
        (sum.getLhs() == a1 && sum.getRhs() == a0)))
    return {};
  return {add, in0 == y ? in1 : in0};
}

/// The gated MLP's SiLU * mul a GEMV epilogue absorbs
/// (GemvKernelConfig::swiGlu): `y` (M x 2F, the gate and up projections
/// fused by qc-fuse-sibling-matmuls) is read only by `tensor.dim %y, 0` and
/// two tensor.extract_slice ops, columns [0, F) and [F, 2F), each read only by
/// `glue`, a linalg.generic of those two inputs (gate first) with identity maps
/// and parallel loops whose body is the importers' SiLU * mul: `trunc?(div(a,
/// add(exp(neg(a)), 1)) * ext?(up))` with `a = ext?(gate)` (ext / trunc between
/// the activation type and f32, absent for f32): the SiLU * mul in f32.
struct SwiGluUse {
  mlir::linalg::GenericOp glue;
  mlir::tensor::ExtractSliceOp gate, up;
};

/// The SiLU * mul glue that alone reads `y`, or {} (null glue).
inline SwiGluUse swiGluUser(mlir::Value y) {
  using namespace mlir;
  auto yType = dyn_cast<RankedTensorType>(y ? y.getType() : Type());
  if (!yType || yType.getRank() != 2 ||
      ShapedType::isDynamic(yType.getDimSize(1)) ||
      yType.getDimSize(1) % 2 != 0)
    return {};
  int64_t half = yType.getDimSize(1) / 2;
  // Besides the slices, `tensor.dim %y, 0` (the row count the slices and
  // the glue's init take) may read y: the rows are the matmul input's.
  SmallVector<Operation *> users;
  for (Operation *u : y.getUsers()) {
    auto dim = dyn_cast<tensor::DimOp>(u);
    std::optional<int64_t> index = dim ? dim.getConstantIndex() : std::nullopt;
    if (!(index && *index == 0))
      users.push_back(u);
  }
  if (users.size() != 2)
    return {};
  tensor::ExtractSliceOp slices[2];
  for (Operation *u : users) {
    auto slice = dyn_cast<tensor::ExtractSliceOp>(u);
    if (!slice || !slice->hasOneUse() || !slice.hasUnitStride() ||
        slice.getStaticOffsets().size() != 2 ||
        slice.getStaticOffsets()[0] != 0 || slice.getType().getRank() != 2 ||
        slice.getType().getDimSize(1) != half)
      return {};
    int64_t col = slice.getStaticOffsets()[1];
    if (col != 0 && col != half)
      return {};
    if (!detail::allRows(slice))
      return {};
    if (slices[col ? 1 : 0])
      return {};
    slices[col ? 1 : 0] = slice;
  }
  auto glue = dyn_cast<linalg::GenericOp>(*slices[0]->getUsers().begin());
  if (!glue || *slices[1]->getUsers().begin() != glue.getOperation() ||
      glue.getNumDpsInputs() != 2 || glue.getNumDpsInits() != 1 ||
      glue->getNumResults() != 1 ||
      glue.getDpsInputOperand(0)->get() != slices[0].getResult() ||
      glue.getDpsInputOperand(1)->get() != slices[1].getResult() ||
      glue->getResult(0).getType() != slices[0].getType())
    return {};
  if (!detail::elementwise(glue))
    return {};
  Block &body = glue.getRegion().front();
  Value gIn = body.getArgument(0), uIn = body.getArgument(1);
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getNumOperands() != 1)
    return {};
  Value out = yield.getOperand(0);
  if (auto trunc = out.getDefiningOp<arith::TruncFOp>())
    out = trunc.getIn();
  auto mul = out.getDefiningOp<arith::MulFOp>();
  if (!mul)
    return {};
  for (auto [silu, up] : {std::pair{mul.getLhs(), mul.getRhs()},
                          std::pair{mul.getRhs(), mul.getLhs()}}) {
    if (detail::skipExt(up) != uIn)
      continue;
    auto div = silu.getDefiningOp<arith::DivFOp>();
    if (!div || detail::skipExt(div.getLhs()) != gIn)
      continue;
    // The epilogue computes silu in f32 (as the importers' glue does).
    Value a = div.getLhs();
    auto add = div.getRhs().getDefiningOp<arith::AddFOp>();
    if (!add || !a.getType().isF32() || !up.getType().isF32())
      continue;
    for (auto [e, c] : {std::pair{add.getLhs(), add.getRhs()},
                        std::pair{add.getRhs(), add.getLhs()}}) {
      auto exp = e.getDefiningOp<math::ExpOp>();
      auto neg = exp ? exp.getOperand().getDefiningOp<arith::NegFOp>()
                     : arith::NegFOp();
      FloatAttr one;
      if (neg && neg.getOperand() == a && matchPattern(c, m_Constant(&one)) &&
          one.getValueAsDouble() == 1.0)
        return {glue, slices[0], slices[1]};
    }
  }
  return {};
}

/// Where the GEMV's RMSNorm prologue pays (H100 run 4, docs/performance.md):
/// every CTA of the layer repeats the row pass over its M tile, so it won
/// only for one row of a short K (SmolLM2, K = 576: -9% per decode step)
/// and lost with 8 rows (+13..65%) or a long K (K = 4096 at M = 1: +7%).
/// The fused variants are built for the M tile 1 and K <= 1024;
/// qc-lower-gpu-launches runs the norm kernel and the plain family for more
/// rows.
inline constexpr int64_t kNormPrologueMaxK = 1024;
inline bool normProloguePays(int64_t mTile, int64_t k) {
  return mTile == 1 && k <= kNormPrologueMaxK;
}

/// The RMSNorm a GEMV prologue absorbs (GemvKernelConfig::normPrologue):
/// the qc.rms_norm defining `op`'s input when the matmul is its only user,
/// the norm runs on the GPU (qc-outline-gpu-kernels gave it its row
/// kernel: `qc.launch`, which the rows the prologue does not take still
/// use) and its input has the matmul's activation type; else null.
inline mlir::qc::RMSNormOp normProducer(mlir::qc::WeightOnlyMatmulOp op) {
  auto norm = op.getInput().getDefiningOp<mlir::qc::RMSNormOp>();
  if (!norm || !norm->hasOneUse() || !norm->hasAttr("qc.launch") ||
      norm.getInput().getType() != op.getInput().getType())
    return {};
  return norm;
}

} // namespace qc

#endif // QC_KERNELS_EPILOGUEFUSION_H
