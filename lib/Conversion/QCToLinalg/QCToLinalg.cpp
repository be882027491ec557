//===- QCToLinalg.cpp - The convert-qc-to-linalg pass -----------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Checks that every quantized matmul reads a weight the host kernels can take
// (one clear diagnostic otherwise), then runs a dialect conversion with the
// patterns of Patterns.cpp and erases the packed_weight ops left dead.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToLinalg/QCToLinalg.h"
#include "qc/Conversion/Passes.h"

#include "mlir/Transforms/DialectConversion.h"

namespace qc {
#define GEN_PASS_DEF_CONVERTQCTOLINALG
#include "qc/Conversion/Passes.h.inc"
} // namespace qc

using namespace mlir;
using namespace mlir::qc;

namespace {

/// Reports ops whose packed weight the host kernels cannot read.
LogicalResult checkPackedWeightUse(Operation *op, Value weight) {
  PackedWeightOp def = getPackedWeightDef(weight);
  if (!def)
    return op->emitOpError(
        "weight must be produced by qc.packed_weight to be lowered on the "
        "host (a packed value from a block argument or another op cannot be "
        "read)");
  std::string reason;
  if (failed(::qc::PackedWeightAccess::get(def, reason)))
    return op->emitOpError("cannot lower this packed weight on the host: ")
           << reason;
  return success();
}

struct ConvertQCToLinalgPass
    : public ::qc::impl::ConvertQCToLinalgBase<ConvertQCToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    WalkResult check = module.walk([&](Operation *op) {
      LogicalResult r = success();
      if (auto mm = dyn_cast<WeightOnlyMatmulOp>(op))
        r = checkPackedWeightUse(op, mm.getWeight());
      else if (auto mm = dyn_cast<Int8MatmulOp>(op))
        r = checkPackedWeightUse(op, mm.getWeight());
      else if (auto dq = dyn_cast<DequantizeWeightOp>(op))
        r = checkPackedWeightUse(op, dq.getWeight());
      return failed(r) ? WalkResult::interrupt() : WalkResult::advance();
    });
    if (check.wasInterrupted())
      return signalPassFailure();

    ConversionTarget target(getContext());
    target.addIllegalDialect<QCDialect>();
    // qc.cache_write bufferizes itself (in place) and is lowered to loops
    // after bufferization (qc-lower-cache-writes).
    target.addLegalOp<PackedWeightOp, CacheWriteOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    ::qc::populateQCToLinalgConversionPatterns(patterns, parallelKernels);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      return signalPassFailure();

    // Packed weights are read through their operands; drop them once dead.
    SmallVector<PackedWeightOp> packed;
    module.walk([&](PackedWeightOp op) { packed.push_back(op); });
    for (PackedWeightOp op : packed) {
      if (!op->use_empty()) {
        op.emitOpError("packed weight is still used after lowering (only "
                       "qc.wo_matmul, qc.int8_matmul and "
                       "qc.dequantize_weight can consume it on the host)");
        return signalPassFailure();
      }
      op.erase();
    }
  }
};

} // namespace
