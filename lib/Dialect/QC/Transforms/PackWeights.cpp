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
#include "qc/Dialect/QC/Transforms/QuantUtils.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Threading.h"

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

/// Rows that never share a packed byte with rows outside their block: an
/// mma_frag unit row (16 channels), a tile row, or the whole weight.
static int64_t rowBlock(LayoutAttr layout, int64_t n) {
  if (layout.getKind() == LayoutKind::MmaFrag && n % 16 == 0)
    return 16;
  if (layout.getKind() == LayoutKind::Tiled && layout.getTileN() > 0 &&
      n % layout.getTileN() == 0)
    return layout.getTileN();
  return n;
}

/// mma_frag positions as row part + column part: fragPosition(r, c) is
/// unit * 512 + its value at (r % 16, 0) + its value at (0, c % unitK), the
/// shift coming from the column alone (FragLayout.h), so two small tables
/// of fragPosition's own values replace its divisions per element.
struct FragTables {
  int64_t unitK, unitsPerRow;
  SmallVector<int64_t> rowByte, colByte, colShift;
  FragTables(unsigned bits, int64_t k)
      : unitK(fragUnitK(bits)), unitsPerRow(k / fragUnitK(bits)) {
    FragIntOps ops;
    for (int64_t nr = 0; nr < kFragUnitN; ++nr)
      rowByte.push_back(fragPosition(ops, bits, k, nr, int64_t(0)).byte);
    for (int64_t kr = 0; kr < unitK; ++kr) {
      FragPosition<int64_t> p = fragPosition(ops, bits, k, int64_t(0), kr);
      colByte.push_back(p.byte);
      colShift.push_back(p.shift);
    }
  }
  FragPosition<int64_t> at(int64_t r, int64_t c) const {
    int64_t unit = (r / kFragUnitN) * unitsPerRow + c / unitK;
    return {unit * kFragUnitBytes + rowByte[r % kFragUnitN] +
                colByte[c % unitK],
            colShift[c % unitK]};
  }
};

/// Runs `body(r)` for every row, `block` rows at a time in parallel (the
/// caller's blocks must own disjoint bytes).
static void forEachRow(MLIRContext *ctx, int64_t block, int64_t n,
                       function_ref<void(int64_t)> body) {
  block = std::clamp<int64_t>(block, 1, std::max<int64_t>(n, 1));
  parallelFor(ctx, 0, (n + block - 1) / block, [&](size_t b) {
    for (int64_t r = b * block; r < std::min<int64_t>(n, (b + 1) * block); ++r)
      body(r);
  });
}

/// Row slices for the linear row_major paths (whole rows own whole bytes).
static int64_t linearBlock(int64_t n) { return (n + 63) / 64; }

/// Packs the N x K integers `q` into the bytes of `layout`.
static std::vector<int8_t> packBytes(MLIRContext *ctx, ArrayRef<int8_t> q,
                                     int64_t n, int64_t k, unsigned bits,
                                     LayoutAttr layout) {
  std::vector<int8_t> out(n * k * bits / 8, 0);
  if (layout.getKind() == LayoutKind::RowMajor && bits == 8) {
    std::copy(q.begin(), q.end(), out.begin());
    return out;
  }
  auto *o = reinterpret_cast<uint8_t *>(out.data());
  if (layout.getKind() == LayoutKind::RowMajor && k % 2 == 0) {
    // Two per byte along the flat index, the even one in the low nibble
    // (K is even, so a byte never spans two rows).
    forEachRow(ctx, linearBlock(n), n, [&](int64_t r) {
      for (int64_t i = r * k; i < (r + 1) * k; i += 2)
        o[i / 2] =
            (uint8_t(q[i]) & 0xf) | uint8_t((uint8_t(q[i + 1]) & 0xf) << 4);
    });
    return out;
  }
  uint8_t mask = bits == 8 ? 0xff : 0xf;
  if (layout.getKind() == LayoutKind::MmaFrag) {
    FragTables frag(bits, k);
    forEachRow(ctx, rowBlock(layout, n), n, [&](int64_t r) {
      for (int64_t c = 0; c < k; ++c) {
        FragPosition<int64_t> p = frag.at(r, c);
        o[p.byte] |= (static_cast<uint8_t>(q[r * k + c]) & mask) << p.shift;
      }
    });
    return out;
  }
  forEachRow(ctx, rowBlock(layout, n), n, [&](int64_t r) {
    for (int64_t c = 0; c < k; ++c) {
      FragPosition<int64_t> p = elementPosition(layout, bits, n, k, r, c);
      o[p.byte] |= (static_cast<uint8_t>(q[r * k + c]) & mask) << p.shift;
    }
  });
  return out;
}

/// The N x K integers of packed `bytes` in `layout`, INT4 fields
/// sign-extended when `symmetric` (the unpacked convention).
static std::vector<int8_t> unpackBytes(MLIRContext *ctx, ArrayRef<int8_t> bytes,
                                       int64_t n, int64_t k, unsigned bits,
                                       bool symmetric, LayoutAttr layout) {
  std::vector<int8_t> q(n * k);
  auto field = [&](uint8_t v) -> int8_t {
    if (bits == 8)
      return static_cast<int8_t>(v);
    v &= 0xf;
    return symmetric && v >= 8 ? int8_t(v) - 16 : int8_t(v);
  };
  if (layout.getKind() == LayoutKind::RowMajor && (bits == 8 || k % 2 == 0)) {
    forEachRow(ctx, linearBlock(n), n, [&](int64_t r) {
      for (int64_t i = r * k; i < (r + 1) * k; ++i)
        q[i] = bits == 8 ? bytes[i]
                         : field(uint8_t(bytes[i / 2]) >> (i % 2 ? 4 : 0));
    });
    return q;
  }
  if (layout.getKind() == LayoutKind::MmaFrag) {
    FragTables frag(bits, k);
    forEachRow(ctx, rowBlock(layout, n), n, [&](int64_t r) {
      for (int64_t c = 0; c < k; ++c) {
        FragPosition<int64_t> p = frag.at(r, c);
        q[r * k + c] = field(static_cast<uint8_t>(bytes[p.byte]) >> p.shift);
      }
    });
    return q;
  }
  forEachRow(ctx, rowBlock(layout, n), n, [&](int64_t r) {
    for (int64_t c = 0; c < k; ++c) {
      FragPosition<int64_t> p = elementPosition(layout, bits, n, k, r, c);
      q[r * k + c] = field(static_cast<uint8_t>(bytes[p.byte]) >> p.shift);
    }
  });
  return q;
}

/// row_major bytes of an N x K weight repacked mma_frag directly: each
/// field keeps its bits (what unpacking and packing again would give).
static std::vector<int8_t> rowMajorToFrag(MLIRContext *ctx, ArrayRef<int8_t> in,
                                          int64_t n, int64_t k, unsigned bits) {
  std::vector<int8_t> out(n * k * bits / 8, 0);
  auto *o = reinterpret_cast<uint8_t *>(out.data());
  auto *src = reinterpret_cast<const uint8_t *>(in.data());
  FragTables frag(bits, k);
  forEachRow(ctx, kFragUnitN, n, [&](int64_t r) {
    for (int64_t c = 0; c < k; ++c) {
      int64_t i = r * k + c;
      uint8_t v = bits == 8 ? src[i] : (src[i / 2] >> (i % 2 ? 4 : 0)) & 0xf;
      FragPosition<int64_t> p = frag.at(r, c);
      o[p.byte] |= v << p.shift;
    }
  });
  return out;
}

/// The int8 elements of `dense` without per-element iteration.
static ArrayRef<int8_t> int8Data(DenseElementsAttr dense,
                                 SmallVectorImpl<int8_t> &storage) {
  if (dense.isSplat()) {
    storage.assign(dense.getNumElements(), dense.getSplatValue<int8_t>());
    return storage;
  }
  ArrayRef<char> raw = dense.getRawData();
  return ArrayRef<int8_t>(reinterpret_cast<const int8_t *>(raw.data()),
                          raw.size());
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

  /// Where the packed bytes go (the weight-store options).
  WeightSink sink;
  /// The packed bytes by (source data, scheme, source layout, target
  /// layout, N, K).
  llvm::DenseMap<std::tuple<const void *, const void *, const void *,
                            const void *, int64_t, int64_t>,
                 ElementsAttr>
      packedOnce;

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
    FailureOr<WeightSink> opened =
        WeightSink::open(module, weightStore, weightStoreMinBytes);
    if (failed(opened))
      return signalPassFailure();
    sink = *opened;
    packedOnce.clear();
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
      Attribute source = cst ? cst.getValue() : Attribute();
      auto dense = dyn_cast_or_null<DenseElementsAttr>(source);
      std::optional<ArrayRef<char>> raw = rawConstantData(source);
      if (!dense && !raw) {
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
      SmallVector<int8_t> splat;
      ArrayRef<int8_t> q =
          raw ? ArrayRef<int8_t>(reinterpret_cast<const int8_t *>(raw->data()),
                                 raw->size())
              : int8Data(dense, splat);
      ArrayRef<int8_t> packedIn = q;
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
      // The same source packed the same way (the importers' @forward and
      // @decode share their codes) is packed once.
      auto key = std::make_tuple(source.getAsOpaquePointer(),
                                 op.getScheme().getAsOpaquePointer(),
                                 op.getLayout().getAsOpaquePointer(),
                                 newLayout.getAsOpaquePointer(), n, k);
      ElementsAttr packed = packedOnce.lookup(key);
      if (!packed) {
        std::vector<int8_t> bytes;
        if (from == LayoutKind::RowMajor &&
            newLayout.getKind() == LayoutKind::MmaFrag) {
          // The selection's repack: fields move as they are (no unpacked
          // copy).
          bytes = rowMajorToFrag(&getContext(), packedIn, n, k, bits);
        } else {
          std::vector<int8_t> unpacked;
          if (from != LayoutKind::Unpacked) {
            unpacked =
                unpackBytes(&getContext(), packedIn, n, k, bits,
                            op.getScheme().getSymmetric(), op.getLayout());
            q = unpacked;
          }
          bytes = packBytes(&getContext(), q, n, k, bits, newLayout);
        }
        releaseWeightPages(source);
        auto type = RankedTensorType::get({static_cast<int64_t>(bytes.size())},
                                          IntegerType::get(&getContext(), 8));
        packed = sink.get(op, type,
                          ArrayRef<char>(reinterpret_cast<char *>(bytes.data()),
                                         bytes.size()));
        if (!packed) {
          ok = false;
          return;
        }
        packedOnce[key] = packed;
      }
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
      Value data =
          arith::ConstantOp::create(b, op.getLoc(), cast<TypedAttr>(packed));
      op.getDataMutable().assign(data);
      op.setLayoutAttr(newLayout);
      if (cst->use_empty())
        cst->erase();
    });
    packedOnce.clear();
    if (!ok)
      return signalPassFailure();
    // The unpacked codes (and bytes repacked) are dead now.
    if (sink.store)
      sink.store->discardUnreferenced(module);
  }
};
} // namespace
