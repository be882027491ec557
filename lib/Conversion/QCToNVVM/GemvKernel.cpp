//===- GemvKernel.cpp - Weight-only GEMV kernel builder ---------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// buildWeightOnlyGemvKernel: the small-M weight-only kernel. See
// KernelBuilders.h for the tiling, memory path and instruction choice.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToNVVM/KernelBuilders.h"

#include "InlinePtx.h"
#include "SharedMemory.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;

namespace {
/// Small helper bundling the builder and the types the kernel body uses.
struct GemvEmitter {
  ImplicitLocOpBuilder &b;
  const qc::GemvKernelConfig &cfg;
  Type i8, i16, i32, i64, f16, f32, ptr;

  GemvEmitter(ImplicitLocOpBuilder &b, const qc::GemvKernelConfig &cfg)
      : b(b), cfg(cfg) {
    MLIRContext *ctx = b.getContext();
    i8 = b.getI8Type();
    i16 = b.getI16Type();
    i32 = b.getI32Type();
    i64 = b.getI64Type();
    f16 = b.getF16Type();
    f32 = b.getF32Type();
    ptr = LLVM::LLVMPointerType::get(ctx, /*addressSpace=*/1);
  }

  Value cst(int64_t v) { return arith::ConstantIntOp::create(b, i32, v); }
  Value cstF(double v) {
    return arith::ConstantFloatOp::create(b, cast<FloatType>(f32),
                                          APFloat(static_cast<float>(v)));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }

  /// Address of element `idx` (i32) of `elemTy` at `base` (global or
  /// shared).
  Value gep(Value base, Type elemTy, Value idx) {
    Value wide = arith::ExtUIOp::create(b, i64, idx);
    return LLVM::GEPOp::create(b, base.getType(), elemTy, base,
                               ValueRange{wide});
  }
  Value load(Type ty, Value addr, unsigned align) {
    return LLVM::LoadOp::create(b, ty, addr, align);
  }
  /// Loads a scalar of `ty` and widens it to f32.
  Value loadF32(Value base, Type ty, Value idx) {
    Value v = load(ty, gep(base, ty, idx), ty.getIntOrFloatBitWidth() / 8);
    return ty == f32 ? v : arith::ExtFOp::create(b, f32, v).getResult();
  }

  /// Loads `bytes` weight bytes at `addr` and returns them as i32 words
  /// (narrow loads are zero-extended).
  SmallVector<Value> loadWords(Value addr, int64_t bytes) {
    SmallVector<Value> words;
    if (bytes >= 4) {
      int64_t n = bytes / 4;
      if (n == 1)
        return {load(i32, addr, 4)};
      auto vt = VectorType::get({n}, i32);
      Value v = load(vt, addr, bytes);
      for (int64_t i = 0; i < n; ++i)
        words.push_back(LLVM::ExtractElementOp::create(b, v, cst(i)));
      return words;
    }
    Type t = bytes == 2 ? i16 : i8;
    Value v = load(t, addr, bytes);
    return {arith::ExtUIOp::create(b, i32, v)};
  }

  /// Loads `count` activations starting at element `idx` and widens to f32,
  /// using loads of up to 16 bytes.
  SmallVector<Value> loadActs(Value base, Value idx, int64_t count) {
    Type et = qc::kernelElemType(b, cfg.act);
    int64_t eb = cfg.actBytes();
    int64_t per = std::min<int64_t>(count, 16 / eb);
    SmallVector<Value> out;
    for (int64_t off = 0; off < count; off += per) {
      Value addr = gep(base, et, add(idx, cst(off)));
      if (per == 1) {
        Value v = load(et, addr, eb);
        out.push_back(eb == 2 ? arith::ExtFOp::create(b, f32, v).getResult()
                              : v);
        continue;
      }
      auto vt = VectorType::get({per}, et);
      Value v = load(vt, addr, per * eb);
      for (int64_t i = 0; i < per; ++i) {
        Value e = LLVM::ExtractElementOp::create(b, v, cst(i));
        out.push_back(eb == 2 ? arith::ExtFOp::create(b, f32, e).getResult()
                              : e);
      }
    }
    return out;
  }

  /// Loads `count` f16 activations at element `idx` as vectors of up to 8
  /// (16-byte loads), left packed.
  SmallVector<Value> loadActPieces(Value base, Value idx, int64_t count) {
    int64_t per = std::min<int64_t>(count, 8);
    auto vt = VectorType::get({per}, f16);
    SmallVector<Value> out;
    for (int64_t off = 0; off < count; off += per)
      out.push_back(load(vt, gep(base, f16, add(idx, cst(off))), per * 2));
    return out;
  }

  Value fma(Value a, Value x, Value acc) {
    return math::FmaOp::create(b, a, x, acc);
  }
};

/// The fused RMSNorm prologue (GemvKernelConfig::normPrologue): the CTA
/// normalizes the M tile's rows of `x` (clamped row indices `xRow`) into
/// the shared array `xNormName` and returns its address. Pass 1: each
/// thread sums the squares of its vectors of every row (f32), butterfly
/// shuffles reduce the warp, lane 0 writes the warp's partial to
/// `partName`, a barrier, every thread adds the warps' partials in warp
/// order: denom = sqrt(sum / K + eps). Pass 2: y = x / denom * g per
/// element in f32 (the row norm kernel's arithmetic), rounded once to the
/// activation type, stored to shared memory; a barrier.
Value emitNormPrologue(ImplicitLocOpBuilder &b, GemvEmitter &e,
                       const qc::GemvKernelConfig &cfg, Value x, Value g,
                       ArrayRef<Value> xRow, Value tid, Value lane, Value warp,
                       StringRef xNormName, StringRef partName) {
  MLIRContext *ctx = b.getContext();
  auto ptr3 = LLVM::LLVMPointerType::get(ctx, 3);
  Value xs = LLVM::AddressOfOp::create(b, ptr3, xNormName);
  Value parts = LLVM::AddressOfOp::create(b, ptr3, partName);
  const int64_t MT = cfg.mTile, W = cfg.warpsPerBlock;
  Type actTy = qc::kernelElemType(b, cfg.act);
  const int64_t eb = cfg.actBytes();
  Type gTy = qc::kernelElemType(b, cfg.normWeight);
  const int64_t vec = qc::widestRowVector(
      cfg.k, std::max<int64_t>(eb, qc::kernelElemBytes(cfg.normWeight)));
  const int64_t nv = cfg.k / vec;
  auto vecTy = [&](Type t) -> Type {
    return vec == 1 ? t : Type(VectorType::get({vec}, t));
  };
  auto elems = [&](Value v) {
    SmallVector<Value> out;
    if (vec == 1)
      return SmallVector<Value>{v};
    for (int64_t j = 0; j < vec; ++j)
      out.push_back(LLVM::ExtractElementOp::create(b, v, e.cst(j)));
    return out;
  };
  auto widen = [&](Value v) -> Value {
    return v.getType() == e.f32 ? v : arith::ExtFOp::create(b, e.f32, v);
  };
  auto loadVec = [&](Value base, Type t, Value idx) {
    int64_t bytes = vec * t.getIntOrFloatBitWidth() / 8;
    return e.load(vecTy(t), e.gep(base, t, idx), bytes);
  };
  Value step = e.cst(cfg.blockSize());

  // Pass 1: sums of squares.
  SmallVector<Value> zero(MT, e.cstF(0.0));
  auto sumLoop = scf::ForOp::create(b, tid, e.cst(nv), step, zero);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(sumLoop.getBody());
    Value j = sumLoop.getInductionVar();
    SmallVector<Value> acc(sumLoop.getRegionIterArgs());
    for (int64_t i = 0; i < MT; ++i) {
      Value v = loadVec(
          x, actTy, e.add(e.mul(xRow[i], e.cst(cfg.k)), e.mul(j, e.cst(vec))));
      for (Value el : elems(v)) {
        // Square and add (no fma): the row norm kernel's arithmetic.
        Value f = widen(el);
        acc[i] =
            arith::AddFOp::create(b, acc[i], arith::MulFOp::create(b, f, f));
      }
    }
    scf::YieldOp::create(b, acc);
  }
  SmallVector<Value> sums(sumLoop.getResults());
  for (Value &sum : sums)
    for (int64_t off : {16, 8, 4, 2, 1}) {
      Value other = NVVM::ShflOp::create(
          b, e.f32, e.cst(-1), sum, e.cst(off), e.cst(0x1f),
          NVVM::ShflKindAttr::get(ctx, NVVM::ShflKind::bfly), UnitAttr());
      sum = arith::AddFOp::create(b, sum, other);
    }
  Value isLane0 =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, e.cst(0));
  auto ifLane0 = scf::IfOp::create(b, isLane0, false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifLane0.thenBlock());
    for (int64_t i = 0; i < MT; ++i)
      LLVM::StoreOp::create(b, sums[i],
                            e.gep(parts, e.f32, e.add(e.cst(i * W), warp)), 4);
  }
  NVVM::Barrier0Op::create(b);
  SmallVector<Value> denom(MT);
  Value kf = e.cstF(double(cfg.k)), eps = e.cstF(cfg.normEpsilon);
  for (int64_t i = 0; i < MT; ++i) {
    Value tot = e.load(e.f32, e.gep(parts, e.f32, e.cst(i * W)), 4);
    for (int64_t wi = 1; wi < W; ++wi)
      tot = arith::AddFOp::create(
          b, tot, e.load(e.f32, e.gep(parts, e.f32, e.cst(i * W + wi)), 4));
    Value mean = arith::DivFOp::create(b, tot, kf);
    denom[i] = qc::detail::ptxUnaryF32(b, "sqrt.rn.f32",
                                       arith::AddFOp::create(b, mean, eps));
  }

  // Pass 2: y = x / denom * g, rounded once, into shared memory.
  auto normLoop = scf::ForOp::create(b, tid, e.cst(nv), step);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(normLoop.getBody());
    Value j = normLoop.getInductionVar();
    Value k0 = e.mul(j, e.cst(vec));
    SmallVector<Value> gv = elems(loadVec(g, gTy, k0));
    for (int64_t i = 0; i < MT; ++i) {
      SmallVector<Value> xv =
          elems(loadVec(x, actTy, e.add(e.mul(xRow[i], e.cst(cfg.k)), k0)));
      Value out = vec == 1 ? Value() : LLVM::UndefOp::create(b, vecTy(actTy));
      for (int64_t el = 0; el < vec; ++el) {
        Value v = arith::DivFOp::create(b, widen(xv[el]), denom[i]);
        v = arith::MulFOp::create(b, v, widen(gv[el]));
        if (cfg.act != qc::KernelElem::F32)
          v = arith::TruncFOp::create(b, actTy, v);
        out = vec == 1 ? v
                       : LLVM::InsertElementOp::create(b, out, v, e.cst(el))
                             .getResult();
      }
      LLVM::StoreOp::create(
          b, out, e.gep(xs, actTy, e.add(e.cst(i * cfg.k), k0)), vec * eb);
    }
  }
  NVVM::Barrier0Op::create(b);
  return xs;
}
} // namespace

gpu::GPUFuncOp qc::buildWeightOnlyGemvKernel(OpBuilder &builder, Location loc,
                                             StringRef name,
                                             const GemvKernelConfig &cfg) {
  MLIRContext *ctx = builder.getContext();
  auto ptrTy = LLVM::LLVMPointerType::get(ctx, 1);
  Type i32 = builder.getI32Type();
  SmallVector<Type> argTypes = {ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, i32};
  if (cfg.hasResidual)
    argTypes.push_back(ptrTy);
  if (cfg.normPrologue)
    argTypes.push_back(ptrTy);
  // The norm prologue's shared arrays, next to the kernel.
  std::string xNormName, partName;
  if (cfg.normPrologue) {
    auto declare = [&](StringRef suffix, int64_t bytes) {
      return qc::detail::declareSharedArray(builder, loc, (name + suffix).str(),
                                            builder.getI8Type(), bytes);
    };
    xNormName = declare("_xnorm", cfg.mTile * cfg.k * cfg.actBytes());
    partName = declare("_xpart", cfg.mTile * cfg.warpsPerBlock * 4);
  }
  auto fnType = builder.getFunctionType(argTypes, {});
  auto func = gpu::GPUFuncOp::create(builder, loc, name, fnType);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                builder.getUnitAttr());
  func.setKnownBlockSizeAttr(builder.getDenseI32ArrayAttr(
      {static_cast<int32_t>(cfg.blockSize()), 1, 1}));

  ImplicitLocOpBuilder b(loc, builder);
  b.setInsertionPointToStart(&func.getBody().front());
  GemvEmitter e(b, cfg);
  auto args = func.getArguments();
  Value x = args[0], w = args[1], scales = args[2], zeros = args[3],
        bias = args[4], y = args[5], m = args[6],
        residual = cfg.hasResidual ? args[7] : Value(),
        normWeight = cfg.normPrologue ? args.back() : Value();

  const int64_t kValsPerLoad = cfg.vecBytes * 8 / cfg.bits;
  const int64_t rowBytes = cfg.k * cfg.bits / 8;
  const int64_t numChunks = rowBytes / cfg.vecBytes;
  const int64_t numGroups = cfg.k / cfg.groupSize;
  const int64_t R = cfg.rowsPerWarp, MT = cfg.mTile;
  Type scaleTy = cfg.scaleF16 ? e.f16 : e.f32;
  Type actTy = qc::kernelElemType(b, cfg.act);
  const bool act16 = cfg.act != qc::KernelElem::F32;

  auto toI32 = [&](Value idx) {
    return arith::IndexCastUIOp::create(b, i32, idx).getResult();
  };
  Value tid = toI32(gpu::ThreadIdOp::create(b, gpu::Dimension::x));
  Value lane = arith::AndIOp::create(b, tid, e.cst(31));
  Value warp = arith::ShRUIOp::create(b, tid, e.cst(5));
  Value bx = toI32(gpu::BlockIdOp::create(b, gpu::Dimension::x));
  Value by = toI32(gpu::BlockIdOp::create(b, gpu::Dimension::y));
  // The warp's first output channel; with the SwiGLU epilogue a warp owns
  // R / 2 channels j, each from gate row j and up row F + j (F = N / 2).
  const int64_t perWarp = cfg.swiGlu ? R / 2 : R, outN = cfg.outChannels();
  Value nBase =
      e.mul(e.add(e.mul(bx, e.cst(cfg.warpsPerBlock)), warp), e.cst(perWarp));
  Value m0 = e.mul(by, e.cst(MT));
  Value mLast = arith::SubIOp::create(b, m, e.cst(1));

  // Rows past N or M are clamped for loads (always in bounds, no divergent
  // branches in the hot loop) and masked at the store.
  SmallVector<Value> nRow, xRow;
  for (int64_t r = 0; r < R; ++r) {
    int64_t half = r / perWarp; // 1: the up half (SwiGLU)
    Value ch = arith::MinSIOp::create(b, e.add(nBase, e.cst(r % perWarp)),
                                      e.cst(outN - 1));
    nRow.push_back(half ? e.add(ch, e.cst(outN)) : ch);
  }
  for (int64_t i = 0; i < MT; ++i)
    xRow.push_back(arith::MinSIOp::create(b, e.add(m0, e.cst(i)), mLast));

  // Before the wait for the previous kernel (dependent launch): lane 0 of
  // each warp of the first M tile prefetches its rows into L2.
  if (cfg.l2Prefetch && rowBytes % 16 == 0) {
    Value first = arith::AndIOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, e.cst(0)),
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, by, e.cst(0)));
    auto ifFirst = scf::IfOp::create(b, first, false);
    ifFirst->setAttr(::qc::kWaitAfterAttrName, b.getUnitAttr());
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(ifFirst.thenBlock());
    for (int64_t r = 0; r < R; ++r) {
      Value off = arith::MulIOp::create(
          b, arith::ExtUIOp::create(b, e.i64, nRow[r]),
          arith::ConstantIntOp::create(b, e.i64, rowBytes));
      Value addr =
          LLVM::GEPOp::create(b, w.getType(), e.i8, w, ValueRange{off});
      NVVM::CpAsyncBulkPrefetchOp::create(b, addr, e.cst(rowBytes), Value());
    }
  }

  // With the norm prologue the main loop reads the normalized rows from
  // shared memory (row i of the tile at i * K); else x's rows from global
  // memory.
  Value actBase = x;
  SmallVector<Value> actRow(xRow);
  if (cfg.normPrologue) {
    actBase = emitNormPrologue(b, e, cfg, x, normWeight, xRow, tid, lane, warp,
                               xNormName, partName);
    for (int64_t i = 0; i < MT; ++i)
      actRow[i] = e.cst(i);
  }

  // Packed f16 math needs whole 32-bit weight words and f16 activations.
  const bool useHalf =
      cfg.halfMath && cfg.act == qc::KernelElem::F16 && cfg.vecBytes >= 4;

  SmallVector<Value> init(MT * R, e.cstF(0.0));
  // Each iteration processes `chunksPerIter` chunks c, c + 32, ... (all in
  // one basic block, so the scheduler can issue every chunk's loads before
  // the first chunk's math); chunks past the row are clamped for the loads
  // and contribute zero.
  const int64_t U = cfg.chunksPerIter;
  auto loop =
      scf::ForOp::create(b, lane, e.cst(numChunks), e.cst(32 * U), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> acc(loop.getRegionIterArgs());
    for (int64_t u = 0; u < U; ++u) {
      Value cRaw = e.add(loop.getInductionVar(), e.cst(32 * u));
      Value valid = u == 0 ? Value()
                           : arith::CmpIOp::create(b, arith::CmpIPredicate::slt,
                                                   cRaw, e.cst(numChunks))
                                 .getResult();
      Value c = u == 0 ? cRaw
                       : arith::MinSIOp::create(b, cRaw, e.cst(numChunks - 1))
                             .getResult();
      // Scales a chunk's dot product, dropping chunks past the row.
      auto accumulate = [&](Value &slot, Value dot, Value scale) {
        if (valid)
          dot = arith::SelectOp::create(b, valid, dot, e.cstF(0.0));
        slot = e.fma(dot, scale, slot);
      };
      Value kBase = e.mul(c, e.cst(kValsPerLoad));
      Value g = cfg.perTensor
                    ? e.cst(0)
                    : arith::DivUIOp::create(b, kBase, e.cst(cfg.groupSize))
                          .getResult();
      // Issue every global load of the chunk first (R weight rows, their
      // scales and zero points, MT activation rows) so they are all in flight
      // before the first use.
      SmallVector<SmallVector<Value>> words(R);
      SmallVector<Value> s(R), zeroByte(R), minimum(R);
      for (int64_t r = 0; r < R; ++r) {
        Value byteIdx = e.add(e.mul(nRow[r], e.cst(rowBytes)),
                              e.mul(c, e.cst(cfg.vecBytes)));
        words[r] = e.loadWords(e.gep(w, e.i8, byteIdx), cfg.vecBytes);
        Value sIdx = cfg.perTensor ? e.cst(0)
                                   : e.add(e.mul(nRow[r], e.cst(numGroups)), g);
        s[r] = e.loadF32(scales, scaleTy, sIdx);
        if (cfg.floatMinimum)
          minimum[r] =
              e.fma(s[r], e.cstF(double(int64_t(1) << (cfg.bits - 1))),
                    e.loadF32(zeros, cfg.minimumF16 ? e.f16 : e.f32, sIdx));
        else if (!cfg.symmetric)
          zeroByte[r] = arith::ExtUIOp::create(
              b, i32, e.load(e.i8, e.gep(zeros, e.i8, sIdx), 1));
      }
      // Float minima: with the codes centred like symmetric ones (c = q -
      // 2^(bits-1), small products for the f16x2 sums), sum_k (q s + m) x =
      // s sum_k c x + (m + 2^(bits-1) s) sum_k x over the chunk (one
      // group): the dot product runs on c and each m row's activation sum
      // of the chunk (f32) is multiplied by the row's shifted minimum.
      SmallVector<Value> xSum(MT);
      auto addMinimum = [&](Value &slot, int64_t i, int64_t r) {
        if (!cfg.floatMinimum)
          return;
        Value sx = xSum[i];
        if (valid)
          sx = arith::SelectOp::create(b, valid, sx, e.cstF(0.0));
        slot = e.fma(sx, minimum[r], slot);
      };
      auto sumOf = [&](ArrayRef<Value> vals) {
        Value sum = vals[0];
        for (Value v : vals.drop_front())
          sum = arith::AddFOp::create(b, sum, v);
        return sum;
      };
      // Symmetric (signed) fields are made unsigned by flipping their sign
      // bits (u = q + 2^(bits-1)); the offset is folded into the subtrahend.
      uint32_t signFlip = 0;
      for (int64_t j = 0; j < 32 / cfg.bits; ++j)
        signFlip |= (1u << (cfg.bits - 1)) << (cfg.bits * j);
      const int64_t symOffset = int64_t(1) << (cfg.bits - 1);
      auto unsignedWord = [&](Value word) -> Value {
        if (!cfg.symmetric)
          return word;
        return arith::XOrIOp::create(b, word,
                                     e.cst(static_cast<int32_t>(signFlip)));
      };

      if (useHalf) {
        // f16x2 path. Activation pieces stay packed f16 vectors.
        SmallVector<SmallVector<Value>> xp(MT);
        for (int64_t i = 0; i < MT; ++i)
          xp[i] = e.loadActPieces(actBase,
                                  e.add(e.mul(actRow[i], e.cst(cfg.k)), kBase),
                                  kValsPerLoad);
        const int64_t piece = std::min<int64_t>(kValsPerLoad, 8);
        // The chunk's activation sum: its pieces added as f16 vectors (at
        // most 4, a tree of packed adds), then the lanes in f32.
        if (cfg.floatMinimum)
          for (int64_t i = 0; i < MT; ++i) {
            SmallVector<Value> pieces(xp[i]);
            while (pieces.size() > 1) {
              SmallVector<Value> next;
              for (size_t p = 0; p + 1 < pieces.size(); p += 2)
                next.push_back(
                    arith::AddFOp::create(b, pieces[p], pieces[p + 1]));
              if (pieces.size() % 2)
                next.push_back(pieces.back());
              pieces = std::move(next);
            }
            SmallVector<Value> vals;
            for (int64_t v = 0; v < piece; ++v)
              vals.push_back(arith::ExtFOp::create(
                  b, e.f32,
                  LLVM::ExtractElementOp::create(b, pieces[0], e.cst(v))
                      .getResult()));
            xSum[i] = sumOf(vals);
          }
        auto h2 = VectorType::get({2}, e.f16);
        // (1024 + zero) splat: OR-ing u into the f16 mantissa of 1024 gives
        // 1024 + u exactly (u < 1024).
        SmallVector<Value> zSub(R);
        for (int64_t r = 0; r < R; ++r) {
          Value z = cfg.symmetric || cfg.floatMinimum ? e.cst(symOffset)
                                                      : zeroByte[r];
          Value h = arith::OrIOp::create(b, z, e.cst(0x6400));
          Value both = arith::OrIOp::create(
              b, h, arith::ShLIOp::create(b, h, e.cst(16)));
          zSub[r] = LLVM::BitcastOp::create(b, h2, both);
        }
        // Pairs a 32-bit op extracts: int4 nibbles (j, j+4) of a word, int8
        // bytes (j, j+2).
        const int64_t pairsPerWord = cfg.bits == 4 ? 4 : 2;
        const int64_t pairStride = cfg.bits == 4 ? 4 : 2;
        const uint32_t pairMask = cfg.bits == 4 ? 0x000F000Fu : 0x00FF00FFu;
        for (int64_t r = 0; r < R; ++r) {
          // Two f16x2 accumulators per m row for instruction-level parallelism.
          SmallVector<std::array<Value, 2>> part(MT);
          int64_t pairIdx = 0;
          for (auto [wi, rawWord] : llvm::enumerate(words[r])) {
            Value word = unsignedWord(rawWord);
            int64_t valBase = wi * (32 / cfg.bits);
            for (int64_t j = 0; j < pairsPerWord; ++j, ++pairIdx) {
              Value f =
                  j == 0 ? word
                         : arith::ShRUIOp::create(b, word, e.cst(cfg.bits * j))
                               .getResult();
              f = arith::AndIOp::create(b, f,
                                        e.cst(static_cast<int32_t>(pairMask)));
              f = arith::OrIOp::create(b, f, e.cst(0x64006400));
              Value q = arith::SubFOp::create(
                  b, LLVM::BitcastOp::create(b, h2, f), zSub[r]);
              int64_t k0 = valBase + j, k1 = valBase + j + pairStride;
              for (int64_t i = 0; i < MT; ++i) {
                Value xv = LLVM::ShuffleVectorOp::create(
                    b, xp[i][k0 / piece], xp[i][k1 / piece],
                    ArrayRef<int32_t>{
                        static_cast<int32_t>(k0 % piece),
                        static_cast<int32_t>(piece + k1 % piece)});
                Value &slot = part[i][pairIdx % 2];
                // mul + add with `contract`: the NVPTX back end fuses them into
                // fma.rn.f16x2 (llvm.fma on <2 x half> is expanded to fp32).
                Value prod = arith::MulFOp::create(
                    b, q, xv, arith::FastMathFlags::contract);
                slot = slot ? arith::AddFOp::create(
                                  b, slot, prod, arith::FastMathFlags::contract)
                                  .getResult()
                            : prod;
              }
            }
          }
          for (int64_t i = 0; i < MT; ++i) {
            Value sum = part[i][1]
                            ? arith::AddFOp::create(b, part[i][0], part[i][1])
                                  .getResult()
                            : part[i][0];
            Value lo = arith::ExtFOp::create(
                b, e.f32,
                LLVM::ExtractElementOp::create(b, sum, e.cst(0)).getResult());
            Value hi = arith::ExtFOp::create(
                b, e.f32,
                LLVM::ExtractElementOp::create(b, sum, e.cst(1)).getResult());
            Value dot = arith::AddFOp::create(b, lo, hi);
            accumulate(acc[i * R + r], dot, s[r]);
            addMinimum(acc[i * R + r], i, r);
          }
        }
      } else {
        // fp32 path: OR-ing a field u into the mantissa of 2^23 gives the
        // float 2^23 + u exactly; one FSUB of (2^23 + zero) yields u - zero.
        SmallVector<Value> zMagic(R);
        for (int64_t r = 0; r < R; ++r) {
          if (cfg.symmetric || cfg.floatMinimum) {
            zMagic[r] = e.cstF(8388608.0 + symOffset);
          } else {
            Value z = arith::UIToFPOp::create(b, e.f32, zeroByte[r]);
            zMagic[r] = arith::AddFOp::create(b, z, e.cstF(8388608.0));
          }
        }
        SmallVector<SmallVector<Value>> xs(MT);
        for (int64_t i = 0; i < MT; ++i)
          xs[i] =
              e.loadActs(actBase, e.add(e.mul(actRow[i], e.cst(cfg.k)), kBase),
                         kValsPerLoad);
        if (cfg.floatMinimum)
          for (int64_t i = 0; i < MT; ++i)
            xSum[i] = sumOf(xs[i]);
        const int64_t perWord =
            std::min<int64_t>(32, cfg.vecBytes * 8) / cfg.bits;
        const uint32_t fieldMask = (1u << cfg.bits) - 1;
        for (int64_t r = 0; r < R; ++r) {
          SmallVector<Value> partial(MT);
          int64_t v = 0;
          for (Value rawWord : words[r]) {
            Value word = unsignedWord(rawWord);
            for (int64_t j = 0; j < perWord; ++j, ++v) {
              Value field =
                  j == 0 ? word
                         : arith::ShRUIOp::create(b, word, e.cst(cfg.bits * j))
                               .getResult();
              if (cfg.bits * (j + 1) < 32)
                field = arith::AndIOp::create(
                    b, field, e.cst(static_cast<int32_t>(fieldMask)));
              Value magic = arith::OrIOp::create(b, field, e.cst(0x4B000000));
              Value q = arith::SubFOp::create(
                  b, arith::BitcastOp::create(b, e.f32, magic), zMagic[r]);
              for (int64_t i = 0; i < MT; ++i)
                partial[i] =
                    v == 0 ? arith::MulFOp::create(b, q, xs[i][v]).getResult()
                           : e.fma(q, xs[i][v], partial[i]);
            }
          }
          for (int64_t i = 0; i < MT; ++i) {
            accumulate(acc[i * R + r], partial[i], s[r]);
            addMinimum(acc[i * R + r], i, r);
          }
        }
      }
    } // chunks of this iteration
    scf::YieldOp::create(b, acc);
  }

  // Warp reduction with butterfly shuffles.
  SmallVector<Value> sums(loop.getResults());
  Value fullMask = e.cst(-1);
  Value clamp = e.cst(0x1f);
  for (Value &sum : sums)
    for (int64_t off : {16, 8, 4, 2, 1}) {
      Value other = NVVM::ShflOp::create(
          b, e.f32, fullMask, sum, e.cst(off), clamp,
          NVVM::ShflKindAttr::get(ctx, NVVM::ShflKind::bfly), UnitAttr());
      sum = arith::AddFOp::create(b, sum, other);
    }

  // Lane 0 adds the bias and stores the rows that exist.
  Value isLane0 =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, e.cst(0));
  auto ifLane0 = scf::IfOp::create(b, isLane0, /*withElseRegion=*/false);
  if (cfg.swiGlu) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifLane0.thenBlock());
    // The matmul's value of row `r`, M row i: + bias, rounded to the
    // activation type (the matmul's result the glue would read), in f32.
    auto rowValue = [&](int64_t i, int64_t r) {
      Value v = sums[i * R + r];
      if (cfg.hasBias)
        v = arith::AddFOp::create(b, v, e.loadF32(bias, actTy, nRow[r]));
      if (act16)
        v = arith::ExtFOp::create(
            b, e.f32, arith::TruncFOp::create(b, actTy, v).getResult());
      return v;
    };
    Value one = e.cstF(1.0);
    for (int64_t p = 0; p < perWarp; ++p) {
      Value jIdx = e.add(nBase, e.cst(p));
      Value jOk = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, jIdx,
                                        e.cst(outN));
      for (int64_t i = 0; i < MT; ++i) {
        Value mIdx = e.add(m0, e.cst(i));
        Value mOk =
            arith::CmpIOp::create(b, arith::CmpIPredicate::slt, mIdx, m);
        auto ifOk = scf::IfOp::create(b, arith::AndIOp::create(b, jOk, mOk),
                                      /*withElseRegion=*/false);
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(ifOk.thenBlock());
        // silu(g) * u as the glue computes it: g / (1 + exp(-g)) * u.
        Value g = rowValue(i, p), u = rowValue(i, perWarp + p);
        Value den = arith::AddFOp::create(
            b, math::ExpOp::create(b, arith::NegFOp::create(b, g)), one);
        Value v = arith::MulFOp::create(b, arith::DivFOp::create(b, g, den), u);
        if (act16)
          v = arith::TruncFOp::create(b, actTy, v);
        Value yIdx = e.add(e.mul(mIdx, e.cst(outN)), jIdx);
        LLVM::StoreOp::create(b, v, e.gep(y, actTy, yIdx), cfg.actBytes());
      }
    }
  } else {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifLane0.thenBlock());
    for (int64_t r = 0; r < R; ++r) {
      Value nIdx = e.add(nBase, e.cst(r));
      Value nOk = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, nIdx,
                                        e.cst(cfg.n));
      Value bv;
      if (cfg.hasBias)
        bv = e.loadF32(bias, actTy, nRow[r]);
      for (int64_t i = 0; i < MT; ++i) {
        Value mIdx = e.add(m0, e.cst(i));
        Value mOk =
            arith::CmpIOp::create(b, arith::CmpIPredicate::slt, mIdx, m);
        Value ok = arith::AndIOp::create(b, nOk, mOk);
        auto ifOk = scf::IfOp::create(b, ok, /*withElseRegion=*/false);
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(ifOk.thenBlock());
        Value v = sums[i * R + r];
        if (bv)
          v = arith::AddFOp::create(b, v, bv);
        if (act16)
          v = arith::TruncFOp::create(b, actTy, v);
        Value yIdx = e.add(e.mul(mIdx, e.cst(cfg.n)), nIdx);
        if (residual) {
          // r + y with y already rounded to the activation type: the
          // separate glue add's result, bit for bit.
          Value rv = e.loadF32(residual, actTy, yIdx);
          Value yv = act16 ? arith::ExtFOp::create(b, e.f32, v) : v;
          v = arith::AddFOp::create(b, rv, yv);
          if (act16)
            v = arith::TruncFOp::create(b, actTy, v);
        }
        LLVM::StoreOp::create(b, v, e.gep(y, actTy, yIdx), cfg.actBytes());
      }
    }
  }
  gpu::ReturnOp::create(b);
  return func;
}
