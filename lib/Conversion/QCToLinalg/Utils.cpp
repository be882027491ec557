//===- Utils.cpp - Shared helpers of the qc host lowering -------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"
#include "qc/Dialect/QC/Utils/Fp8.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;

namespace qc::detail {

static ReassociationIndices range(int64_t lo, int64_t hi) {
  ReassociationIndices r;
  for (int64_t i = lo; i < hi; ++i)
    r.push_back(i);
  return r;
}

/// Expands `src` to `resType` with `sizes`. LLVM 22's expand-strided-metadata
/// crashes on a memref.expand_shape whose group holds several dynamic
/// dimensions, so that case goes through tensor.reshape (memref.reshape).
static Value expandTo(OpBuilder &b, Location loc, Value src,
                      RankedTensorType resType,
                      ArrayRef<ReassociationIndices> reassoc,
                      ArrayRef<OpFoldResult> sizes) {
  if (resType.getNumDynamicDims() <= 1)
    return tensor::ExpandShapeOp::create(b, loc, resType, src, reassoc, sizes);
  SmallVector<Value> dims;
  for (OpFoldResult ofr : sizes)
    dims.push_back(getValueOrCreateConstantIndexOp(b, loc, ofr));
  Value shape = tensor::FromElementsOp::create(b, loc, dims);
  return tensor::ReshapeOp::create(b, loc, resType, src, shape);
}

Value collapseToRows(OpBuilder &b, Location loc, Value t) {
  auto type = cast<RankedTensorType>(t.getType());
  int64_t r = type.getRank();
  int64_t k = type.getShape().back();
  if (r == 2)
    return t;
  if (r == 1)
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({1, k}, type.getElementType()), t,
        ArrayRef<ReassociationIndices>{range(0, 2)});
  int64_t m = 1;
  for (int64_t d : type.getShape().drop_back())
    m = ShapedType::isDynamic(d) || ShapedType::isDynamic(m)
            ? ShapedType::kDynamic
            : m * d;
  return tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get({m, k}, type.getElementType()), t,
      ArrayRef<ReassociationIndices>{range(0, r - 1), {r - 1}});
}

Value expandFromRows(OpBuilder &b, Location loc, Value rows, Value orig,
                     Type resultType) {
  auto origType = cast<RankedTensorType>(orig.getType());
  auto resType = cast<RankedTensorType>(resultType);
  int64_t r = origType.getRank();
  if (r == 1)
    return tensor::CollapseShapeOp::create(
        b, loc, resType, rows, ArrayRef<ReassociationIndices>{range(0, 2)});
  if (r == 2) {
    if (rows.getType() != resType)
      return tensor::CastOp::create(b, loc, resType, rows);
    return rows;
  }
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, orig);
  sizes.back() = b.getIndexAttr(resType.getShape().back());
  return expandTo(b, loc, rows, resType, {range(0, r - 1), {r - 1}}, sizes);
}

Value collapseLeading(OpBuilder &b, Location loc, Value t) {
  auto type = cast<RankedTensorType>(t.getType());
  int64_t r = type.getRank();
  if (r == 1)
    return t;
  if (r == 0)
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({1}, type.getElementType()), t,
        ArrayRef<ReassociationIndices>{});
  int64_t m = 1;
  for (int64_t d : type.getShape())
    m = ShapedType::isDynamic(d) || ShapedType::isDynamic(m)
            ? ShapedType::kDynamic
            : m * d;
  return tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get({m}, type.getElementType()), t,
      ArrayRef<ReassociationIndices>{range(0, r)});
}

Value expandLeading(OpBuilder &b, Location loc, Value vec, Value orig,
                    Type resultType) {
  auto resType = cast<RankedTensorType>(resultType);
  int64_t r = resType.getRank();
  if (r == 0)
    return tensor::CollapseShapeOp::create(b, loc, resType, vec,
                                           ArrayRef<ReassociationIndices>{});
  if (r == 1) {
    if (vec.getType() != resType)
      return tensor::CastOp::create(b, loc, resType, vec);
    return vec;
  }
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, orig);
  sizes.pop_back();
  return expandTo(b, loc, vec, resType, {range(0, r)}, sizes);
}

Value castFloat(OpBuilder &b, Location loc, Value v, Type to) {
  Type from = getElementTypeOrSelf(v.getType());
  if (from == to)
    return v;
  Type target = to;
  if (auto vt = dyn_cast<VectorType>(v.getType()))
    target = VectorType::get(vt.getShape(), to);
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return arith::ExtFOp::create(b, loc, target, v);
  return arith::TruncFOp::create(b, loc, target, v);
}

Value buildGeneric(OpBuilder &b, Location loc, ValueRange inputs,
                   ArrayRef<AffineMap> inputMaps, Value init, AffineMap initMap,
                   unsigned numLoops, unsigned numReductionLoops,
                   GenericBody body) {
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(initMap);
  SmallVector<utils::IteratorType> iters(numLoops - numReductionLoops,
                                         utils::IteratorType::parallel);
  iters.append(numReductionLoops, utils::IteratorType::reduction);
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, body(nb, nl, args));
      });
  return op.getResult(0);
}

Value emptyRows(OpBuilder &b, Location loc, Value rows, int64_t n, Type elem) {
  SmallVector<OpFoldResult> sizes{tensor::getMixedSize(b, loc, rows, 0)};
  if (n >= 0)
    sizes.push_back(b.getIndexAttr(n));
  return tensor::EmptyOp::create(b, loc, sizes, elem);
}

Value rowReduce(
    OpBuilder &b, Location loc, Value x, Value init, bool isMax,
    std::function<Value(OpBuilder &, Location, Value, ValueRange)> f,
    ValueRange extraRowInputs) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap row = AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
  Value acc = emptyRows(b, loc, x, -1, b.getF32Type());
  acc = linalg::FillOp::create(b, loc, ValueRange{init}, ValueRange{acc})
            .getResult(0);
  SmallVector<Value> inputs{x};
  SmallVector<AffineMap> maps{id};
  for (Value v : extraRowInputs) {
    inputs.push_back(v);
    maps.push_back(row);
  }
  return buildGeneric(
      b, loc, inputs, maps, acc, row, 2, 1,
      [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
        Value xf = castFloat(b, loc, args[0], b.getF32Type());
        Value v = f(b, loc, xf, args.drop_front().drop_back());
        if (isMax)
          return arith::MaximumFOp::create(b, loc, args.back(), v);
        return arith::AddFOp::create(b, loc, args.back(), v);
      });
}

Value quantizeRows(OpBuilder &b, Location loc, Value x, Value scale,
                   Type elem) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap row = AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
  bool perToken = isa<RankedTensorType>(scale.getType());
  SmallVector<Value> inputs{x};
  SmallVector<AffineMap> maps{id};
  if (perToken) {
    inputs.push_back(scale);
    maps.push_back(row);
  }
  int64_t k = cast<RankedTensorType>(x.getType()).getShape().back();
  Value init = emptyRows(b, loc, x, k, elem);
  bool fp8 = isa<Float8E4M3FNType>(elem);
  return buildGeneric(
      b, loc, inputs, maps, init, id, 2, 0,
      [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
        Value xf = castFloat(b, loc, args[0], b.getF32Type());
        Value s = perToken ? args[1] : scale;
        Value v = arith::DivFOp::create(b, loc, xf, s);
        if (fp8)
          return ::qc::fp8::emitEncodeE4M3(b, loc, v);
        Value r = math::RoundEvenOp::create(b, loc, v);
        Value hi = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(127));
        Value lo = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(-127));
        r = arith::MinimumFOp::create(b, loc, r, hi);
        r = arith::MaximumFOp::create(b, loc, r, lo);
        return arith::FPToSIOp::create(b, loc, b.getI8Type(), r);
      });
}

std::pair<Value, Value> quantizeRowsDynamic(OpBuilder &b, Location loc, Value x,
                                            Type elem) {
  MLIRContext *ctx = b.getContext();
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  Value amax =
      rowReduce(b, loc, x, zero, /*isMax=*/true,
                [](OpBuilder &b, Location loc, Value v, ValueRange) -> Value {
                  return math::AbsFOp::create(b, loc, v);
                });
  AffineMap id1 = AffineMap::getMultiDimIdentityMap(1, ctx);
  Value sInit = emptyRows(b, loc, x, -1, b.getF32Type());
  float range =
      static_cast<float>(::qc::fp8::actCodeRange(isa<Float8E4M3FNType>(elem)));
  Value scales = buildGeneric(
      b, loc, {amax}, {id1}, sInit, id1, 1, 0,
      [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
        Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
        Value one = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1));
        Value r = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(range));
        Value s = arith::DivFOp::create(b, loc, args[0], r);
        // An all-zero row gets s = 1 (its q is all zeros either way).
        Value isZero = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                             args[0], zero);
        return arith::SelectOp::create(b, loc, isZero, one, s);
      });
  return {quantizeRows(b, loc, x, scales, elem), scales};
}

int64_t chooseFloatVectorWidth(int64_t k) {
  int64_t v = 16;
  while (k % v)
    v /= 2;
  return v;
}

Value rootBuffer(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      break;
    v = view.getViewSource();
  }
  return v;
}

OpFoldResult extentOf(Value v, int64_t i) {
  auto t = cast<MemRefType>(v.getType());
  if (!t.isDynamicDim(i))
    return IntegerAttr::get(IndexType::get(v.getContext()), t.getDimSize(i));
  OpFoldResult r;
  Operation *def = v.getDefiningOp();
  if (auto a = dyn_cast_or_null<memref::AllocOp>(def))
    r = a.getDynamicSizes()[t.getDynamicDimIndex(i)];
  else if (auto a = dyn_cast_or_null<gpu::AllocOp>(def))
    r = a.getDynamicSizes()[t.getDynamicDimIndex(i)];
  else if (auto e = dyn_cast_or_null<memref::ExpandShapeOp>(def))
    r = e.getMixedOutputShape()[i];
  else if (auto sv = dyn_cast_or_null<memref::SubViewOp>(def);
           sv && sv.getSourceType().getRank() == t.getRank())
    r = sv.getMixedSizes()[i];
  else if (auto c = dyn_cast_or_null<memref::CastOp>(def))
    return extentOf(c.getSource(), i);
  else
    return {};
  if (auto val = dyn_cast<Value>(r))
    if (auto dim = val.getDefiningOp<memref::DimOp>())
      if (std::optional<int64_t> d = getConstantIntValue(dim.getDimension()))
        if (OpFoldResult inner = extentOf(dim.getSource(), *d))
          return inner;
  return r;
}

} // namespace qc::detail
