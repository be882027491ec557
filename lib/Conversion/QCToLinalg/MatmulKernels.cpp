//===- MatmulKernels.cpp - Blocked, vectorized host matmuls -----*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Builders of the host matmul kernels: explicit scf loops over tensors with
// vector ops, register-blocked (mr x nr accumulators of vector<vl>) and cut
// into weight panels that stay in cache. Packed weights are read and
// dequantized chunk by chunk inside the loop.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToLinalg/QCToLinalg.h"
#include "qc/Dialect/QC/IR/FragLayout.h"
#include "qc/Dialect/QC/Utils/Fp8.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::qc;
using ::qc::MatmulKernelSpec;
using ::qc::PackedWeightAccess;

static Value cIdx(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// Reduces one accumulator vector to a scalar. Float sums may reassociate:
/// the order inside a chunk is not part of the reference semantics.
static Value reduceAcc(OpBuilder &b, Location loc, Value acc, bool integer) {
  if (integer)
    return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, acc);
  auto red =
      vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, acc);
  red.setFastmath(arith::FastMathFlags::reassoc);
  return red;
}

/// One mr x nr register block of rows [m, m + mr) and columns [n, n + nr):
/// the K loop keeps mr * nr vector accumulators in registers.
static Value buildRegisterBlock(OpBuilder &b, Location loc,
                                const MatmulKernelSpec &spec, int64_t mr,
                                int64_t nr, Value m, Value n, Value y) {
  int64_t vl = spec.vectorWidth;
  Type accElem = spec.integer ? Type(b.getI32Type()) : Type(b.getF32Type());
  auto accType = VectorType::get({vl}, accElem);
  Value zero = arith::ConstantOp::create(
      b, loc,
      spec.integer
          ? DenseElementsAttr::get(accType, b.getI32IntegerAttr(0).getValue())
          : DenseElementsAttr::get(accType,
                                   b.getF32FloatAttr(0.0f).getValue()));
  SmallVector<Value> inits(mr * nr, zero);
  SmallVector<Value> rows, cols;
  for (int64_t i = 0; i < mr; ++i)
    rows.push_back(
        i ? arith::AddIOp::create(b, loc, m, cIdx(b, loc, i)).getResult() : m);
  for (int64_t j = 0; j < nr; ++j)
    cols.push_back(
        j ? arith::AddIOp::create(b, loc, n, cIdx(b, loc, j)).getResult() : n);
  auto kLoop = scf::ForOp::create(
      b, loc, cIdx(b, loc, 0), cIdx(b, loc, spec.k), cIdx(b, loc, vl), inits,
      [&](OpBuilder &b, Location loc, Value k0, ValueRange accs) {
        SmallVector<Value> lhs, rhs, next;
        // Each weight chunk is loaded (and dequantized) once per block and
        // reused by all mr rows.
        for (int64_t j = 0; j < nr; ++j)
          rhs.push_back(spec.loadRhs(b, loc, cols[j], k0));
        for (int64_t i = 0; i < mr; ++i)
          lhs.push_back(spec.loadLhs(b, loc, rows[i], k0));
        for (int64_t i = 0; i < mr; ++i)
          for (int64_t j = 0; j < nr; ++j) {
            Value acc = accs[i * nr + j];
            if (spec.integer) {
              // i8 x i8 products fit in i16 exactly (|p| <= 2^14): multiply
              // narrow, accumulate in i32.
              Value p = arith::MulIOp::create(b, loc, lhs[i], rhs[j]);
              if (getElementTypeOrSelf(p.getType()) != accElem)
                p = arith::ExtSIOp::create(b, loc, accType, p);
              next.push_back(arith::AddIOp::create(b, loc, acc, p));
            } else {
              next.push_back(
                  vector::FMAOp::create(b, loc, lhs[i], rhs[j], acc));
            }
          }
        scf::YieldOp::create(b, loc, next);
      });
  for (int64_t i = 0; i < mr; ++i) {
    SmallVector<Value> elems;
    for (int64_t j = 0; j < nr; ++j) {
      Value acc = reduceAcc(b, loc, kLoop.getResult(i * nr + j), spec.integer);
      elems.push_back(spec.epilogue(b, loc, acc, rows[i], cols[j]));
    }
    auto outType = VectorType::get({nr}, elems.front().getType());
    Value vec = vector::FromElementsOp::create(b, loc, outType, elems);
    y = vector::TransferWriteOp::create(b, loc, vec, y, ValueRange{rows[i], n},
                                        ArrayRef<bool>{true})
            .getResult();
  }
  return y;
}

/// for m in [lo, hi) step mr: for n in [nb, nEnd) step nr: block.
static Value buildRowLoop(OpBuilder &b, Location loc,
                          const MatmulKernelSpec &spec, int64_t mr, int64_t nr,
                          Value lo, Value hi, Value nb, Value nEnd, Value y) {
  auto mLoop = scf::ForOp::create(
      b, loc, lo, hi, cIdx(b, loc, mr), ValueRange{y},
      [&](OpBuilder &b, Location loc, Value m, ValueRange iter) {
        auto nLoop = scf::ForOp::create(
            b, loc, nb, nEnd, cIdx(b, loc, nr), iter,
            [&](OpBuilder &b, Location loc, Value n, ValueRange iter) {
              Value r = buildRegisterBlock(b, loc, spec, mr, nr, m, n, iter[0]);
              scf::YieldOp::create(b, loc, r);
            });
        scf::YieldOp::create(b, loc, nLoop.getResult(0));
      });
  return mLoop.getResult(0);
}

namespace qc {
int64_t MatmulKernelSpec::getColumnBlock() const {
  int64_t nr = std::max<int64_t>(1, std::min(colBlock, n));
  while (n % nr)
    --nr;
  return nr;
}

int64_t MatmulKernelSpec::getPanelWidth() const {
  int64_t nr = getColumnBlock();
  return std::max(nr, (colPanel / nr) * nr);
}

int64_t MatmulKernelSpec::getNumPanels() const {
  return (n + getPanelWidth() - 1) / getPanelWidth();
}

/// The panel loop over [lo, hi) (columns) of buildBlockedMatmul. With
/// `staged`, each panel's weight rows are first loaded (dequantized) into
/// `scratch` ([panel, K] f32) and the register blocks read them from there:
/// the same values in the same order, so the result is bit-identical, but
/// the dequantization runs once per panel instead of once per mr rows.
static Value buildPanelLoop(OpBuilder &b, Location loc,
                            const MatmulKernelSpec &spec, Value numRows,
                            Value lo, Value hi, Value init, Value scratch) {
  int64_t nr = spec.getColumnBlock();
  int64_t mr = std::max<int64_t>(1, spec.rowBlock);
  int64_t panel = spec.getPanelWidth();
  int64_t vl = spec.vectorWidth;
  Value cN = cIdx(b, loc, spec.n);
  Value rem = arith::RemUIOp::create(b, loc, numRows, cIdx(b, loc, mr));
  Value mMain = arith::SubIOp::create(b, loc, numRows, rem);
  SmallVector<Value> inits{init};
  if (scratch)
    inits.push_back(scratch);
  auto panelLoop = scf::ForOp::create(
      b, loc, lo, hi, cIdx(b, loc, panel), inits,
      [&](OpBuilder &b, Location loc, Value nb, ValueRange iter) {
        Value nEnd = arith::MinUIOp::create(
            b, loc, arith::AddIOp::create(b, loc, nb, cIdx(b, loc, panel)), cN);
        MatmulKernelSpec blockSpec = spec;
        SmallVector<Value> results;
        if (scratch) {
          auto fill = scf::ForOp::create(
              b, loc, nb, nEnd, cIdx(b, loc, 1), ValueRange{iter[1]},
              [&](OpBuilder &b, Location loc, Value r, ValueRange s) {
                Value row = arith::SubIOp::create(b, loc, r, nb);
                auto kLoop = scf::ForOp::create(
                    b, loc, cIdx(b, loc, 0), cIdx(b, loc, spec.k),
                    cIdx(b, loc, vl), s,
                    [&](OpBuilder &b, Location loc, Value k0, ValueRange s) {
                      Value w = spec.loadRhs(b, loc, r, k0);
                      Value t = vector::TransferWriteOp::create(
                                    b, loc, w, s[0], ValueRange{row, k0},
                                    ArrayRef<bool>{true})
                                    .getResult();
                      scf::YieldOp::create(b, loc, t);
                    });
                scf::YieldOp::create(b, loc, kLoop.getResult(0));
              });
          Value staged = fill.getResult(0);
          blockSpec.loadRhs = [staged, nb, vl](OpBuilder &b, Location loc,
                                               Value n, Value k0) -> Value {
            Value row = arith::SubIOp::create(b, loc, n, nb);
            return vector::TransferReadOp::create(
                b, loc, VectorType::get({vl}, b.getF32Type()), staged,
                ValueRange{row, k0}, std::nullopt, ArrayRef<bool>{true});
          };
          results.push_back(Value());
          results.push_back(staged);
        } else {
          results.push_back(Value());
        }
        Value y = buildRowLoop(b, loc, blockSpec, mr, nr, cIdx(b, loc, 0),
                               mMain, nb, nEnd, iter[0]);
        if (mr > 1)
          y = buildRowLoop(b, loc, blockSpec, 1, nr, mMain, numRows, nb, nEnd,
                           y);
        results[0] = y;
        scf::YieldOp::create(b, loc, results);
      });
  return panelLoop.getResult(0);
}

Value buildBlockedMatmul(OpBuilder &b, Location loc,
                         const MatmulKernelSpec &spec, Value numRows,
                         Value init) {
  // Register block sizes must tile N exactly (N is static); rows are tiled
  // by mr with a one-row tail loop because M is only known at run time.
  int64_t panel = spec.getPanelWidth();
  Value cN = cIdx(b, loc, spec.n);
  Value lo = cIdx(b, loc, 0), hi = cN;
  if (spec.panelBegin) {
    Value cPanel = cIdx(b, loc, panel);
    lo = arith::MulIOp::create(b, loc, spec.panelBegin, cPanel);
    hi = arith::MinUIOp::create(
        b, loc, arith::MulIOp::create(b, loc, spec.panelEnd, cPanel), cN);
  }
  if (spec.stageRhsMinRows <= 0 || spec.integer)
    return buildPanelLoop(b, loc, spec, numRows, lo, hi, init, Value());

  // Many rows: stage each dequantized weight panel once (one scratch buffer
  // per call); few rows (decode): dequantize in the register blocks.
  Value many = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, numRows,
                                     cIdx(b, loc, spec.stageRhsMinRows));
  auto ifOp = scf::IfOp::create(
      b, loc, many,
      [&](OpBuilder &b, Location loc) {
        Value scratch = tensor::EmptyOp::create(
            b, loc, ArrayRef<int64_t>{panel, spec.k}, b.getF32Type());
        scf::YieldOp::create(
            b, loc,
            buildPanelLoop(b, loc, spec, numRows, lo, hi, init, scratch));
      },
      [&](OpBuilder &b, Location loc) {
        scf::YieldOp::create(
            b, loc,
            buildPanelLoop(b, loc, spec, numRows, lo, hi, init, Value()));
      });
  return ifOp.getResult(0);
}
} // namespace qc

//===----------------------------------------------------------------------===//
// PackedWeightAccess
//===----------------------------------------------------------------------===//

FailureOr<PackedWeightAccess> PackedWeightAccess::get(PackedWeightOp def,
                                                      std::string &reason) {
  PackedWeightAccess a;
  a.data = def.getData();
  a.scales = def.getScales();
  a.zeros = def.getZeros();
  a.scheme = def.getScheme();
  a.layout = def.getLayout();
  a.n = def.getResult().getType().getN();
  a.k = def.getResult().getType().getK();
  a.bits = a.scheme.getWeightBits();
  if (a.bits != 4 && a.bits != 8) {
    reason = "only i4, i8 and f8E4M3FN packed weights are supported";
    return failure();
  }
  if (a.chooseVectorWidth(16) == 0) {
    reason = "int4 packing with an odd tile_k or group_size puts one byte "
             "across two tiles or groups, which the host kernels cannot read";
    return failure();
  }
  return a;
}

int64_t PackedWeightAccess::chooseVectorWidth(int64_t maxWidth) const {
  // mma_frag elements are gathered one by one: any width.
  bool packed4 = bits == 4 && layout.getKind() != LayoutKind::Unpacked &&
                 layout.getKind() != LayoutKind::MmaFrag;
  for (int64_t v = maxWidth; v >= 1; v /= 2) {
    if (k % v)
      continue;
    if (layout.getKind() == LayoutKind::Tiled && layout.getTileK() % v)
      continue;
    if (scheme.getGranularity() == Granularity::PerGroup &&
        scheme.getGroupSize() % v)
      continue;
    if (packed4 && v % 2)
      continue;
    return v;
  }
  return 0;
}

Value PackedWeightAccess::loadQuantized(OpBuilder &b, Location loc, Value row,
                                        Value k0, int64_t vl) const {
  Type i8 = b.getI8Type();
  if (layout.getKind() == LayoutKind::Unpacked)
    return vector::TransferReadOp::create(b, loc, VectorType::get({vl}, i8),
                                          data, ValueRange{row, k0},
                                          std::nullopt, ArrayRef<bool>{true});

  if (layout.getKind() == LayoutKind::MmaFrag)
    return loadFragQuantized(b, loc, row, k0, vl);

  // Element offset of (row, k0) in the flat layout.
  Value elem;
  if (layout.getKind() == LayoutKind::RowMajor) {
    elem = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, row, cIdx(b, loc, k)), k0);
  } else {
    int64_t tn = layout.getTileN(), tk = layout.getTileK();
    Value tileRow = arith::DivUIOp::create(b, loc, row, cIdx(b, loc, tn));
    Value rowIn = arith::RemUIOp::create(b, loc, row, cIdx(b, loc, tn));
    Value tileCol = arith::DivUIOp::create(b, loc, k0, cIdx(b, loc, tk));
    Value colIn = arith::RemUIOp::create(b, loc, k0, cIdx(b, loc, tk));
    Value tile = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, tileRow, cIdx(b, loc, k / tk)),
        tileCol);
    Value inTile = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, rowIn, cIdx(b, loc, tk)), colIn);
    elem = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, tile, cIdx(b, loc, tn * tk)),
        inTile);
  }
  if (bits == 8)
    return vector::TransferReadOp::create(b, loc, VectorType::get({vl}, i8),
                                          data, ValueRange{elem}, std::nullopt,
                                          ArrayRef<bool>{true});

  // INT4: vl / 2 bytes, the even element in the low nibble.
  Value byteOff = arith::DivUIOp::create(b, loc, elem, cIdx(b, loc, 2));
  auto halfType = VectorType::get({vl / 2}, i8);
  Value bytes = vector::TransferReadOp::create(
      b, loc, halfType, data, ValueRange{byteOff}, std::nullopt,
      ArrayRef<bool>{true});
  Value four = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(halfType, b.getI8IntegerAttr(4).getValue()));
  Value lo, hi;
  if (scheme.getSymmetric()) {
    // Signed nibbles: sign-extend with arithmetic shifts.
    lo = arith::ShRSIOp::create(
        b, loc, arith::ShLIOp::create(b, loc, bytes, four), four);
    hi = arith::ShRSIOp::create(b, loc, bytes, four);
  } else {
    Value mask = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(halfType, b.getI8IntegerAttr(0x0F).getValue()));
    lo = arith::AndIOp::create(b, loc, bytes, mask);
    hi = arith::ShRUIOp::create(b, loc, bytes, four);
  }
  return vector::InterleaveOp::create(b, loc, lo, hi);
}

namespace {
/// fragPosition's operations on index values (arith ops).
struct FragIndexOps {
  OpBuilder &b;
  Location loc;
  Value c(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value div(Value a, int64_t d) {
    return arith::DivUIOp::create(b, loc, a, c(d));
  }
  Value rem(Value a, int64_t d) {
    return arith::RemUIOp::create(b, loc, a, c(d));
  }
  Value mul(Value a, int64_t d) {
    return arith::MulIOp::create(b, loc, a, c(d));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
};
} // namespace

Value PackedWeightAccess::loadFragQuantized(OpBuilder &b, Location loc,
                                            Value row, Value k0,
                                            int64_t vl) const {
  // The reference path: each element's byte and field from FragLayout.h
  // (the kernels read whole 16-byte lane chunks instead).
  Type i8 = b.getI8Type();
  FragIndexOps ops{b, loc};
  SmallVector<Value> elems;
  for (int64_t i = 0; i < vl; ++i) {
    Value col = arith::AddIOp::create(b, loc, k0, cIdx(b, loc, i));
    FragPosition<Value> p = fragPosition(ops, bits, k, row, col);
    Value byte = tensor::ExtractOp::create(b, loc, data, ValueRange{p.byte});
    if (bits == 8) {
      elems.push_back(byte);
      continue;
    }
    Value shift = arith::IndexCastOp::create(b, loc, i8, p.shift);
    Value four = arith::ConstantIntOp::create(b, loc, i8, 4);
    Value v;
    if (scheme.getSymmetric()) {
      // Move the field to the top nibble, then sign-extend it down.
      Value up = arith::SubIOp::create(b, loc, four, shift);
      v = arith::ShRSIOp::create(b, loc,
                                 arith::ShLIOp::create(b, loc, byte, up), four);
    } else {
      v = arith::AndIOp::create(b, loc,
                                arith::ShRUIOp::create(b, loc, byte, shift),
                                arith::ConstantIntOp::create(b, loc, i8, 0x0F));
    }
    elems.push_back(v);
  }
  return vector::FromElementsOp::create(b, loc, VectorType::get({vl}, i8),
                                        elems);
}

Value PackedWeightAccess::scaleAt(OpBuilder &b, Location loc, Value row,
                                  Value col) const {
  Value r = cIdx(b, loc, 0), c = cIdx(b, loc, 0);
  if (scheme.getGranularity() != Granularity::PerTensor)
    r = row;
  if (scheme.getGranularity() == Granularity::PerGroup)
    c = arith::DivUIOp::create(b, loc, col,
                               cIdx(b, loc, scheme.getGroupSize()));
  Value s = tensor::ExtractOp::create(b, loc, scales, ValueRange{r, c});
  if (!s.getType().isF32())
    s = arith::ExtFOp::create(b, loc, b.getF32Type(), s);
  return s;
}

Value PackedWeightAccess::zeroAt(OpBuilder &b, Location loc, Value row,
                                 Value col) const {
  Value r = cIdx(b, loc, 0), c = cIdx(b, loc, 0);
  if (scheme.getGranularity() != Granularity::PerTensor)
    r = row;
  if (scheme.getGranularity() == Granularity::PerGroup)
    c = arith::DivUIOp::create(b, loc, col,
                               cIdx(b, loc, scheme.getGroupSize()));
  return tensor::ExtractOp::create(b, loc, zeros, ValueRange{r, c});
}

Value PackedWeightAccess::loadDequantized(OpBuilder &b, Location loc, Value row,
                                          Value k0, int64_t vl,
                                          bool applyScale) const {
  auto f32Vec = VectorType::get({vl}, b.getF32Type());
  Value q = loadQuantized(b, loc, row, k0, vl);
  Value w;
  if (scheme.isFp8Weight()) {
    w = ::qc::fp8::emitDecodeE4M3(
        b, loc,
        arith::BitcastOp::create(b, loc,
                                 VectorType::get({vl}, scheme.getWeight()), q));
  } else if (scheme.getSymmetric()) {
    w = arith::SIToFPOp::create(b, loc, f32Vec, q);
  } else if (scheme.hasFloatMinimum()) {
    // w = q * s + m: the minimum is added after the scale, so it is applied
    // here whatever `applyScale` says (rowConstantScale() is false).
    w = arith::UIToFPOp::create(b, loc, f32Vec, q);
    w = arith::MulFOp::create(
        b, loc, w,
        vector::BroadcastOp::create(b, loc, f32Vec, scaleAt(b, loc, row, k0)));
    Value m = zeroAt(b, loc, row, k0);
    if (!m.getType().isF32())
      m = arith::ExtFOp::create(b, loc, b.getF32Type(), m);
    return arith::AddFOp::create(
        b, loc, w, vector::BroadcastOp::create(b, loc, f32Vec, m));
  } else {
    // Asymmetric: q and z are unsigned values in an i8 bit pattern.
    w = arith::UIToFPOp::create(b, loc, f32Vec, q);
    Value z = zeroAt(b, loc, row, k0);
    Value zf = arith::UIToFPOp::create(b, loc, b.getF32Type(), z);
    w = arith::SubFOp::create(b, loc, w,
                              vector::BroadcastOp::create(b, loc, f32Vec, zf));
  }
  if (applyScale)
    w = arith::MulFOp::create(
        b, loc, w,
        vector::BroadcastOp::create(b, loc, f32Vec, scaleAt(b, loc, row, k0)));
  return w;
}

Value PackedWeightAccess::loadInt16(OpBuilder &b, Location loc, Value row,
                                    Value k0, int64_t vl) const {
  Value q = loadQuantized(b, loc, row, k0, vl);
  return arith::ExtSIOp::create(b, loc, VectorType::get({vl}, b.getI16Type()),
                                q);
}
