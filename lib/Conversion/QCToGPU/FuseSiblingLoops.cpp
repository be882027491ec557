//===- FuseSiblingLoops.cpp - One kernel for independent glue loops -------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-gpu-fuse-sibling-loops: neighbouring scf.parallel glue loops that do
// not depend on each other become one loop, so one kernel (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "../QCToLinalg/Utils.h"
#include "qc/Conversion/QCToGPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCGPUFUSESIBLINGLOOPS
#include "qc/Conversion/QCToGPU/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using ::qc::detail::extentOf;
using ::qc::detail::rootBuffer;

namespace {

/// True when `v` is the result of an allocation (memref.alloc, gpu.alloc,
/// ...): a buffer no other value aliases.
bool isFresh(Value v) {
  auto res = dyn_cast<OpResult>(v);
  if (!res)
    return false;
  auto mem = dyn_cast<MemoryEffectOpInterface>(res.getOwner());
  return mem && mem.getEffectOnValue<MemoryEffects::Allocate>(v).has_value();
}

/// The buffers one loop (or one operation between two loops) reads and
/// writes, as roots; `known` is false when some effect names no buffer.
struct Accesses {
  llvm::SmallDenseSet<Value> reads, writes;
  bool known = true;
};

Accesses accessesOf(Operation *op) {
  Accesses a;
  std::optional<SmallVector<MemoryEffects::EffectInstance>> effects =
      getEffectsRecursively(op);
  if (!effects) {
    a.known = false;
    return a;
  }
  for (const MemoryEffects::EffectInstance &e : *effects) {
    if (isa<MemoryEffects::Allocate>(e.getEffect()))
      continue;
    Value v = e.getValue();
    if (!v) {
      a.known = false;
      continue;
    }
    // Buffers allocated inside the operation are its own.
    Value root = rootBuffer(v);
    if (op->isProperAncestor(root.getParentBlock()->getParentOp()) ||
        (root.getDefiningOp() && op->isAncestor(root.getDefiningOp())))
      continue;
    if (isa<MemoryEffects::Read>(e.getEffect()))
      a.reads.insert(root);
    else // Write, Free
      a.writes.insert(root);
  }
  return a;
}

/// Alias rule between two roots of one function: an allocation aliases
/// only itself, so does an in-place argument (the module ABI: the caller's
/// in-place buffer overlaps no other argument), and distinct globals are
/// distinct; anything else, and any root the rule cannot name, may alias.
struct AliasRule {
  llvm::SmallDenseSet<Value> inPlaceArgs;

  /// A root this rule can name: an allocation, a function argument, a
  /// global, or a descriptor cast from LLVM values (the weight
  /// externalization's constant tables). Anything else (a memref carried
  /// through scf.for, selected, returned by a call) may be any buffer.
  static bool isNamed(Value v) {
    if (isFresh(v) || v.getDefiningOp<memref::GetGlobalOp>() ||
        v.getDefiningOp<UnrealizedConversionCastOp>())
      return true;
    auto arg = dyn_cast<BlockArgument>(v);
    return arg && isa<func::FuncOp>(arg.getOwner()->getParentOp());
  }

  bool mayAlias(Value a, Value b) const {
    if (a == b || !isNamed(a) || !isNamed(b))
      return true;
    if (isFresh(a) || isFresh(b) || inPlaceArgs.contains(a) ||
        inPlaceArgs.contains(b))
      return false;
    auto ga = a.getDefiningOp<memref::GetGlobalOp>();
    auto gb = b.getDefiningOp<memref::GetGlobalOp>();
    if (ga && gb)
      return ga.getName() == gb.getName();
    return true;
  }
  bool anyAlias(const llvm::SmallDenseSet<Value> &xs,
                const llvm::SmallDenseSet<Value> &ys) const {
    for (Value x : xs)
      for (Value y : ys)
        if (mayAlias(x, y))
          return true;
    return false;
  }
};

/// A loop bound resolved as far as extentOf can: equal results mean equal
/// trip counts.
OpFoldResult resolve(OpFoldResult r) {
  for (int guard = 0; guard < 16; ++guard) {
    auto val = dyn_cast<Value>(r);
    if (!val)
      return r;
    if (std::optional<int64_t> c = getConstantIntValue(val))
      return IntegerAttr::get(IndexType::get(val.getContext()), *c);
    auto dim = val.getDefiningOp<memref::DimOp>();
    std::optional<int64_t> d =
        dim ? getConstantIntValue(dim.getDimension()) : std::nullopt;
    if (!d)
      return r;
    OpFoldResult inner = extentOf(dim.getSource(), *d);
    if (!inner)
      return r;
    r = inner;
  }
  return r;
}

bool sameExtent(Value a, Value b) {
  if (a == b)
    return true;
  OpFoldResult ra = resolve(a), rb = resolve(b);
  if (auto ia = getConstantIntValue(ra))
    return ia == getConstantIntValue(rb);
  return ra == rb;
}

/// A loop this pass may fuse: lower bounds 0, steps 1, no reductions, no
/// nested scf.parallel.
bool isPlainLoop(scf::ParallelOp loop) {
  if (loop.getNumReductions() != 0 || loop->getNumResults() != 0)
    return false;
  for (Value lb : loop.getLowerBound())
    if (getConstantIntValue(lb) != 0)
      return false;
  for (Value st : loop.getStep())
    if (getConstantIntValue(st) != 1)
      return false;
  bool nested = false;
  loop.getBody()->walk([&](scf::ParallelOp) { nested = true; });
  return !nested;
}

/// The dimension along which `a` and `b` concatenate: -1 when every trip
/// count is equal, the one that differs, or nullopt when they cannot fuse.
std::optional<int64_t> concatDim(scf::ParallelOp a, scf::ParallelOp b) {
  if (a.getNumLoops() != b.getNumLoops())
    return std::nullopt;
  int64_t dim = -1;
  for (auto [i, ua, ub] :
       llvm::enumerate(a.getUpperBound(), b.getUpperBound())) {
    if (sameExtent(ua, ub))
      continue;
    if (dim >= 0)
      return std::nullopt;
    dim = i;
  }
  return dim;
}

/// True when `first` may move down to `second`: no operation between them
/// touches a buffer `first` writes, or writes / frees one it reads.
/// Allocations and stream waits do not matter.
bool canSink(scf::ParallelOp first, scf::ParallelOp second, const Accesses &acc,
             const AliasRule &alias) {
  llvm::SmallDenseSet<Value> touched = acc.reads;
  touched.insert(acc.writes.begin(), acc.writes.end());
  for (Operation *op = first->getNextNode(); op && op != second;
       op = op->getNextNode()) {
    if (isa<gpu::WaitOp>(op))
      continue;
    Accesses between = accessesOf(op);
    if (!between.known || alias.anyAlias(between.reads, acc.writes) ||
        alias.anyAlias(between.writes, touched))
      return false;
  }
  return true;
}

/// Clones the body of `loop` (without its terminator) with its induction
/// variables mapped to `ivs`.
void cloneBody(OpBuilder &b, scf::ParallelOp loop, ValueRange ivs) {
  IRMapping map;
  map.map(loop.getInductionVars(), ivs);
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, map);
}

/// Builds the fused loop of `first` and `second` at `second`, concatenated
/// along `dim` (-1: bodies in sequence), and erases both.
scf::ParallelOp fuse(scf::ParallelOp first, scf::ParallelOp second,
                     int64_t dim) {
  OpBuilder b(second);
  Location loc = second.getLoc();
  SmallVector<Value> ubs(second.getUpperBound());
  Value split;
  if (dim >= 0) {
    split = first.getUpperBound()[dim];
    std::optional<int64_t> c1 = getConstantIntValue(split),
                           c2 = getConstantIntValue(ubs[dim]);
    ubs[dim] =
        c1 && c2 ? arith::ConstantIndexOp::create(b, loc, *c1 + *c2).getResult()
                 : arith::AddIOp::create(b, loc, split, ubs[dim]).getResult();
  }
  auto fused = scf::ParallelOp::create(
      b, loc, second.getLowerBound(), ubs, second.getStep(),
      [&](OpBuilder &nb, Location nl, ValueRange ivs) {
        if (dim < 0) {
          cloneBody(nb, first, ivs);
          cloneBody(nb, second, ivs);
          return;
        }
        Value inFirst = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                              ivs[dim], split);
        scf::IfOp::create(
            nb, nl, inFirst,
            [&](OpBuilder &tb, Location tl) {
              cloneBody(tb, first, ivs);
              scf::YieldOp::create(tb, tl);
            },
            [&](OpBuilder &eb, Location el) {
              SmallVector<Value> shifted(ivs);
              shifted[dim] = arith::SubIOp::create(eb, el, ivs[dim], split);
              cloneBody(eb, second, shifted);
              scf::YieldOp::create(eb, el);
            });
      });
  first.erase();
  second.erase();
  return fused;
}

/// Fuses the chains of independent neighbouring loops of `block`.
void fuseInBlock(Block &block, const AliasRule &alias) {
  SmallVector<scf::ParallelOp> loops;
  for (Operation &op : block)
    if (auto loop = dyn_cast<scf::ParallelOp>(op))
      loops.push_back(loop);
  scf::ParallelOp prev;
  for (scf::ParallelOp loop : loops) {
    if (!isPlainLoop(loop)) {
      prev = {};
      continue;
    }
    if (prev) {
      std::optional<int64_t> dim = concatDim(prev, loop);
      Accesses a = accessesOf(prev), b = accessesOf(loop);
      if (dim && a.known && b.known && !alias.anyAlias(a.writes, b.reads) &&
          !alias.anyAlias(a.writes, b.writes) &&
          !alias.anyAlias(b.writes, a.reads) && canSink(prev, loop, a, alias)) {
        prev = fuse(prev, loop, *dim);
        continue;
      }
    }
    prev = loop;
  }
}

struct FuseSiblingLoopsPass
    : public mlir::qc::impl::QCGpuFuseSiblingLoopsBase<FuseSiblingLoopsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // In-place arguments per function (qc-drop-inplace-results' record).
    auto inPlace = module->getAttrOfType<DictionaryAttr>("qc.inplace");
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      AliasRule alias;
      if (inPlace)
        if (auto entry = inPlace.getAs<DictionaryAttr>(func.getSymName()))
          if (auto args = entry.getAs<DenseI64ArrayAttr>("args"))
            for (int64_t i : args.asArrayRef())
              if (i >= 0 && i < func.getNumArguments())
                alias.inPlaceArgs.insert(func.getArgument(i));
      SmallVector<Block *> blocks;
      // Blocks outside every loop (a fusion erases the loops it fuses).
      func.walk([&](Block *block) {
        Operation *parent = block->getParentOp();
        if (!isa<scf::ParallelOp>(parent) &&
            !parent->getParentOfType<scf::ParallelOp>())
          blocks.push_back(block);
      });
      for (Block *block : blocks)
        fuseInBlock(*block, alias);
    }
  }
};

} // namespace
