//===- MmaEmitter.h - Shared pieces of the tensor-core builders -*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Helpers of the kernel builders in this directory (not a public API): the
// emitter the tensor-core builders write IR with, the f16x2 dequantization
// of packed weights and the mma_frag weight stream, shared by the mma.sync
// builders (MmaKernels.cpp) and the Hopper wgmma builders
// (WgmmaKernels.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_QCTONVVM_MMAEMITTER_H
#define QC_LIB_CONVERSION_QCTONVVM_MMAEMITTER_H

#include "SharedMemory.h"

#include "qc/Kernels/KernelConfigs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <array>
#include <string>
#include <utility>

namespace qc::detail {
using namespace mlir;

/// The builder and the types the kernel bodies use.
struct Emitter {
  ImplicitLocOpBuilder &b;
  MLIRContext *ctx;
  Type i8, i32, i64, f16, f32, ptr1, ptr3;

  explicit Emitter(ImplicitLocOpBuilder &b) : b(b), ctx(b.getContext()) {
    i8 = b.getI8Type();
    i32 = b.getI32Type();
    i64 = b.getI64Type();
    f16 = b.getF16Type();
    f32 = b.getF32Type();
    ptr1 = LLVM::LLVMPointerType::get(ctx, 1);
    ptr3 = LLVM::LLVMPointerType::get(ctx, 3);
  }

  Value cst(int64_t v) { return arith::ConstantIntOp::create(b, i32, v); }
  Value cst64(int64_t v) { return arith::ConstantIntOp::create(b, i64, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value add(Value x, int64_t y) { return y ? add(x, cst(y)) : x; }
  Value mul(Value x, int64_t y) { return mul(x, cst(y)); }
  Value udiv(Value x, int64_t y) {
    return arith::DivUIOp::create(b, x, cst(y));
  }
  Value urem(Value x, int64_t y) {
    return arith::RemUIOp::create(b, x, cst(y));
  }
  Value ult(Value x, Value y) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, x, y);
  }
  Value ult(Value x, int64_t y) { return ult(x, cst(y)); }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, c, x, y);
  }
  Value umin(Value x, Value y) { return arith::MinUIOp::create(b, x, y); }
  Value wide(Value v) { return arith::ExtUIOp::create(b, i64, v); }

  /// `base` + `bytes` (i32 or i64), same address space.
  Value byteGep(Value base, Value bytes) {
    return LLVM::GEPOp::create(b, base.getType(), i8, base, ValueRange{bytes});
  }
  /// Address of element `idx` (i32, zero-extended) of `elemTy` at `base`.
  Value gep(Value base, Type elemTy, Value idx) {
    return LLVM::GEPOp::create(b, base.getType(), elemTy, base,
                               ValueRange{wide(idx)});
  }
  Value load(Type ty, Value addr, unsigned align) {
    return LLVM::LoadOp::create(b, ty, addr, align);
  }
  /// Loads a scalar of `ty` at element `idx` and widens it to f32.
  Value loadF32(Value base, Type ty, Value idx) {
    Value v = load(ty, gep(base, ty, idx), ty.getIntOrFloatBitWidth() / 8);
    return ty == f32 ? v : arith::ExtFOp::create(b, f32, v).getResult();
  }
  Value toI32(Value idx) {
    return arith::IndexCastUIOp::create(b, i32, idx).getResult();
  }
};

/// Declares `bytes` of 16-byte aligned shared memory as an addrspace(3)
/// global next to the kernel being built (at the builder's insertion point,
/// inside the gpu.module) and returns its symbol name.
inline std::string declareShared(OpBuilder &builder, Location loc,
                                 StringRef name, int64_t bytes) {
  return declareSharedArray(builder, loc, (name + "_smem").str(),
                            builder.getI8Type(), bytes);
}

/// The f16x2 magic-number dequantization of the weight-only tensor-core
/// kernels (f16 scales; GemvKernel.cpp has the GEMV's own): OR-ing a field
/// u into the mantissa of 1024 gives the f16 1024 + u exactly, one HSUB2 of
/// (1024 + z) yields u - z exactly and one HMUL2 by the scale rounds the
/// exact product once: the same f16 values as an f32 path, in about a fifth
/// of the instructions (no int->float or float->half converts). Symmetric
/// fields are first made unsigned by flipping their sign bits (u = q +
/// 2^(bits-1), z = 2^(bits-1)). A 32-bit op extracts a pair: INT4 nibbles
/// (j, j + 4), INT8 bytes (j, j + 2) of a word (`pair` at shift bits x j).
struct HalfDequant {
  Emitter &e;
  unsigned bits;
  bool symmetric;
  /// Float minima (w = q * s + m; WeightOnlyWeightConfig::floatMinimum),
  /// stored as f16 (`minimumF16`) or f32 (rounded to f16 here).
  bool floatMinimum, minimumF16;
  VectorType h2;

  HalfDequant(Emitter &e, unsigned bits, bool symmetric,
              bool floatMinimum = false, bool minimumF16 = false)
      : e(e), bits(bits), symmetric(symmetric), floatMinimum(floatMinimum),
        minimumF16(minimumF16), h2(VectorType::get({2}, e.f16)) {}

  /// f16x2 whose halves are both the 16-bit pattern `h16` (an i32).
  Value splat(Value h16) {
    Value both = arith::OrIOp::create(
        e.b, h16, arith::ShLIOp::create(e.b, h16, e.cst(16)));
    return LLVM::BitcastOp::create(e.b, h2, both);
  }
  /// The (scale, 1024 + zero point) splats at element `idx` of the f16
  /// `scales` and u8 `zeros`; with float minima (scale, minimum m) from
  /// the f16 / f32 `zeros`.
  std::pair<Value, Value> params(Value scales, Value zeros, Value idx) {
    Value sBits = arith::ExtUIOp::create(
        e.b, e.i32,
        LLVM::BitcastOp::create(e.b, e.b.getI16Type(),
                                e.load(e.f16, e.gep(scales, e.f16, idx), 2)));
    Value sc = splat(sBits);
    if (floatMinimum) {
      Value m = minimumF16 ? e.load(e.f16, e.gep(zeros, e.f16, idx), 2)
                           : arith::TruncFOp::create(
                                 e.b, e.f16,
                                 e.load(e.f32, e.gep(zeros, e.f32, idx), 4))
                                 .getResult();
      Value mBits = arith::ExtUIOp::create(
          e.b, e.i32, LLVM::BitcastOp::create(e.b, e.b.getI16Type(), m));
      return {sc, splat(mBits)};
    }
    Value z = symmetric
                  ? e.cst(int64_t(1) << (bits - 1))
                  : arith::ExtUIOp::create(
                        e.b, e.i32, e.load(e.i8, e.gep(zeros, e.i8, idx), 1))
                        .getResult();
    return {sc, splat(arith::OrIOp::create(e.b, z, e.cst(0x6400)))};
  }
  /// `word` with its fields made unsigned.
  Value unsignedWord(Value word) {
    if (!symmetric)
      return word;
    uint32_t signFlip = bits == 4 ? 0x88888888u : 0x80808080u;
    return arith::XOrIOp::create(e.b, word,
                                 e.cst(static_cast<int32_t>(signFlip)));
  }
  /// The pair at bit `shift` of an unsigned word as f16x2 (q - z) * s
  /// (`zSub` the 1024 + z splat), or with float minima q * s + m (`zSub`
  /// the minimum splat: one HFMA2 through `contract`).
  Value pair(Value word, int64_t shift, Value zSub, Value sc) {
    uint32_t pairMask = bits == 4 ? 0x000F000Fu : 0x00FF00FFu;
    Value f = shift
                  ? arith::ShRUIOp::create(e.b, word, e.cst(shift)).getResult()
                  : word;
    f = arith::AndIOp::create(e.b, f, e.cst(static_cast<int32_t>(pairMask)));
    f = arith::OrIOp::create(e.b, f, e.cst(0x64006400));
    Value h = LLVM::BitcastOp::create(e.b, h2, f);
    if (floatMinimum) {
      Value q = arith::SubFOp::create(e.b, h, splat(e.cst(0x6400)));
      Value qs =
          arith::MulFOp::create(e.b, q, sc, arith::FastMathFlags::contract);
      return arith::AddFOp::create(e.b, qs, zSub,
                                   arith::FastMathFlags::contract);
    }
    Value q = arith::SubFOp::create(e.b, h, zSub);
    return arith::MulFOp::create(e.b, q, sc);
  }
};

/// The weight side both paths of the frag kernel share: the lane's 16-byte
/// loads of mma_frag units (ld.global.nc, clamped into the weight), their
/// prefetch pipeline (`prefetch` steps of `stepUnits` units per warp in
/// flight, carried through the main loop), and the dequantization of a
/// unit's K steps (HalfDequant, the group parameters where a group starts).
struct FragWeightStream {
  Emitter &e;
  const ::qc::WeightOnlyFragKernelConfig &cfg;
  Value w, scales, zeros, lane, nTile, n0;
  /// The lane's channel row in an 8-channel tile (mma's groupID).
  Value g;
  /// The first unit of this warp's steps.
  Value warpFirst;
  HalfDequant hd;

  FragWeightStream(Emitter &e, const ::qc::WeightOnlyFragKernelConfig &cfg,
                   Value w, Value scales, Value zeros, Value lane, Value nTile,
                   Value n0, Value warpFirst)
      : e(e), cfg(cfg), w(w), scales(scales), zeros(zeros), lane(lane),
        nTile(nTile), n0(n0), g(e.udiv(lane, 4)), warpFirst(warpFirst),
        hd(e, cfg.bits, cfg.symmetric, cfg.floatMinimum, cfg.minimumF16) {}

  int64_t stepUnits() const { return cfg.warpsK * cfg.stepUnits; }
  /// Vectors per step in flight (one per unit of the warp's step and
  /// channel block).
  int64_t perStep() const { return cfg.stepUnits * cfg.nBlocks; }

  /// The lane's 16 bytes of unit `u` (clamped into the weight) of each
  /// channel block.
  SmallVector<Value> load(Value u) {
    ImplicitLocOpBuilder &b = e.b;
    auto v4i32 = VectorType::get({4}, e.i32);
    const int64_t units = cfg.units();
    SmallVector<Value> words;
    u = e.umin(u, e.cst(units - 1));
    for (int64_t blk = 0; blk < cfg.nBlocks; ++blk) {
      Value unit =
          e.add(e.mul(e.add(e.mul(nTile, cfg.nBlocks), blk), units), u);
      Value off = arith::AddIOp::create(
          b, arith::MulIOp::create(b, e.wide(unit), e.cst64(512)),
          e.wide(e.mul(lane, 16)));
      auto ld = LLVM::LoadOp::create(b, v4i32, e.byteGep(w, off), 16);
      ld.setInvariant(true);
      words.push_back(ld);
    }
    return words;
  }
  /// The units of the warp's first `prefetch` steps, loaded before the loop.
  SmallVector<Value> prologue() {
    SmallVector<Value> inFlight;
    for (int64_t d = 0; d < cfg.prefetch; ++d)
      for (int64_t j = 0; j < cfg.stepUnits; ++j) {
        SmallVector<Value> wd = load(e.add(warpFirst, d * stepUnits() + j));
        inFlight.append(wd.begin(), wd.end());
      }
    return inFlight;
  }
  /// The units `prefetch` steps ahead of the step whose first unit is `u0`.
  SmallVector<Value> loadAhead(Value u0) {
    SmallVector<Value> ahead;
    for (int64_t j = 0; j < cfg.stepUnits; ++j) {
      SmallVector<Value> wj = load(e.add(u0, cfg.prefetch * stepUnits() + j));
      ahead.append(wj.begin(), wj.end());
    }
    return ahead;
  }
  /// Appends the next iteration's in-flight set to `yield`: this step's
  /// units dropped, `ahead` added.
  void advance(SmallVector<Value> &yield, ArrayRef<Value> inFlight,
               ArrayRef<Value> ahead) const {
    yield.append(inFlight.begin() + perStep(), inFlight.end());
    yield.append(ahead.begin(), ahead.end());
  }
  /// The unsigned 32-bit words [blk * 4 + i] of one unit's vectors.
  SmallVector<Value> words(ArrayRef<Value> unit) {
    SmallVector<Value> out(cfg.nBlocks * 4);
    for (int64_t blk = 0; blk < cfg.nBlocks; ++blk)
      for (int64_t i = 0; i < 4; ++i)
        out[blk * 4 + i] = hd.unsignedWord(
            LLVM::ExtractElementOp::create(e.b, unit[blk], e.cst(i)));
    return out;
  }
  /// Which K steps of a unit start a new scale group: all of them in
  /// general, only step 0 when groups hold whole units, every groupSize / 16
  /// steps when units hold whole groups.
  bool newGroupAt(int64_t s) const {
    if (s == 0)
      return true;
    if (cfg.groupSize % cfg.unitK() == 0)
      return false;
    if (cfg.unitK() % cfg.groupSize == 0)
      return (16 * s) % cfg.groupSize == 0;
    return true;
  }
  /// Where step `s` of unit `uc` starts a group: the (scale, 1024 + zero
  /// point or minimum) splats [blk * 2 + tile] of the lane's channels at
  /// it.
  void paramsAt(Value uc, int64_t s,
                MutableArrayRef<std::pair<Value, Value>> params) {
    if (!newGroupAt(s))
      return;
    Value grp =
        e.udiv(e.add(e.mul(uc, cfg.unitK()), e.cst(16 * s)), cfg.groupSize);
    const int64_t numGroups = cfg.k / cfg.groupSize;
    for (int64_t blk = 0; blk < cfg.nBlocks; ++blk)
      for (int64_t tile = 0; tile < 2; ++tile) {
        Value row = e.add(n0, e.add(g, blk * 16 + tile * 8));
        Value idx =
            cfg.perTensor ? e.cst(0) : e.add(e.mul(row, numGroups), grp);
        params[blk * 2 + tile] = hd.params(scales, zeros, idx);
      }
  }
  /// The dequantized f16x2 B-fragment register `r` of channel block `blk`,
  /// 8-channel tile `tile`, at K step `s` (INT4: nibbles 2 tile + r (+4) of
  /// word s; INT8: bytes r (+2) of word 2 s + tile).
  Value pair(ArrayRef<Value> words, int64_t blk, int64_t tile, int64_t s,
             int64_t r, std::pair<Value, Value> param) {
    auto [sc, zSub] = param;
    return cfg.bits == 4
               ? hd.pair(words[blk * 4 + s], 4 * (2 * tile + r), zSub, sc)
               : hd.pair(words[blk * 4 + 2 * s + tile], 8 * r, zSub, sc);
  }
};

/// Stores one accumulator pair (columns col, col + 1 of `row`), predicated on
/// the bounds; two columns per store when N is even (then col < N implies
/// col + 1 < N and the pair is aligned).
inline void storePair(Emitter &e, Value y, Type outTy, int64_t n, Value row,
                      Value col, Value m, std::array<Value, 2> vals) {
  ImplicitLocOpBuilder &b = e.b;
  int64_t eb = outTy.getIntOrFloatBitWidth() / 8;
  Value rowOk = e.ult(row, m);
  for (Value &v : vals)
    if (outTy != e.f32)
      v = arith::TruncFOp::create(b, outTy, v);
  Value idx = e.add(e.mul(row, n), col);
  if (n % 2 == 0) {
    Value ok = arith::AndIOp::create(b, rowOk, e.ult(col, n));
    auto ifOk = scf::IfOp::create(b, ok, false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(ifOk.thenBlock());
    auto vt = VectorType::get({2}, outTy);
    Value vec = LLVM::UndefOp::create(b, vt);
    vec = LLVM::InsertElementOp::create(b, vec, vals[0], e.cst(0));
    vec = LLVM::InsertElementOp::create(b, vec, vals[1], e.cst(1));
    LLVM::StoreOp::create(b, vec, e.gep(y, outTy, idx), 2 * eb);
    return;
  }
  for (int64_t d = 0; d < 2; ++d) {
    Value ok = arith::AndIOp::create(b, rowOk, e.ult(e.add(col, d), n));
    auto ifOk = scf::IfOp::create(b, ok, false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(ifOk.thenBlock());
    LLVM::StoreOp::create(b, vals[d], e.gep(y, outTy, e.add(idx, d)), eb);
  }
}

/// The fp16 GEMM on Hopper (Fp16GemmKernelConfig::wgmma; WgmmaKernels.cpp):
/// buildFp16GemmKernel's arguments and launch.
gpu::GPUFuncOp buildFp16WgmmaGemmKernel(OpBuilder &builder, Location loc,
                                        StringRef name,
                                        const ::qc::Fp16GemmKernelConfig &cfg);
/// The W8A8 GEMM on Hopper (Int8GemmKernelConfig::wgmma; WgmmaKernels.cpp):
/// buildInt8GemmKernel's arguments and launch.
gpu::GPUFuncOp buildInt8WgmmaGemmKernel(OpBuilder &builder, Location loc,
                                        StringRef name,
                                        const ::qc::Int8GemmKernelConfig &cfg);

} // namespace qc::detail

#endif // QC_LIB_CONVERSION_QCTONVVM_MMAEMITTER_H
