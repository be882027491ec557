//===- LowerBF16.cpp - qc-host-lower-bf16 ------------------------*- C++
//-*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// bf16 on the host: arith ops on bf16 compute in f32 (extf / truncf around
// them), then extf / truncf between bf16 and f32 become integer bit
// operations (truncf rounds to nearest even), so the module needs neither
// bf16 arithmetic from LLVM nor the __truncsfbf2 libcall.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace qc {
#define GEN_PASS_DEF_QCHOSTLOWERBF16
#include "qc/Conversion/Passes.h.inc"
} // namespace qc

using namespace mlir;

namespace {

struct QCHostLowerBF16Pass
    : public ::qc::impl::QCHostLowerBF16Base<QCHostLowerBF16Pass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    Type bf16 = BFloat16Type::get(ctx);
    Type f32 = Float32Type::get(ctx);

    // 1. Arithmetic on bf16 -> f32 arithmetic between conversions.
    TypeConverter converter;
    arith::populateEmulateUnsupportedFloatsConversions(converter, {bf16}, f32);
    RewritePatternSet emulate(ctx);
    arith::populateEmulateUnsupportedFloatsPatterns(emulate, converter);
    ConversionTarget target(*ctx);
    arith::populateEmulateUnsupportedFloatsLegality(target, converter);
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(
            applyPartialConversion(getOperation(), target, std::move(emulate))))
      return signalPassFailure();

    // 2. bf16 <-> f32 conversions -> integer bit operations.
    RewritePatternSet expand(ctx);
    arith::populateExpandBFloat16Patterns(expand);
    if (failed(applyPatternsGreedily(getOperation(), std::move(expand))))
      return signalPassFailure();
  }
};

} // namespace
