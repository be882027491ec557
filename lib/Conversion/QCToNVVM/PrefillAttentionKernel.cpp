//===- PrefillAttentionKernel.cpp - Causal prefill attention ----*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// buildPrefillAttentionKernel: the tensor-core form of qc.cache_attention
// for queries of more than maxSplitT tokens (FlashAttention-2 forward,
// causal, over the KV cache). See KernelBuilders.h for tiling, memory path
// and instructions.
//
//===----------------------------------------------------------------------===//

#include "InlinePtx.h"
#include "KernelFunc.h"
#include "SharedMemory.h"
#include "qc/Conversion/QCToNVVM/KernelBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <limits>

using namespace mlir;

using qc::detail::createKernelFunc;
using qc::detail::ptxUnaryF32;

namespace {
/// The builder, the types and the integer / address helpers of the kernel.
struct Emitter {
  ImplicitLocOpBuilder &b;
  MLIRContext *ctx;
  Type i8, i32, i64, f32, ptr3;

  explicit Emitter(ImplicitLocOpBuilder &b) : b(b), ctx(b.getContext()) {
    i8 = b.getI8Type();
    i32 = b.getI32Type();
    i64 = b.getI64Type();
    f32 = b.getF32Type();
    ptr3 = LLVM::LLVMPointerType::get(ctx, 3);
  }

  Value cst(int64_t v) { return arith::ConstantIntOp::create(b, i32, v); }
  Value cst64(int64_t v) { return arith::ConstantIntOp::create(b, i64, v); }
  Value cstF(float v) {
    return arith::ConstantFloatOp::create(b, cast<FloatType>(f32), APFloat(v));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value add(Value x, int64_t y) {
    return y ? add(x, x.getType() == i64 ? cst64(y) : cst(y)) : x;
  }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value mul(Value x, int64_t y) {
    return mul(x, x.getType() == i64 ? cst64(y) : cst(y));
  }
  Value udiv(Value x, int64_t y) {
    return arith::DivUIOp::create(b, x, cst(y));
  }
  Value urem(Value x, int64_t y) {
    return arith::RemUIOp::create(b, x, cst(y));
  }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, c, x, y);
  }
  Value wide(Value v) { return arith::ExtUIOp::create(b, i64, v); }
  Value sext(Value v) { return arith::ExtSIOp::create(b, i64, v); }
  Value id(gpu::Dimension d, bool block) {
    Value v = block ? gpu::BlockIdOp::create(b, d).getResult()
                    : gpu::ThreadIdOp::create(b, d).getResult();
    return arith::IndexCastUIOp::create(b, i32, v);
  }
  /// `base` + `bytes` (i32 or i64), same address space.
  Value byteGep(Value base, Value bytes) {
    return LLVM::GEPOp::create(b, base.getType(), i8, base, ValueRange{bytes});
  }
  /// Address of element `idx` (i64) of 16-bit elements at `base`.
  Value gep16(Value base, Value idx) { return byteGep(base, mul(idx, 2)); }
  Value fmax(Value x, Value y) { return LLVM::MaxNumOp::create(b, x, y); }
  /// The butterfly max / sum of `v` over the 4 lanes of a quad (the lanes
  /// holding one accumulator row).
  Value quad(Value v, bool max) {
    for (int64_t off : {1, 2}) {
      Value other = NVVM::ShflOp::create(
          b, f32, cst(-1), v, cst(off), cst(0x1f),
          NVVM::ShflKindAttr::get(ctx, NVVM::ShflKind::bfly), UnitAttr());
      v = max ? fmax(v, other) : arith::AddFOp::create(b, v, other).getResult();
    }
    return v;
  }
};

/// The mma.sync m16n8k16 atom for 16-bit operands (f16 or bf16, f32
/// accumulators): operand registers are i32 pairs of 16-bit elements,
/// bitcast to vector<2xf16> for f16 (the NVVM op's f16 operand type).
struct MmaAtom {
  Emitter &e;
  bool bf16;

  Value operand(Value r) {
    if (bf16)
      return r;
    return LLVM::BitcastOp::create(e.b, VectorType::get({2}, e.b.getF16Type()),
                                   r);
  }
  /// ldmatrix.x4 (with `trans`, .trans) at shared address `addr`: 4 i32.
  void ldmatrixX4(Value addr, bool trans, SmallVectorImpl<Value> &regs) {
    auto structTy =
        LLVM::LLVMStructType::getLiteral(e.ctx, {e.i32, e.i32, e.i32, e.i32});
    Value v = NVVM::LdMatrixOp::create(
        e.b, structTy, addr, 4,
        trans ? NVVM::MMALayout::col : NVVM::MMALayout::row,
        NVVM::LdStMatrixShapeAttr::get(e.ctx, 8, 8),
        NVVM::LdStMatrixEltType::B16);
    for (int64_t i = 0; i < 4; ++i)
      regs.push_back(LLVM::ExtractValueOp::create(e.b, v, i));
  }
  /// c += a (4 registers, m16 x k16) * b (2 registers, k16 x n8).
  void mma(ArrayRef<Value> a, ArrayRef<Value> bf, MutableArrayRef<Value> c) {
    auto resTy =
        LLVM::LLVMStructType::getLiteral(e.ctx, {e.f32, e.f32, e.f32, e.f32});
    SmallVector<Value> av, bv;
    for (Value r : a)
      av.push_back(operand(r));
    for (Value r : bf)
      bv.push_back(operand(r));
    NVVM::MMATypes ty = bf16 ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
    Value d = NVVM::MmaOp::create(
        e.b, resTy, av, bv, c, ArrayRef<int64_t>{16, 8, 16}, std::nullopt,
        std::nullopt, std::array<NVVM::MMATypes, 2>{ty, ty},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                       NVVM::MMALayout::col});
    for (int64_t r = 0; r < 4; ++r)
      c[r] = LLVM::ExtractValueOp::create(e.b, d, r);
  }
  /// Two f32 values as one register of 16-bit elements (cvt.rn.*x2.f32).
  Value pack(Type elemTy, Value lo, Value hi) {
    auto v2f = VectorType::get({2}, e.f32);
    Value v = LLVM::UndefOp::create(e.b, v2f);
    v = LLVM::InsertElementOp::create(e.b, v, lo, e.cst(0));
    v = LLVM::InsertElementOp::create(e.b, v, hi, e.cst(1));
    Value h = arith::TruncFOp::create(e.b, VectorType::get({2}, elemTy), v);
    return LLVM::BitcastOp::create(e.b, e.i32, h);
  }
};

} // namespace

gpu::GPUFuncOp
qc::buildPrefillAttentionKernel(OpBuilder &builder, Location loc,
                                StringRef name,
                                const CacheAttentionKernelConfig &cfg) {
  MLIRContext *ctx = builder.getContext();
  auto ptr1 = LLVM::LLVMPointerType::get(ctx, 1);
  Type i32 = builder.getI32Type();
  const int64_t H = cfg.heads, KV = cfg.kvHeads, S = cfg.seqLen,
                D = cfg.headDim, G = cfg.group(), TQ = cfg.prefillTokens();
  const int64_t BK = CacheAttentionKernelConfig::prefillKeys; // keys / tile
  const int64_t threads = CacheAttentionKernelConfig::prefillRows / 16 * 32;
  // Shared rows of D 16-bit elements padded by 16 bytes: the 8 row
  // addresses of an ldmatrix phase fall in 8 distinct 16-byte bank groups.
  const int64_t rowBytes = 2 * D + 16, tileBytes = BK * rowBytes;
  const int64_t nD = D / 8;  // n8 tiles of the output (head dimension)
  const int64_t kD = D / 16; // k16 steps of S = Q K^T
  const int64_t nK = BK / 8; // n8 tiles of S (keys)
  const float log2e = 1.4426950408889634f;
  const float negInf = -std::numeric_limits<float>::infinity();
  bool bf16 = cfg.query == KernelElem::BF16;
  Type elemTy = kernelElemType(builder, cfg.query);

  std::string smemName = qc::detail::declareSharedArray(
      builder, loc, (name + "_smem").str(), builder.getI8Type(),
      cfg.prefillSharedBytes());
  gpu::GPUFuncOp func = createKernelFunc(
      builder, loc, name, {ptr1, ptr1, ptr1, ptr1, ptr1, i32, i32}, threads);
  ImplicitLocOpBuilder b(loc, builder);
  b.setInsertionPointToStart(&func.getBody().front());
  Emitter e(b);
  MmaAtom atom{e, bf16};
  using P = arith::CmpIPredicate;
  auto args = func.getArguments();
  Value q = args[0], kc = args[1], vc = args[2], pos = args[3], out = args[4],
        T = args[5], cacheB = args[6];

  Value smem = LLVM::AddressOfOp::create(b, e.ptr3, smemName);
  Value tid = e.id(gpu::Dimension::x, false);
  Value lane = arith::AndIOp::create(b, tid, e.cst(31));
  Value warp = arith::ShRUIOp::create(b, tid, e.cst(5));
  Value laneRow = e.udiv(lane, 4);
  Value laneCol = e.mul(e.urem(lane, 4), 2);
  Value kvh = e.id(gpu::Dimension::x, true);
  // The query tiles of the most keys first (causal work grows with t).
  Value tiles = arith::IndexCastUIOp::create(
      b, i32, gpu::GridDimOp::create(b, gpu::Dimension::y));
  Value tile =
      arith::SubIOp::create(b, arith::SubIOp::create(b, tiles, e.cst(1)),
                            e.id(gpu::Dimension::y, true));
  Value bIdx = e.id(gpu::Dimension::z, true);
  Value t0 = e.mul(tile, TQ);
  Value p0 = LLVM::LoadOp::create(
      b, e.i64,
      LLVM::GEPOp::create(b, ptr1, e.i64, pos, ValueRange{e.wide(bIdx)}), 8);
  // min(max(v, -1), S - 1) of an i64 key position, as i32.
  auto clampKey = [&](Value v) -> Value {
    v = arith::MaxSIOp::create(b, v, e.cst64(-1));
    v = arith::MinSIOp::create(b, v, e.cst64(S - 1));
    return arith::TruncIOp::create(b, i32, v);
  };
  // The CTA's last visible key (its last token's) and its key tiles.
  Value tEnd = arith::MinUIOp::create(b, e.add(t0, TQ), T);
  Value maxKey = clampKey(arith::AddIOp::create(
      b, p0, e.sext(arith::SubIOp::create(b, tEnd, e.cst(1)))));
  Value numTiles = arith::DivSIOp::create(b, e.add(maxKey, BK), e.cst(BK));
  // Keys every row of the CTA sees (its first token's): tiles at or below
  // this need no element-wise mask.
  Value minKey = clampKey(arith::AddIOp::create(b, p0, e.sext(t0)));

  // This thread's two accumulator rows r = 16 * warp + laneRow (+ 8): the
  // pair (t, g) = (t0 + r / G, r % G), valid for r / G < TQ and t < T.
  Value qRow[2], limit[2], valid[2];
  for (int64_t h = 0; h < 2; ++h) {
    Value r = e.add(e.add(e.mul(warp, 16), laneRow), 8 * h);
    Value tl = e.udiv(r, G), g = e.urem(r, G);
    Value t = e.add(t0, tl);
    valid[h] = arith::AndIOp::create(b, e.cmp(P::ult, tl, e.cst(TQ)),
                                     e.cmp(P::ult, t, T));
    // Idle rows read a valid query row and see no key.
    Value tc =
        arith::MinUIOp::create(b, t, arith::SubIOp::create(b, T, e.cst(1)));
    qRow[h] = e.add(e.mul(e.wide(e.add(e.mul(bIdx, T), tc)), H),
                    e.wide(e.add(e.mul(kvh, G), g)));
    limit[h] = e.select(
        valid[h], clampKey(arith::AddIOp::create(b, p0, e.sext(t))), e.cst(-1));
  }

  // Q fragments (A of m16n8k16 per k16 step), loaded once: registers
  // (row, k) = (laneRow, laneCol), (laneRow + 8, laneCol), (laneRow,
  // laneCol + 8), (laneRow + 8, laneCol + 8).
  SmallVector<SmallVector<Value, 4>> qFrag(kD);
  for (int64_t kk = 0; kk < kD; ++kk)
    for (int64_t half : {0, 1})
      for (int64_t h : {0, 1}) {
        Value col = e.add(laneCol, 16 * kk + 8 * half);
        Value idx = e.add(e.mul(qRow[h], D), e.wide(col));
        qFrag[kk].push_back(LLVM::LoadOp::create(b, e.i32, e.gep16(q, idx), 4));
      }

  // Cache rows of (layer, b, kvh): (((layer * B' + b) * KV + kvh) * S) * D.
  Value head =
      e.add(e.mul(e.add(e.mul(e.wide(cacheB), cfg.layer), e.wide(bIdx)), KV),
            e.wide(kvh));
  Value headBase = e.mul(head, S * D);
  // Issues the cp.async.cg copies of key tile `j` of `src` into the shared
  // tile at `dstOff`: 16-byte chunks, consecutive threads on consecutive
  // chunks of a row; rows past maxKey copy 0 bytes (zero fill) from a valid
  // address, so masked keys hold finite values.
  auto loadTile = [&](Value src, Value j, int64_t dstOff) {
    int64_t perRow = D / 8, total = BK * perRow;
    for (int64_t i = 0; i < total / threads; ++i) {
      Value c = e.add(tid, i * threads);
      Value r = e.udiv(c, perRow), cc = e.urem(c, perRow);
      Value key = e.add(e.mul(j, BK), r);
      Value ok = e.cmp(P::sle, key, maxKey);
      Value safeKey = e.select(ok, key, e.cst(0));
      Value idx = e.add(e.add(headBase, e.mul(e.wide(safeKey), D)),
                        e.wide(e.mul(cc, 8)));
      Value dst = e.byteGep(
          smem, e.add(e.mul(r, rowBytes), e.add(e.mul(cc, 16), dstOff)));
      NVVM::CpAsyncOp::create(b, dst, e.gep16(src, idx), 16,
                              NVVM::LoadCacheModifierKind::CG,
                              e.select(ok, e.cst(16), e.cst(0)));
    }
  };
  const int64_t kOff = 0, vOff = tileBytes;
  // ldmatrix lane offsets (bytes): K (B of Q K^T, not transposed): matrices
  // (keys 0-7 | 8-15) x (d 0-7 | 8-15), d first, so registers {0,1} / {2,3}
  // are the fragments of key tiles n and n + 1. V (B of P V, .trans):
  // matrices (keys 0-7 | 8-15) x (d 0-7 | 8-15), keys first, so {0,1} /
  // {2,3} are the fragments of d tiles n and n + 1.
  Value l8 = e.urem(lane, 8), q1 = e.urem(e.udiv(lane, 8), 2),
        q2 = e.udiv(lane, 16);
  Value kLane = e.add(e.mul(e.add(l8, e.mul(q2, 8)), rowBytes), e.mul(q1, 16));
  Value vLane = e.add(e.mul(e.add(l8, e.mul(q1, 8)), rowBytes), e.mul(q2, 16));

  // Prologue: key tile 0 in flight.
  {
    auto any = scf::IfOp::create(b, e.cmp(P::sgt, numTiles, e.cst(0)), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(any.thenBlock());
    loadTile(kc, e.cst(0), kOff);
  }
  NVVM::CpAsyncCommitGroupOp::create(b);

  // Loop state: the rows' running max m (scaled, base 2) and this lane's
  // part of their sums l, then the output accumulators (nD n8 tiles x 4).
  SmallVector<Value> init = {e.cstF(negInf), e.cstF(negInf), e.cstF(0.0f),
                             e.cstF(0.0f)};
  init.append(nD * 4, e.cstF(0.0f));
  Value scaleLog2 = e.cstF(cfg.scale * log2e);
  auto loop = scf::ForOp::create(b, e.cst(0), numTiles, e.cst(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value j = loop.getInductionVar();
    auto state = loop.getRegionIterArgs();
    Value m[2] = {state[0], state[1]}, l[2] = {state[2], state[3]};
    SmallVector<Value> o(state.begin() + 4, state.end());

    // K tile j is in; every warp is past the V tile of j - 1.
    NVVM::CpAsyncWaitGroupOp::create(b, 0);
    NVVM::Barrier0Op::create(b);
    loadTile(vc, j, vOff);
    NVVM::CpAsyncCommitGroupOp::create(b);

    // S = Q K^T: nK n8 tiles of keys, 4 accumulators each.
    SmallVector<Value> s(nK * 4, e.cstF(0.0f));
    Value kWarp = e.add(kLane, kOff);
    for (int64_t kk = 0; kk < kD; ++kk)
      for (int64_t np = 0; np < nK / 2; ++np) {
        SmallVector<Value> regs;
        atom.ldmatrixX4(
            e.byteGep(smem, e.add(kWarp, np * 16 * rowBytes + kk * 32)), false,
            regs);
        atom.mma(qFrag[kk], {regs[0], regs[1]},
                 MutableArrayRef<Value>(&s[(2 * np) * 4], 4));
        atom.mma(qFrag[kk], {regs[2], regs[3]},
                 MutableArrayRef<Value>(&s[(2 * np + 1) * 4], 4));
      }
    for (Value &v : s)
      v = arith::MulFOp::create(b, v, scaleLog2);
    // Causal mask (and keys past S) where the tile reaches past the keys
    // every row sees: key j * BK + 8 n + laneCol + c visible to row h iff
    // at most limit[h].
    Value tileStart = e.mul(j, BK);
    Value needMask = e.cmp(P::sgt, e.add(tileStart, BK - 1), minKey);
    SmallVector<Type> sTypes(s.size(), e.f32);
    auto masked = scf::IfOp::create(b, sTypes, needMask, true);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(masked.thenBlock());
      Value base = e.add(tileStart, laneCol);
      Value ninf = e.cstF(negInf);
      SmallVector<Value> ms;
      for (int64_t n = 0; n < nK; ++n)
        for (int64_t r = 0; r < 4; ++r) {
          Value key = e.add(base, 8 * n + (r & 1));
          Value vis = e.cmp(P::sle, key, limit[r / 2]);
          ms.push_back(e.select(vis, s[n * 4 + r], ninf));
        }
      scf::YieldOp::create(b, ms);
      b.setInsertionPointToStart(masked.elseBlock());
      scf::YieldOp::create(b, s);
    }
    for (int64_t i = 0; i < nK * 4; ++i)
      s[i] = masked.getResult(i);

    // Online softmax per row (base 2): new max over the quad, rescale of l
    // and o by 2^(m - m'), p = 2^(s - m'); a row with no visible key so far
    // (m' = -inf) subtracts 0 instead.
    Value corr[2], mUse[2], next[4];
    for (int64_t h = 0; h < 2; ++h) {
      Value mx = s[2 * h];
      for (int64_t n = 0; n < nK; ++n)
        for (int64_t c = 0; c < 2; ++c)
          if (n || c)
            mx = e.fmax(mx, s[n * 4 + 2 * h + c]);
      Value mNew = e.fmax(m[h], e.quad(mx, /*max=*/true));
      Value none = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, mNew,
                                         e.cstF(negInf));
      mUse[h] = e.select(none, e.cstF(0.0f), mNew);
      corr[h] = ptxUnaryF32(b, "ex2.approx.ftz.f32",
                            arith::SubFOp::create(b, m[h], mUse[h]));
      next[h] = mNew;
    }
    Value rowSum[2] = {e.cstF(0.0f), e.cstF(0.0f)};
    for (int64_t n = 0; n < nK; ++n)
      for (int64_t r = 0; r < 4; ++r) {
        Value &v = s[n * 4 + r];
        v = ptxUnaryF32(b, "ex2.approx.ftz.f32",
                        arith::SubFOp::create(b, v, mUse[r / 2]));
        rowSum[r / 2] = arith::AddFOp::create(b, rowSum[r / 2], v);
      }
    for (int64_t h = 0; h < 2; ++h)
      next[2 + h] = LLVM::FMAOp::create(b, l[h], corr[h], rowSum[h]);
    for (int64_t i = 0; i < nD * 4; ++i)
      o[i] = arith::MulFOp::create(b, o[i], corr[(i % 4) / 2]);
    // P as the A fragments of P V (k16 steps over the keys): the S
    // accumulators of key tiles 2 kk and 2 kk + 1, rounded to 16 bits.
    SmallVector<SmallVector<Value, 4>> pFrag(nK / 2);
    for (int64_t kk = 0; kk < nK / 2; ++kk)
      for (int64_t half : {0, 1})
        for (int64_t h : {0, 1}) {
          int64_t base = (2 * kk + half) * 4 + 2 * h;
          pFrag[kk].push_back(atom.pack(elemTy, s[base], s[base + 1]));
        }

    // V tile j is in; every warp is past the K tile j, so K tile j + 1 may
    // land while P V runs.
    NVVM::CpAsyncWaitGroupOp::create(b, 0);
    NVVM::Barrier0Op::create(b);
    {
      Value nextJ = e.add(j, 1);
      auto more = scf::IfOp::create(b, e.cmp(P::slt, nextJ, numTiles), false);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(more.thenBlock());
      loadTile(kc, nextJ, kOff);
    }
    NVVM::CpAsyncCommitGroupOp::create(b);

    // O += P V: nD n8 tiles of the head dimension.
    Value vWarp = e.add(vLane, vOff);
    for (int64_t kk = 0; kk < nK / 2; ++kk)
      for (int64_t dp = 0; dp < nD / 2; ++dp) {
        SmallVector<Value> regs;
        atom.ldmatrixX4(
            e.byteGep(smem, e.add(vWarp, kk * 16 * rowBytes + dp * 32)), true,
            regs);
        atom.mma(pFrag[kk], {regs[0], regs[1]},
                 MutableArrayRef<Value>(&o[(2 * dp) * 4], 4));
        atom.mma(pFrag[kk], {regs[2], regs[3]},
                 MutableArrayRef<Value>(&o[(2 * dp + 1) * 4], 4));
      }
    SmallVector<Value> yield(next, next + 4);
    yield.append(o.begin(), o.end());
    scf::YieldOp::create(b, yield);
  }

  // o / l in the query type (0 for a row without keys: l = 0), stored as
  // pairs of columns (dp, dp + 1) of the valid rows: out[b, t, h, :].
  for (int64_t h = 0; h < 2; ++h) {
    Value sum = e.quad(loop.getResult(2 + h), /*max=*/false);
    Value any =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, sum, e.cstF(0.0f));
    Value inv = e.select(any, arith::DivFOp::create(b, e.cstF(1.0f), sum),
                         e.cstF(0.0f));
    auto store = scf::IfOp::create(b, valid[h], false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(store.thenBlock());
    for (int64_t n = 0; n < nD; ++n) {
      Value lo =
          arith::MulFOp::create(b, loop.getResult(4 + n * 4 + 2 * h), inv);
      Value hi =
          arith::MulFOp::create(b, loop.getResult(4 + n * 4 + 2 * h + 1), inv);
      Value idx = e.add(e.mul(qRow[h], D), e.wide(e.add(laneCol, 8 * n)));
      LLVM::StoreOp::create(b, atom.pack(elemTy, lo, hi), e.gep16(out, idx), 4);
    }
  }
  gpu::ReturnOp::create(b);
  return func;
}
