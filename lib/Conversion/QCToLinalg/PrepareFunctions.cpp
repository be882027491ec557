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
#include "mlir/Interfaces/TilingInterface.h"

namespace qc {
#define GEN_PASS_DEF_QCHOSTPREPAREFUNCTIONS
#include "qc/Conversion/Passes.h.inc"
} // namespace qc

using namespace mlir;

namespace {

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
      auto resType = op.getResultType();
      for (const ReassociationIndices &group : op.getReassociationIndices()) {
        int64_t dynamic = 0;
        for (int64_t d : group)
          dynamic += resType.isDynamicDim(d);
        if (dynamic > 1) {
          expands.push_back(op);
          break;
        }
      }
    });
    for (tensor::ExpandShapeOp op : expands) {
      OpBuilder b(op);
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
