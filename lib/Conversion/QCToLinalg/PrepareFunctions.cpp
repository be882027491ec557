//===- PrepareFunctions.cpp - The qc-host-prepare-functions pass *- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Sets the C interface and read-only arguments of public functions and
// decomposes aggregated linalg ops before host bufferization.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/Passes.h"
#include "qc/Dialect/QC/IR/QC.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/TilingInterface.h"

namespace qc {
#define GEN_PASS_DEF_QCHOSTPREPAREFUNCTIONS
#include "qc/Conversion/Passes.h.inc"
} // namespace qc

using namespace mlir;

namespace {

/// The number of dynamic result sizes of the largest reassociation group of
/// `op` (2 or more: the form LLVM 22 cannot lower after bufferization).
int64_t maxDynamicPerGroup(tensor::ExpandShapeOp op) {
  auto resType = op.getResultType();
  int64_t most = 0;
  for (const ReassociationIndices &group : op.getReassociationIndices()) {
    int64_t dynamic = 0;
    for (int64_t d : group)
      dynamic += resType.isDynamicDim(d);
    most = std::max(most, dynamic);
  }
  return most;
}

/// expand_shape(extract_slice(X)[:, off : off + n]) with the rows split into
/// several dynamic dimensions ([M, n] -> [B, T, H, D], e.g. the q / k / v
/// columns of a fused projection) becomes
///   expand_shape(extract_slice(reshape(X)[..., off : off + n])):
/// the row split moves onto the contiguous X (a view after bufferization),
/// the column slice stays a strided view and the last group's split is
/// static. Without it the slice is copied into a contiguous buffer for
/// the tensor.reshape below: one copy kernel per slice on GPU targets.
/// Returns the replacement, or null when `op` does not have this form.
Value sliceAfterRowSplit(OpBuilder &b, tensor::ExpandShapeOp op) {
  auto slice = op.getSrc().getDefiningOp<tensor::ExtractSliceOp>();
  if (!slice)
    return {};
  auto srcType = slice.getSourceType();
  auto sliceType = slice.getResultType();
  auto resType = op.getResultType();
  auto groups = op.getReassociationIndices();
  if (srcType.getRank() != 2 || sliceType.getRank() != 2 ||
      groups.size() != 2 || srcType.isDynamicDim(1) ||
      sliceType.isDynamicDim(1) || !slice.hasUnitStride())
    return {};
  // Rows: the whole extent; columns: a static window.
  std::optional<int64_t> rowOff =
      getConstantIntValue(slice.getMixedOffsets()[0]);
  std::optional<int64_t> colOff =
      getConstantIntValue(slice.getMixedOffsets()[1]);
  if (!rowOff || *rowOff != 0 || !colOff)
    return {};
  OpFoldResult rows = slice.getMixedSizes()[0];
  Location loc = op.getLoc();
  bool wholeRows = false;
  if (std::optional<int64_t> r = getConstantIntValue(rows))
    wholeRows = !srcType.isDynamicDim(0) && *r == srcType.getDimSize(0);
  else if (auto dim = cast<Value>(rows).getDefiningOp<tensor::DimOp>())
    wholeRows = dim.getSource() == slice.getSource() &&
                getConstantIntValue(dim.getDimension()) == 0;
  if (!wholeRows)
    return {};
  // The column group's sizes must be static.
  for (int64_t d : groups[1])
    if (resType.isDynamicDim(d))
      return {};
  // reshape(X): [M, N] -> [lead..., N].
  SmallVector<OpFoldResult> outShape = op.getMixedOutputShape();
  SmallVector<Value> dims;
  SmallVector<int64_t> leadShape;
  for (int64_t d : groups[0]) {
    dims.push_back(getValueOrCreateConstantIndexOp(b, loc, outShape[d]));
    leadShape.push_back(resType.getDimSize(d));
  }
  int64_t n = srcType.getDimSize(1);
  dims.push_back(arith::ConstantIndexOp::create(b, loc, n));
  SmallVector<int64_t> fullShape(leadShape);
  fullShape.push_back(n);
  auto fullType = RankedTensorType::get(fullShape, srcType.getElementType());
  Value shape = tensor::FromElementsOp::create(b, loc, dims);
  Value full =
      tensor::ReshapeOp::create(b, loc, fullType, slice.getSource(), shape);
  // extract_slice(...)[0.., off : off + n'].
  int64_t lead = leadShape.size(), width = sliceType.getDimSize(1);
  SmallVector<OpFoldResult> offsets(lead, b.getIndexAttr(0)),
      sizes(dims.begin(), dims.end() - 1), strides(lead + 1, b.getIndexAttr(1));
  offsets.push_back(b.getIndexAttr(*colOff));
  sizes.push_back(b.getIndexAttr(width));
  SmallVector<int64_t> cutShape(leadShape);
  cutShape.push_back(width);
  auto cutType = RankedTensorType::get(cutShape, srcType.getElementType());
  Value cut = tensor::ExtractSliceOp::create(b, loc, cutType, full, offsets,
                                             sizes, strides);
  // expand_shape of the columns only.
  SmallVector<ReassociationIndices> reassoc;
  for (int64_t d = 0; d < lead; ++d)
    reassoc.push_back({d});
  ReassociationIndices last;
  for (int64_t d : groups[1])
    last.push_back(d);
  reassoc.push_back(last);
  return tensor::ExpandShapeOp::create(b, loc, resType, cut, reassoc, outShape);
}

struct QCHostPrepareFunctionsPass
    : public ::qc::impl::QCHostPrepareFunctionsBase<
          QCHostPrepareFunctionsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal() || !func.isPublic())
        continue;
      func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                    UnitAttr::get(ctx));
      // In-place arguments: the init of a returned qc.cache_write chain.
      llvm::SmallDenseSet<unsigned> inPlace;
      func.walk([&](func::ReturnOp ret) {
        for (Value v : ret.getOperands()) {
          bool written = false;
          while (auto write = v.getDefiningOp<mlir::qc::CacheWriteOp>()) {
            v = write.getCache();
            written = true;
          }
          if (auto arg = dyn_cast<BlockArgument>(v); arg && written)
            if (arg.getOwner() == &func.front())
              inPlace.insert(arg.getArgNumber());
        }
      });
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
        if (!isa<TensorType>(func.getArgument(i).getType()))
          continue;
        if (inPlace.contains(i)) {
          func.setArgAttr(i, "qc.inplace", UnitAttr::get(ctx));
          continue;
        }
        func.setArgAttr(i,
                        bufferization::BufferizationDialect::kWritableAttrName,
                        BoolAttr::get(ctx, false));
      }
    }

    // LLVM 22's expand-strided-metadata crashes on memref.expand_shape with
    // several dynamic sizes in one group: such reshapes become tensor.reshape
    // (memref.reshape) instead.
    SmallVector<tensor::ExpandShapeOp> expands;
    module.walk([&](tensor::ExpandShapeOp op) {
      if (maxDynamicPerGroup(op) > 1)
        expands.push_back(op);
    });
    for (tensor::ExpandShapeOp op : expands) {
      OpBuilder b(op);
      if (Value swapped = sliceAfterRowSplit(b, op)) {
        op.replaceAllUsesWith(swapped);
        op.erase();
        continue;
      }
      SmallVector<Value> dims;
      for (OpFoldResult ofr : op.getMixedOutputShape())
        dims.push_back(getValueOrCreateConstantIndexOp(b, op.getLoc(), ofr));
      Value shape = tensor::FromElementsOp::create(b, op.getLoc(), dims);
      Value r = tensor::ReshapeOp::create(b, op.getLoc(), op.getResultType(),
                                          op.getSrc(), shape);
      op.replaceAllUsesWith(r);
      op.erase();
    }

    // Glue matmuls (linalg.matmul, linalg.batch_matmul) lower to scalar
    // loops; with the reduction loop moved outside the output-column loop,
    // the innermost loop walks B and C contiguously and LLVM vectorizes it.
    SmallVector<linalg::LinalgOp> contractions;
    module.walk([&](linalg::LinalgOp op) {
      if (isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op) &&
          op.hasPureTensorSemantics())
        contractions.push_back(op);
    });
    IRRewriter rewriter(ctx);
    for (linalg::LinalgOp op : contractions) {
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::GenericOp> generic =
          linalg::generalizeNamedOp(rewriter, op);
      if (failed(generic))
        continue;
      // (..., m, n, k) -> (..., m, k, n)
      unsigned n = generic->getNumLoops();
      SmallVector<unsigned> perm;
      for (unsigned i = 0; i < n - 2; ++i)
        perm.push_back(i);
      perm.push_back(n - 1);
      perm.push_back(n - 2);
      (void)linalg::interchangeGenericOp(rewriter, *generic, perm);
    }

    // linalg.softmax (and other aggregated ops) -> generics that bufferize
    // and lower to loops.
    SmallVector<linalg::AggregatedOpInterface> aggregated;
    module.walk(
        [&](linalg::AggregatedOpInterface op) { aggregated.push_back(op); });
    for (auto op : aggregated) {
      OpBuilder b(op);
      FailureOr<SmallVector<Value>> repl = op.decomposeOperation(b);
      if (failed(repl)) {
        op->emitOpError("cannot be decomposed for the host");
        return signalPassFailure();
      }
      op->replaceAllUsesWith(*repl);
      op->erase();
    }
  }
};

} // namespace
