//===- FuseDequant.cpp - Fuse dequantization into matmuls -------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-fuse-dequant: qc.linear reading qc.dequantize_weight (and possibly
// qc.dequantize_act) becomes qc.wo_matmul / qc.int8_matmul so no float copy
// of a quantized weight is materialized.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCFUSEDEQUANTPASS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

/// Copies the `qc.`-prefixed discardable attributes (e.g.
/// qc.batch_threshold) from `from` to `to`; `qc.quantized` is implied by
/// the fused op.
static void copyQCAttrs(Operation *from, Operation *to) {
  for (NamedAttribute a : from->getDiscardableAttrs())
    if (a.getName().getValue().starts_with("qc.") &&
        a.getName().getValue() != "qc.quantized")
      to->setAttr(a.getName(), a.getValue());
}

namespace {

/// linear(dequantize_act(q, s), dequantize_weight(pw)[, b]) ->
/// int8_matmul q, s, pw[, b], for INT8 or FP8 E4M3 q and pw.
struct FuseInt8Matmul : OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    auto dw = op.getWeight().getDefiningOp<DequantizeWeightOp>();
    if (!dw)
      return rewriter.notifyMatchFailure(op, "weight is not dequantized");
    auto da = op.getInput().getDefiningOp<DequantizeActOp>();
    if (!da)
      return rewriter.notifyMatchFailure(op, "input is not dequantized");
    Value pw = dw.getWeight();
    Type elem = cast<PackedWeightType>(pw.getType()).getElementType();
    if (!elem.isSignlessInteger(8) && !isa<Float8E4M3FNType>(elem))
      return rewriter.notifyMatchFailure(op, "weight is not INT8 or FP8");
    if (da.getInput().getType().getElementType() != elem)
      return rewriter.notifyMatchFailure(
          op, "activations and weight are not of one 8-bit type");
    if (PackedWeightOp def = getPackedWeightDef(pw)) {
      SchemeAttr s = def.getScheme();
      if (!s.getSymmetric() || s.getGranularity() == Granularity::PerGroup)
        return rewriter.notifyMatchFailure(
            op, "INT8 matmul needs symmetric per-channel/per-tensor weights");
    } else {
      return rewriter.notifyMatchFailure(op, "weight scheme is unknown");
    }
    auto mm = rewriter.replaceOpWithNewOp<Int8MatmulOp>(
        op, op.getType(), da.getInput(), da.getScales(), pw, op.getBias(),
        op.getLayerAttr(), KernelAttr(), /*fused_layers=*/ArrayAttr());
    copyQCAttrs(op, mm);
    return success();
  }
};

/// linear(x, dequantize_weight(pw)[, b]) -> wo_matmul x, pw[, b].
struct FuseWeightOnlyMatmul : OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    auto dw = op.getWeight().getDefiningOp<DequantizeWeightOp>();
    if (!dw)
      return rewriter.notifyMatchFailure(op, "weight is not dequantized");
    if (isa<Float8E4M3FNType>(
            cast<PackedWeightType>(dw.getWeight().getType()).getElementType()))
      return rewriter.notifyMatchFailure(op, "FP8 weights need FP8 inputs");
    auto mm = rewriter.replaceOpWithNewOp<WeightOnlyMatmulOp>(
        op, op.getType(), op.getInput(), dw.getWeight(), op.getBias(),
        op.getLayerAttr(), KernelAttr(), /*fused_layers=*/ArrayAttr());
    copyQCAttrs(op, mm);
    return success();
  }
};

struct FuseDequantPass
    : public mlir::qc::impl::QCFuseDequantPassBase<FuseDequantPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseDequantPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns)))) {
      getOperation().emitError("qc-fuse-dequant did not converge");
      return signalPassFailure();
    }
    bool ok = true;
    getOperation().walk([&](DequantizeWeightOp op) {
      if (op->use_empty()) {
        op->erase();
        return;
      }
      InFlightDiagnostic diag = op.emitError()
                                << "a float copy of a quantized weight "
                                   "survives: qc.dequantize_weight is still "
                                   "used by '"
                                << (*op->user_begin())->getName() << "'";
      diag.attachNote((*op->user_begin())->getLoc()) << "used here";
      ok = false;
    });
    if (!ok)
      signalPassFailure();
  }
};

} // namespace

void mlir::qc::populateFuseDequantPatterns(RewritePatternSet &patterns) {
  // The INT8 form is preferred where both match.
  patterns.add<FuseInt8Matmul>(patterns.getContext(), /*benefit=*/2);
  patterns.add<FuseWeightOnlyMatmul>(patterns.getContext(), /*benefit=*/1);
}
