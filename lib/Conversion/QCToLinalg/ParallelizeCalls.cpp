//===- ParallelizeCalls.cpp - qc-host-parallelize-calls ---------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Calls of `qc.parallel_range` functions (LLVM dialect) -> qcrt_parallel_for
// over a thunk that unpacks the call's arguments from a stack struct.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

namespace qc {
#define GEN_PASS_DEF_QCHOSTPARALLELIZECALLS
#include "qc/Conversion/Passes.h.inc"
} // namespace qc

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kParallelAttr = "qc.parallel_range";
constexpr llvm::StringLiteral kParallelFor = "qcrt_parallel_for";

/// True if `fn` can be split: marked, no results, last two arguments i64.
bool isParallelCallee(LLVM::LLVMFuncOp fn) {
  if (!fn || !fn->hasAttr(kParallelAttr))
    return false;
  LLVM::LLVMFunctionType type = fn.getFunctionType();
  unsigned n = type.getNumParams();
  Type i64 = IntegerType::get(fn.getContext(), 64);
  return isa<LLVM::LLVMVoidType>(type.getReturnType()) && !type.isVarArg() &&
         n >= 2 && type.getParamType(n - 2) == i64 &&
         type.getParamType(n - 1) == i64;
}

/// The struct holding every argument of `fn` but the range.
LLVM::LLVMStructType contextType(LLVM::LLVMFuncOp fn) {
  ArrayRef<Type> params = fn.getFunctionType().getParams();
  return LLVM::LLVMStructType::getLiteral(fn.getContext(), params.drop_back(2));
}

/// `@<fn>__par(ptr ctx, i64 begin, i64 end)`: loads the arguments from ctx
/// and calls `fn` on [begin, end).
LLVM::LLVMFuncOp getOrCreateThunk(OpBuilder &b, ModuleOp module,
                                  LLVM::LLVMFuncOp fn) {
  std::string name = (fn.getName() + "__par").str();
  if (auto existing = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
    return existing;
  MLIRContext *ctx = b.getContext();
  Location loc = fn.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  Type i64 = b.getI64Type();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointAfter(fn);
  auto thunk = LLVM::LLVMFuncOp::create(
      b, loc, name,
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                  {ptr, i64, i64}),
      LLVM::Linkage::Internal);
  Block *entry = thunk.addEntryBlock(b);
  b.setInsertionPointToStart(entry);
  LLVM::LLVMStructType st = contextType(fn);
  SmallVector<Value> args;
  for (auto [i, t] : llvm::enumerate(st.getBody())) {
    Value field =
        LLVM::GEPOp::create(b, loc, ptr, st, entry->getArgument(0),
                            ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
    args.push_back(LLVM::LoadOp::create(b, loc, t, field));
  }
  args.push_back(entry->getArgument(1));
  args.push_back(entry->getArgument(2));
  LLVM::CallOp::create(b, loc, fn, args);
  LLVM::ReturnOp::create(b, loc, ValueRange{});
  return thunk;
}

/// Declares `void qcrt_parallel_for(ptr, ptr, i64, i64)`.
LLVM::LLVMFuncOp getOrCreateParallelFor(OpBuilder &b, ModuleOp module) {
  if (auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(kParallelFor))
    return fn;
  MLIRContext *ctx = b.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  Type i64 = b.getI64Type();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  return LLVM::LLVMFuncOp::create(
      b, module.getLoc(), kParallelFor,
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                  {ptr, ptr, i64, i64}));
}

struct QCHostParallelizeCallsPass
    : public ::qc::impl::QCHostParallelizeCallsBase<
          QCHostParallelizeCallsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<LLVM::CallOp, LLVM::LLVMFuncOp>> calls;
    module.walk([&](LLVM::CallOp call) {
      std::optional<StringRef> callee = call.getCallee();
      if (!callee)
        return;
      auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(*callee);
      if (isParallelCallee(fn) &&
          !call->getParentOfType<LLVM::LLVMFuncOp>().getName().ends_with(
              "__par"))
        calls.emplace_back(call, fn);
    });
    if (calls.empty())
      return;

    OpBuilder b(&getContext());
    auto ptr = LLVM::LLVMPointerType::get(&getContext());
    LLVM::LLVMFuncOp parallelFor = getOrCreateParallelFor(b, module);
    for (auto [call, fn] : calls) {
      LLVM::LLVMFuncOp thunk = getOrCreateThunk(b, module, fn);
      LLVM::LLVMStructType st = contextType(fn);
      Location loc = call.getLoc();
      // The context lives in the caller's entry block (no stack growth when
      // the call sits in a loop).
      auto caller = call->getParentOfType<LLVM::LLVMFuncOp>();
      b.setInsertionPointToStart(&caller.getBody().front());
      Value one = LLVM::ConstantOp::create(b, loc, b.getI64Type(), 1);
      Value ctx = LLVM::AllocaOp::create(b, loc, ptr, st, one);

      b.setInsertionPoint(call);
      ValueRange args = call.getArgOperands();
      for (auto [i, v] : llvm::enumerate(args.drop_back(2))) {
        Value field = LLVM::GEPOp::create(
            b, loc, ptr, st, ctx,
            ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
        LLVM::StoreOp::create(b, loc, v, field);
      }
      Value body = LLVM::AddressOfOp::create(b, loc, thunk);
      LLVM::CallOp::create(
          b, loc, parallelFor,
          ValueRange{body, ctx, args[args.size() - 2], args.back()});
      call.erase();
    }
  }
};

} // namespace
