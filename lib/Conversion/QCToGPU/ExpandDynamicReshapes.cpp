//===- ExpandDynamicReshapes.cpp - expand_shape -> reinterpret_cast -------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-expand-dynamic-reshapes: memref.expand_shape ops that split one
// dimension into several dynamic ones become memref.reinterpret_casts of
// their identity-layout source (upstream expand-strided-metadata crashes on
// them). See Passes.td.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToGPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCEXPANDDYNAMICRESHAPES
#include "qc/Conversion/QCToGPU/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {

/// True when some reassociation group of `op` has two or more dynamic
/// result sizes (the form expand-strided-metadata cannot take).
bool hasSplitDynamicGroup(memref::ExpandShapeOp op) {
  ArrayRef<int64_t> shape = op.getResultType().getShape();
  for (const ReassociationIndices &group : op.getReassociationIndices())
    if (llvm::count_if(group, [&](int64_t d) {
          return ShapedType::isDynamic(shape[d]);
        }) > 1)
      return true;
  return false;
}

struct ExpandToReinterpretCast : OpRewritePattern<memref::ExpandShapeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(memref::ExpandShapeOp op,
                                PatternRewriter &rewriter) const override {
    if (!hasSplitDynamicGroup(op))
      return rewriter.notifyMatchFailure(op, "no group of dynamic sizes");
    if (!op.getSrcType().getLayout().isIdentity() ||
        !op.getResultType().getLayout().isIdentity())
      return rewriter.notifyMatchFailure(op, "not an identity layout");
    Location loc = op.getLoc();
    SmallVector<OpFoldResult> sizes = op.getMixedOutputShape();
    // Row-major strides: suffix products of the sizes, folded where static.
    SmallVector<OpFoldResult> strides(sizes.size());
    OpFoldResult stride = rewriter.getIndexAttr(1);
    for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
      strides[d] = stride;
      std::optional<int64_t> s = getConstantIntValue(stride);
      std::optional<int64_t> n = getConstantIntValue(sizes[d]);
      if (s && n) {
        stride = rewriter.getIndexAttr(*s * *n);
        continue;
      }
      auto value = [&](OpFoldResult v) -> Value {
        if (auto attr = dyn_cast<Attribute>(v))
          return arith::ConstantIndexOp::create(
              rewriter, loc, cast<IntegerAttr>(attr).getInt());
        return cast<Value>(v);
      };
      stride =
          arith::MulIOp::create(rewriter, loc, value(stride), value(sizes[d]))
              .getResult();
    }
    rewriter.replaceOpWithNewOp<memref::ReinterpretCastOp>(
        op, op.getResultType(), op.getSrc(), rewriter.getIndexAttr(0), sizes,
        strides);
    return success();
  }
};

struct ExpandDynamicReshapesPass
    : public mlir::qc::impl::QCExpandDynamicReshapesBase<
          ExpandDynamicReshapesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandToReinterpretCast>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
