//===- BufferizableOpInterfaceImpl.cpp - qc bufferization models ----------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc.cache_write is destination-style: one-shot bufferization writes the new
// rows into the cache buffer itself (the buffer form of the op), so a cache
// that is a writable function argument is updated in place without a copy.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/BufferizableOpInterfaceImpl.h"
#include "qc/Dialect/QC/IR/QC.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::bufferization;

namespace {

struct CacheWriteOpInterface
    : public DstBufferizableOpInterfaceExternalModel<CacheWriteOpInterface,
                                                     qc::CacheWriteOp> {
  // Every operand is read (the cache too: rows outside the written range
  // keep their values); only the cache is written (the DPS default).

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto write = cast<qc::CacheWriteOp>(op);
    FailureOr<Value> rows = getBuffer(rewriter, write.getRows(), options, state);
    if (failed(rows))
      return failure();
    FailureOr<Value> pos = getBuffer(rewriter, write.getPos(), options, state);
    if (failed(pos))
      return failure();
    FailureOr<Value> cache =
        getBuffer(rewriter, write.getCache(), options, state);
    if (failed(cache))
      return failure();
    rewriter.setInsertionPoint(op);
    qc::CacheWriteOp::create(rewriter, op->getLoc(), TypeRange{}, *rows, *pos,
                             *cache, write.getLayerAttr());
    replaceOpWithBufferizedValues(rewriter, op, *cache);
    return success();
  }
};

} // namespace

void mlir::qc::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, qc::QCDialect *) {
    qc::CacheWriteOp::attachInterface<CacheWriteOpInterface>(*ctx);
  });
}
