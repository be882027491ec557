//===- Fp8.h - FP8 E4M3 encoding and decoding --------------------*- C++
//-*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The one home of the project's FP8 E4M3 (f8E4M3FN: 1 sign, 4 exponent bits
// with bias 7, 3 mantissa bits, no infinities, S.1111.111 = NaN, largest
// finite 448) conversion rule: round to nearest even, saturate to +-448
// (infinities included), NaN stays NaN. This is PTX's
// `cvt.rn.satfinite.e4m3x2.f32`, so the host reference and the sm_90a
// kernels give the same codes. The compile-time weight quantizer uses the
// scalar functions; the host lowering emits the same recipe as arith ops
// (scalars or vectors) through emitEncodeE4M3 / emitDecodeE4M3.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_UTILS_FP8_H
#define QC_DIALECT_QC_UTILS_FP8_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace qc::fp8 {

/// The largest finite E4M3 value: the range a scale maps max|x| onto.
constexpr double kE4M3Max = 448.0;

/// The code range an activation scale maps max|x| onto: 448 for E4M3
/// (`fp8`), 127 for symmetric INT8.
inline double actCodeRange(bool fp8) { return fp8 ? kE4M3Max : 127.0; }

// The f32 bit patterns the encoder compares against.
constexpr uint32_t kF32AbsMask = 0x7fffffffu;
constexpr uint32_t kF32Inf = 0x7f800000u;
constexpr uint32_t kF32E4M3Max = 0x43e00000u;       // 448.0f
constexpr uint32_t kF32E4M3MinNormal = 0x3c800000u; // 2^-6

/// f32 -> E4M3 code: round to nearest even, saturating.
inline uint8_t encodeE4M3(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  uint8_t sign = (u >> 24) & 0x80;
  uint32_t a = u & kF32AbsMask;
  if (a > kF32Inf)
    return sign | 0x7f;
  if (a >= kF32E4M3Max)
    return sign | 0x7e;
  if (a < kF32E4M3MinNormal) {
    // Subnormals step by 2^-9: the code is round-even(|x| * 512) in [0, 8]
    // (8 is the smallest normal, code 0x08).
    float f;
    std::memcpy(&f, &a, 4);
    return sign | static_cast<uint8_t>(std::nearbyint(f * 512.0f));
  }
  // Normals: drop 20 of the 23 mantissa bits, rounding to nearest even (a
  // carry moves into the exponent), and rebias the exponent 127 -> 7.
  uint32_t r = (a + 0x7ffffu + ((a >> 20) & 1u)) >> 20;
  return sign | static_cast<uint8_t>(r - (120u << 3));
}

/// E4M3 code -> its value (exact in f32).
inline float decodeE4M3(uint8_t code) {
  int e = (code >> 3) & 15, m = code & 7;
  float v;
  if (e == 15 && m == 7)
    v = NAN;
  else if (e == 0)
    v = std::ldexp(static_cast<float>(m), -9);
  else
    v = std::ldexp(1.0f + m / 8.0f, e - 7);
  return (code & 0x80) ? -v : v;
}

/// An i32 constant of `type` (i32 or a vector of i32).
inline mlir::Value i32Splat(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Type type, uint32_t v) {
  mlir::TypedAttr a = b.getI32IntegerAttr(static_cast<int32_t>(v));
  if (auto vt = mlir::dyn_cast<mlir::VectorType>(type))
    a = mlir::DenseElementsAttr::get(vt, a);
  return mlir::arith::ConstantOp::create(b, loc, type, a);
}

/// `elem` in the shape of `like` (a scalar or a vector type).
inline mlir::Type sameShape(mlir::Type like, mlir::Type elem) {
  if (auto vt = mlir::dyn_cast<mlir::VectorType>(like))
    return vt.clone(elem);
  return elem;
}

/// Emits encodeE4M3 on `x` (f32 or a vector of f32); returns f8E4M3FN values
/// of the same shape.
inline mlir::Value emitEncodeE4M3(mlir::OpBuilder &b, mlir::Location loc,
                                  mlir::Value x) {
  using namespace mlir::arith;
  mlir::Type ty = x.getType();
  mlir::Type i32 = sameShape(ty, b.getI32Type());
  auto c = [&](uint32_t v) { return i32Splat(b, loc, i32, v); };
  mlir::Value u = BitcastOp::create(b, loc, i32, x);
  mlir::Value sign =
      AndIOp::create(b, loc, ShRUIOp::create(b, loc, u, c(24)), c(0x80));
  mlir::Value a = AndIOp::create(b, loc, u, c(kF32AbsMask));
  mlir::Value isNan = CmpIOp::create(b, loc, CmpIPredicate::ugt, a, c(kF32Inf));
  mlir::Value isSat =
      CmpIOp::create(b, loc, CmpIPredicate::uge, a, c(kF32E4M3Max));
  mlir::Value isSub =
      CmpIOp::create(b, loc, CmpIPredicate::ult, a, c(kF32E4M3MinNormal));
  // Normals.
  mlir::Value lsb =
      AndIOp::create(b, loc, ShRUIOp::create(b, loc, a, c(20)), c(1));
  mlir::Value r =
      AddIOp::create(b, loc, AddIOp::create(b, loc, a, c(0x7ffff)), lsb);
  r = SubIOp::create(b, loc, ShRUIOp::create(b, loc, r, c(20)), c(120u << 3));
  // Subnormals: round-even(|x| * 512).
  mlir::Value af = BitcastOp::create(b, loc, ty, a);
  mlir::Value c512 = ConstantOp::create(
      b, loc, ty,
      mlir::isa<mlir::VectorType>(ty)
          ? mlir::TypedAttr(mlir::DenseElementsAttr::get(
                mlir::cast<mlir::VectorType>(ty), b.getF32FloatAttr(512.0f)))
          : mlir::TypedAttr(b.getF32FloatAttr(512.0f)));
  mlir::Value sub =
      FPToSIOp::create(b, loc, i32,
                       mlir::math::RoundEvenOp::create(
                           b, loc, MulFOp::create(b, loc, af, c512)));
  mlir::Value code = SelectOp::create(b, loc, isSub, sub, r);
  code = SelectOp::create(b, loc, isSat, c(0x7e), code);
  code = SelectOp::create(b, loc, isNan, c(0x7f), code);
  code = OrIOp::create(b, loc, code, sign);
  mlir::Value byte =
      TruncIOp::create(b, loc, sameShape(ty, b.getI8Type()), code);
  return BitcastOp::create(
      b, loc, sameShape(ty, mlir::Float8E4M3FNType::get(b.getContext())), byte);
}

/// Emits decodeE4M3 on `q` (f8E4M3FN or a vector of it); returns f32 values
/// of the same shape.
inline mlir::Value emitDecodeE4M3(mlir::OpBuilder &b, mlir::Location loc,
                                  mlir::Value q) {
  using namespace mlir::arith;
  mlir::Type ty = q.getType();
  mlir::Type i32 = sameShape(ty, b.getI32Type());
  mlir::Type f32 = sameShape(ty, b.getF32Type());
  auto c = [&](uint32_t v) { return i32Splat(b, loc, i32, v); };
  mlir::Value byte = BitcastOp::create(b, loc, sameShape(ty, b.getI8Type()), q);
  mlir::Value u = ExtUIOp::create(b, loc, i32, byte);
  mlir::Value sign =
      ShLIOp::create(b, loc, AndIOp::create(b, loc, u, c(0x80)), c(24));
  mlir::Value e =
      AndIOp::create(b, loc, ShRUIOp::create(b, loc, u, c(3)), c(15));
  mlir::Value m = AndIOp::create(b, loc, u, c(7));
  // Normals: exponent rebias 7 -> 127, mantissa to the top of f32's.
  mlir::Value normal = OrIOp::create(
      b, loc, ShLIOp::create(b, loc, AddIOp::create(b, loc, e, c(120)), c(23)),
      ShLIOp::create(b, loc, m, c(20)));
  // Subnormals: m * 2^-9 (exact).
  mlir::Value scale = ConstantOp::create(
      b, loc, f32,
      mlir::isa<mlir::VectorType>(f32)
          ? mlir::TypedAttr(
                mlir::DenseElementsAttr::get(mlir::cast<mlir::VectorType>(f32),
                                             b.getF32FloatAttr(1.0f / 512.0f)))
          : mlir::TypedAttr(b.getF32FloatAttr(1.0f / 512.0f)));
  mlir::Value subnormal = BitcastOp::create(
      b, loc, i32,
      MulFOp::create(b, loc, UIToFPOp::create(b, loc, f32, m), scale));
  mlir::Value isSub = CmpIOp::create(b, loc, CmpIPredicate::eq, e, c(0));
  mlir::Value isNan = CmpIOp::create(
      b, loc, CmpIPredicate::eq, AndIOp::create(b, loc, u, c(0x7f)), c(0x7f));
  mlir::Value bits = SelectOp::create(b, loc, isSub, subnormal, normal);
  bits = SelectOp::create(b, loc, isNan, c(0x7fc00000u), bits);
  return BitcastOp::create(b, loc, f32, OrIOp::create(b, loc, bits, sign));
}

} // namespace qc::fp8

#endif // QC_DIALECT_QC_UTILS_FP8_H
