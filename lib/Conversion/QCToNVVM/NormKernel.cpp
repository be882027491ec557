//===- NormKernel.cpp - RMSNorm / LayerNorm row kernel ----------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// buildRowNormKernel: the GPU form of qc.rms_norm and qc.layer_norm, one CTA
// per row, the row held in registers. See KernelBuilders.h.
//
//===----------------------------------------------------------------------===//

#include "InlinePtx.h"
#include "SharedMemory.h"
#include "qc/Conversion/QCToNVVM/KernelBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include "ActQuantEmitter.h"
#include "mlir/IR/SymbolTable.h"
#include "qc/Dialect/QC/Utils/Fp8.h"

#include <algorithm>
#include <cmath>

using namespace mlir;

using qc::detail::ptxUnaryF32;

gpu::GPUFuncOp qc::buildRowNormKernel(OpBuilder &builder, Location loc,
                                      StringRef name,
                                      const RowNormKernelConfig &cfg) {
  MLIRContext *ctx = builder.getContext();
  Type i32 = builder.getI32Type(), i64 = builder.getI64Type(),
       f32 = builder.getF32Type();
  auto ptr1 = LLVM::LLVMPointerType::get(ctx, 1);
  auto ptr3 = LLVM::LLVMPointerType::get(ctx, 3);
  const int64_t numWarps = cfg.threads / 32, V = cfg.vecElems,
                slots = cfg.slots(), vecs = cfg.vecs();
  // LayerNorm: sum, squared deviations; RMSNorm: squares; then the fused
  // quantization's max |y| (dynamic scales).
  const int sumReductions = cfg.layerNorm ? 2 : 1;
  const bool maxReduction = cfg.quantize && cfg.quantDynamic;
  const int numReductions = sumReductions + (maxReduction ? 1 : 0);
  auto typeOf = [&](KernelElem e) { return kernelElemType(builder, e); };

  // Shared memory: one f32 per warp and reduction (multi-warp rows only).
  std::string smemName;
  if (numWarps > 1)
    smemName = qc::detail::declareSharedArray(
        builder, loc, (name + "_smem").str(), f32, numReductions * numWarps);

  // (x, w, b, y, M), or with the fused quantization (x, w, b, q, scales, M).
  SmallVector<Type> argTypes(cfg.quantize ? 5 : 4, ptr1);
  argTypes.push_back(i32);
  auto fnType = builder.getFunctionType(argTypes, {});
  auto func = gpu::GPUFuncOp::create(builder, loc, name, fnType);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                builder.getUnitAttr());
  func.setKnownBlockSizeAttr(
      builder.getDenseI32ArrayAttr({static_cast<int32_t>(cfg.threads), 1, 1}));

  ImplicitLocOpBuilder b(loc, builder);
  b.setInsertionPointToStart(&func.getBody().front());
  auto args = func.getArguments();
  Value x = args[0], w = args[1], bias = args[2], y = args[3];
  Value q = cfg.quantize ? args[3] : Value(),
        scales = cfg.quantize ? args[4] : Value();

  auto cst = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, i32, v);
  };
  auto cstF = [&](float v) -> Value {
    return arith::ConstantFloatOp::create(b, cast<FloatType>(f32), APFloat(v));
  };
  auto gep = [&](Value base, Type elemTy, Value idx) -> Value {
    return LLVM::GEPOp::create(b, base.getType(), elemTy, base,
                               ValueRange{idx});
  };
  auto toF32 = [&](Value v) -> Value {
    return v.getType() == f32 ? v : arith::ExtFOp::create(b, f32, v);
  };
  /// Loads V elements of type `e` at element `idx` of `base` as f32 values.
  auto loadVec = [&](Value base, KernelElem e, Value idx) {
    Type elemTy = typeOf(e);
    int64_t eb = kernelElemBytes(e);
    Value addr = gep(base, elemTy, idx);
    SmallVector<Value> out;
    if (V == 1) {
      out.push_back(toF32(LLVM::LoadOp::create(b, elemTy, addr, eb)));
      return out;
    }
    // Rows and parameter vectors start 16-byte aligned; a wider vector (8 x
    // f32 weights beside f16 inputs) is two 16-byte loads.
    Value v = LLVM::LoadOp::create(b, VectorType::get({V}, elemTy), addr,
                                   std::min<int64_t>(V * eb, 16));
    for (int64_t i = 0; i < V; ++i)
      out.push_back(toF32(LLVM::ExtractElementOp::create(b, v, cst(i))));
    return out;
  };

  Value tid = arith::IndexCastUIOp::create(
      b, i32, gpu::ThreadIdOp::create(b, gpu::Dimension::x));
  Value row = arith::IndexCastUIOp::create(
      b, i32, gpu::BlockIdOp::create(b, gpu::Dimension::x));
  // Element offset of the row start, in i64 (M * K may pass 2^31).
  Value rowBase =
      arith::MulIOp::create(b, arith::ExtUIOp::create(b, i64, row),
                            arith::ConstantIntOp::create(b, i64, cfg.k));

  // The thread's vectors of the row: vector c = tid + s * threads (slot s)
  // holds elements [c * V, c * V + V). Out-of-row slots read as zeros (they
  // add nothing to the sums) and are not stored.
  struct Slot {
    Value valid; // null when always in the row
    Value col;   // element index in the row (i32)
    SmallVector<Value> xs;
    SmallVector<Value> ws, bs; // the weight (and bias) at the same columns
  };
  SmallVector<Slot> slotsData;
  for (int64_t s = 0; s < slots; ++s) {
    Slot slot;
    Value c = arith::AddIOp::create(b, tid, cst(s * cfg.threads));
    slot.col = arith::MulIOp::create(b, c, cst(V));
    Value idx = arith::AddIOp::create(b, rowBase,
                                      arith::ExtUIOp::create(b, i64, slot.col));
    // The weight (and bias) are loaded with the row, before the reductions:
    // their latency overlaps the row's instead of following the barriers.
    auto loadAll = [&]() {
      SmallVector<Value> all = loadVec(x, cfg.io, idx);
      llvm::append_range(all, loadVec(w, cfg.weight, slot.col));
      if (cfg.layerNorm)
        llvm::append_range(all, loadVec(bias, cfg.bias, slot.col));
      return all;
    };
    SmallVector<Value> all;
    if ((s + 1) * cfg.threads <= vecs) {
      all = loadAll();
    } else {
      slot.valid =
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, c, cst(vecs));
      int64_t n = V * (cfg.layerNorm ? 3 : 2);
      SmallVector<Type> types(n, f32);
      auto ifOp = scf::IfOp::create(b, types, slot.valid, true);
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(ifOp.thenBlock());
        scf::YieldOp::create(b, loadAll());
        b.setInsertionPointToStart(ifOp.elseBlock());
        scf::YieldOp::create(b, SmallVector<Value>(n, cstF(0.0f)));
      }
      all.assign(ifOp.getResults().begin(), ifOp.getResults().end());
    }
    slot.xs.assign(all.begin(), all.begin() + V);
    slot.ws.assign(all.begin() + V, all.begin() + 2 * V);
    if (cfg.layerNorm)
      slot.bs.assign(all.begin() + 2 * V, all.end());
    slotsData.push_back(std::move(slot));
  }

  Value lane = arith::AndIOp::create(b, tid, cst(31));
  Value warp = arith::ShRUIOp::create(b, tid, cst(5));
  /// Sum (or with `max` the maximum) of `v` over the CTA (reduction
  /// `which` uses its own shared array).
  auto blockSum = [&](Value v, int which, bool max = false) -> Value {
    auto combine = [&](Value l, Value r) -> Value {
      if (max)
        return LLVM::MaxNumOp::create(b, l, r);
      return arith::AddFOp::create(b, l, r);
    };
    for (int64_t off : {16, 8, 4, 2, 1}) {
      Value other = NVVM::ShflOp::create(
          b, f32, cst(-1), v, cst(off), cst(0x1f),
          NVVM::ShflKindAttr::get(ctx, NVVM::ShflKind::bfly), UnitAttr());
      v = combine(v, other);
    }
    if (numWarps == 1)
      return v;
    Value smem = LLVM::AddressOfOp::create(b, ptr3, smemName);
    Value base = cst(which * numWarps);
    auto ifLane0 = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, cst(0)),
        false);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ifLane0.thenBlock());
      LLVM::StoreOp::create(
          b, v, gep(smem, f32, arith::AddIOp::create(b, base, warp)), 4);
    }
    NVVM::Barrier0Op::create(b);
    Value sum;
    for (int64_t wi = 0; wi < numWarps; ++wi) {
      Value part = LLVM::LoadOp::create(
          b, f32, gep(smem, f32, cst(which * numWarps + wi)), 4);
      sum = sum ? combine(sum, part) : part;
    }
    return sum;
  };
  /// Per-thread sum of f(x) over the thread's valid values.
  auto threadSum = [&](function_ref<Value(Value)> f) -> Value {
    Value acc = cstF(0.0f);
    for (Slot &slot : slotsData) {
      Value part = cstF(0.0f);
      for (Value v : slot.xs)
        part = arith::AddFOp::create(b, part, f(v));
      // Padding zeros are not zeros after f (x - mean): drop them.
      if (slot.valid)
        part = arith::SelectOp::create(b, slot.valid, part, cstF(0.0f));
      acc = arith::AddFOp::create(b, acc, part);
    }
    return acc;
  };
  Value kF = cstF(static_cast<float>(cfg.k));
  Value mean, denom;
  if (cfg.layerNorm) {
    mean = arith::DivFOp::create(
        b, blockSum(threadSum([](Value v) -> Value { return v; }), 0), kF);
    Value sq = blockSum(threadSum([&](Value v) -> Value {
                          Value d = arith::SubFOp::create(b, v, mean);
                          return arith::MulFOp::create(b, d, d);
                        }),
                        1);
    Value var = arith::DivFOp::create(b, sq, kF);
    denom = ptxUnaryF32(b, "sqrt.rn.f32",
                        arith::AddFOp::create(b, var, cstF(cfg.epsilon)));
  } else {
    Value sq = blockSum(threadSum([&](Value v) -> Value {
                          return arith::MulFOp::create(b, v, v);
                        }),
                        0);
    Value ms = arith::DivFOp::create(b, sq, kF);
    denom = ptxUnaryF32(b, "sqrt.rn.f32",
                        arith::AddFOp::create(b, ms, cstF(cfg.epsilon)));
  }

  // Normalize from registers, apply the weight (and bias), round to the
  // row type.
  Type ioTy = typeOf(cfg.io);
  int64_t ioBytes = kernelElemBytes(cfg.io);
  SmallVector<SmallVector<Value>> outs;
  for (Slot &slot : slotsData) {
    ArrayRef<Value> ws = slot.ws, bs = slot.bs;
    SmallVector<Value> o;
    for (int64_t i = 0; i < V; ++i) {
      Value v = slot.xs[i];
      if (cfg.layerNorm)
        v = arith::SubFOp::create(b, v, mean);
      v = arith::DivFOp::create(b, v, denom);
      v = arith::MulFOp::create(b, v, ws[i]);
      if (cfg.layerNorm)
        v = arith::AddFOp::create(b, v, bs[i]);
      o.push_back(ioTy == f32 ? v : arith::TruncFOp::create(b, ioTy, v));
    }
    outs.push_back(std::move(o));
  }
  // The fused quantization: the rounded values as f32 (what the activation
  // quantization kernel would load), their scale.
  SmallVector<SmallVector<Value>> rounded;
  Value s;
  if (cfg.quantize) {
    for (auto &o : outs) {
      SmallVector<Value> r;
      for (Value v : o)
        r.push_back(toF32(v));
      rounded.push_back(std::move(r));
    }
    Value zero = cstF(0.0f);
    Value first =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, cst(0));
    if (cfg.quantDynamic) {
      Value m = zero;
      for (auto [slot, r] : llvm::zip(slotsData, rounded)) {
        Value part = zero;
        for (Value v : r)
          part = LLVM::MaxNumOp::create(b, part, qc::detail::emitAbsF32(b, v));
        if (slot.valid)
          part = arith::SelectOp::create(b, slot.valid, part, zero);
        m = LLVM::MaxNumOp::create(b, m, part);
      }
      Value amax = blockSum(m, sumReductions, /*max=*/true);
      s = qc::detail::emitActScale(
          b, amax, static_cast<float>(fp8::actCodeRange(cfg.quantFp8)));
      auto ifT0 = scf::IfOp::create(b, first, false);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ifT0.thenBlock());
      LLVM::StoreOp::create(b, s, gep(scales, f32, row), 4);
    } else {
      // One scale for all rows: row 0 writes it.
      s = cstF(cfg.quantScale);
      Value rowZero =
          arith::CmpIOp::create(b, arith::CmpIPredicate::eq, row, cst(0));
      auto ifFirst =
          scf::IfOp::create(b, arith::AndIOp::create(b, first, rowZero), false);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ifFirst.thenBlock());
      LLVM::StoreOp::create(b, s, gep(scales, f32, cst(0)), 4);
    }
  }
  // Store the row (or its codes).
  Type i8 = builder.getI8Type();
  for (auto [si, slot] : llvm::enumerate(slotsData)) {
    OpBuilder::InsertionGuard g(b);
    if (slot.valid) {
      auto ifOp = scf::IfOp::create(b, slot.valid, false);
      b.setInsertionPointToStart(ifOp.thenBlock());
    }
    Value idx = arith::AddIOp::create(b, rowBase,
                                      arith::ExtUIOp::create(b, i64, slot.col));
    SmallVector<Value> vals = outs[si];
    Type elemTy = ioTy;
    int64_t elemBytes = ioBytes;
    Value base = y;
    if (cfg.quantize) {
      vals = qc::detail::emitActCodes(b, rounded[si], s, cfg.quantFp8);
      elemTy = i8;
      elemBytes = 1;
      base = q;
    }
    Value addr = gep(base, elemTy, idx);
    if (V == 1) {
      LLVM::StoreOp::create(b, vals[0], addr, elemBytes);
    } else {
      auto vt = VectorType::get({V}, elemTy);
      Value vec = LLVM::UndefOp::create(b, vt);
      for (int64_t i = 0; i < V; ++i)
        vec = LLVM::InsertElementOp::create(b, vec, vals[i], cst(i));
      LLVM::StoreOp::create(b, vec, addr, std::min<int64_t>(V * elemBytes, 16));
    }
  }
  gpu::ReturnOp::create(b);
  return func;
}
