//===- ActQuantEmitter.h - The activation quantization rule, emitted -*- C++
//-*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The GPU form of qc.quantize_act's arithmetic, shared by the kernels that
// quantize activations (buildActQuantKernel, and buildRowNormKernel with the
// quantization of the W8A8 layer that follows fused in): the scale from a
// row's max |x| and the INT8 / E4M3 codes, bit for bit the host lowering's.
// Helpers of the kernel builders in this directory (not a public API).
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_QCTONVVM_ACTQUANTEMITTER_H
#define QC_LIB_CONVERSION_QCTONVVM_ACTQUANTEMITTER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace qc::detail {

/// |v| of an f32 by clearing the sign bit (convert-gpu-to-nvvm would turn
/// llvm.fabs into a libdevice call).
inline mlir::Value emitAbsF32(mlir::ImplicitLocOpBuilder &b, mlir::Value v) {
  mlir::Type i32 = b.getI32Type();
  mlir::Value bits = mlir::LLVM::BitcastOp::create(b, i32, v);
  bits = mlir::arith::AndIOp::create(
      b, bits, mlir::arith::ConstantIntOp::create(b, i32, 0x7fffffff));
  return mlir::LLVM::BitcastOp::create(b, b.getF32Type(), bits);
}

/// The dynamic per-token scale of a row whose max |x| is `amax`: amax /
/// range (IEEE division, as the host lowering; range 127 or 448), 1 for a
/// zero row.
inline mlir::Value emitActScale(mlir::ImplicitLocOpBuilder &b, mlir::Value amax,
                                float range) {
  auto f32 = mlir::cast<mlir::FloatType>(b.getF32Type());
  auto cst = [&](float v) -> mlir::Value {
    return mlir::arith::ConstantFloatOp::create(b, f32, llvm::APFloat(v));
  };
  mlir::Value isZero = mlir::arith::CmpFOp::create(
      b, mlir::arith::CmpFPredicate::OEQ, amax, cst(0.0f));
  return mlir::arith::SelectOp::create(
      b, isZero, cst(1.0f), mlir::arith::DivFOp::create(b, amax, cst(range)));
}

/// The i8 codes of the f32 values `xs` for scale `s`.
/// INT8: q = clamp(roundeven(x / s), -127, 127), computed as roundeven of
/// the clamped quotient (the same value: both are monotone and +-127 are
/// integers); rounding adds and subtracts 1.5 * 2^23, exact round half to
/// even for |v| <= 127 under IEEE rounding (no fast-math flags, so nothing
/// folds it), where llvm.roundeven would become a libdevice call.
/// FP8 E4M3: pairs through cvt.rn.satfinite.e4m3x2.f32 (element 0 of the
/// i8x2 result is the second operand's code); an odd last value converts
/// (v, 0).
inline llvm::SmallVector<mlir::Value>
emitActCodes(mlir::ImplicitLocOpBuilder &b, llvm::ArrayRef<mlir::Value> xs,
             mlir::Value s, bool fp8) {
  mlir::MLIRContext *ctx = b.getContext();
  mlir::Type i8 = b.getI8Type(), i32 = b.getI32Type();
  auto f32 = mlir::cast<mlir::FloatType>(b.getF32Type());
  auto cst = [&](float v) -> mlir::Value {
    return mlir::arith::ConstantFloatOp::create(b, f32, llvm::APFloat(v));
  };
  auto idx = [&](int64_t i) -> mlir::Value {
    return mlir::arith::ConstantIntOp::create(b, i32, i);
  };
  llvm::SmallVector<mlir::Value> qs;
  if (fp8) {
    auto i8x2 = mlir::VectorType::get({2}, i8);
    for (size_t i = 0; i < xs.size(); i += 2) {
      mlir::Value lo = mlir::arith::DivFOp::create(b, xs[i], s);
      mlir::Value hi =
          i + 1 < xs.size()
              ? mlir::arith::DivFOp::create(b, xs[i + 1], s).getResult()
              : cst(0.0f);
      mlir::Value pair = mlir::NVVM::ConvertF32x2ToF8x2Op::create(
          b, i8x2, hi, lo, mlir::NVVM::FPRoundingMode::RN,
          mlir::NVVM::SaturationMode::SATFINITE, /*relu=*/false,
          mlir::Float8E4M3FNType::get(ctx));
      qs.push_back(mlir::LLVM::ExtractElementOp::create(b, pair, idx(0)));
      if (i + 1 < xs.size())
        qs.push_back(mlir::LLVM::ExtractElementOp::create(b, pair, idx(1)));
    }
    return qs;
  }
  mlir::Value magic = cst(12582912.0f);
  for (mlir::Value v : xs) {
    mlir::Value r = mlir::arith::DivFOp::create(b, v, s);
    r = mlir::LLVM::MinNumOp::create(b, r, cst(127.0f));
    r = mlir::LLVM::MaxNumOp::create(b, r, cst(-127.0f));
    r = mlir::arith::SubFOp::create(b, mlir::arith::AddFOp::create(b, r, magic),
                                    magic);
    qs.push_back(mlir::arith::FPToSIOp::create(b, i8, r));
  }
  return qs;
}

} // namespace qc::detail

#endif // QC_LIB_CONVERSION_QCTONVVM_ACTQUANTEMITTER_H
