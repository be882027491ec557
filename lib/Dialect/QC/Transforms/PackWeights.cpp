//===- PackWeights.cpp - Pack quantized weights into bytes ------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-pack-weights: unpacked (one integer per byte, N x K) qc.packed_weight
// data becomes the flat row_major, tiled or mma_frag byte layout of
// QCAttrs.td; a weight that only `frag` kernels read is (re)packed mma_frag.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/IR/FragLayout.h"
#include "qc/Dialect/QC/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCPACKWEIGHTSPASS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

/// Where element (r, c) of an N x K weight of `bits` bits lives in `layout`
/// (the byte and the bit its field starts at). row_major and tiled: linear
/// index t * tileN * tileK + (r % tileN) * tileK + c % tileK with t = (r /
/// tileN) * (K / tileK) + c / tileK (row_major is one N x K tile), INT4 two
/// per byte with the even index in the low nibble; mma_frag: FragLayout.h.
static FragPosition<int64_t> elementPosition(LayoutAttr layout, unsigned bits,
                                             int64_t n, int64_t k, int64_t r,
                                             int64_t c) {
  if (layout.getKind() == LayoutKind::MmaFrag) {
    FragIntOps ops;
    return fragPosition(ops, bits, k, r, c);
  }
  int64_t tileN = n, tileK = k;
  if (layout.getKind() == LayoutKind::Tiled) {
    tileN = layout.getTileN();
    tileK = layout.getTileK();
  }
  int64_t t = (r / tileN) * (k / tileK) + c / tileK;
  int64_t idx = t * tileN * tileK + (r % tileN) * tileK + c % tileK;
  if (bits == 8)
    return {idx, 0};
  return {idx / 2, idx % 2 ? 4 : 0};
}

/// Packs the N x K integers `q` into the bytes of `layout`.
static std::vector<int8_t> packBytes(ArrayRef<int8_t> q, int64_t n, int64_t k,
                                     unsigned bits, LayoutAttr layout) {
  std::vector<uint8_t> out(n * k * bits / 8, 0);
  uint8_t mask = bits == 8 ? 0xff : 0xf;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) {
      FragPosition<int64_t> p = elementPosition(layout, bits, n, k, r, c);
      out[p.byte] |= (static_cast<uint8_t>(q[r * k + c]) & mask) << p.shift;
    }
  return std::vector<int8_t>(out.begin(), out.end());
}

/// The N x K integers of packed `bytes` in `layout`, INT4 fields
/// sign-extended when `symmetric` (the unpacked convention).
static std::vector<int8_t> unpackBytes(ArrayRef<int8_t> bytes, int64_t n,
                                       int64_t k, unsigned bits, bool symmetric,
                                       LayoutAttr layout) {
  std::vector<int8_t> q(n * k);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) {
      FragPosition<int64_t> p = elementPosition(layout, bits, n, k, r, c);
      uint8_t v = static_cast<uint8_t>(bytes[p.byte]) >> p.shift;
      if (bits == 8) {
        q[r * k + c] = static_cast<int8_t>(v);
        continue;
      }
      v &= 0xf;
      q[r * k + c] = symmetric && v >= 8 ? int8_t(v) - 16 : int8_t(v);
    }
  return q;
}

/// True when every user of `op` is a weight-only matmul whose kernel is the
/// `frag` family (which reads only mma_frag bytes).
static bool onlyFragUsers(PackedWeightOp op) {
  if (op->use_empty())
    return false;
  return llvm::all_of(op->getUsers(), [](Operation *user) {
    auto wo = dyn_cast<WeightOnlyMatmulOp>(user);
    return wo && wo.getKernelAttr() &&
           wo.getKernelAttr().getKind() == KernelKind::Frag;
  });
}

/// Replaces the f32 constant scales of `op` by f16 ones (round to nearest
/// even); fails when one is not 0 or in the normal f16 range.
static LogicalResult roundScalesToF16(PackedWeightOp op) {
  auto cst = op.getScales().getDefiningOp<arith::ConstantOp>();
  auto dense = cst ? dyn_cast<DenseFPElementsAttr>(cst.getValue())
                   : DenseFPElementsAttr();
  if (!dense || !dense.getElementType().isF32())
    return failure();
  SmallVector<APFloat> halves;
  for (APFloat v : dense.getValues<APFloat>()) {
    float f = std::fabs(v.convertToFloat());
    if (!(f == 0.0f || (f >= 0x1p-14f && f <= 65504.0f)))
      return failure();
    bool lost;
    v.convert(APFloat::IEEEhalf(), APFloat::rmNearestTiesToEven, &lost);
    halves.push_back(v);
  }
  OpBuilder b(op);
  auto type = RankedTensorType::get(dense.getType().getShape(), b.getF16Type());
  Value scales = arith::ConstantOp::create(
      b, op.getLoc(), DenseElementsAttr::get(type, halves));
  op.getScalesMutable().assign(scales);
  if (cst->use_empty())
    cst->erase();
  return success();
}

namespace {
struct PackWeightsPass
    : public mlir::qc::impl::QCPackWeightsPassBase<PackWeightsPass> {
  using Base::Base;

  /// Only an explicit layout=tiled tiles: every GPU kernel builder
  /// (KernelBuilders.h) reads row_major bytes, so `auto` keeps row_major.
  bool wantsTiles(PackedWeightOp) const { return layout == "tiled"; }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (layout != "row_major" && layout != "tiled" && layout != "auto" &&
        layout != "mma_frag") {
      module.emitError() << "qc-pack-weights: unknown layout '" << layout
                         << "'; expected row_major, tiled, mma_frag or auto";
      return signalPassFailure();
    }
    if (layout == "tiled" && (tileN <= 0 || tileK <= 0 || tileK % 2 != 0)) {
      module.emitError() << "qc-pack-weights: tile-n must be positive and "
                            "tile-k positive and even, got "
                         << int64_t(tileN) << "x" << int64_t(tileK);
      return signalPassFailure();
    }
    bool ok = true;
    module.walk([&](PackedWeightOp op) {
      PackedWeightType t = op.getResult().getType();
      int64_t n = t.getN(), k = t.getK();
      unsigned bits = op.getScheme().getWeightBits();
      LayoutKind from = op.getLayout().getKind();
      bool fragUsers = onlyFragUsers(op);
      if (from == LayoutKind::MmaFrag && fragUsers) {
        // Already in place (layout=mma_frag before selection): only the
        // scales the frag kernel reads as f16 may remain to round.
        if (!op.getScales().getType().getElementType().isF16() &&
            failed(roundScalesToF16(op))) {
          op.emitError() << "qc-pack-weights: the frag kernel needs f16 "
                            "scales; these are not f32 constants in the "
                            "normal f16 range";
          ok = false;
        }
        return;
      }
      // mma_frag bytes that GPU kernels of other families read go back to
      // row_major (host kernels read every layout).
      bool otherGpuUsers =
          from == LayoutKind::MmaFrag &&
          llvm::any_of(op->getUsers(), [](Operation *user) {
            auto kernel = user->getAttrOfType<KernelAttr>("kernel");
            return kernel && kernel.getKind() != KernelKind::Host &&
                   kernel.getKind() != KernelKind::Frag;
          });
      if ((from == LayoutKind::MmaFrag && !otherGpuUsers) ||
          (from != LayoutKind::Unpacked && from != LayoutKind::MmaFrag &&
           !fragUsers))
        return;
      if (fragUsers && !fragLayoutFits(n, k, bits)) {
        op.emitError() << "qc-pack-weights: the frag kernel needs an mma_frag "
                          "weight, but "
                       << n << "x" << k << " i" << bits
                       << " is not whole units of 16 x "
                       << fragUnitK(bits == 8 ? 8 : 4);
        ok = false;
        return;
      }
      auto cst = op.getData().getDefiningOp<arith::ConstantOp>();
      auto dense = cst ? dyn_cast<DenseElementsAttr>(cst.getValue())
                       : DenseElementsAttr();
      if (!dense) {
        op.emitError() << "qc-pack-weights: the "
                       << (from == LayoutKind::Unpacked ? "unpacked" : "packed")
                       << " data is not a dense constant";
        ok = false;
        return;
      }
      if (from == LayoutKind::Unpacked && bits == 4 && k % 2 != 0) {
        op.emitError() << "qc-pack-weights: int4 weight with odd K = " << k
                       << " cannot be packed two per byte";
        ok = false;
        return;
      }
      SmallVector<int8_t> q;
      q.reserve(n * k);
      for (int8_t v : dense.getValues<int8_t>())
        q.push_back(v);
      if (from != LayoutKind::Unpacked) {
        std::vector<int8_t> unpacked = unpackBytes(
            q, n, k, bits, op.getScheme().getSymmetric(), op.getLayout());
        q.assign(unpacked.begin(), unpacked.end());
      }
      bool frag = fragUsers;
      if (!frag && layout == "mma_frag" && !otherGpuUsers) {
        if (fragLayoutFits(n, k, bits))
          frag = true;
        else
          op.emitWarning() << "the mma_frag layout needs N % 16 == 0 and K % "
                           << fragUnitK(bits == 8 ? 8 : 4) << " == 0, not " << n
                           << "x" << k << "; using row_major";
      }
      LayoutAttr newLayout = LayoutAttr::get(
          op.getContext(), frag ? LayoutKind::MmaFrag : LayoutKind::RowMajor, 1,
          1);
      if (!frag && !otherGpuUsers && wantsTiles(op)) {
        if (n % tileN == 0 && k % tileK == 0) {
          newLayout =
              LayoutAttr::get(op.getContext(), LayoutKind::Tiled, tileN, tileK);
        } else {
          op.emitWarning() << "tile " << int64_t(tileN) << "x" << int64_t(tileK)
                           << " does not divide the " << n << "x" << k
                           << " weight; using row_major";
        }
      }
      std::vector<int8_t> bytes = packBytes(q, n, k, bits, newLayout);
      // The frag kernel reads f16 scales: f32 constants are rounded once
      // (to nearest even) here, so the host module computes with the same
      // values.
      if (fragUsers && !op.getScales().getType().getElementType().isF16()) {
        if (failed(roundScalesToF16(op))) {
          op.emitError() << "qc-pack-weights: the frag kernel needs f16 "
                            "scales; these are not f32 constants in the "
                            "normal f16 range";
          ok = false;
          return;
        }
      }
      OpBuilder b(op);
      auto type = RankedTensorType::get({static_cast<int64_t>(bytes.size())},
                                        b.getI8Type());
      Value data = arith::ConstantOp::create(
          b, op.getLoc(),
          DenseElementsAttr::get(type, ArrayRef<int8_t>(bytes)));
      op.getDataMutable().assign(data);
      op.setLayoutAttr(newLayout);
      if (cst->use_empty())
        cst->erase();
    });
    if (!ok)
      signalPassFailure();
  }
};
} // namespace
