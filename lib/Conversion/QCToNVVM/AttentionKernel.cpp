//===- AttentionKernel.cpp - Decode attention over a KV cache ---*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// buildCacheAttentionKernels: the GPU form of qc.cache_attention
// (flash-decoding: a partial kernel per key chunk, then a combine kernel).
// See KernelBuilders.h.
//
//===----------------------------------------------------------------------===//

#include "InlinePtx.h"
#include "KernelFunc.h"
#include "qc/Conversion/QCToNVVM/KernelBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace mlir;

using qc::detail::createKernelFunc;
using qc::detail::ptxUnaryF32;

namespace {
/// Shared helpers of the two kernels.
struct Emitter {
  ImplicitLocOpBuilder &b;
  Type i32, i64, f32;

  Value cst(int64_t v) { return arith::ConstantIntOp::create(b, i32, v); }
  Value cst64(int64_t v) { return arith::ConstantIntOp::create(b, i64, v); }
  Value cstF(float v) {
    return arith::ConstantFloatOp::create(b, cast<FloatType>(f32), APFloat(v));
  }
  Value gep(Value base, Type elemTy, Value idx) {
    return LLVM::GEPOp::create(b, base.getType(), elemTy, base,
                               ValueRange{idx});
  }
  Value ext64(Value v) { return arith::ExtUIOp::create(b, i64, v); }
  Value id(gpu::Dimension d, bool block) {
    Value v = block ? gpu::BlockIdOp::create(b, d).getResult()
                    : gpu::ThreadIdOp::create(b, d).getResult();
    return arith::IndexCastUIOp::create(b, i32, v);
  }
  Value add(Value a, Value c) { return arith::AddIOp::create(b, a, c); }
  Value mul(Value a, Value c) { return arith::MulIOp::create(b, a, c); }
  /// Loads `n` elements of `elemTy` at element `idx` of `base` as f32.
  SmallVector<Value> load(Value base, Type elemTy, int64_t eb, Value idx,
                          int64_t n) {
    Value addr = gep(base, elemTy, idx);
    SmallVector<Value> out;
    auto toF32 = [&](Value v) -> Value {
      return v.getType() == f32 ? v : arith::ExtFOp::create(b, f32, v);
    };
    if (n == 1) {
      out.push_back(toF32(LLVM::LoadOp::create(b, elemTy, addr, eb)));
      return out;
    }
    Value v = LLVM::LoadOp::create(b, VectorType::get({n}, elemTy), addr,
                                   std::min<int64_t>(n * eb, 16));
    for (int64_t i = 0; i < n; ++i)
      out.push_back(toF32(LLVM::ExtractElementOp::create(b, v, cst(i))));
    return out;
  }
  /// Stores f32 `vals` as `elemTy` at element `idx` of `base`.
  void store(Value base, Type elemTy, int64_t eb, Value idx,
             ArrayRef<Value> vals) {
    SmallVector<Value> cv;
    for (Value v : vals)
      cv.push_back(elemTy == f32 ? v : arith::TruncFOp::create(b, elemTy, v));
    Value addr = gep(base, elemTy, idx);
    int64_t n = vals.size();
    if (n == 1) {
      LLVM::StoreOp::create(b, cv[0], addr, eb);
      return;
    }
    Value vec = LLVM::UndefOp::create(b, VectorType::get({n}, elemTy));
    for (int64_t i = 0; i < n; ++i)
      vec = LLVM::InsertElementOp::create(b, vec, cv[i], cst(i));
    LLVM::StoreOp::create(b, vec, addr, std::min<int64_t>(n * eb, 16));
  }
  /// min(max(p + 1, 0), S) as i32 for p = pos[bIdx] + t (i64 math).
  Value numKeys(Value pos, Value bIdx, Value t, int64_t seqLen) {
    Value p = LLVM::LoadOp::create(b, i64, gep(pos, i64, bIdx), 8);
    p = arith::AddIOp::create(b, p, arith::ExtUIOp::create(b, i64, t));
    Value n = arith::AddIOp::create(b, p, cst64(1));
    n = arith::MaxSIOp::create(b, n, cst64(0));
    n = arith::MinSIOp::create(b, n, cst64(seqLen));
    return arith::TruncIOp::create(b, i32, n);
  }
};

} // namespace

void qc::buildCacheAttentionKernels(OpBuilder &builder, Location loc,
                                    StringRef name,
                                    const CacheAttentionKernelConfig &cfg) {
  MLIRContext *ctx = builder.getContext();
  Type i32 = builder.getI32Type(), i64 = builder.getI64Type(),
       f32 = builder.getF32Type();
  auto ptr1 = LLVM::LLVMPointerType::get(ctx, 1);
  auto typeOf = [&](KernelElem e) { return kernelElemType(builder, e); };
  const int64_t H = cfg.heads, KV = cfg.kvHeads, S = cfg.seqLen,
                D = cfg.headDim, G = cfg.group(), E = cfg.lanesElems(),
                NC = cfg.numChunks(), LEN = cfg.chunkLen,
                REC = cfg.recordFloats();
  Type qTy = typeOf(cfg.query), cTy = typeOf(cfg.cache);
  int64_t qb = kernelElemBytes(cfg.query), cb = kernelElemBytes(cfg.cache);
  const float log2e = 1.4426950408889634f;
  const float negInf = -std::numeric_limits<float>::infinity();

  // Chunks in use and keys per chunk for T: split for T <= maxSplitT, else
  // one chunk of S keys.
  auto chunking = [&](Emitter &e, Value t32) -> std::pair<Value, Value> {
    Value split = arith::CmpIOp::create(e.b, arith::CmpIPredicate::ule, t32,
                                        e.cst(cfg.maxSplitT));
    return {arith::SelectOp::create(e.b, split, e.cst(NC), e.cst(1)),
            arith::SelectOp::create(e.b, split, e.cst(LEN), e.cst(S))};
  };

  //===--------------------------------------------------------------------===//
  // Partial kernel: one warp per (chunk, kv head, t, b).
  //===--------------------------------------------------------------------===//
  {
    gpu::GPUFuncOp func =
        createKernelFunc(builder, loc, (name + "_partial").str(),
                         {ptr1, ptr1, ptr1, ptr1, ptr1, i32, i32}, 32);
    ImplicitLocOpBuilder b(loc, builder);
    b.setInsertionPointToStart(&func.getBody().front());
    Emitter e{b, i32, i64, f32};
    auto args = func.getArguments();
    Value q = args[0], kc = args[1], vc = args[2], pos = args[3], ws = args[4],
          T = args[5], cacheB = args[6];
    Value lane = e.id(gpu::Dimension::x, false);
    Value bx = e.id(gpu::Dimension::x, true);
    Value t = e.id(gpu::Dimension::y, true);
    Value bIdx = e.id(gpu::Dimension::z, true);
    Value kvh = arith::RemUIOp::create(b, bx, e.cst(KV));
    Value chunk = arith::DivUIOp::create(b, bx, e.cst(KV));
    auto [chunks, len] = chunking(e, T);
    Value nKeys = e.numKeys(pos, bIdx, t, S);
    Value start = e.mul(chunk, len);
    Value end = arith::MinUIOp::create(b, e.add(start, len), nKeys);
    // Work only for a chunk in use that starts before the last key.
    Value active = arith::AndIOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, chunk, chunks),
        arith::CmpIOp::create(b, arith::CmpIPredicate::slt, start, end));
    auto work = scf::IfOp::create(b, active, false);
    b.setInsertionPointToStart(work.thenBlock());

    Value laneOff = e.mul(lane, e.cst(E));
    // Query heads h = kvh * G + g of (b, t): row ((b * T + t) * H + h) * D.
    Value bt = e.add(e.mul(bIdx, T), t);
    Value h0 = e.mul(kvh, e.cst(G));
    Value qScale = e.cstF(cfg.scale * log2e);
    SmallVector<SmallVector<Value>> qs;
    SmallVector<Value> rows;
    for (int64_t g = 0; g < G; ++g) {
      Value row =
          e.add(e.mul(e.ext64(bt), e.cst64(H)), e.ext64(e.add(h0, e.cst(g))));
      rows.push_back(row);
      Value idx = e.add(e.mul(row, e.cst64(D)), e.ext64(laneOff));
      SmallVector<Value> v = e.load(q, qTy, qb, idx, E);
      for (Value &x : v)
        x = arith::MulFOp::create(b, x, qScale);
      qs.push_back(v);
    }
    // Cache rows of (layer, b, kvh): (((layer * B' + b) * KV + kvh) * S) * D.
    Value head = e.add(
        e.mul(e.add(e.mul(e.cst64(cfg.layer), e.ext64(cacheB)), e.ext64(bIdx)),
              e.cst64(KV)),
        e.ext64(kvh));
    Value kvBase = e.add(e.mul(head, e.cst64(S * D)), e.ext64(laneOff));

    // Loop state per head g: m, l, o[E].
    SmallVector<Value> init;
    for (int64_t g = 0; g < G; ++g) {
      init.push_back(e.cstF(negInf));
      init.push_back(e.cstF(0.0f));
      for (int64_t i = 0; i < E; ++i)
        init.push_back(e.cstF(0.0f));
    }
    auto loop = scf::ForOp::create(b, start, end, e.cst(1), init);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(loop.getBody());
      Value j = loop.getInductionVar();
      Value idx = e.add(kvBase, e.mul(e.ext64(j), e.cst64(D)));
      SmallVector<Value> k = e.load(kc, cTy, cb, idx, E);
      SmallVector<Value> v = e.load(vc, cTy, cb, idx, E);
      auto state = loop.getRegionIterArgs();
      SmallVector<Value> scores;
      for (int64_t hg = 0; hg < G; ++hg) {
        Value s = arith::MulFOp::create(b, qs[hg][0], k[0]);
        for (int64_t i = 1; i < E; ++i)
          s = LLVM::FMAOp::create(b, qs[hg][i], k[i], s);
        scores.push_back(s);
      }
      // Butterfly sums, interleaved over the heads (independent shuffles).
      for (int64_t off : {16, 8, 4, 2, 1})
        for (Value &s : scores) {
          Value other = NVVM::ShflOp::create(
              b, f32, e.cst(-1), s, e.cst(off), e.cst(0x1f),
              NVVM::ShflKindAttr::get(ctx, NVVM::ShflKind::bfly), UnitAttr());
          s = arith::AddFOp::create(b, s, other);
        }
      SmallVector<Value> next;
      for (int64_t hg = 0; hg < G; ++hg) {
        Value m = state[hg * (2 + E)], l = state[hg * (2 + E) + 1];
        Value mNew = LLVM::MaxNumOp::create(b, m, scores[hg]);
        Value corr =
            ptxUnaryF32(b, "ex2.approx.f32", arith::SubFOp::create(b, m, mNew));
        Value p = ptxUnaryF32(b, "ex2.approx.f32",
                              arith::SubFOp::create(b, scores[hg], mNew));
        next.push_back(mNew);
        next.push_back(LLVM::FMAOp::create(b, l, corr, p)); // l * corr + p
        for (int64_t i = 0; i < E; ++i) {
          Value o = state[hg * (2 + E) + 2 + i];
          next.push_back(LLVM::FMAOp::create(
              b, o, corr, arith::MulFOp::create(b, p, v[i])));
        }
      }
      scf::YieldOp::create(b, next);
    }
    // Partial records: ws[((row * chunks) + chunk) * REC + ...].
    Value isLane0 =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, e.cst(0));
    for (int64_t g = 0; g < G; ++g) {
      Value rec = e.add(e.mul(rows[g], e.ext64(chunks)), e.ext64(chunk));
      Value base = e.mul(rec, e.cst64(REC));
      SmallVector<Value> o;
      for (int64_t i = 0; i < E; ++i)
        o.push_back(loop.getResult(g * (2 + E) + 2 + i));
      e.store(ws, f32, 4, e.add(base, e.ext64(laneOff)), o);
      auto ifOp = scf::IfOp::create(b, isLane0, false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      e.store(ws, f32, 4, e.add(base, e.cst64(D)),
              {loop.getResult(g * (2 + E)), loop.getResult(g * (2 + E) + 1)});
    }
    b.setInsertionPointAfter(work);
    gpu::ReturnOp::create(b);
  }

  //===--------------------------------------------------------------------===//
  // Combine kernel: D threads per (h, t, b).
  //===--------------------------------------------------------------------===//
  {
    gpu::GPUFuncOp func = createKernelFunc(
        builder, loc, (name + "_combine").str(), {ptr1, ptr1, ptr1, i32}, D);
    ImplicitLocOpBuilder b(loc, builder);
    b.setInsertionPointToStart(&func.getBody().front());
    Emitter e{b, i32, i64, f32};
    auto args = func.getArguments();
    Value ws = args[0], pos = args[1], out = args[2], T = args[3];
    Value d = e.id(gpu::Dimension::x, false);
    Value h = e.id(gpu::Dimension::x, true);
    Value t = e.id(gpu::Dimension::y, true);
    Value bIdx = e.id(gpu::Dimension::z, true);
    auto [chunks, len] = chunking(e, T);
    Value nKeys = e.numKeys(pos, bIdx, t, S);
    Value nc = arith::CeilDivUIOp::create(b, nKeys, len);
    Value row =
        e.add(e.mul(e.ext64(e.add(e.mul(bIdx, T), t)), e.cst64(H)), e.ext64(h));
    Value recBase = e.mul(row, e.ext64(chunks));
    auto recAt = [&](Value c, int64_t field) {
      Value rec = e.add(recBase, e.ext64(c));
      return e.add(e.mul(rec, e.cst64(REC)), e.cst64(field));
    };
    auto maxLoop = scf::ForOp::create(b, e.cst(0), nc, e.cst(1),
                                      ValueRange{e.cstF(negInf)});
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(maxLoop.getBody());
      Value m = LLVM::LoadOp::create(
          b, f32, e.gep(ws, f32, recAt(maxLoop.getInductionVar(), D)), 4);
      scf::YieldOp::create(b, ValueRange{LLVM::MaxNumOp::create(
                                  b, maxLoop.getRegionIterArgs()[0], m)});
    }
    Value M = maxLoop.getResult(0);
    auto sumLoop = scf::ForOp::create(b, e.cst(0), nc, e.cst(1),
                                      ValueRange{e.cstF(0.0f), e.cstF(0.0f)});
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(sumLoop.getBody());
      Value c = sumLoop.getInductionVar();
      Value m = LLVM::LoadOp::create(b, f32, e.gep(ws, f32, recAt(c, D)), 4);
      Value l =
          LLVM::LoadOp::create(b, f32, e.gep(ws, f32, recAt(c, D + 1)), 4);
      Value rec = e.add(recBase, e.ext64(c));
      Value o = LLVM::LoadOp::create(
          b, f32, e.gep(ws, f32, e.add(e.mul(rec, e.cst64(REC)), e.ext64(d))),
          4);
      Value w =
          ptxUnaryF32(b, "ex2.approx.f32", arith::SubFOp::create(b, m, M));
      auto it = sumLoop.getRegionIterArgs();
      scf::YieldOp::create(b, ValueRange{LLVM::FMAOp::create(b, w, l, it[0]),
                                         LLVM::FMAOp::create(b, w, o, it[1])});
    }
    Value L = sumLoop.getResult(0), O = sumLoop.getResult(1);
    Value any =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, nc, e.cst(0));
    Value res = arith::SelectOp::create(b, any, arith::DivFOp::create(b, O, L),
                                        e.cstF(0.0f));
    e.store(out, qTy, qb, e.add(e.mul(row, e.cst64(D)), e.ext64(d)), {res});
    gpu::ReturnOp::create(b);
  }
}
