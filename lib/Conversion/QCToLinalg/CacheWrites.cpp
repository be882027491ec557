//===- CacheWrites.cpp - The qc-lower-cache-writes pass ---------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Buffer-form qc.cache_write -> an scf.parallel over (b, t, h, d) that loads
// pos[b] and stores each element under the bounds guard; an elementwise
// producer of the rows (the keys' RoPE) is computed inside that loop instead
// of in its own, and the next write (the V cache next to the K cache) shares
// the loop when it can. Shared by the host and GPU pipelines (on the GPU
// each loop becomes one glue kernel).
//
//===----------------------------------------------------------------------===//

#include "Utils.h"
#include "qc/Conversion/Passes.h"
#include "qc/Dialect/QC/IR/QC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace qc {
#define GEN_PASS_DEF_QCLOWERCACHEWRITES
#include "qc/Conversion/Passes.h.inc"
} // namespace qc

using namespace mlir;
using ::qc::detail::extentOf;
using ::qc::detail::rootBuffer;

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

/// True when no op strictly between `from` and `to` (same block, `from`
/// first) may write any of `roots`; unknown effects count as writes.
bool noWritesBetween(Operation *from, Operation *to,
                     const llvm::SmallDenseSet<Value> &roots) {
  for (Operation *op = from->getNextNode(); op && op != to;
       op = op->getNextNode()) {
    std::optional<SmallVector<MemoryEffects::EffectInstance>> effects =
        getEffectsRecursively(op);
    if (!effects)
      return false;
    for (const MemoryEffects::EffectInstance &e : *effects) {
      if (!isa<MemoryEffects::Write>(e.getEffect()))
        continue;
      Value v = e.getValue();
      if (!v || roots.contains(rootBuffer(v)))
        return false;
    }
  }
  return true;
}

/// True when `gen` overwrites all of `buf` without reading it: `buf` is its
/// only output, through an identity map over parallel loops, the output
/// block argument is unused, and `buf` is none of its inputs.
bool overwritesAll(linalg::GenericOp gen, Value buf) {
  return gen.getNumDpsInits() == 1 && gen.getDpsInitOperand(0)->get() == buf &&
         !llvm::is_contained(gen.getDpsInputs(), buf) &&
         gen->getNumResults() == 0 &&
         gen.getNumParallelLoops() == gen.getNumLoops() &&
         gen.getMatchingIndexingMap(gen.getDpsInitOperand(0)).isIdentity() &&
         gen.getRegion().front().getArguments().back().use_empty();
}

/// The elementwise producer the cache write computes in its own loop (the
/// RoPE of the new keys): a linalg.generic on buffers, before `op` in its
/// block, that overwrites all of `op`'s rows (a memref.alloc), parallel
/// loops over the rows' four dimensions, projected-permutation input maps,
/// and no write to its inputs between it and `op`. The rows it writes must
/// die at `op`: the alloc's other users (bufferization reuses one buffer for
/// the keys of every block) come after `op` in the block, the first of them
/// overwriting all of it. Null if none.
linalg::GenericOp fusableProducer(mlir::qc::CacheWriteOp op) {
  Value rows = op.getRows();
  auto alloc = rows.getDefiningOp<memref::AllocOp>();
  if (!alloc)
    return {};
  // The last user before `op` is the producer; the first after it must
  // overwrite the buffer.
  linalg::GenericOp gen;
  Operation *next = nullptr;
  for (Operation *user : alloc->getUsers()) {
    if (user == op.getOperation())
      continue;
    // Direct readers and writers only: a view could read the rows later.
    if (user->getBlock() != op->getBlock() ||
        !isa<linalg::GenericOp, mlir::qc::CacheWriteOp>(user))
      return {};
    if (user->isBeforeInBlock(op)) {
      if (!gen || gen->isBeforeInBlock(user))
        gen = dyn_cast<linalg::GenericOp>(user);
      if (!gen)
        return {};
    } else if (!next || user->isBeforeInBlock(next)) {
      next = user;
    }
  }
  if (!gen || !overwritesAll(gen, rows) || gen.getNumLoops() != 4)
    return {};
  if (next) {
    auto over = dyn_cast<linalg::GenericOp>(next);
    if (!over || !overwritesAll(over, rows))
      return {};
  }
  Block &body = gen.getRegion().front();
  llvm::SmallDenseSet<Value> roots;
  for (OpOperand *in : gen.getDpsInputOperands()) {
    if (!gen.getMatchingIndexingMap(in).isProjectedPermutation())
      return {};
    if (isa<MemRefType>(in->get().getType()))
      roots.insert(rootBuffer(in->get()));
  }
  // Buffers the body reads directly (the rotate-half partner, pos,
  // inv_freq).
  body.walk(
      [&](memref::LoadOp load) { roots.insert(rootBuffer(load.getMemRef())); });
  if (!noWritesBetween(gen, op, roots))
    return {};
  return gen;
}

/// The value `gen` computes at loop indices `iv`, built with `b` by
/// cloning its body (inputs loaded through their maps, linalg.index
/// replaced by the indices).
Value inlineProducer(OpBuilder &b, Location loc, linalg::GenericOp gen,
                     ValueRange iv) {
  IRMapping map;
  Block &body = gen.getRegion().front();
  for (OpOperand *in : gen.getDpsInputOperands()) {
    Value arg = body.getArgument(in->getOperandNumber());
    if (!isa<MemRefType>(in->get().getType())) {
      map.map(arg, in->get());
      continue;
    }
    SmallVector<Value> idx;
    for (AffineExpr e : gen.getMatchingIndexingMap(in).getResults())
      idx.push_back(iv[cast<AffineDimExpr>(e).getPosition()]);
    map.map(arg, memref::LoadOp::create(b, loc, in->get(), idx));
  }
  for (Operation &o : body.without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(o)) {
      map.map(index.getResult(), iv[index.getDim()]);
      continue;
    }
    b.clone(o, map);
  }
  return map.lookup(body.getTerminator()->getOperand(0));
}

/// True when write `b` can share write `a`'s loop (the V cache write next
/// to the K cache write of one block): same positions and layer, caches of
/// one type with a static sequence length, rows of the same extents, `b`'s
/// operands available at `a`, no elementwise producer to fuse into `b`, and
/// no op between them that may write memory.
bool canShareLoop(mlir::qc::CacheWriteOp a, mlir::qc::CacheWriteOp b) {
  if (a->getBlock() != b->getBlock() || !a->isBeforeInBlock(b) ||
      a.getPos() != b.getPos() || a.getLayer() != b.getLayer() ||
      a.getCache().getType() != b.getCache().getType() ||
      cast<MemRefType>(a.getCache().getType()).isDynamicDim(3) ||
      !DominanceInfo().properlyDominates(b.getRows(), a) ||
      !DominanceInfo().properlyDominates(b.getCache(), a) || fusableProducer(b))
    return false;
  for (int64_t i = 0; i < 4; ++i) {
    OpFoldResult ea = extentOf(a.getRows(), i), eb = extentOf(b.getRows(), i);
    if (!ea || !eb || ea != eb)
      return false;
  }
  for (Operation *op = a->getNextNode(); op && op != b.getOperation();
       op = op->getNextNode()) {
    std::optional<SmallVector<MemoryEffects::EffectInstance>> effects =
        getEffectsRecursively(op);
    if (!effects || llvm::any_of(*effects, [](auto &e) {
          return isa<MemoryEffects::Write>(e.getEffect());
        }))
      return false;
  }
  return true;
}

/// Lowers `ops` (one write, or writes canShareLoop allows) to one
/// scf.parallel at the first one; the first may compute its rows' producer.
void lowerCacheWrites(ArrayRef<mlir::qc::CacheWriteOp> ops) {
  mlir::qc::CacheWriteOp op = ops.front();
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value rows = op.getRows(), pos = op.getPos(), cache = op.getCache();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  linalg::GenericOp producer = fusableProducer(op);
  SmallVector<Value> ubs;
  if (producer) {
    // The sizes of the rows' alloc, so that it dies with its producer.
    auto alloc = rows.getDefiningOp<memref::AllocOp>();
    auto type = alloc.getType();
    unsigned dyn = 0;
    for (int64_t i = 0; i < 4; ++i)
      ubs.push_back(type.isDynamicDim(i) ? alloc.getDynamicSizes()[dyn++]
                                         : arith::ConstantIndexOp::create(
                                               b, loc, type.getDimSize(i))
                                               .getResult());
  } else {
    for (int64_t i = 0; i < 4; ++i)
      ubs.push_back(memref::DimOp::create(b, loc, rows, i));
  }
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
          for (mlir::qc::CacheWriteOp w : ops) {
            Value v = w == op && producer
                          ? inlineProducer(ib, il, producer, iv)
                          : memref::LoadOp::create(ib, il, w.getRows(), iv)
                                .getResult();
            auto cacheType = cast<MemRefType>(w.getCache().getType());
            v = convertFloat(ib, il, v, cacheType.getElementType());
            memref::StoreOp::create(ib, il, v, w.getCache(),
                                    ValueRange{layer, iv[0], iv[2], s, iv[3]});
          }
          scf::YieldOp::create(ib, il);
        });
      });
  for (mlir::qc::CacheWriteOp w : ops)
    w.erase();
  if (producer) {
    Operation *alloc = producer.getDpsInitOperand(0)->get().getDefiningOp();
    producer.erase();
    if (alloc->use_empty())
      alloc->erase();
  }
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
    // The K and V writes of a block share one loop (one kernel on GPUs).
    for (size_t i = 0; i < writes.size(); ++i) {
      if (i + 1 < writes.size() && canShareLoop(writes[i], writes[i + 1])) {
        lowerCacheWrites({writes[i], writes[i + 1]});
        ++i;
        continue;
      }
      lowerCacheWrites({writes[i]});
    }
  }
};

} // namespace
