//===- GlueLoops.cpp - The non-matmul glue of GPU modules -----------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The passes that prepare the glue of a GPU module (everything but the
// quantized matmuls, which launch hand-built kernels) for MLIR's standard
// linalg -> parallel loops -> gpu path:
//
//   qc-gpu-lower-float-linear    unquantized qc.linear -> linalg.generic
//   qc-gpu-serial-glue           linalg ops without a parallel loop run on
//                                one GPU thread instead of the host
//   qc-gpu-tile-glue             parallel loops tiled so that a block has
//                                up to block-size threads
//
// See Passes.td.
//
//===----------------------------------------------------------------------===//

#include "../QCToLinalg/Utils.h"
#include "qc/Conversion/QCToGPU/Passes.h"
#include "qc/Dialect/QC/IR/QC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCGPULOWERFLOATLINEAR
#define GEN_PASS_DEF_QCGPUSERIALGLUE
#define GEN_PASS_DEF_QCGPUTILEGLUE
#include "qc/Conversion/QCToGPU/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;
using ::qc::detail::buildGeneric;
using ::qc::detail::castFloat;
using ::qc::detail::collapseToRows;
using ::qc::detail::emptyRows;
using ::qc::detail::expandFromRows;

namespace {

//===----------------------------------------------------------------------===//
// qc-gpu-lower-float-linear
//===----------------------------------------------------------------------===//

/// y = x W^T (+ b) as linalg: an f32 accumulation over K (parallel rows and
/// columns, one reduction), then bias and the cast to the result type.
struct LowerFloatLinear : OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    // A linear with a GPU kernel (fp16_mma) is qc-lower-gpu-launches' job.
    if (auto kernel = op->getAttrOfType<KernelAttr>("kernel");
        kernel && kernel.getTarget() != "host")
      return rewriter.notifyMatchFailure(op, "has a GPU kernel");
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Type f32 = rewriter.getF32Type();
    Type outElem = op.getType().getElementType();
    int64_t n = op.getWeight().getType().getDimSize(0);
    Value x = collapseToRows(rewriter, loc, op.getInput());
    Value zero = arith::ConstantOp::create(rewriter, loc, f32,
                                           rewriter.getF32FloatAttr(0.0));
    Value acc = emptyRows(rewriter, loc, x, n, f32);
    acc =
        linalg::FillOp::create(rewriter, loc, ValueRange{zero}, ValueRange{acc})
            .getResult(0);
    auto dims = [&](ArrayRef<unsigned> ds) {
      SmallVector<AffineExpr> exprs;
      for (unsigned d : ds)
        exprs.push_back(getAffineDimExpr(d, ctx));
      return AffineMap::get(3, 0, exprs, ctx);
    };
    // (m, n, k): x[m, k] * w[n, k] summed into acc[m, n].
    acc = buildGeneric(
        rewriter, loc, {x, op.getWeight()}, {dims({0, 2}), dims({1, 2})}, acc,
        dims({0, 1}), 3, 1, [&](OpBuilder &b, Location l, ValueRange a) {
          Value p = arith::MulFOp::create(b, l, castFloat(b, l, a[0], f32),
                                          castFloat(b, l, a[1], f32));
          return arith::AddFOp::create(b, l, a[2], p);
        });
    Value y = acc;
    Value bias = op.getBias();
    if (bias || outElem != f32) {
      AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
      AffineMap col = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
      SmallVector<Value> inputs{acc};
      SmallVector<AffineMap> maps{id};
      if (bias) {
        inputs.push_back(bias);
        maps.push_back(col);
      }
      y = buildGeneric(
          rewriter, loc, inputs, maps, emptyRows(rewriter, loc, x, n, outElem),
          id, 2, 0, [&](OpBuilder &b, Location l, ValueRange a) {
            Value v = a[0];
            if (a.size() == 3)
              v = arith::AddFOp::create(b, l, v, castFloat(b, l, a[1], f32));
            return castFloat(b, l, v, outElem);
          });
    }
    rewriter.replaceOp(
        op, expandFromRows(rewriter, loc, y, op.getInput(), op.getType()));
    return success();
  }
};

struct GpuLowerFloatLinearPass
    : public mlir::qc::impl::QCGpuLowerFloatLinearBase<
          GpuLowerFloatLinearPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerFloatLinear>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

//===----------------------------------------------------------------------===//
// Host code helpers
//===----------------------------------------------------------------------===//

/// Walks the ops of host functions (outside gpu.modules); `fn` returns
/// whether to descend into the op's regions.
template <typename Fn> void walkHost(ModuleOp module, Fn fn) {
  module.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (isa<gpu::GPUModuleOp>(op))
      return WalkResult::skip();
    return fn(op) ? WalkResult::advance() : WalkResult::skip();
  });
}

//===----------------------------------------------------------------------===//
// qc-gpu-serial-glue
//===----------------------------------------------------------------------===//

struct GpuSerialGluePass
    : public mlir::qc::impl::QCGpuSerialGlueBase<GpuSerialGluePass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> serial;
    walkHost(getOperation(), [&](Operation *op) {
      if (isa<scf::ParallelOp>(op))
        return false; // already mapped to the device
      auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
      if (!linalgOp)
        return true;
      if (linalgOp.hasPureBufferSemantics() &&
          linalgOp.getNumParallelLoops() == 0)
        serial.push_back(linalgOp);
      return false;
    });
    for (linalg::LinalgOp op : serial) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      auto loop = scf::ParallelOp::create(b, loc, ValueRange{zero},
                                          ValueRange{one}, ValueRange{one});
      op->moveBefore(loop.getBody()->getTerminator());
    }
  }
};

//===----------------------------------------------------------------------===//
// qc-gpu-tile-glue
//===----------------------------------------------------------------------===//

/// Tile sizes giving a block of at most `blockSize` threads: the innermost
/// mapped dimension first (consecutive threads touch consecutive elements),
/// each dimension taking the smallest power of two covering its constant
/// trip count, or everything left for a dynamic one. gpu-map-parallel-loops
/// maps dimensions 0, 1, 2 to x, y, z (a block has at most 1024 x 1024 x 64
/// threads) and runs the others sequentially, so those keep size 1.
SmallVector<int64_t> chooseTileSizes(scf::ParallelOp loop, int64_t blockSize) {
  constexpr int64_t kMaxThreads[] = {1024, 1024, 64};
  size_t rank = loop.getNumLoops();
  SmallVector<int64_t> sizes(rank, 1);
  int64_t left = blockSize;
  for (size_t i = std::min<size_t>(rank, 3); i-- > 0 && left > 1;) {
    std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound()[i]);
    std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound()[i]);
    std::optional<int64_t> step = getConstantIntValue(loop.getStep()[i]);
    int64_t size = std::min(left, kMaxThreads[i]);
    if (lb && ub && step && *step > 0) {
      int64_t trips = *ub > *lb ? llvm::divideCeil(*ub - *lb, *step) : 0;
      size = std::min<int64_t>(size,
                               llvm::PowerOf2Ceil(std::max<int64_t>(trips, 1)));
    }
    sizes[i] = size;
    left /= size;
  }
  return sizes;
}

struct GpuTileGluePass
    : public mlir::qc::impl::QCGpuTileGlueBase<GpuTileGluePass> {
  using Base::Base;
  void runOnOperation() override {
    if (blockSize < 1 || blockSize > 1024) {
      getOperation().emitError()
          << "qc-gpu-tile-glue: block-size must be in [1, 1024], got "
          << blockSize.getValue();
      return signalPassFailure();
    }
    // Outermost loops without a nested parallel loop (whose mapping to
    // threads is already decided) and without reductions.
    auto collect = [&] {
      SmallVector<scf::ParallelOp> loops;
      walkHost(getOperation(), [&](Operation *op) {
        auto loop = dyn_cast<scf::ParallelOp>(op);
        if (!loop)
          return true;
        bool nested = false;
        loop.getBody()->walk([&](scf::ParallelOp) { nested = true; });
        if (!nested && loop.getNumReductions() == 0)
          loops.push_back(loop);
        return false;
      });
      return loops;
    };
    // gpu-map-parallel-loops maps three dimensions and runs the others
    // sequentially in every thread: a rank-4 loop such as attention scores
    // [B, T, H, S] would walk S one key at a time in a single block. Loops
    // of rank > 3 first get their leading dimensions combined into one.
    IRRewriter rewriter(&getContext());
    for (scf::ParallelOp loop : collect()) {
      unsigned rank = loop.getNumLoops();
      if (rank <= 3)
        continue;
      std::vector<unsigned> lead;
      for (unsigned d = 0; d + 2 < rank; ++d)
        lead.push_back(d);
      rewriter.setInsertionPoint(loop);
      collapseParallelLoops(rewriter, loop, {lead, {rank - 2}, {rank - 1}});
    }
    for (scf::ParallelOp loop : collect()) {
      SmallVector<int64_t> sizes = chooseTileSizes(loop, blockSize);
      if (llvm::all_of(sizes, [](int64_t s) { return s == 1; }))
        continue;
      scf::tileParallelLoop(loop, sizes, /*noMinMaxBounds=*/true);
    }
    // Fold the tile arithmetic (step * size of constants) so that block
    // sizes are constants: gpu-kernel-outlining then records them as
    // known_block_size (reqntid in the PTX). Folding only, no patterns: a
    // canonicalization would merge the nested loops again.
    GreedyRewriteConfig config;
    config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    (void)applyPatternsGreedily(getOperation(), FrozenRewritePatternSet(),
                                config);
  }
};

} // namespace
