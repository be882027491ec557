//===- InsertObservers.cpp - Calibration variants ---------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-insert-observers: clones every public function @f into @f_calibrate
// where each quantizable qc.linear input is fed to a qc.observe keyed by the
// layer name. The runtime turns the observations into the statistics file.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCINSERTOBSERVERSPASS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {
struct InsertObserversPass
    : public mlir::qc::impl::QCInsertObserversPassBase<InsertObserversPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (percentile != 0.0 && !(percentile > 0.0 && percentile <= 100.0)) {
      module.emitError() << "qc-insert-observers: percentile must be in "
                            "(0, 100] (0 = off), got "
                         << percentile;
      return signalPassFailure();
    }
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> funcs;
    for (auto f : module.getOps<func::FuncOp>())
      if (f.isPublic() && !f.isExternal() &&
          !f.getSymName().ends_with("_calibrate"))
        funcs.push_back(f);
    MLIRContext *ctx = &getContext();
    bool ok = true;
    for (func::FuncOp f : funcs) {
      std::string name = (f.getSymName() + "_calibrate").str();
      if (symbols.lookup(name)) {
        f.emitError() << "cannot create the calibration variant: '@" << name
                      << "' already exists";
        ok = false;
        continue;
      }
      auto clone = cast<func::FuncOp>(f->clone());
      clone.setSymName(name);
      module.getBody()->getOperations().insertAfter(f->getIterator(), clone);
      symbols.insert(clone, std::next(Block::iterator(f)));
      clone.walk([&](LinearOp op) {
        SchemeAttr s = op.getSchemeAttr();
        if (s && !s.isQuantizedWeight())
          return; // f16 layers need no calibration
        OpBuilder b(op);
        auto obs =
            ObserveOp::create(b, op.getLoc(), op.getInput(), op.getLayerAttr(),
                              FloatAttr(), UnitAttr());
        if (percentile > 0.0)
          obs.setPercentileAttr(
              FloatAttr::get(Float64Type::get(ctx), percentile));
        if (hessian)
          obs.setHessian(true);
      });
    }
    if (!ok)
      signalPassFailure();
  }
};
} // namespace
