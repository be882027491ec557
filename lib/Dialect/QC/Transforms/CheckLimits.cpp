//===- CheckLimits.cpp - Tensor size limits (qc-check-limits) -------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Limits.h"
#include "qc/Runtime/qcrt.h"

#include "mlir/IR/AttrTypeSubElements.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

static uint64_t maxBytes = QCRT_MAX_TENSOR_BYTES;

uint64_t qc::maxTensorBytes() { return maxBytes; }

void qc::setMaxTensorBytesForTesting(uint64_t bytes) {
  maxBytes = std::min<uint64_t>(bytes, QCRT_MAX_TENSOR_BYTES);
}

bool qc::staticTypeBytes(ShapedType type, uint64_t &bytes) {
  uint64_t n = 1;
  bool over = false, empty = false;
  for (int64_t d : type.getShape()) {
    if (ShapedType::isDynamic(d))
      continue; // unknown until run time (checked by the runtime then)
    if (d == 0)
      empty = true;
    if (!over && __builtin_mul_overflow(n, static_cast<uint64_t>(d), &n))
      over = true;
  }
  if (empty) {
    bytes = 0;
    return true;
  }
  Type elem = type.getElementType();
  uint64_t elemBytes = 1;
  if (elem.isIntOrIndexOrFloat())
    elemBytes = (elem.isIndex() ? 64 : elem.getIntOrFloatBitWidth() + 7) / 8;
  else if (auto complex = dyn_cast<ComplexType>(elem);
           complex && complex.getElementType().isIntOrFloat())
    elemBytes =
        2 * ((complex.getElementType().getIntOrFloatBitWidth() + 7) / 8);
  else if (auto inner = dyn_cast<ShapedType>(elem);
           inner && inner.hasStaticShape()) {
    if (!staticTypeBytes(inner, elemBytes))
      return false;
  }
  if (elemBytes == 0)
    elemBytes = 1;
  if (over || __builtin_mul_overflow(n, elemBytes, &n))
    return false;
  bytes = n;
  return true;
}

LogicalResult qc::checkTensorLimits(Operation *root) {
  std::string problem;
  auto check = [&](ShapedType type) {
    if (!problem.empty() || !type.hasRank())
      return;
    uint64_t bytes = 0;
    bool ok = staticTypeBytes(type, bytes);
    if (ok && bytes <= maxTensorBytes())
      return;
    std::string text;
    llvm::raw_string_ostream os(text);
    os << type << " is too large: "
       << (ok ? std::to_string(bytes) + " bytes" : "more than 2^64 bytes")
       << " (the maximum tensor size is " << maxTensorBytes()
       << " bytes, docs/reliability.md)";
    problem = os.str();
  };
  AttrTypeWalker walker;
  walker.addWalk([&](Type t) {
    if (auto shaped = dyn_cast<ShapedType>(t))
      check(shaped);
  });
  WalkResult result = root->walk([&](Operation *op) {
    for (Type t : op->getResultTypes())
      walker.walk(t);
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          walker.walk(arg.getType());
    // Discardable and inherent (property) attributes alike.
    walker.walk(op->getAttrDictionary());
    if (problem.empty())
      return WalkResult::advance();
    op->emitError() << problem;
    return WalkResult::interrupt();
  });
  return failure(result.wasInterrupted());
}

namespace {
struct CheckLimitsPass : public PassWrapper<CheckLimitsPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(CheckLimitsPass)
  StringRef getArgument() const final { return "qc-check-limits"; }
  StringRef getDescription() const final {
    return "Reject static shapes above the maximum tensor size "
           "(QCRT_MAX_TENSOR_BYTES) before any pass computes with them";
  }
  void runOnOperation() override {
    if (failed(qc::checkTensorLimits(getOperation())))
      signalPassFailure();
    markAllAnalysesPreserved();
  }
};
} // namespace

std::unique_ptr<Pass> qc::createCheckLimitsPass() {
  return std::make_unique<CheckLimitsPass>();
}

void qc::registerCheckLimitsPass() { PassRegistration<CheckLimitsPass>(); }
