//===- MmaKernels.cpp - Tensor-core GEMM kernel builders --------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// buildInt8GemmKernel (W8A8, mma.sync m16n8k32 s8) and buildFp16GemmKernel
// (mma.sync m16n8k16 f16 -> f32). Both share one staged main loop: the s8
// m16n8k32 and f16 m16n8k16 fragments have the same layout in bytes (a thread
// holds 4 consecutive bytes of a 16-byte row chunk per register), so the
// loop works on 32-byte K steps and only the mma flavour and the epilogue
// differ. See KernelBuilders.h for tiling, memory path and instructions.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToNVVM/KernelBuilders.h"

#include "KernelFunc.h"
#include "MmaEmitter.h"
#include "SharedMemory.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/SymbolTable.h"

#include <functional>
#include <optional>

using namespace mlir;
using qc::detail::createKernelFunc;

namespace {
using qc::detail::declareShared;
using qc::detail::Emitter;
using qc::detail::FragWeightStream;
using qc::detail::HalfDequant;
using qc::detail::storePair;

/// What the shared main loop needs to know about one GEMM.
struct MmaGemmSpec {
  const qc::MmaTileConfig &tile;
  int64_t n, k;
  /// 1: s8 operands, m16n8k32, i32 accumulators; 2: f16, m16n8k16, f32.
  int64_t elemBytes;
  /// 0: B is copied as is. 4 or 8: B is a packed weight of that many bits,
  /// staged raw and dequantized into one f16 tile (`MmaMainLoop::dequant`).
  int64_t wBits = 0;
};

/// The MMA atom: what one warp does with the tiles in shared memory, today
/// mma.sync (m16n8k32 s8 -> s32, m16n8k16 f16 -> f32; wgmma is the next
/// atom). It owns the fragment loads (ldmatrix.x4 of K-contiguous rows, 16
/// bytes padding per row keeps them bank-conflict free), the mma itself and
/// the accumulator layout that epilogues walk: a warp tile of `mi` m16 x
/// `nj` n8 tiles, four accumulators per tile and lane.
struct MmaSyncAtom {
  /// Bytes of one mma K step (k32 of s8, k16 of f16).
  static constexpr int64_t kStepBytes = 32;
  Emitter &e;
  int64_t elemBytes, mi, nj;
  /// Byte stride of a shared-memory row (A and f16 B tiles).
  int64_t stride;
  Value lane, aLaneOff, bLaneOff;

  MmaSyncAtom(Emitter &e, int64_t elemBytes, int64_t warpM, int64_t warpN,
              int64_t stride)
      : e(e), elemBytes(elemBytes), mi(warpM / 16), nj(warpN / 8),
        stride(stride) {}

  /// The per-lane ldmatrix.x4 row offsets: lanes 8q..8q+7 address matrix
  /// q's rows. A: matrices (rows 0-7 | 8-15) x (k bytes 0-15 | 16-31), rows
  /// first; B: matrices (n 0-7 | 8-15) x (k bytes 0-15 | 16-31), k first,
  /// so that registers {0,1} / {2,3} are the B fragments of n tiles 0 / 1.
  void init(Value laneId) {
    lane = laneId;
    Value l8 = e.urem(lane, 8);
    Value q1 = e.urem(e.udiv(lane, 8), 2);
    Value q2 = e.udiv(lane, 16);
    aLaneOff = e.add(e.mul(e.add(l8, e.mul(q1, 8)), stride), e.mul(q2, 16));
    bLaneOff = e.add(e.mul(e.add(l8, e.mul(q2, 8)), stride), e.mul(q1, 16));
  }

  int64_t numAcc() const { return mi * nj * 4; }
  Value accZero() {
    return elemBytes == 1 ? e.cst(0)
                          : arith::ConstantFloatOp::create(
                                e.b, cast<FloatType>(e.f32), APFloat(0.0f))
                                .getResult();
  }

  /// The accumulator map: acc[accIndex(i, j, h, d)] is the warp tile's
  /// element (rowOffset(i, h) + laneRow(), colOffset(j) + laneCol() + d).
  int64_t accIndex(int64_t i, int64_t j, int64_t h, int64_t d) const {
    return (i * nj + j) * 4 + h * 2 + d;
  }
  static int64_t rowOffset(int64_t i, int64_t h) { return i * 16 + h * 8; }
  static int64_t colOffset(int64_t j) { return j * 8; }
  Value laneRow() { return e.udiv(lane, 4); }
  Value laneCol() { return e.mul(e.urem(lane, 4), 2); }

  Value ldmatrixX4(Value addr, SmallVectorImpl<Value> &regs) {
    auto structTy =
        LLVM::LLVMStructType::getLiteral(e.ctx, {e.i32, e.i32, e.i32, e.i32});
    Value v =
        NVVM::LdMatrixOp::create(e.b, structTy, addr, 4, NVVM::MMALayout::row,
                                 NVVM::LdStMatrixShapeAttr::get(e.ctx, 8, 8),
                                 NVVM::LdStMatrixEltType::B16);
    for (int64_t i = 0; i < 4; ++i)
      regs.push_back(LLVM::ExtractValueOp::create(e.b, v, i));
    return v;
  }

  /// Multiplies the warp's A sub-tile (rows at shared byte offset `aBase`)
  /// by its B sub-tile (at `bBase`) over `tileKBytes` of K into `acc`.
  void multiply(Value smem, Value aBase, Value bBase, int64_t tileKBytes,
                SmallVectorImpl<Value> &acc) {
    bool isInt8 = elemBytes == 1;
    auto halfPair = VectorType::get({2}, e.f16);
    auto asOperand = [&](Value r) -> Value {
      return isInt8 ? r : LLVM::BitcastOp::create(e.b, halfPair, r).getResult();
    };
    aBase = e.add(aBase, aLaneOff);
    bBase = e.add(bBase, bLaneOff);
    for (int64_t kk = 0; kk < tileKBytes / kStepBytes; ++kk) {
      SmallVector<SmallVector<Value>> a(mi), bf(nj);
      for (int64_t i = 0; i < mi; ++i) {
        SmallVector<Value> regs;
        ldmatrixX4(
            e.byteGep(smem, e.add(aBase, i * 16 * stride + kk * kStepBytes)),
            regs);
        for (Value r : regs)
          a[i].push_back(asOperand(r));
      }
      for (int64_t jj = 0; jj < nj / 2; ++jj) {
        SmallVector<Value> regs;
        ldmatrixX4(
            e.byteGep(smem, e.add(bBase, jj * 16 * stride + kk * kStepBytes)),
            regs);
        bf[2 * jj] = {asOperand(regs[0]), asOperand(regs[1])};
        bf[2 * jj + 1] = {asOperand(regs[2]), asOperand(regs[3])};
      }
      for (int64_t i = 0; i < mi; ++i)
        for (int64_t j = 0; j < nj; ++j)
          mma(a[i], bf[j], MutableArrayRef<Value>(&acc[(i * nj + j) * 4], 4));
    }
  }

  /// One mma.sync of the atom's flavour: c += a (4 registers, m16 x k) * b
  /// (2 registers, k x n8); f16 operands are vector<2xf16>.
  void mma(ArrayRef<Value> a, ArrayRef<Value> bf, MutableArrayRef<Value> c) {
    bool isInt8 = elemBytes == 1;
    Type accTy = isInt8 ? e.i32 : e.f32;
    auto resTy =
        LLVM::LLVMStructType::getLiteral(e.ctx, {accTy, accTy, accTy, accTy});
    Value d;
    if (isInt8)
      d = NVVM::MmaOp::create(
          e.b, resTy, a, bf, c, ArrayRef<int64_t>{16, 8, 32}, std::nullopt,
          NVVM::MMAIntOverflow::wrapped,
          std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::s8, NVVM::MMATypes::s8},
          std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                         NVVM::MMALayout::col});
    else
      d = NVVM::MmaOp::create(
          e.b, resTy, a, bf, c, ArrayRef<int64_t>{16, 8, 16}, std::nullopt,
          std::nullopt,
          std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::f16,
                                        NVVM::MMATypes::f16},
          std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                         NVVM::MMALayout::col});
    for (int64_t r = 0; r < 4; ++r)
      c[r] = LLVM::ExtractValueOp::create(e.b, d, r);
  }
};

/// Issues the 16-byte cp.async.cg copies (L2 only) of a `rows` x `tileBytes`
/// tile: bytes [kBase, kBase + tileBytes) of rows [row0, row0 + rows) of
/// `src` (rows of `srcRowBytes`) into `dstBase` (rows of `dstStride`), the
/// `threads` threads of the CTA copying consecutive chunks. Chunks of rows
/// >= `rowLimit` or bytes >= `kLimit` copy 0 bytes (zero fill) from a valid
/// address.
void copyRowsAsync(Emitter &e, Value tid, int64_t threads, Value src,
                   int64_t rows, Value row0, Value rowLimit, Value dstBase,
                   int64_t srcRowBytes, Value kBase, Value kLimit,
                   int64_t tileBytes, int64_t dstStride) {
  int64_t cpr = tileBytes / 16, total = rows * cpr;
  for (int64_t i = 0; i * threads < total; ++i) {
    Value c = e.add(tid, i * threads);
    std::optional<OpBuilder::InsertionGuard> guard;
    if ((i + 1) * threads > total) {
      auto ifIn = scf::IfOp::create(e.b, e.ult(c, total), false);
      guard.emplace(e.b);
      e.b.setInsertionPointToStart(ifIn.thenBlock());
    }
    Value r = e.udiv(c, cpr);
    Value cc = e.urem(c, cpr);
    Value gRow = e.add(row0, r);
    Value kByte = e.add(kBase, e.mul(cc, 16));
    Value rowOk = e.ult(gRow, rowLimit);
    Value kOk = e.ult(kByte, kLimit);
    Value safeRow = e.select(rowOk, gRow, e.cst(0));
    Value safeK = e.select(kOk, kByte, e.cst(0));
    Value off = arith::AddIOp::create(
        e.b, arith::MulIOp::create(e.b, e.wide(safeRow), e.cst64(srcRowBytes)),
        e.wide(safeK));
    Value size =
        e.select(arith::AndIOp::create(e.b, rowOk, kOk), e.cst(16), e.cst(0));
    Value dst = e.byteGep(dstBase, e.add(e.mul(r, dstStride), e.mul(cc, 16)));
    NVVM::CpAsyncOp::create(e.b, dst, e.byteGep(src, off), 16,
                            NVVM::LoadCacheModifierKind::CG, size);
  }
}

/// The tile stager: how the A (activation) and B (weight) tiles of one K
/// step reach shared memory, today with cp.async (TMA is the next stager).
/// 16-byte cp.async.cg copies (L2 only), consecutive threads copying
/// consecutive chunks of K-contiguous rows into `stages` buffers; A rows
/// (and unpacked B rows) are padded by 16 bytes; chunks past M, N or K copy
/// 0 bytes (zero fill) from a valid address, so any M and N work.
struct CpAsyncTileStager {
  Emitter &e;
  const qc::MmaTileConfig &t;
  int64_t n;
  // Sizes in bytes: a row of A in global memory, one K tile of it, its
  // padded shared row, one A stage; the same for B as stored (packed with
  // wBits); the number of K tiles.
  int64_t rowBytes, tileKBytes, stride, aStage;
  int64_t wRowBytes, wTileBytes, wStride, bStage, numK;
  Value smem, tid;

  CpAsyncTileStager(Emitter &e, const MmaGemmSpec &s)
      : e(e), t(s.tile), n(s.n) {
    rowBytes = s.k * s.elemBytes;
    tileKBytes = t.blockK * s.elemBytes;
    stride = tileKBytes + 16;
    numK = (rowBytes + tileKBytes - 1) / tileKBytes;
    aStage = t.blockM * stride;
    wRowBytes = s.wBits ? s.k * s.wBits / 8 : rowBytes;
    wTileBytes = s.wBits ? t.blockK * s.wBits / 8 : tileKBytes;
    wStride = s.wBits ? wTileBytes : stride;
    bStage = t.blockN * wStride;
  }

  /// Shared byte offsets of stage `stage`'s A and B tiles (all A stages
  /// first, then all B stages).
  Value aOffset(Value stage) { return e.mul(stage, aStage); }
  Value bOffset(Value stage) {
    return e.add(e.mul(stage, bStage), t.stages * aStage);
  }
  /// Bytes of all stages.
  int64_t bytes() const { return t.stages * (aStage + bStage); }

  /// Issues the copies of K tile `kt` of the CTA's rows [m0, m0 + blockM)
  /// of `x` (M rows) and [n0, n0 + blockN) of `w` into stage `stage`.
  void load(Value x, Value w, Value kt, Value stage, Value m0, Value n0,
            Value m) {
    int64_t threads = t.blockSize();
    Value aBase = e.byteGep(smem, aOffset(stage));
    Value bBase = e.byteGep(smem, bOffset(stage));
    copyRowsAsync(e, tid, threads, x, t.blockM, m0, m, aBase, rowBytes,
                  e.mul(kt, tileKBytes), e.cst(rowBytes), tileKBytes, stride);
    copyRowsAsync(e, tid, threads, w, t.blockN, n0, e.cst(n), bBase, wRowBytes,
                  e.mul(kt, wTileBytes), e.cst(wRowBytes), wTileBytes, wStride);
  }

  /// Closes the copies issued since the last commit into one group.
  void commit() { NVVM::CpAsyncCommitGroupOp::create(e.b); }
  /// Waits until the oldest in-flight tile has landed (at most stages - 2
  /// later groups pending) and for every warp (which also says the stage
  /// refilled next was consumed in the previous iteration).
  void waitOldest() {
    NVVM::CpAsyncWaitGroupOp::create(e.b, t.stages - 2);
    NVVM::Barrier0Op::create(e.b);
  }
};

/// Where a warp's accumulators land: its tile starts at row `row0` and
/// column `col0` of the M x `n` result (`m` rows at run time).
struct WarpTileOrigin {
  Value row0, col0, m;
  int64_t n;
};

/// The shared tensor-core main loop of a CTA: the tile stager fills
/// `stages` buffers ahead, the MMA atom multiplies the current one into the
/// accumulators; with wBits the raw B stage is first dequantized
/// (`dequant`) into one f16 tile at `fOff`. Returns the accumulators in the
/// atom's layout.
struct MmaMainLoop {
  Emitter &e;
  const MmaGemmSpec &s;
  CpAsyncTileStager stager;
  MmaSyncAtom atom;
  /// Shared byte offset of the f16 B tile (wBits).
  int64_t fOff;
  Value smem, tid, warpRow, warpCol, m0, n0, m;
  /// With wBits: fills the f16 B tile at `fOff` from the raw stage.
  std::function<void(Value kt, Value stage)> dequant;

  MmaMainLoop(Emitter &e, const MmaGemmSpec &s)
      : e(e), s(s), stager(e, s),
        atom(e, s.elemBytes, s.tile.blockM / s.tile.warpsM,
             s.tile.blockN / s.tile.warpsN, stager.stride) {
    fOff = stager.bytes();
  }

  /// Where this warp's accumulators land in the result.
  WarpTileOrigin origin() {
    return {e.add(m0, warpRow), e.add(n0, warpCol), m, s.n};
  }

  /// Emits the whole main loop; `m` is the dynamic row count.
  SmallVector<Value> emit(Value x, Value w, Value mRows, StringRef smemName) {
    const qc::MmaTileConfig &t = s.tile;
    m = mRows;
    smem = LLVM::AddressOfOp::create(e.b, e.ptr3, smemName);
    tid = e.toI32(gpu::ThreadIdOp::create(e.b, gpu::Dimension::x));
    stager.smem = smem;
    stager.tid = tid;
    Value lane = arith::AndIOp::create(e.b, tid, e.cst(31));
    Value warp = arith::ShRUIOp::create(e.b, tid, e.cst(5));
    warpRow = e.mul(e.udiv(warp, t.warpsN), t.blockM / t.warpsM);
    warpCol = e.mul(e.urem(warp, t.warpsN), t.blockN / t.warpsN);
    n0 = e.mul(e.toI32(gpu::BlockIdOp::create(e.b, gpu::Dimension::x)),
               t.blockN);
    m0 = e.mul(e.toI32(gpu::BlockIdOp::create(e.b, gpu::Dimension::y)),
               t.blockM);
    atom.init(lane);
    int64_t numK = stager.numK;

    // Prologue: stages - 1 tiles in flight (empty groups past the end keep
    // the group count that cp.async.wait_group relies on).
    for (int64_t st = 0; st < t.stages - 1; ++st) {
      if (st < numK)
        stager.load(x, w, e.cst(st), e.cst(st), m0, n0, m);
      stager.commit();
    }
    SmallVector<Value> init(atom.numAcc(), atom.accZero());
    auto loop = scf::ForOp::create(e.b, e.cst(0), e.cst(numK), e.cst(1), init);
    {
      OpBuilder::InsertionGuard guard(e.b);
      e.b.setInsertionPointToStart(loop.getBody());
      Value kt = loop.getInductionVar();
      SmallVector<Value> acc(loop.getRegionIterArgs());
      stager.waitOldest();
      Value next = e.add(kt, t.stages - 1);
      auto ifLoad = scf::IfOp::create(e.b, e.ult(next, numK), false);
      {
        OpBuilder::InsertionGuard g2(e.b);
        e.b.setInsertionPointToStart(ifLoad.thenBlock());
        stager.load(x, w, next, e.urem(next, t.stages), m0, n0, m);
      }
      stager.commit();
      Value stage = e.urem(kt, t.stages);
      if (s.wBits) {
        // The f16 tile was last read in the previous iteration, before the
        // barrier above; a second barrier publishes the new one.
        dequant(kt, stage);
        NVVM::Barrier0Op::create(e.b);
      }
      // B: the staged tile, or with wBits the one dequantized f16 tile.
      Value aBase = e.add(stager.aOffset(stage), e.mul(warpRow, atom.stride));
      Value bTile = s.wBits ? e.cst(fOff) : stager.bOffset(stage);
      Value bBase = e.add(bTile, e.mul(warpCol, atom.stride));
      atom.multiply(smem, aBase, bBase, stager.tileKBytes, acc);
      scf::YieldOp::create(e.b, acc);
    }
    return SmallVector<Value>(loop.getResults());
  }
};

/// The fused epilogue shared by the GEMMs. `rowScale(row)` returns the
/// activation scale of a (clamped) row or null; `colScale(col)` the weight
/// scale of a (clamped) column or null. `residual` (or null): an [M, N]
/// tensor of `outTy` added last, y = r + (acc * scales + bias), the residual
/// add of a decoder block (read at the clamped row and column, like the
/// bias; only in-range elements are stored).
void emitEpilogue(Emitter &e, MmaSyncAtom &atom, const WarpTileOrigin &at,
                  ArrayRef<Value> acc, Value y, Value bias, bool hasBias,
                  Type outTy, function_ref<Value(Value)> rowScale,
                  function_ref<Value(Value)> colScale,
                  Value residual = Value()) {
  ImplicitLocOpBuilder &b = e.b;
  Value g = atom.laneRow();
  Value t2 = atom.laneCol();
  Value mLast = arith::SubIOp::create(b, at.m, e.cst(1));
  Value nLast = e.cst(at.n - 1);
  // Row scales of the 2 * MI rows this thread owns.
  SmallVector<Value> rows, rs, rowBase;
  for (int64_t i = 0; i < atom.mi; ++i)
    for (int64_t h = 0; h < 2; ++h) {
      Value row = e.add(at.row0, atom.rowOffset(i, h));
      rows.push_back(e.add(row, g));
      Value clamped = e.umin(rows.back(), mLast);
      rs.push_back(rowScale(clamped));
      if (residual)
        rowBase.push_back(e.mul(clamped, at.n));
    }
  for (int64_t j = 0; j < atom.nj; ++j) {
    Value col = e.add(e.add(at.col0, atom.colOffset(j)), t2);
    std::array<Value, 2> cs, bs;
    for (int64_t d = 0; d < 2; ++d) {
      Value c = e.umin(e.add(col, d), nLast);
      cs[d] = colScale(c);
      if (hasBias)
        bs[d] = e.loadF32(bias, outTy, c);
    }
    for (int64_t i = 0; i < atom.mi; ++i)
      for (int64_t h = 0; h < 2; ++h) {
        std::array<Value, 2> v;
        for (int64_t d = 0; d < 2; ++d) {
          Value a = acc[atom.accIndex(i, j, h, d)];
          if (a.getType() != e.f32)
            a = arith::SIToFPOp::create(b, e.f32, a);
          if (Value r = rs[i * 2 + h])
            a = arith::MulFOp::create(b, a, r);
          if (cs[d])
            a = arith::MulFOp::create(b, a, cs[d]);
          if (hasBias)
            a = arith::AddFOp::create(b, a, bs[d]);
          if (residual) {
            Value c = e.umin(e.add(col, d), nLast);
            a = arith::AddFOp::create(
                b, a, e.loadF32(residual, outTy, e.add(rowBase[i * 2 + h], c)));
          }
          v[d] = a;
        }
        storePair(e, y, outTy, at.n, rows[i * 2 + h], col, at.m, v);
      }
  }
}
} // namespace

gpu::GPUFuncOp qc::buildInt8GemmKernel(OpBuilder &builder, Location loc,
                                       StringRef name,
                                       const Int8GemmKernelConfig &cfg) {
  if (cfg.wgmma)
    return qc::detail::buildInt8WgmmaGemmKernel(builder, loc, name, cfg);
  std::string smemName =
      declareShared(builder, loc, name, cfg.tile.sharedBytes(1));
  auto ptrTy = LLVM::LLVMPointerType::get(builder.getContext(), 1);
  auto func = createKernelFunc(
      builder, loc, name,
      {ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, builder.getI32Type()},
      cfg.tile.blockSize());
  ImplicitLocOpBuilder b(loc, builder);
  b.setInsertionPointToStart(&func.getBody().front());
  Emitter e(b);
  auto args = func.getArguments();
  Value qx = args[0], sx = args[1], w = args[2], sw = args[3], bias = args[4],
        y = args[5], m = args[6];

  MmaGemmSpec spec{cfg.tile, cfg.n, cfg.k, /*elemBytes=*/1};
  MmaMainLoop ml(e, spec);
  SmallVector<Value> acc = ml.emit(qx, w, m, smemName);

  Type swTy = cfg.weightScaleF16 ? e.f16 : e.f32;
  Value sx0 = cfg.perTokenAct ? Value() : e.loadF32(sx, e.f32, e.cst(0));
  Value sw0 = cfg.perTensorWeight ? e.loadF32(sw, swTy, e.cst(0)) : Value();
  // One scale in all: fold both into the row factor.
  Value both;
  if (sx0 && sw0)
    both = arith::MulFOp::create(b, sx0, sw0);
  emitEpilogue(
      e, ml.atom, ml.origin(), acc, y, bias, cfg.hasBias,
      cfg.outF16 ? e.f16 : e.f32,
      [&](Value row) -> Value {
        if (both)
          return both;
        return cfg.perTokenAct ? e.loadF32(sx, e.f32, row) : sx0;
      },
      [&](Value col) -> Value {
        if (both)
          return Value();
        return cfg.perTensorWeight ? sw0 : e.loadF32(sw, swTy, col);
      });
  gpu::ReturnOp::create(b);
  return func;
}

gpu::GPUFuncOp qc::buildFp16GemmKernel(OpBuilder &builder, Location loc,
                                       StringRef name,
                                       const Fp16GemmKernelConfig &cfg) {
  if (cfg.wgmma)
    return qc::detail::buildFp16WgmmaGemmKernel(builder, loc, name, cfg);
  std::string smemName =
      declareShared(builder, loc, name, cfg.tile.sharedBytes(2));
  auto ptrTy = LLVM::LLVMPointerType::get(builder.getContext(), 1);
  auto func = createKernelFunc(
      builder, loc, name, {ptrTy, ptrTy, ptrTy, ptrTy, builder.getI32Type()},
      cfg.tile.blockSize());
  ImplicitLocOpBuilder b(loc, builder);
  b.setInsertionPointToStart(&func.getBody().front());
  Emitter e(b);
  auto args = func.getArguments();
  Value x = args[0], w = args[1], bias = args[2], y = args[3], m = args[4];

  MmaGemmSpec spec{cfg.tile, cfg.n, cfg.k, /*elemBytes=*/2};
  MmaMainLoop ml(e, spec);
  SmallVector<Value> acc = ml.emit(x, w, m, smemName);
  emitEpilogue(
      e, ml.atom, ml.origin(), acc, y, bias, cfg.hasBias,
      cfg.outF16 ? e.f16 : e.f32, [](Value) { return Value(); },
      [](Value) { return Value(); });
  gpu::ReturnOp::create(b);
  return func;
}

gpu::GPUFuncOp
qc::buildWeightOnlyMmaKernel(OpBuilder &builder, Location loc, StringRef name,
                             const WeightOnlyMmaKernelConfig &cfg) {
  std::string smemName = declareShared(builder, loc, name, cfg.sharedBytes());
  auto ptrTy = LLVM::LLVMPointerType::get(builder.getContext(), 1);
  SmallVector<Type> argTypes = {
      ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, builder.getI32Type()};
  if (cfg.hasResidual)
    argTypes.push_back(ptrTy);
  auto func =
      createKernelFunc(builder, loc, name, argTypes, cfg.tile.blockSize());
  ImplicitLocOpBuilder b(loc, builder);
  b.setInsertionPointToStart(&func.getBody().front());
  Emitter e(b);
  auto args = func.getArguments();
  Value x = args[0], w = args[1], scales = args[2], zeros = args[3],
        bias = args[4], y = args[5], m = args[6];
  Value residual = cfg.hasResidual ? args[7] : Value();

  MmaGemmSpec spec{cfg.tile, cfg.n, cfg.k, /*elemBytes=*/2, cfg.bits};
  MmaMainLoop ml(e, spec);
  const qc::MmaTileConfig &t = cfg.tile;
  const int64_t numGroups = cfg.k / cfg.groupSize;
  const int64_t chunksPerRow = t.blockK / 8, total = t.blockN * chunksPerRow;
  const int64_t threads = t.blockSize(), rawChunk = 8 * cfg.bits / 8;
  Type scaleTy = cfg.scaleF16 ? e.f16 : e.f32;
  // f32 path: (q - z) * s in f32, rounded to f16 once.
  auto dequantFloat = [&](Value rawAddr, Value sIdx) -> Value {
    Value sc = e.loadF32(scales, scaleTy, sIdx);
    Value z;
    if (!cfg.symmetric) {
      Value zb = e.load(e.i8, e.gep(zeros, e.i8, sIdx), 1);
      z = arith::UIToFPOp::create(b, e.f32,
                                  arith::ExtUIOp::create(b, e.i32, zb));
    }
    SmallVector<Value> words;
    if (cfg.bits == 8) {
      Value v = e.load(VectorType::get({2}, e.i32), rawAddr, 8);
      for (int64_t j = 0; j < 2; ++j)
        words.push_back(LLVM::ExtractElementOp::create(b, v, e.cst(j)));
    } else {
      words.push_back(e.load(e.i32, rawAddr, 4));
    }
    int64_t perWord = 32 / cfg.bits;
    Value vec = LLVM::UndefOp::create(b, VectorType::get({8}, e.f16));
    for (int64_t wi = 0; wi < (int64_t)words.size(); ++wi)
      for (int64_t j = 0; j < perWord; ++j) {
        Value q;
        if (cfg.symmetric) {
          Value hi = arith::ShLIOp::create(b, words[wi],
                                           e.cst(32 - cfg.bits * (j + 1)));
          q = arith::ShRSIOp::create(b, hi, e.cst(32 - cfg.bits));
        } else {
          Value lo = arith::ShRUIOp::create(b, words[wi], e.cst(cfg.bits * j));
          q = arith::AndIOp::create(b, lo, e.cst((1 << cfg.bits) - 1));
        }
        Value v = arith::SIToFPOp::create(b, e.f32, q);
        if (z)
          v = arith::SubFOp::create(b, v, z);
        v = arith::MulFOp::create(b, v, sc);
        vec = LLVM::InsertElementOp::create(
            b, vec, arith::TruncFOp::create(b, e.f16, v),
            e.cst(wi * perWord + j));
      }
    return vec;
  };
  // f16x2 path (f16 scales): HalfDequant, then back to k order.
  HalfDequant hd(e, cfg.bits, cfg.symmetric);
  auto dequantHalf = [&](Value rawAddr, Value sIdx) -> Value {
    auto [sc, zSub] = hd.params(scales, zeros, sIdx);
    SmallVector<Value> words;
    if (cfg.bits == 8) {
      Value v = e.load(VectorType::get({2}, e.i32), rawAddr, 8);
      for (int64_t j = 0; j < 2; ++j)
        words.push_back(LLVM::ExtractElementOp::create(b, v, e.cst(j)));
    } else {
      words.push_back(e.load(e.i32, rawAddr, 4));
    }
    const int64_t pairsPerWord = cfg.bits == 4 ? 4 : 2;
    SmallVector<Value> pairs;
    for (Value word : words) {
      word = hd.unsignedWord(word);
      for (int64_t j = 0; j < pairsPerWord; ++j)
        pairs.push_back(hd.pair(word, cfg.bits * j, zSub, sc));
    }
    // Back to k order with shuffles (byte permutes).
    auto cat = [&](Value lo, Value hi, ArrayRef<int32_t> mask) -> Value {
      return LLVM::ShuffleVectorOp::create(b, lo, hi, mask);
    };
    if (cfg.bits == 4) {
      // pairs: (0,4) (1,5) (2,6) (3,7).
      Value a = cat(pairs[0], pairs[1], {0, 1, 2, 3});
      Value c = cat(pairs[2], pairs[3], {0, 1, 2, 3});
      return cat(a, c, {0, 2, 4, 6, 1, 3, 5, 7});
    }
    // pairs: (0,2) (1,3) (4,6) (5,7).
    Value a = cat(pairs[0], pairs[1], {0, 1, 2, 3});
    Value c = cat(pairs[2], pairs[3], {0, 1, 2, 3});
    return cat(a, c, {0, 2, 1, 3, 4, 6, 5, 7});
  };
  const bool halfDequant = cfg.halfDequant && cfg.scaleF16;
  ml.dequant = [&](Value kt, Value stage) {
    Value rawBase = ml.stager.bOffset(stage);
    for (int64_t i = 0; i * threads < total; ++i) {
      Value c = e.add(ml.tid, i * threads);
      std::optional<OpBuilder::InsertionGuard> guard;
      if ((i + 1) * threads > total) {
        auto ifIn = scf::IfOp::create(b, e.ult(c, total), false);
        guard.emplace(b);
        b.setInsertionPointToStart(ifIn.thenBlock());
      }
      Value r = e.udiv(c, chunksPerRow);
      Value cc = e.urem(c, chunksPerRow);
      // Scale (and zero point) of this chunk's group; rows past N and K
      // chunks past K read clamped (finite) parameters: their raw bytes are
      // zero and the matching activations too.
      Value nRow = e.umin(e.add(ml.n0, r), e.cst(cfg.n - 1));
      Value kIdx = e.add(e.mul(kt, t.blockK), e.mul(cc, 8));
      Value sIdx = e.cst(0);
      if (!cfg.perTensor) {
        Value g = e.umin(e.udiv(kIdx, cfg.groupSize), e.cst(numGroups - 1));
        sIdx = e.add(e.mul(nRow, numGroups), g);
      }
      // 8 packed values: 8 bytes (INT8) or 4 bytes (INT4).
      Value rawAddr =
          e.byteGep(ml.smem, e.add(rawBase, e.add(e.mul(r, ml.stager.wStride),
                                                  e.mul(cc, rawChunk))));
      Value dst = e.byteGep(
          ml.smem, e.add(e.cst(ml.fOff),
                         e.add(e.mul(r, ml.atom.stride), e.mul(cc, 16))));
      LLVM::StoreOp::create(b,
                            halfDequant ? dequantHalf(rawAddr, sIdx)
                                        : dequantFloat(rawAddr, sIdx),
                            dst, 16);
    }
  };
  SmallVector<Value> acc = ml.emit(x, w, m, smemName);
  emitEpilogue(
      e, ml.atom, ml.origin(), acc, y, bias, cfg.hasBias, e.f16,
      [](Value) { return Value(); }, [](Value) { return Value(); }, residual);
  gpu::ReturnOp::create(b);
  return func;
}

//===----------------------------------------------------------------------===//
// The frag family: weights in mma fragment order, straight to registers
//===----------------------------------------------------------------------===//

namespace {

/// The warps of a CTA add their f32 accumulators `acc` through the shared
/// memory `smem`: warp w > 0 writes slot [w - 1][a][lane], a barrier, and
/// warp 0 adds them in warp order (deterministic). Leaves the builder inside
/// warp 0's branch, `acc` holding the sums there.
void sumWarpsIntoWarp0(Emitter &e, Value smem, MutableArrayRef<Value> acc,
                       Value warp, Value lane, int64_t warps) {
  ImplicitLocOpBuilder &b = e.b;
  const int64_t numAcc = acc.size();
  auto slot = [&](Value wIdx, int64_t a) {
    return e.add(e.mul(e.add(e.mul(wIdx, numAcc), e.cst(a)), 32), lane);
  };
  if (warps > 1) {
    Value notWarp0 =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ne, warp, e.cst(0));
    auto ifStore = scf::IfOp::create(b, notWarp0, false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifStore.thenBlock());
      Value wIdx = arith::SubIOp::create(b, warp, e.cst(1));
      for (int64_t a = 0; a < numAcc; ++a)
        LLVM::StoreOp::create(b, acc[a], e.gep(smem, e.f32, slot(wIdx, a)), 4);
    }
    NVVM::Barrier0Op::create(b);
  }
  Value isWarp0 =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, warp, e.cst(0));
  auto ifWarp0 = scf::IfOp::create(b, isWarp0, false);
  b.setInsertionPointToStart(ifWarp0.thenBlock());
  for (int64_t a = 0; a < numAcc; ++a)
    for (int64_t wi = 0; wi < warps - 1; ++wi)
      acc[a] = arith::AddFOp::create(
          b, acc[a], e.load(e.f32, e.gep(smem, e.f32, slot(e.cst(wi), a)), 4));
}

/// Split-K through a thread-block cluster
/// (WeightOnlyFragKernelConfig::clusterSplit). Called inside warp 0's branch
/// of sumWarpsIntoWarp0 with the CTA's sums in `acc`; `epilogue(acc)` emits
/// the final stores. With one split (the launch without a cluster) warp 0
/// runs the epilogue directly. Otherwise (`clusterSize` splits) warp 0
/// stores its sums into the free slot [warps - 1] of `smem`, every thread of
/// the cluster meets at a cluster barrier (release / acquire), and split 0's
/// warp 0 loads every split's slots at once (mapa to their shared memory,
/// ld.shared::cluster), adds them in split order (deterministic) and runs
/// the epilogue; a second
/// cluster barrier keeps every CTA, and so its shared memory, alive until
/// then. Leaves the builder after these, outside warp 0's branch.
void sumSplitsThroughCluster(Emitter &e, Value smem, ArrayRef<Value> acc,
                             Value warp, Value lane, Value split, Value splits,
                             int64_t warps, int64_t clusterSize,
                             function_ref<void(ArrayRef<Value>)> epilogue) {
  ImplicitLocOpBuilder &b = e.b;
  const int64_t numAcc = acc.size();
  Operation *ifWarp0 = b.getInsertionBlock()->getParentOp();
  auto slot = [&](int64_t a) {
    return e.gep(smem, e.f32,
                 e.add(e.mul(e.cst((warps - 1) * numAcc + a), 32), lane));
  };
  Value single =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, splits, e.cst(1));
  auto ifSingle = scf::IfOp::create(b, single, true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifSingle.thenBlock());
    epilogue(acc);
    b.setInsertionPointToStart(ifSingle.elseBlock());
    for (int64_t a = 0; a < numAcc; ++a)
      LLVM::StoreOp::create(b, acc[a], slot(a), 4);
  }
  b.setInsertionPointAfter(ifWarp0);
  // Uniform over the grid: every thread of a cluster takes it or none does.
  Value several =
      arith::CmpIOp::create(b, arith::CmpIPredicate::ne, splits, e.cst(1));
  auto ifSplit = scf::IfOp::create(b, several, false);
  b.setInsertionPointToStart(ifSplit.thenBlock());
  NVVM::ClusterArriveOp::create(b, UnitAttr());
  NVVM::ClusterWaitOp::create(b, UnitAttr());
  {
    OpBuilder::InsertionGuard guard(b);
    Value first = arith::AndIOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, warp, e.cst(0)),
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, split, e.cst(0)));
    auto ifFirst = scf::IfOp::create(b, first, false);
    b.setInsertionPointToStart(ifFirst.thenBlock());
    auto ptr7 = LLVM::LLVMPointerType::get(e.ctx, 7);
    // Every split's sums are loaded before the first add (the cluster has
    // `clusterSize` CTAs: one round trip of DSMEM latency), then added in
    // split order.
    SmallVector<Value> slots(numAcc);
    for (int64_t a = 0; a < numAcc; ++a)
      slots[a] = slot(a);
    SmallVector<SmallVector<Value>> parts(clusterSize);
    for (int64_t r = 0; r < clusterSize; ++r)
      for (int64_t a = 0; a < numAcc; ++a)
        parts[r].push_back(e.load(
            e.f32,
            r ? NVVM::MapaOp::create(b, ptr7, slots[a], e.cst(r)).getResult()
              : slots[a],
            4));
    SmallVector<Value> sum(parts[0]);
    for (int64_t r = 1; r < clusterSize; ++r)
      for (int64_t a = 0; a < numAcc; ++a)
        sum[a] = arith::AddFOp::create(b, sum[a], parts[r][a]);
    epilogue(sum);
  }
  NVVM::ClusterArriveOp::create(b, UnitAttr());
  NVVM::ClusterWaitOp::create(b, UnitAttr());
  b.setInsertionPointAfter(ifSplit);
}

/// What the frag kernel's dot path shares with the tensor-core path: the
/// kernel arguments, the lane's place and the CTA's share of the work.
struct FragDotContext {
  Value x, y, bias, m, ws, residual, smem;
  Value lane, warp, m0, split, splits, uEnd, nSteps;
};

/// The main loop, reductions and epilogue of the frag kernel's dot path
/// (WeightOnlyFragKernelConfig::dotPath, M tiles of 1..8 rows). Per step
/// each warp multiplies its `stepUnits` units: lane l holds, per channel
/// block, the B fragments of channels g and g + 8 at the K pairs
/// 16 s + 2 (l % 4) + 8 r, so it loads the same K pairs of its rows' own
/// activations (4-byte ld.global.nc) and accumulates the dequantized pairs
/// times them with fma.rn.f16x2 into one f16x2 per row, channel and unit,
/// widened into an f32 accumulator. Units past the CTA's range read clamped
/// weights and zero activations. No barrier until the end: the 4 lanes of
/// a channel add by butterfly shuffles, the warps through shared memory (in
/// warp order), and warp 0 stores (S = 1: bias, residual, f16; S > 1: f32
/// partial sums into ws[split]).
void emitFragDotPath(Emitter &e, const qc::WeightOnlyFragKernelConfig &cfg,
                     const FragDotContext &c, FragWeightStream &wts) {
  ImplicitLocOpBuilder &b = e.b;
  const int64_t rows = cfg.mTile, nB = cfg.nBlocks;
  const int64_t unitK = cfg.unitK(), units = cfg.units();
  const int64_t steps = unitK / 16, numAcc = cfg.numAcc();
  auto h2 = VectorType::get({2}, e.f16);
  auto accIndex = [&](int64_t i, int64_t blk, int64_t tile) {
    return (i * nB + blk) * 2 + tile;
  };
  Value q = e.urem(c.lane, 4);
  // Element offsets of the tile's rows in x (rows past M read row M - 1:
  // finite values, never stored).
  Value mLast = arith::SubIOp::create(b, c.m, e.cst(1));
  SmallVector<Value> xRow(rows);
  for (int64_t i = 0; i < rows; ++i)
    xRow[i] = e.mul(e.umin(e.add(c.m0, i), mLast), cfg.k);
  Value zeroPair = arith::ConstantOp::create(
      b, h2, DenseElementsAttr::get(h2, b.getF16FloatAttr(0.0)));

  SmallVector<Value> init(
      numAcc, arith::ConstantOp::create(b, e.f32, b.getF32FloatAttr(0.0)));
  SmallVector<Value> first = wts.prologue();
  init.append(first.begin(), first.end());
  auto loop = scf::ForOp::create(b, e.cst(0), c.nSteps, e.cst(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value step = loop.getInductionVar();
    SmallVector<Value> acc(loop.getRegionIterArgs().take_front(numAcc));
    SmallVector<Value> inFlight(loop.getRegionIterArgs().drop_front(numAcc));
    Value u0 = e.add(wts.warpFirst, e.mul(step, wts.stepUnits()));
    SmallVector<Value> ahead = wts.loadAhead(u0);
    for (int64_t uj = 0; uj < cfg.stepUnits; ++uj) {
      ArrayRef<Value> cur = ArrayRef<Value>(inFlight).slice(uj * nB, nB);
      Value uRaw = e.add(u0, uj);
      Value valid = e.ult(uRaw, c.uEnd);
      Value uc = e.umin(uRaw, e.cst(units - 1));
      // The lane's activation pairs of this unit: [row][step][r].
      Value kLane = e.add(e.mul(uc, unitK), e.mul(q, 2));
      SmallVector<Value> xp(rows * steps * 2);
      for (int64_t i = 0; i < rows; ++i) {
        // One address per row; the pairs are constant offsets from it.
        Value base = e.gep(c.x, e.f16, e.add(xRow[i], kLane));
        for (int64_t s = 0; s < steps; ++s)
          for (int64_t r = 0; r < 2; ++r) {
            Value addr = LLVM::GEPOp::create(
                b, base.getType(), e.f16, base,
                ArrayRef<LLVM::GEPArg>{int32_t(16 * s + 8 * r)});
            auto ld = LLVM::LoadOp::create(b, h2, addr, 4);
            ld.setInvariant(true);
            xp[(i * steps + s) * 2 + r] = e.select(valid, ld, zeroPair);
          }
      }
      SmallVector<Value> words = wts.words(cur);
      SmallVector<std::pair<Value, Value>> params(2 * nB);
      SmallVector<Value> part(numAcc);
      for (int64_t s = 0; s < steps; ++s) {
        wts.paramsAt(uc, s, params);
        for (int64_t blk = 0; blk < nB; ++blk)
          for (int64_t tile = 0; tile < 2; ++tile)
            for (int64_t r = 0; r < 2; ++r) {
              Value wv =
                  wts.pair(words, blk, tile, s, r, params[blk * 2 + tile]);
              for (int64_t i = 0; i < rows; ++i) {
                // mul + add with `contract`: fma.rn.f16x2 (the GEMV's form).
                Value prod =
                    arith::MulFOp::create(b, wv, xp[(i * steps + s) * 2 + r],
                                          arith::FastMathFlags::contract);
                Value &p = part[accIndex(i, blk, tile)];
                p = p ? arith::AddFOp::create(b, p, prod,
                                              arith::FastMathFlags::contract)
                            .getResult()
                      : prod;
              }
            }
      }
      for (int64_t a = 0; a < numAcc; ++a) {
        Value lo = arith::ExtFOp::create(
            b, e.f32,
            LLVM::ExtractElementOp::create(b, part[a], e.cst(0)).getResult());
        Value hi = arith::ExtFOp::create(
            b, e.f32,
            LLVM::ExtractElementOp::create(b, part[a], e.cst(1)).getResult());
        acc[a] =
            arith::AddFOp::create(b, acc[a], arith::AddFOp::create(b, lo, hi));
      }
    }
    wts.advance(acc, inFlight, ahead);
    scf::YieldOp::create(b, acc);
  }
  SmallVector<Value> acc(loop.getResults().take_front(numAcc));

  // The 4 lanes of a channel (l % 4) add by butterfly shuffles.
  for (Value &a : acc)
    for (int64_t off : {1, 2}) {
      Value other = NVVM::ShflOp::create(
          b, e.f32, e.cst(-1), a, e.cst(off), e.cst(0x1f),
          NVVM::ShflKindAttr::get(e.ctx, NVVM::ShflKind::bfly), UnitAttr());
      a = arith::AddFOp::create(b, a, other);
    }
  OpBuilder::InsertionGuard guard(b);
  sumWarpsIntoWarp0(e, c.smem, acc, c.warp, c.lane, cfg.warpsK);
  // Every lane of a channel holds its sum; lane q stores the 8-channel
  // tiles j = 2 blk + tile with j % 4 == q. `one` (S == 1) picks between
  // the result and the f32 partial sum into ws[split]; null: the result.
  auto emitStores = [&](ArrayRef<Value> sums, Value one) {
    Value wsSlice =
        one ? e.gep(c.ws, e.f32, e.mul(e.mul(c.split, c.m), cfg.n)) : Value();
    for (int64_t blk = 0; blk < nB; ++blk)
      for (int64_t tile = 0; tile < 2; ++tile) {
        int64_t j = blk * 2 + tile;
        Value col = e.add(wts.n0, e.add(wts.g, blk * 16 + tile * 8));
        Value mine =
            arith::CmpIOp::create(b, arith::CmpIPredicate::eq, q, e.cst(j % 4));
        auto ifMine = scf::IfOp::create(b, mine, false);
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(ifMine.thenBlock());
        Value bias = cfg.hasBias ? e.loadF32(c.bias, e.f16, col) : Value();
        for (int64_t i = 0; i < rows; ++i) {
          Value row = e.add(c.m0, i);
          auto ifRow = scf::IfOp::create(b, e.ult(row, c.m), false);
          OpBuilder::InsertionGuard g3(b);
          b.setInsertionPointToStart(ifRow.thenBlock());
          Value idx = e.add(e.mul(row, cfg.n), col);
          Value v = sums[accIndex(i, blk, tile)];
          scf::IfOp ifOne;
          if (one) {
            ifOne = scf::IfOp::create(b, one, true);
            b.setInsertionPointToStart(ifOne.thenBlock());
          }
          Value out = v;
          if (bias)
            out = arith::AddFOp::create(b, out, bias);
          if (c.residual)
            out = arith::AddFOp::create(b, out,
                                        e.loadF32(c.residual, e.f16, idx));
          LLVM::StoreOp::create(b, arith::TruncFOp::create(b, e.f16, out),
                                e.gep(c.y, e.f16, idx), 2);
          if (!one)
            continue;
          // S > 1: the f32 partial sum; the reduction kernel adds bias and
          // residual.
          b.setInsertionPointToStart(ifOne.elseBlock());
          LLVM::StoreOp::create(b, v, e.gep(wsSlice, e.f32, idx), 4);
        }
      }
  };
  if (cfg.clusterSplit)
    sumSplitsThroughCluster(
        e, c.smem, acc, c.warp, c.lane, c.split, c.splits, cfg.warpsK,
        cfg.clusterSplit,
        [&](ArrayRef<Value> sums) { emitStores(sums, Value()); });
  else
    emitStores(acc, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, c.splits,
                                          e.cst(1)));
}
} // namespace

gpu::GPUFuncOp
qc::buildWeightOnlyFragKernel(OpBuilder &builder, Location loc, StringRef name,
                              const WeightOnlyFragKernelConfig &cfg) {
  std::string smemName = declareShared(builder, loc, name, cfg.sharedBytes());
  auto ptrTy = LLVM::LLVMPointerType::get(builder.getContext(), 1);
  SmallVector<Type> argTypes = {
      ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, builder.getI32Type()};
  argTypes.push_back(ptrTy);
  if (cfg.hasResidual)
    argTypes.push_back(ptrTy);
  auto func = createKernelFunc(builder, loc, name, argTypes, cfg.blockSize());
  ImplicitLocOpBuilder b(loc, builder);
  b.setInsertionPointToStart(&func.getBody().front());
  Emitter e(b);
  auto args = func.getArguments();
  Value x = args[0], w = args[1], scales = args[2], zeros = args[3],
        bias = args[4], y = args[5], m = args[6], ws = args[7];
  Value residual = cfg.hasResidual ? args[8] : Value();

  const int64_t nB = cfg.nBlocks, mi = cfg.mTile / 16;
  const int64_t unitK = cfg.unitK(), units = cfg.units();
  const int64_t steps = unitK / 16, threads = cfg.blockSize();
  const int64_t aStride = cfg.aStride(), aStage = cfg.mTile * aStride;
  auto h2 = VectorType::get({2}, e.f16);

  Value smem = LLVM::AddressOfOp::create(b, e.ptr3, smemName);
  Value tid = e.toI32(gpu::ThreadIdOp::create(b, gpu::Dimension::x));
  Value lane = arith::AndIOp::create(b, tid, e.cst(31));
  Value warp = arith::ShRUIOp::create(b, tid, e.cst(5));

  // Which channels, rows and K units this CTA owns: S = gridDim.x / channel
  // tiles splits each channel tile's units into S contiguous ranges.
  Value bx = e.toI32(gpu::BlockIdOp::create(b, gpu::Dimension::x));
  Value gx = e.toI32(gpu::GridDimOp::create(b, gpu::Dimension::x));
  Value splits = e.udiv(gx, cfg.channelTiles());
  Value nTile = arith::DivUIOp::create(b, bx, splits);
  Value split = arith::RemUIOp::create(b, bx, splits);
  Value n0 = e.mul(nTile, 16 * nB);
  Value m0 =
      e.mul(e.toI32(gpu::BlockIdOp::create(b, gpu::Dimension::y)), cfg.mTile);
  Value perSplit = arith::DivUIOp::create(
      b, e.add(e.cst(units), arith::SubIOp::create(b, splits, e.cst(1))),
      splits);
  Value uBeg = e.umin(e.mul(split, perSplit), e.cst(units));
  Value uEnd = e.umin(e.add(uBeg, perSplit), e.cst(units));
  // A step covers W x su units: warp w takes units w su .. w su + su - 1.
  const int64_t su = cfg.stepUnits, stepUnits = cfg.warpsK * su;
  Value nSteps =
      e.udiv(e.add(arith::SubIOp::create(b, uEnd, uBeg), e.cst(stepUnits - 1)),
             stepUnits);
  Value warpFirst = e.add(uBeg, e.mul(warp, su));
  FragWeightStream wts(e, cfg, w, scales, zeros, lane, nTile, n0, warpFirst);

  // Before the wait for the previous kernel (dependent launch): thread 0 of
  // the first M tile's CTA prefetches the CTA's units of each channel block
  // (contiguous, 512 bytes each) into L2.
  if (cfg.l2Prefetch) {
    Value by = e.toI32(gpu::BlockIdOp::create(b, gpu::Dimension::y));
    Value first = arith::AndIOp::create(
        b, arith::AndIOp::create(b, e.ult(tid, e.cst(1)), e.ult(by, e.cst(1))),
        e.ult(uBeg, uEnd));
    auto ifFirst = scf::IfOp::create(b, first, false);
    ifFirst->setAttr(::qc::kWaitAfterAttrName, b.getUnitAttr());
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(ifFirst.thenBlock());
    Value bytes = e.mul(arith::SubIOp::create(b, uEnd, uBeg), 512);
    for (int64_t blk = 0; blk < nB; ++blk) {
      Value unit = e.add(e.mul(e.add(e.mul(nTile, nB), blk), units), uBeg);
      Value addr =
          e.byteGep(w, arith::MulIOp::create(b, e.wide(unit), e.cst64(512)));
      NVVM::CpAsyncBulkPrefetchOp::create(b, addr, bytes, Value());
    }
  }

  if (cfg.dotPath()) {
    emitFragDotPath(e, cfg,
                    FragDotContext{x, y, bias, m, ws, residual, smem, lane,
                                   warp, m0, split, splits, uEnd, nSteps},
                    wts);
    gpu::ReturnOp::create(b);
    return func;
  }

  MmaSyncAtom atom(e, /*elemBytes=*/2, cfg.mTile, 16 * nB, aStride);
  atom.init(lane);
  // Activations: step c stages K units [uBeg + c W su, uBeg + (c + 1) W su)
  // of the tile's rows; bytes past the CTA's range (and rows past M) are
  // zero, so the clamped weights of a missing unit multiply zeros.
  Value kLimit = e.mul(uEnd, unitK * 2);
  auto loadA = [&](Value c, Value stage) {
    Value kBase = e.mul(e.add(uBeg, e.mul(c, stepUnits)), unitK * 2);
    copyRowsAsync(e, tid, threads, x, cfg.mTile, m0, m,
                  e.byteGep(smem, e.mul(stage, aStage)), cfg.k * 2, kBase,
                  kLimit, stepUnits * unitK * 2, aStride);
  };
  // Prologue: stages - 1 activation steps in flight (empty groups keep the
  // count cp.async.wait_group relies on).
  for (int64_t st = 0; st < cfg.stages - 1; ++st) {
    auto ifIn = scf::IfOp::create(b, e.ult(e.cst(st), nSteps), false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifIn.thenBlock());
      loadA(e.cst(st), e.cst(st));
    }
    NVVM::CpAsyncCommitGroupOp::create(b);
  }
  // The weights of the warp's first `prefetch` steps are in flight before
  // the loop; each iteration multiplies the oldest set and loads the units
  // `prefetch` steps ahead.
  SmallVector<Value> init(atom.numAcc(), atom.accZero());
  SmallVector<Value> first = wts.prologue();
  init.append(first.begin(), first.end());
  auto loop = scf::ForOp::create(b, e.cst(0), nSteps, e.cst(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value c = loop.getInductionVar();
    SmallVector<Value> acc(loop.getRegionIterArgs().take_front(atom.numAcc()));
    SmallVector<Value> inFlight(
        loop.getRegionIterArgs().drop_front(atom.numAcc()));
    NVVM::CpAsyncWaitGroupOp::create(b, cfg.stages - 2);
    NVVM::Barrier0Op::create(b);
    Value next = e.add(c, cfg.stages - 1);
    auto ifLoad = scf::IfOp::create(b, e.ult(next, nSteps), false);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(ifLoad.thenBlock());
      loadA(next, e.urem(next, cfg.stages));
    }
    NVVM::CpAsyncCommitGroupOp::create(b);
    Value u0 = e.add(warpFirst, e.mul(c, stepUnits));
    // The units `prefetch` steps ahead are in flight while these are
    // multiplied.
    SmallVector<Value> ahead = wts.loadAhead(u0);
    for (int64_t uj = 0; uj < su; ++uj) {
      ArrayRef<Value> cur = ArrayRef<Value>(inFlight).slice(uj * nB, nB);
      Value uc = e.umin(e.add(u0, uj), e.cst(units - 1));
      Value aBase = e.add(e.mul(e.urem(c, cfg.stages), aStage),
                          e.add(e.mul(warp, su * unitK * 2),
                                e.add(atom.aLaneOff, uj * unitK * 2)));
      SmallVector<std::pair<Value, Value>> params(2 * nB);
      SmallVector<Value> words = wts.words(cur);
      for (int64_t s = 0; s < steps; ++s) {
        wts.paramsAt(uc, s, params);
        SmallVector<SmallVector<Value>> a(mi);
        for (int64_t i = 0; i < mi; ++i) {
          SmallVector<Value> regs;
          atom.ldmatrixX4(
              e.byteGep(smem, e.add(aBase, i * 16 * aStride + s * 32)), regs);
          for (Value r : regs)
            a[i].push_back(LLVM::BitcastOp::create(b, h2, r));
        }
        for (int64_t blk = 0; blk < nB; ++blk)
          for (int64_t tile = 0; tile < 2; ++tile) {
            SmallVector<Value> frag;
            for (int64_t r = 0; r < 2; ++r)
              frag.push_back(
                  wts.pair(words, blk, tile, s, r, params[blk * 2 + tile]));
            int64_t j = blk * 2 + tile;
            for (int64_t i = 0; i < mi; ++i)
              atom.mma(
                  a[i], frag,
                  MutableArrayRef<Value>(&acc[atom.accIndex(i, j, 0, 0)], 4));
          }
      }
    } // units of this warp's step
    wts.advance(acc, inFlight, ahead);
    scf::YieldOp::create(b, acc);
  }
  SmallVector<Value> acc(loop.getResults().take_front(atom.numAcc()));
  NVVM::CpAsyncWaitGroupOp::create(b, 0);
  NVVM::Barrier0Op::create(b);

  // The warps' partial sums meet in shared memory (the activation stages
  // are free now); warp 0 writes the result.
  {
    OpBuilder::InsertionGuard guard(b);
    sumWarpsIntoWarp0(e, smem, acc, warp, lane, cfg.warpsK);
    WarpTileOrigin at{m0, n0, m, cfg.n};
    if (cfg.clusterSplit) {
      sumSplitsThroughCluster(e, smem, acc, warp, lane, split, splits,
                              cfg.warpsK, cfg.clusterSplit,
                              [&](ArrayRef<Value> sums) {
                                emitEpilogue(
                                    e, atom, at, sums, y, bias, cfg.hasBias,
                                    e.f16, [](Value) { return Value(); },
                                    [](Value) { return Value(); }, residual);
                              });
      gpu::ReturnOp::create(b);
      return func;
    }
    auto ifOne = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, splits, e.cst(1)),
        true);
    b.setInsertionPointToStart(ifOne.thenBlock());
    emitEpilogue(
        e, atom, at, acc, y, bias, cfg.hasBias, e.f16,
        [](Value) { return Value(); }, [](Value) { return Value(); }, residual);
    // S > 1: f32 partial sums into ws[split] (an M x N slice; rows past M
    // are dropped), added by the reduction kernel.
    b.setInsertionPointToStart(ifOne.elseBlock());
    Value wsSlice = e.gep(ws, e.f32, e.mul(e.mul(split, m), cfg.n));
    emitEpilogue(
        e, atom, at, acc, wsSlice, Value(), false, e.f32,
        [](Value) { return Value(); }, [](Value) { return Value(); });
  }
  gpu::ReturnOp::create(b);
  return func;
}

gpu::GPUFuncOp qc::buildFragReduceKernel(OpBuilder &builder, Location loc,
                                         StringRef name,
                                         const FragReduceKernelConfig &cfg) {
  auto ptrTy = LLVM::LLVMPointerType::get(builder.getContext(), 1);
  SmallVector<Type> argTypes = {ptrTy, ptrTy, ptrTy, builder.getI32Type()};
  if (cfg.hasResidual)
    argTypes.push_back(ptrTy);
  auto func = createKernelFunc(builder, loc, name, argTypes, cfg.threads);
  ImplicitLocOpBuilder b(loc, builder);
  b.setInsertionPointToStart(&func.getBody().front());
  Emitter e(b);
  auto args = func.getArguments();
  Value ws = args[0], bias = args[1], y = args[2], m = args[3];
  Value residual = cfg.hasResidual ? args[4] : Value();
  Value tid = e.toI32(gpu::ThreadIdOp::create(b, gpu::Dimension::x));
  Value col =
      e.mul(e.add(e.mul(e.toI32(gpu::BlockIdOp::create(b, gpu::Dimension::x)),
                        cfg.threads),
                  tid),
            2);
  Value row = e.toI32(gpu::BlockIdOp::create(b, gpu::Dimension::y));
  auto ifIn = scf::IfOp::create(b, e.ult(col, cfg.n), false);
  b.setInsertionPointToStart(ifIn.thenBlock());
  auto f2 = VectorType::get({2}, e.f32);
  Value idx = e.add(e.mul(row, cfg.n), col);
  Value slice = e.mul(m, cfg.n);
  // In split order: the same sum on every run.
  Value sum = e.load(f2, e.gep(ws, e.f32, idx), 8);
  for (int64_t sp = 1; sp < cfg.splits; ++sp)
    sum = arith::AddFOp::create(
        b, sum, e.load(f2, e.gep(ws, e.f32, e.add(idx, e.mul(slice, sp))), 8));
  auto h2 = VectorType::get({2}, e.f16);
  if (cfg.hasBias)
    sum = arith::AddFOp::create(
        b, sum,
        arith::ExtFOp::create(b, f2, e.load(h2, e.gep(bias, e.f16, col), 4)));
  if (residual)
    sum = arith::AddFOp::create(
        b, sum,
        arith::ExtFOp::create(b, f2,
                              e.load(h2, e.gep(residual, e.f16, idx), 4)));
  LLVM::StoreOp::create(b, arith::TruncFOp::create(b, h2, sum),
                        e.gep(y, e.f16, idx), 4);
  b.setInsertionPointAfter(ifIn);
  gpu::ReturnOp::create(b);
  return func;
}
