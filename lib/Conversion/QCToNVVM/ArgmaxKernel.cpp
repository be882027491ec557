//===- ArgmaxKernel.cpp - Row argmax kernel (greedy decoding) ---*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// buildRowArgmaxKernel: the GPU form of qc.argmax, one CTA per row, a strided
// pass over the row and a (value, index) tree reduction; buildRowSampleKernel
// (qc.sample): the same pass over Gumbel-perturbed, top-k-masked scores after
// a radix select of the k-th largest logit. See KernelBuilders.h.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToNVVM/KernelBuilders.h"

#include "SharedMemory.h"
#include "qc/Dialect/QC/Utils/Sampling.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/SymbolTable.h"

#include <algorithm>
#include <cmath>

using namespace mlir;

/// The row argmax kernel, or with `sample` the row sampling kernel (the
/// argmax of its scores).
static gpu::GPUFuncOp buildRowSelect(OpBuilder &builder, Location loc,
                                     StringRef name,
                                     const qc::RowArgmaxKernelConfig &cfg,
                                     bool sample) {
  using namespace qc;
  MLIRContext *ctx = builder.getContext();
  Type i32 = builder.getI32Type(), i64 = builder.getI64Type(),
       f32 = builder.getF32Type();
  auto ptr1 = LLVM::LLVMPointerType::get(ctx, 1);
  auto ptr3 = LLVM::LLVMPointerType::get(ctx, 3);
  const int64_t numWarps = cfg.threads / 32, V = cfg.vecElems,
                vecs = cfg.vecs();
  Type ioTy = kernelElemType(builder, cfg.io);
  int64_t eb = kernelElemBytes(cfg.io);

  // Shared memory: one (value, index) pair per warp; for sampling the
  // radix select's 256-bin histogram and its (prefix, remaining k) pair.
  std::string valName, idxName, histName, selName;
  /// An addrspace(3) array `<name>_smem_<what>` (uniquified); its symbol.
  auto shared = [&](StringRef what, Type elem, int64_t count,
                    int64_t align) -> std::string {
    return qc::detail::declareSharedArray(
        builder, loc, (name + "_smem_" + what).str(), elem, count, align);
  };
  if (sample) {
    histName = shared("hist", i32, 256, 16);
    selName = shared("sel", i32, 2, 8);
  }
  if (numWarps > 1) {
    valName = shared("val", f32, numWarps, 16);
    idxName = shared("idx", i32, numWarps, 16);
  }

  auto fnType = sample ? builder.getFunctionType(
                             {ptr1, ptr1, ptr1, ptr1, ptr1, ptr1, i32}, {})
                       : builder.getFunctionType({ptr1, ptr1, i32}, {});
  auto func = gpu::GPUFuncOp::create(builder, loc, name, fnType);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                builder.getUnitAttr());
  func.setKnownBlockSizeAttr(
      builder.getDenseI32ArrayAttr({static_cast<int32_t>(cfg.threads), 1, 1}));

  ImplicitLocOpBuilder b(loc, builder);
  b.setInsertionPointToStart(&func.getBody().front());
  Value x = func.getArgument(0), out = func.getArgument(sample ? 5 : 1);
  auto cst = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, i32, v);
  };
  auto gep = [&](Value base, Type elemTy, Value idx) -> Value {
    return LLVM::GEPOp::create(b, base.getType(), elemTy, base,
                               ValueRange{idx});
  };
  auto isNaN = [&](Value v) -> Value {
    return arith::CmpFOp::create(b, arith::CmpFPredicate::UNO, v, v);
  };
  /// True when (v, i) beats (best, bi) where i may be smaller than bi: larger
  /// value, or equal value / both NaN with the smaller index, or a NaN
  /// against a number.
  auto beats = [&](Value v, Value i, Value best, Value bi) -> Value {
    Value gt = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, v, best);
    Value eq = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, v, best);
    Value vNaN = isNaN(v), bestNaN = isNaN(best);
    Value tie =
        arith::OrIOp::create(b, eq, arith::AndIOp::create(b, vNaN, bestNaN));
    Value smaller = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, i, bi);
    Value nanWins = arith::AndIOp::create(
        b, vNaN,
        arith::XOrIOp::create(
            b, bestNaN, arith::ConstantIntOp::create(b, b.getI1Type(), 1)));
    return arith::OrIOp::create(b, arith::OrIOp::create(b, gt, nanWins),
                                arith::AndIOp::create(b, tie, smaller));
  };

  Value tid = arith::IndexCastUIOp::create(
      b, i32, gpu::ThreadIdOp::create(b, gpu::Dimension::x));
  Value row = arith::IndexCastUIOp::create(
      b, i32, gpu::BlockIdOp::create(b, gpu::Dimension::x));
  // Element offset of the row start, in i64 (M * K may pass 2^31).
  Value rowBase =
      arith::MulIOp::create(b, arith::ExtUIOp::create(b, i64, row),
                            arith::ConstantIntOp::create(b, i64, cfg.k));

  auto loadF32 = [&](Value addr) -> Value {
    Value v = LLVM::LoadOp::create(b, ioTy, addr, eb);
    return v.getType() == f32 ? v : arith::ExtFOp::create(b, f32, v);
  };

  // Sampling: the parameters, tau's key (radix select) and the row hash;
  // `score(xf, col)` is what the argmax pass below maximizes.
  Value sampling, tauKey, rowHash, temp;
  if (sample) {
    namespace smp = qc::sampling;
    Location l = b.getLoc();
    temp = LLVM::LoadOp::create(b, f32, func.getArgument(1), 4);
    Value kEff = smp::effectiveK(
        b, l, LLVM::LoadOp::create(b, i64, func.getArgument(2), 8), cfg.k);
    Value seed = LLVM::LoadOp::create(b, i64, func.getArgument(3), 8);
    Value pos =
        LLVM::LoadOp::create(b, i64, gep(func.getArgument(4), i64, row), 8);
    sampling = smp::samples(b, l, temp);
    rowHash =
        smp::rowHash(b, l, seed, arith::ExtUIOp::create(b, i64, row), pos);
    Value kEff32 = arith::TruncIOp::create(b, i32, kEff);
    Value needSelect = arith::AndIOp::create(
        b, sampling,
        arith::CmpIOp::create(b, arith::CmpIPredicate::slt, kEff32,
                              cst(cfg.k)));
    // 8-bit radix select over the ordered keys, most significant digit
    // first: per pass a shared histogram of the keys that match the prefix
    // chosen so far, then thread 0 walks the bins down from 255 to the one
    // holding the k-th largest. Without top-k (or greedy) tau is key 0: every
    // element is kept.
    auto select = scf::IfOp::create(b, TypeRange{i32}, needSelect,
                                    /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(select.elseBlock());
      scf::YieldOp::create(b, ValueRange{cst(0)});
      b.setInsertionPointToStart(select.thenBlock());
      Value hist = LLVM::AddressOfOp::create(b, ptr3, histName);
      Value sel = LLVM::AddressOfOp::create(b, ptr3, selName);
      Value prefix = cst(0), kRem = kEff32, mask = cst(0);
      for (int64_t shift : {24, 16, 8, 0}) {
        auto ifZero = scf::IfOp::create(
            b,
            arith::CmpIOp::create(b, arith::CmpIPredicate::ult, tid, cst(256)),
            false);
        {
          OpBuilder::InsertionGuard g2(b);
          b.setInsertionPointToStart(ifZero.thenBlock());
          LLVM::StoreOp::create(b, cst(0), gep(hist, i32, tid), 4);
        }
        NVVM::Barrier0Op::create(b);
        auto count = scf::ForOp::create(b, tid, cst(cfg.k), cst(cfg.threads));
        {
          OpBuilder::InsertionGuard g2(b);
          b.setInsertionPointToStart(count.getBody());
          Value col = count.getInductionVar();
          Value key = smp::orderedKey(
              b, b.getLoc(),
              loadF32(
                  gep(x, ioTy,
                      arith::AddIOp::create(
                          b, rowBase, arith::ExtUIOp::create(b, i64, col)))));
          Value match = arith::CmpIOp::create(
              b, arith::CmpIPredicate::eq, arith::AndIOp::create(b, key, mask),
              prefix);
          auto ifMatch = scf::IfOp::create(b, match, false);
          b.setInsertionPointToStart(ifMatch.thenBlock());
          Value digit = arith::AndIOp::create(
              b, arith::ShRUIOp::create(b, key, cst(shift)), cst(255));
          LLVM::AtomicRMWOp::create(b, LLVM::AtomicBinOp::add,
                                    gep(hist, i32, digit), cst(1),
                                    LLVM::AtomicOrdering::monotonic);
        }
        NVVM::Barrier0Op::create(b);
        auto ifT0 = scf::IfOp::create(
            b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, cst(0)),
            false);
        {
          OpBuilder::InsertionGuard g2(b);
          b.setInsertionPointToStart(ifT0.thenBlock());
          // (count above, chosen digit, found) over d = 255 .. 0.
          auto walk = scf::ForOp::create(
              b, cst(0), cst(256), cst(1),
              ValueRange{cst(0), cst(0),
                         arith::ConstantIntOp::create(b, b.getI1Type(), 0)});
          {
            OpBuilder::InsertionGuard g3(b);
            b.setInsertionPointToStart(walk.getBody());
            Value d =
                arith::SubIOp::create(b, cst(255), walk.getInductionVar());
            Value above = walk.getRegionIterArg(0),
                  chosen = walk.getRegionIterArg(1),
                  found = walk.getRegionIterArg(2);
            Value c = LLVM::LoadOp::create(b, i32, gep(hist, i32, d), 4);
            Value withD = arith::AddIOp::create(b, above, c);
            Value hit = arith::AndIOp::create(
                b,
                arith::XOrIOp::create(
                    b, found,
                    arith::ConstantIntOp::create(b, b.getI1Type(), 1)),
                arith::CmpIOp::create(b, arith::CmpIPredicate::sge, withD,
                                      kRem));
            Value grow = arith::OrIOp::create(b, found, hit);
            scf::YieldOp::create(
                b,
                ValueRange{arith::SelectOp::create(b, grow, above, withD),
                           arith::SelectOp::create(b, hit, d, chosen), grow});
          }
          Value newPrefix = arith::OrIOp::create(
              b, prefix,
              arith::ShLIOp::create(b, walk.getResult(1), cst(shift)));
          LLVM::StoreOp::create(b, newPrefix, gep(sel, i32, cst(0)), 4);
          LLVM::StoreOp::create(
              b, arith::SubIOp::create(b, kRem, walk.getResult(0)),
              gep(sel, i32, cst(1)), 4);
        }
        NVVM::Barrier0Op::create(b);
        prefix = LLVM::LoadOp::create(b, i32, gep(sel, i32, cst(0)), 4);
        kRem = LLVM::LoadOp::create(b, i32, gep(sel, i32, cst(1)), 4);
        mask = arith::OrIOp::create(b, mask, cst(int64_t(255) << shift));
        // Nobody may zero the histogram of the next pass before everyone
        // has read this pass's selection.
        NVVM::Barrier0Op::create(b);
      }
      scf::YieldOp::create(b, ValueRange{prefix});
    }
    tauKey = select.getResult(0);
  }
  auto score = [&](Value xf, Value col) -> Value {
    if (!sample)
      return xf;
    namespace smp = qc::sampling;
    Location l = b.getLoc();
    Value s = arith::AddFOp::create(
        b, arith::DivFOp::create(b, xf, temp),
        smp::gumbel(b, l, rowHash, arith::ExtUIOp::create(b, i64, col)));
    Value kept = arith::CmpIOp::create(b, arith::CmpIPredicate::uge,
                                       smp::orderedKey(b, l, xf), tauKey);
    Value negInf = arith::ConstantFloatOp::create(
        b, cast<FloatType>(f32), APFloat::getInf(APFloat::IEEEsingle(), true));
    return arith::SelectOp::create(
        b, sampling, arith::SelectOp::create(b, kept, s, negInf), xf);
  };

  // The thread's pass: vectors tid, tid + threads, ... in increasing order,
  // so a strict '>' (or a first NaN) keeps the first maximum.
  Value negInf = arith::ConstantFloatOp::create(
      b, cast<FloatType>(f32), APFloat::getInf(APFloat::IEEEsingle(), true));
  Value idxBig = cst(cfg.k);
  auto loop = scf::ForOp::create(b, tid, cst(vecs), cst(cfg.threads),
                                 ValueRange{negInf, idxBig});
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(loop.getBody());
    Value c = loop.getInductionVar();
    Value best = loop.getRegionIterArg(0), bi = loop.getRegionIterArg(1);
    Value col = arith::MulIOp::create(b, c, cst(V));
    Value addr = gep(
        x, ioTy,
        arith::AddIOp::create(b, rowBase, arith::ExtUIOp::create(b, i64, col)));
    SmallVector<Value> xs;
    if (V == 1) {
      xs.push_back(LLVM::LoadOp::create(b, ioTy, addr, eb));
    } else {
      Value v = LLVM::LoadOp::create(b, VectorType::get({V}, ioTy), addr,
                                     std::min<int64_t>(V * eb, 16));
      for (int64_t i = 0; i < V; ++i)
        xs.push_back(LLVM::ExtractElementOp::create(b, v, cst(i)));
    }
    for (int64_t i = 0; i < V; ++i) {
      Value v = score(
          xs[i].getType() == f32 ? xs[i] : arith::ExtFOp::create(b, f32, xs[i]),
          arith::AddIOp::create(b, col, cst(i)));
      Value gt = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, v, best);
      Value nanWins = arith::AndIOp::create(
          b, isNaN(v),
          arith::XOrIOp::create(
              b, isNaN(best),
              arith::ConstantIntOp::create(b, b.getI1Type(), 1)));
      Value take = arith::OrIOp::create(b, gt, nanWins);
      best = arith::SelectOp::create(b, take, v, best);
      bi = arith::SelectOp::create(b, take,
                                   arith::AddIOp::create(b, col, cst(i)), bi);
    }
    scf::YieldOp::create(b, ValueRange{best, bi});
  }
  Value best = loop.getResult(0), bi = loop.getResult(1);

  // Warp: butterfly exchange of (value, index) pairs.
  auto shfl = [&](Type t, Value v, int64_t off) -> Value {
    return NVVM::ShflOp::create(
        b, t, cst(-1), v, cst(off), cst(0x1f),
        NVVM::ShflKindAttr::get(ctx, NVVM::ShflKind::bfly), UnitAttr());
  };
  for (int64_t off : {16, 8, 4, 2, 1}) {
    Value ov = shfl(f32, best, off), oi = shfl(i32, bi, off);
    Value take = beats(ov, oi, best, bi);
    best = arith::SelectOp::create(b, take, ov, best);
    bi = arith::SelectOp::create(b, take, oi, bi);
  }
  Value isThread0 =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, cst(0));
  Value sv, si;
  if (numWarps > 1) {
    // One pair per warp through shared memory.
    Value lane = arith::AndIOp::create(b, tid, cst(31));
    Value warp = arith::ShRUIOp::create(b, tid, cst(5));
    sv = LLVM::AddressOfOp::create(b, ptr3, valName);
    si = LLVM::AddressOfOp::create(b, ptr3, idxName);
    auto ifLane0 = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, cst(0)),
        false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(ifLane0.thenBlock());
    LLVM::StoreOp::create(b, best, gep(sv, f32, warp), 4);
    LLVM::StoreOp::create(b, bi, gep(si, i32, warp), 4);
  }
  if (numWarps > 1)
    NVVM::Barrier0Op::create(b);
  auto ifT0 = scf::IfOp::create(b, isThread0, false);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(ifT0.thenBlock());
    // Thread 0 folds the warps' pairs in warp order.
    if (numWarps > 1) {
      best = LLVM::LoadOp::create(b, f32, gep(sv, f32, cst(0)), 4);
      bi = LLVM::LoadOp::create(b, i32, gep(si, i32, cst(0)), 4);
      for (int64_t wi = 1; wi < numWarps; ++wi) {
        Value ov = LLVM::LoadOp::create(b, f32, gep(sv, f32, cst(wi)), 4);
        Value oi = LLVM::LoadOp::create(b, i32, gep(si, i32, cst(wi)), 4);
        Value take = beats(ov, oi, best, bi);
        best = arith::SelectOp::create(b, take, ov, best);
        bi = arith::SelectOp::create(b, take, oi, bi);
      }
    }
    // A row of only -inf never beat the initial pair: index K becomes 0.
    Value none = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, bi, idxBig);
    bi = arith::SelectOp::create(b, none, cst(0), bi);
    LLVM::StoreOp::create(b, arith::ExtUIOp::create(b, i64, bi),
                          gep(out, i64, row), 8);
  }
  gpu::ReturnOp::create(b);
  return func;
}

gpu::GPUFuncOp qc::buildRowArgmaxKernel(OpBuilder &builder, Location loc,
                                        StringRef name,
                                        const RowArgmaxKernelConfig &cfg) {
  return buildRowSelect(builder, loc, name, cfg, /*sample=*/false);
}

gpu::GPUFuncOp qc::buildRowSampleKernel(OpBuilder &builder, Location loc,
                                        StringRef name,
                                        const RowArgmaxKernelConfig &cfg) {
  return buildRowSelect(builder, loc, name, cfg, /*sample=*/true);
}
