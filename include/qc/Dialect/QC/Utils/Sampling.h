//===- Sampling.h - The arithmetic of qc.sample -----------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The one home of qc.sample's integer and float recipes (QCOps.td): the
// ordered key of a float, the splitmix64 counter hash and the uniform and
// Gumbel noise made from it. The host lowering (QCToLinalg) and the GPU
// kernel builder (buildRowSampleKernel) emit them through these functions,
// so both compute the same bits.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_UTILS_SAMPLING_H
#define QC_DIALECT_QC_UTILS_SAMPLING_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"

namespace qc::sampling {

/// i64 constant.
inline mlir::Value i64Const(mlir::OpBuilder &b, mlir::Location loc,
                            uint64_t v) {
  return mlir::arith::ConstantIntOp::create(b, loc, b.getI64Type(),
                                            static_cast<int64_t>(v));
}

/// splitmix64: z += 0x9E3779B97F4A7C15; z = (z ^ z >> 30) * 0xBF58476D1CE4E5B9;
/// z = (z ^ z >> 27) * 0x94D049BB133111EB; z ^ z >> 31 (i64 in, i64 out).
inline mlir::Value mix(mlir::OpBuilder &b, mlir::Location loc, mlir::Value z) {
  using namespace mlir::arith;
  auto xorShift = [&](mlir::Value v, uint64_t s) -> mlir::Value {
    return XOrIOp::create(b, loc, v,
                          ShRUIOp::create(b, loc, v, i64Const(b, loc, s)));
  };
  z = AddIOp::create(b, loc, z, i64Const(b, loc, 0x9E3779B97F4A7C15ull));
  z = MulIOp::create(b, loc, xorShift(z, 30),
                     i64Const(b, loc, 0xBF58476D1CE4E5B9ull));
  z = MulIOp::create(b, loc, xorShift(z, 27),
                     i64Const(b, loc, 0x94D049BB133111EBull));
  return xorShift(z, 31);
}

/// The per-row hash r_b = mix(mix(seed) ^ (b << 32 | pos_b)) (all i64).
inline mlir::Value rowHash(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value seed, mlir::Value row, mlir::Value pos) {
  using namespace mlir::arith;
  mlir::Value lane = OrIOp::create(
      b, loc, ShLIOp::create(b, loc, row, i64Const(b, loc, 32)), pos);
  return mix(b, loc, XOrIOp::create(b, loc, mix(b, loc, seed), lane));
}

/// Gumbel noise -log(-log(u)) of element `col` (i64) of a row with hash `r`:
/// h = mix(r ^ col), u = ((h >> 41) + 0.5) * 2^-23, exactly representable
/// in (0, 1); f32.
inline mlir::Value gumbel(mlir::OpBuilder &b, mlir::Location loc, mlir::Value r,
                          mlir::Value col) {
  using namespace mlir::arith;
  mlir::Value h = mix(b, loc, XOrIOp::create(b, loc, r, col));
  mlir::Value top = ShRUIOp::create(b, loc, h, i64Const(b, loc, 41));
  mlir::Value f = UIToFPOp::create(b, loc, b.getF32Type(), top);
  auto c = [&](float v) -> mlir::Value {
    return ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  };
  mlir::Value u = MulFOp::create(b, loc, AddFOp::create(b, loc, f, c(0.5f)),
                                 c(1.0f / 8388608.0f));
  mlir::Value l1 = mlir::math::LogOp::create(b, loc, u);
  mlir::Value l2 =
      mlir::math::LogOp::create(b, loc, NegFOp::create(b, loc, l1));
  return NegFOp::create(b, loc, l2);
}

/// The ordered key of an f32 (i32, compared unsigned): the bits with the sign
/// bit set for non-negative values and all bits flipped for negative ones,
/// so that key order is the IEEE total order (-0 < +0, NaN above +inf).
inline mlir::Value orderedKey(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value f32) {
  using namespace mlir::arith;
  mlir::Type i32 = b.getI32Type();
  mlir::Value bits = BitcastOp::create(b, loc, i32, f32);
  mlir::Value neg = CmpIOp::create(b, loc, CmpIPredicate::slt, bits,
                                   ConstantIntOp::create(b, loc, i32, 0));
  mlir::Value flipped =
      XOrIOp::create(b, loc, bits, ConstantIntOp::create(b, loc, i32, -1));
  mlir::Value signed_ = OrIOp::create(
      b, loc, bits,
      ConstantIntOp::create(b, loc, i32, static_cast<int32_t>(0x80000000u)));
  return SelectOp::create(b, loc, neg, flipped, signed_);
}

/// The top-k count actually kept: k when 0 < k < V, else V (i64 in/out).
inline mlir::Value effectiveK(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value k, int64_t vocab) {
  using namespace mlir::arith;
  mlir::Value v = i64Const(b, loc, vocab);
  mlir::Value ok = AndIOp::create(
      b, loc,
      CmpIOp::create(b, loc, CmpIPredicate::sgt, k, i64Const(b, loc, 0)),
      CmpIOp::create(b, loc, CmpIPredicate::slt, k, v));
  return SelectOp::create(b, loc, ok, k, v);
}

/// True when `temperature` (f32) asks for sampling: > 0 (NaN and <= 0 are
/// greedy).
inline mlir::Value samples(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value temperature) {
  using namespace mlir::arith;
  return CmpFOp::create(b, loc, CmpFPredicate::OGT, temperature,
                        ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f)));
}

} // namespace qc::sampling

#endif // QC_DIALECT_QC_UTILS_SAMPLING_H
