//===- CacheWrites.cpp - The qc-lower-cache-writes pass ---------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Buffer-form qc.cache_write -> an scf.parallel over (b, t, h, d) that loads
// pos[b] and stores each element under the bounds guard. Shared by the host
// and GPU pipelines (on the GPU it becomes a glue kernel).
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/Passes.h"
#include "qc/Dialect/QC/IR/QC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace qc {
#define GEN_PASS_DEF_QCLOWERCACHEWRITES
#include "qc/Conversion/Passes.h.inc"
} // namespace qc

using namespace mlir;

namespace {

/// Converts a float scalar to `to` (through f32 between f16 and bf16).
Value convertFloat(OpBuilder &b, Location loc, Value v, Type to) {
  Type from = v.getType();
  if (from == to)
    return v;
  unsigned fw = from.getIntOrFloatBitWidth(), tw = to.getIntOrFloatBitWidth();
  if (fw == tw) {
    v = arith::ExtFOp::create(b, loc, b.getF32Type(), v);
    return arith::TruncFOp::create(b, loc, to, v);
  }
  if (fw < tw)
    return arith::ExtFOp::create(b, loc, to, v);
  return arith::TruncFOp::create(b, loc, to, v);
}

void lowerCacheWrite(mlir::qc::CacheWriteOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value rows = op.getRows(), pos = op.getPos(), cache = op.getCache();
  auto cacheType = cast<MemRefType>(cache.getType());
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> ubs;
  for (int64_t i = 0; i < 4; ++i)
    ubs.push_back(memref::DimOp::create(b, loc, rows, i));
  Value seq = memref::DimOp::create(b, loc, cache, 3);
  Value layer = arith::ConstantIndexOp::create(b, loc, op.getLayer());
  scf::ParallelOp::create(
      b, loc, SmallVector<Value>(4, zero), ubs, SmallVector<Value>(4, one),
      [&](OpBuilder &nb, Location nl, ValueRange iv) {
        Value p = memref::LoadOp::create(nb, nl, pos, ValueRange{iv[0]});
        Value start = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), p);
        Value s = arith::AddIOp::create(nb, nl, start, iv[1]);
        // 0 <= s < S as one unsigned compare.
        Value inside =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, s, seq);
        scf::IfOp::create(nb, nl, inside, [&](OpBuilder &ib, Location il) {
          Value v = memref::LoadOp::create(ib, il, rows, iv);
          v = convertFloat(ib, il, v, cacheType.getElementType());
          memref::StoreOp::create(ib, il, v, cache,
                                  ValueRange{layer, iv[0], iv[2], s, iv[3]});
          scf::YieldOp::create(ib, il);
        });
      });
  op.erase();
}

struct QCLowerCacheWritesPass
    : public ::qc::impl::QCLowerCacheWritesBase<QCLowerCacheWritesPass> {
  void runOnOperation() override {
    SmallVector<mlir::qc::CacheWriteOp> writes;
    WalkResult r = getOperation().walk([&](mlir::qc::CacheWriteOp op) {
      if (!op.hasBufferSemantics()) {
        op.emitOpError("must be bufferized before qc-lower-cache-writes");
        return WalkResult::interrupt();
      }
      writes.push_back(op);
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      return signalPassFailure();
    for (mlir::qc::CacheWriteOp op : writes)
      lowerCacheWrite(op);
  }
};

} // namespace
