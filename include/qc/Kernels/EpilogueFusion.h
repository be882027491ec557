//===- EpilogueFusion.h - Glue a matmul epilogue absorbs -------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The one definition of which glue op a GEMV epilogue (or prologue)
// absorbs, asked by qc-outline-gpu-kernels (builds the kernel with the
// fused epilogue / prologue) and qc-lower-gpu-launches (passes the extra
// operand and drops the glue op), so the two decisions cannot disagree.
//
//===----------------------------------------------------------------------===//

#ifndef QC_KERNELS_EPILOGUEFUSION_H
#define QC_KERNELS_EPILOGUEFUSION_H

#include "qc/Dialect/QC/IR/QC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace qc {

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
  for (AffineMap map : add.getIndexingMapsArray())
    if (!map.isIdentity())
      return {};
  for (utils::IteratorType it : add.getIteratorTypesArray())
    if (it != utils::IteratorType::parallel)
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
