//===- DropInPlaceResults.cpp - The qc-drop-inplace-results pass -*- C++ -*-=//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The in-place ABI (docs/module-format.md): after one-shot bufferization, a
// public function result that is its `qc.inplace` argument's own buffer is
// dropped, and the module attribute `qc.inplace` records the argument (and
// the dropped result) for the module interface.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/BitVector.h"

namespace qc {
#define GEN_PASS_DEF_QCDROPINPLACERESULTS
#include "qc/Conversion/Passes.h.inc"
} // namespace qc

using namespace mlir;

namespace {

constexpr StringLiteral kInPlace = "qc.inplace";

struct QCDropInPlaceResultsPass
    : public ::qc::impl::QCDropInPlaceResultsBase<QCDropInPlaceResultsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<NamedAttribute> records;
    if (auto existing = module->getAttrOfType<DictionaryAttr>(kInPlace))
      records.append(existing.begin(), existing.end());
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      auto clearMarks = [&] {
        for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
          func.removeArgAttr(i, kInPlace);
      };
      bool marked = false;
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
        marked |= static_cast<bool>(func.getArgAttr(i, kInPlace));
      if (!marked)
        continue;
      auto returns = llvm::to_vector(func.getOps<func::ReturnOp>());
      if (!func.isPublic() || returns.size() != 1 ||
          !SymbolTable::symbolKnownUseEmpty(func, module)) {
        clearMarks();
        continue;
      }
      func::ReturnOp ret = returns.front();
      llvm::BitVector drop(func.getNumResults());
      SmallVector<int64_t> args, results;
      for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
        while (auto cast = v.getDefiningOp<memref::CastOp>())
          v = cast.getSource();
        auto arg = dyn_cast<BlockArgument>(v);
        if (!arg || arg.getOwner() != &func.front() ||
            !func.getArgAttr(arg.getArgNumber(), kInPlace))
          continue;
        drop.set(i);
        results.push_back(i);
        if (!llvm::is_contained(args, arg.getArgNumber()))
          args.push_back(arg.getArgNumber());
      }
      clearMarks();
      if (results.empty())
        continue;
      llvm::sort(args);
      ret->eraseOperands(drop);
      if (failed(func.eraseResults(drop))) {
        func.emitOpError("cannot drop its in-place results");
        return signalPassFailure();
      }
      records.emplace_back(
          func.getSymNameAttr(),
          DictionaryAttr::get(
              ctx, {NamedAttribute(StringAttr::get(ctx, "args"),
                                   DenseI64ArrayAttr::get(ctx, args)),
                    NamedAttribute(StringAttr::get(ctx, "results"),
                                   DenseI64ArrayAttr::get(ctx, results))}));
    }
    if (!records.empty())
      module->setAttr(kInPlace, DictionaryAttr::get(ctx, records));
  }
};

} // namespace
