//===- ActQuantKernel.cpp - INT8 activation quantization kernel -*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// buildActQuantKernel: the GPU form of qc.quantize_act (dynamic per-token or
// static per-tensor symmetric INT8 or FP8 E4M3). See KernelBuilders.h.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToNVVM/KernelBuilders.h"
#include "qc/Dialect/QC/Utils/Fp8.h"

#include "ActQuantEmitter.h"
#include "SharedMemory.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/SymbolTable.h"

#include <cmath>

using namespace mlir;

gpu::GPUFuncOp qc::buildActQuantKernel(OpBuilder &builder, Location loc,
                                       StringRef name,
                                       const ActQuantKernelConfig &cfg) {
  MLIRContext *ctx = builder.getContext();
  Type i8 = builder.getI8Type(), i32 = builder.getI32Type(),
       i64 = builder.getI64Type(), f16 = builder.getF16Type(),
       f32 = builder.getF32Type();
  auto ptr1 = LLVM::LLVMPointerType::get(ctx, 1);
  auto ptr3 = LLVM::LLVMPointerType::get(ctx, 3);
  const int64_t numWarps = cfg.threads / 32, V = cfg.vecElems;

  // Shared memory for the cross-warp max (dynamic mode only).
  std::string smemName;
  if (cfg.dynamicPerToken)
    smemName = qc::detail::declareSharedArray(
        builder, loc, (name + "_smem").str(), f32, numWarps);

  auto fnType = builder.getFunctionType({ptr1, ptr1, ptr1, i32}, {});
  auto func = gpu::GPUFuncOp::create(builder, loc, name, fnType);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                builder.getUnitAttr());
  func.setKnownBlockSizeAttr(
      builder.getDenseI32ArrayAttr({static_cast<int32_t>(cfg.threads), 1, 1}));

  ImplicitLocOpBuilder b(loc, builder);
  b.setInsertionPointToStart(&func.getBody().front());
  auto args = func.getArguments();
  Value x = args[0], q = args[1], scales = args[2];
  Type inTy = cfg.inF16 ? f16 : f32;
  int64_t eb = cfg.inF16 ? 2 : 4;
  const float range = static_cast<float>(fp8::actCodeRange(cfg.fp8));

  auto cst = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, i32, v);
  };
  auto cstF = [&](float v) -> Value {
    return arith::ConstantFloatOp::create(b, cast<FloatType>(f32), APFloat(v));
  };
  auto toI32 = [&](Value idx) -> Value {
    return arith::IndexCastUIOp::create(b, i32, idx);
  };
  auto gep = [&](Value base, Type elemTy, Value idx) -> Value {
    return LLVM::GEPOp::create(b, base.getType(), elemTy, base,
                               ValueRange{idx});
  };
  Value tid = toI32(gpu::ThreadIdOp::create(b, gpu::Dimension::x));
  Value row = toI32(gpu::BlockIdOp::create(b, gpu::Dimension::x));
  // Element offset of the row start, in i64 (M * K may pass 2^31).
  Value rowBase =
      arith::MulIOp::create(b, arith::ExtUIOp::create(b, i64, row),
                            arith::ConstantIntOp::create(b, i64, cfg.k));

  /// Loads V inputs at row element `c` as f32 values.
  auto loadVec = [&](Value c) {
    Value idx =
        arith::AddIOp::create(b, rowBase, arith::ExtUIOp::create(b, i64, c));
    Value addr = gep(x, inTy, idx);
    SmallVector<Value> out;
    if (V == 1) {
      Value v = LLVM::LoadOp::create(b, inTy, addr, eb);
      out.push_back(cfg.inF16 ? arith::ExtFOp::create(b, f32, v).getResult()
                              : v);
      return out;
    }
    Value v = LLVM::LoadOp::create(b, VectorType::get({V}, inTy), addr, V * eb);
    for (int64_t i = 0; i < V; ++i) {
      Value el = LLVM::ExtractElementOp::create(b, v, cst(i));
      out.push_back(cfg.inF16 ? arith::ExtFOp::create(b, f32, el).getResult()
                              : el);
    }
    return out;
  };
  Value start = arith::MulIOp::create(b, tid, cst(V));
  Value step = cst(cfg.threads * V);

  Value s;
  if (cfg.dynamicPerToken) {
    // max |x| over the row: per thread, then across the warp, then across
    // warps through shared memory.
    auto loop =
        scf::ForOp::create(b, start, cst(cfg.k), step, ValueRange{cstF(0.0f)});
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(loop.getBody());
      Value m = loop.getRegionIterArgs()[0];
      for (Value v : loadVec(loop.getInductionVar()))
        m = LLVM::MaxNumOp::create(b, m, qc::detail::emitAbsF32(b, v));
      scf::YieldOp::create(b, m);
    }
    Value amax = loop.getResult(0);
    for (int64_t off : {16, 8, 4, 2, 1}) {
      Value other = NVVM::ShflOp::create(
          b, f32, cst(-1), amax, cst(off), cst(0x1f),
          NVVM::ShflKindAttr::get(ctx, NVVM::ShflKind::bfly), UnitAttr());
      amax = LLVM::MaxNumOp::create(b, amax, other);
    }
    Value smem = LLVM::AddressOfOp::create(b, ptr3, smemName);
    Value lane = arith::AndIOp::create(b, tid, cst(31));
    Value warp = arith::ShRUIOp::create(b, tid, cst(5));
    auto ifLane0 = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, cst(0)),
        false);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ifLane0.thenBlock());
      LLVM::StoreOp::create(b, amax, gep(smem, f32, warp), 4);
    }
    NVVM::Barrier0Op::create(b);
    amax = LLVM::LoadOp::create(b, f32, gep(smem, f32, cst(0)), 4);
    for (int64_t wi = 1; wi < numWarps; ++wi)
      amax = LLVM::MaxNumOp::create(
          b, amax, LLVM::LoadOp::create(b, f32, gep(smem, f32, cst(wi)), 4));
    s = qc::detail::emitActScale(b, amax, range);
    auto ifT0 = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, cst(0)),
        false);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ifT0.thenBlock());
      LLVM::StoreOp::create(b, s, gep(scales, f32, row), 4);
    }
  } else {
    s = cstF(cfg.staticScale);
    Value first = arith::AndIOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, cst(0)),
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, row, cst(0)));
    auto ifFirst = scf::IfOp::create(b, first, false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(ifFirst.thenBlock());
    LLVM::StoreOp::create(b, s, gep(scales, f32, cst(0)), 4);
  }

  // The codes (qc::detail::emitActCodes: the host lowering's rule).
  auto loop = scf::ForOp::create(b, start, cst(cfg.k), step);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(loop.getBody());
    Value c = loop.getInductionVar();
    SmallVector<Value> qs = qc::detail::emitActCodes(b, loadVec(c), s, cfg.fp8);
    Value idx =
        arith::AddIOp::create(b, rowBase, arith::ExtUIOp::create(b, i64, c));
    Value addr = gep(q, i8, idx);
    if (V == 1) {
      LLVM::StoreOp::create(b, qs[0], addr, 1);
    } else {
      auto vt = VectorType::get({V}, i8);
      Value vec = LLVM::UndefOp::create(b, vt);
      for (int64_t i = 0; i < V; ++i)
        vec = LLVM::InsertElementOp::create(b, vec, qs[i], cst(i));
      LLVM::StoreOp::create(b, vec, addr, V);
    }
  }
  gpu::ReturnOp::create(b);
  return func;
}
