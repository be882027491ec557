//===- PackWeights.cpp - Pack quantized weights into bytes ------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-pack-weights: unpacked (one integer per byte, N x K) qc.packed_weight
// data becomes the flat row_major or tiled byte layout of QCAttrs.td.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCPACKWEIGHTSPASS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

/// Packs the N x K integers `q` into bytes of `layout`: element (n, k) has
/// linear index t * tileN * tileK + (n % tileN) * tileK + k % tileK with
/// t = (n / tileN) * (K / tileK) + k / tileK (row_major is one N x K tile);
/// INT4 puts the even index in the low nibble.
static std::vector<int8_t> packBytes(ArrayRef<int8_t> q, int64_t n, int64_t k,
                                     unsigned bits, int64_t tileN,
                                     int64_t tileK) {
  std::vector<uint8_t> out(n * k * bits / 8, 0);
  int64_t tilesK = k / tileK;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) {
      int64_t t = (r / tileN) * tilesK + c / tileK;
      int64_t idx = t * tileN * tileK + (r % tileN) * tileK + c % tileK;
      uint8_t v = static_cast<uint8_t>(q[r * k + c]);
      if (bits == 8)
        out[idx] = v;
      else
        out[idx / 2] |= (v & 0xf) << (idx % 2 ? 4 : 0);
    }
  return std::vector<int8_t>(out.begin(), out.end());
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
    if (layout != "row_major" && layout != "tiled" && layout != "auto") {
      module.emitError() << "qc-pack-weights: unknown layout '" << layout
                         << "'; expected row_major, tiled or auto";
      return signalPassFailure();
    }
    if (layout != "row_major" && (tileN <= 0 || tileK <= 0 || tileK % 2 != 0)) {
      module.emitError() << "qc-pack-weights: tile-n must be positive and "
                            "tile-k positive and even, got "
                         << int64_t(tileN) << "x" << int64_t(tileK);
      return signalPassFailure();
    }
    bool ok = true;
    module.walk([&](PackedWeightOp op) {
      if (op.getLayout().getKind() != LayoutKind::Unpacked)
        return;
      PackedWeightType t = op.getResult().getType();
      int64_t n = t.getN(), k = t.getK();
      unsigned bits = op.getScheme().getWeightBits();
      auto cst = op.getData().getDefiningOp<arith::ConstantOp>();
      auto dense = cst ? dyn_cast<DenseElementsAttr>(cst.getValue())
                       : DenseElementsAttr();
      if (!dense) {
        op.emitError("qc-pack-weights: the unpacked data is not a dense "
                     "constant");
        ok = false;
        return;
      }
      if (bits == 4 && k % 2 != 0) {
        op.emitError() << "qc-pack-weights: int4 weight with odd K = " << k
                       << " cannot be packed two per byte";
        ok = false;
        return;
      }
      int64_t tn = n, tk = k;
      LayoutAttr newLayout =
          LayoutAttr::get(op.getContext(), LayoutKind::RowMajor, 1, 1);
      if (wantsTiles(op)) {
        if (n % tileN == 0 && k % tileK == 0) {
          tn = tileN;
          tk = tileK;
          newLayout =
              LayoutAttr::get(op.getContext(), LayoutKind::Tiled, tileN, tileK);
        } else {
          op.emitWarning() << "tile " << int64_t(tileN) << "x" << int64_t(tileK)
                           << " does not divide the " << n << "x" << k
                           << " weight; using row_major";
        }
      }
      SmallVector<int8_t> q;
      q.reserve(n * k);
      for (int8_t v : dense.getValues<int8_t>())
        q.push_back(v);
      std::vector<int8_t> bytes = packBytes(q, n, k, bits, tn, tk);
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
