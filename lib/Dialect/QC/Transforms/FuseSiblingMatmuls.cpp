//===- FuseSiblingMatmuls.cpp - Horizontal fusion of sibling matmuls ------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-fuse-sibling-matmuls: quantized matmuls that read the same input with
// the same scheme and packed layout (q/k/v, gate/up) become one matmul over
// the concatenated output channels, followed by one tensor.extract_slice per
// original layer. The packed weights, scales, zero points and biases are
// concatenated along N (rows) at compile time; `fused_layers` keeps every
// layer's name, channel range and recorded errors.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Dialect/QC/Transforms/QuantUtils.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringExtras.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCFUSESIBLINGMATMULSPASS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

/// Discardable attributes that describe one layer (not the computation):
/// they move into the layer's #qc.fused_layer instead of having to agree.
static bool isPerLayerAttr(StringRef name) {
  return name == "qc.quant_error" || name == "qc.output_error";
}

/// The raw little-endian bytes of the constant `v` (dense, dense_resource or
/// qc.external_weight), element after element; failure when `v` is not a
/// constant or cannot be read.
static FailureOr<std::vector<char>> constantBytes(Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  Type elt = type.getElementType();
  int64_t eltBytes = elt.getIntOrFloatBitWidth() / 8;
  int64_t count = type.getNumElements();
  if (!elt.isIntOrFloat() || elt.getIntOrFloatBitWidth() % 8 != 0)
    return failure();
  Operation *def = v.getDefiningOp();
  if (auto c = dyn_cast_or_null<arith::ConstantOp>(def)) {
    if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue())) {
      ArrayRef<char> raw = dense.getRawData();
      if (dense.isSplat()) {
        std::vector<char> out;
        out.reserve(count * eltBytes);
        for (int64_t i = 0; i < count; ++i)
          out.insert(out.end(), raw.begin(), raw.begin() + eltBytes);
        return out;
      }
      if (static_cast<int64_t>(raw.size()) != count * eltBytes)
        return failure();
      return std::vector<char>(raw.begin(), raw.end());
    }
    if (auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue())) {
      AsmResourceBlob *blob = res.getRawHandle().getBlob();
      if (!blob ||
          static_cast<int64_t>(blob->getData().size()) != count * eltBytes)
        return failure();
      ArrayRef<char> raw = blob->getData();
      std::vector<char> out(raw.begin(), raw.end());
      releaseWeightPages(res);
      return out;
    }
    return failure();
  }
  if (isa_and_nonnull<ExternalWeightOp>(def)) {
    // Read through the shared reader (which resolves the path and checks
    // the size), then re-encode exactly: the values came from `elt`.
    FailureOr<std::vector<double>> vals =
        readConstantValues(v, def, "fused weight");
    if (failed(vals))
      return failure();
    if (isa<FloatType>(elt)) {
      ArrayRef<char> raw = makeFloatAttr(type, *vals).getRawData();
      return std::vector<char>(raw.begin(), raw.end());
    }
    if (elt.isSignlessInteger(8)) {
      std::vector<char> out;
      out.reserve(count);
      for (double d : *vals)
        out.push_back(static_cast<char>(static_cast<int8_t>(d)));
      return out;
    }
  }
  return failure();
}

namespace {

/// What fusion needs to know of one candidate matmul.
struct Candidate {
  Operation *op;
  mutable PackedWeightOp pw; // op accessors are not const
  Value input;
  Value inputScales; // qc.int8_matmul only
  Value bias;
  ArrayAttr fused;
  KernelAttr kernel;
  StringAttr layer;

  static Candidate get(Operation *op) {
    Candidate c{op, {}, {}, {}, {}, {}, {}, {}};
    if (auto wo = dyn_cast<WeightOnlyMatmulOp>(op)) {
      c.pw = getPackedWeightDef(wo.getWeight());
      c.input = wo.getInput();
      c.bias = wo.getBias();
      c.fused = wo.getFusedLayersAttr();
      c.kernel = wo.getKernelAttr();
      c.layer = wo.getLayerAttr();
    } else {
      auto i8 = cast<Int8MatmulOp>(op);
      c.pw = getPackedWeightDef(i8.getWeight());
      c.input = i8.getInput();
      c.inputScales = i8.getInputScales();
      c.bias = i8.getBias();
      c.fused = i8.getFusedLayersAttr();
      c.kernel = i8.getKernelAttr();
      c.layer = i8.getLayerAttr();
    }
    return c;
  }

  int64_t n() const { return pw.getResult().getType().getN(); }

  /// Why this matmul cannot take part in a fusion, or empty.
  std::string refusal() const {
    if (kernel)
      return "a kernel is already selected";
    if (fused)
      return "already fused";
    if (!pw)
      return "the weight does not come from qc.packed_weight";
    SchemeAttr s = pw.getScheme();
    if (!s.isQuantizedWeight())
      return "the weight is not quantized";
    if (s.getGranularity() == Granularity::PerTensor)
      return "per_tensor scales cannot be concatenated";
    if (!isConstantWeight(pw.getData()) || !isConstantWeight(pw.getScales()) ||
        (pw.getZeros() && !isConstantWeight(pw.getZeros())))
      return "the packed weight is not a compile-time constant";
    if (bias && !isConstantWeight(bias))
      return "the bias is not a compile-time constant";
    LayoutAttr layout = pw.getLayout();
    if (layout.getKind() == LayoutKind::Tiled && n() % layout.getTileN() != 0)
      return "tile_n does not divide N";
    return "";
  }

  /// True when `other` computes the same thing per output channel on the
  /// same input: one scheme and packed layout, one input (and activation
  /// scales), bias presence and types, the same computation attributes.
  bool compatible(const Candidate &other) const {
    if (op->getName() != other.op->getName() || input != other.input ||
        inputScales != other.inputScales)
      return false;
    auto rt = cast<RankedTensorType>(op->getResult(0).getType());
    auto ort = cast<RankedTensorType>(other.op->getResult(0).getType());
    if (rt.getElementType() != ort.getElementType())
      return false;
    if (pw.getScheme() != other.pw.getScheme() ||
        pw.getLayout() != other.pw.getLayout() ||
        pw.getResult().getType().getElementType() !=
            other.pw.getResult().getType().getElementType() ||
        pw.getData().getType().getRank() !=
            other.pw.getData().getType().getRank() ||
        pw.getScales().getType().getElementType() !=
            other.pw.getScales().getType().getElementType() ||
        bool(pw.getZeros()) != bool(other.pw.getZeros()) ||
        bool(bias) != bool(other.bias))
      return false;
    if (bias &&
        cast<RankedTensorType>(bias.getType()).getElementType() !=
            cast<RankedTensorType>(other.bias.getType()).getElementType())
      return false;
    // Discardable attributes that change the computation (e.g.
    // qc.batch_threshold) must agree.
    auto computeAttrs = [](Operation *o) {
      SmallVector<NamedAttribute> out;
      for (NamedAttribute a : o->getDiscardableAttrs())
        if (!isPerLayerAttr(a.getName().getValue()))
          out.push_back(a);
      llvm::sort(out, [](NamedAttribute a, NamedAttribute b) {
        return a.getName().getValue() < b.getName().getValue();
      });
      return out;
    };
    return computeAttrs(op) == computeAttrs(other.op);
  }
};

/// The row-wise (dim 0) concatenation of the constants `values` as one
/// attribute (through `sink`): their bytes one after the other (each is
/// row-major); null when one cannot be read or stored (`stored` then says
/// why). No IR is created.
ElementsAttr concatConstants(ArrayRef<Value> values, const WeightSink &sink,
                             std::string &stored) {
  if (values.empty())
    return {};
  auto first = cast<RankedTensorType>(values.front().getType());
  SmallVector<int64_t> shape(first.getShape());
  shape[0] = 0;
  std::vector<char> bytes;
  for (Value v : values) {
    shape[0] += cast<RankedTensorType>(v.getType()).getDimSize(0);
    FailureOr<std::vector<char>> b = constantBytes(v);
    if (failed(b))
      return {};
    bytes.insert(bytes.end(), b->begin(), b->end());
  }
  auto type = RankedTensorType::get(shape, first.getElementType());
  int64_t eltBytes = type.getElementTypeBitWidth() / 8;
  if (static_cast<int64_t>(bytes.size()) != type.getNumElements() * eltBytes)
    return {};
  if (!sink.store || static_cast<int64_t>(bytes.size()) < sink.minBytes)
    return DenseElementsAttr::getFromRawBuffer(type, bytes);
  ElementsAttr attr = sink.store->store(type, bytes, stored);
  return attr;
}

/// Fuses every compatible sibling of the root (same input, same block) into
/// one matmul over the concatenated output channels.
template <typename OpTy> struct FuseSiblingMatmuls : OpRewritePattern<OpTy> {
  FuseSiblingMatmuls(MLIRContext *ctx, int64_t maxN, WeightSink sink)
      : OpRewritePattern<OpTy>(ctx), maxN(maxN), sink(sink) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    Candidate root = Candidate::get(op);
    std::string why = root.refusal();
    if (!why.empty())
      return rewriter.notifyMatchFailure(op, why);

    // The siblings in block order; the root is among them.
    SmallVector<Candidate> group;
    llvm::SmallPtrSet<Operation *, 8> seen;
    for (Operation *user : root.input.getUsers()) {
      auto sib = dyn_cast<OpTy>(user);
      if (!sib || user->getBlock() != op->getBlock() ||
          !seen.insert(user).second)
        continue;
      Candidate c = Candidate::get(user);
      if (c.refusal().empty() && root.compatible(c))
        group.push_back(c);
    }
    llvm::sort(group, [](const Candidate &a, const Candidate &b) {
      return a.op->isBeforeInBlock(b.op);
    });
    if (maxN > 0) {
      SmallVector<Candidate> kept;
      int64_t total = 0;
      for (const Candidate &c : group)
        if (total + c.n() <= maxN) {
          kept.push_back(c);
          total += c.n();
        }
      group = std::move(kept);
    }
    if (group.size() < 2)
      return rewriter.notifyMatchFailure(op, "no compatible sibling");

    // Everything is created before the first member: the input dominates
    // it, the new constants are created there, and every user of a member
    // comes after it.
    Operation *first = group.front().op;
    rewriter.setInsertionPoint(first);
    SmallVector<Location> locs;
    SmallVector<Value> datas, scales, zeros, biases;
    SmallVector<Attribute> fused;
    SmallVector<std::string> names;
    MLIRContext *ctx = rewriter.getContext();
    int64_t n = 0;
    for (const Candidate &c : group) {
      locs.push_back(c.op->getLoc());
      datas.push_back(c.pw.getData());
      scales.push_back(c.pw.getScales());
      if (c.pw.getZeros())
        zeros.push_back(c.pw.getZeros());
      if (c.bias)
        biases.push_back(c.bias);
      auto qe = c.op->getAttrOfType<FloatAttr>("qc.quant_error");
      auto oe = c.op->getAttrOfType<FloatAttr>("qc.output_error");
      fused.push_back(FusedLayerAttr::get(ctx, c.layer, n, c.n(), qe, oe));
      names.push_back(c.layer.getValue().str());
      n += c.n();
    }
    Location loc = rewriter.getFusedLoc(locs);

    // Concatenation along N is a concatenation of the bytes for every
    // layout: unpacked (N x K) and row_major rows are contiguous, tiled
    // stores whole tile rows (tile_n rows, every K tile) one after the other
    // and tile_n divides every member's N; scales / zeros (N x G) and biases
    // (N) are row-major.
    PackedWeightOp pw0 = group.front().pw;
    // The packed bytes go through the weight store; the small scales, zero
    // points and biases stay inline.
    std::string stored;
    WeightSink inlineSink;
    ElementsAttr dataAttr = concatConstants(datas, sink, stored);
    ElementsAttr scaleAttr = concatConstants(scales, inlineSink, stored);
    ElementsAttr zeroAttr = concatConstants(zeros, inlineSink, stored);
    ElementsAttr biasAttr = concatConstants(biases, inlineSink, stored);
    if (!stored.empty()) {
      // Not a mismatch: the store failed (a full disk); the pass fails.
      op->emitError() << stored;
      return failure();
    }
    if (!dataAttr || !scaleAttr || (!zeros.empty() && !zeroAttr) ||
        (!biases.empty() && !biasAttr))
      return rewriter.notifyMatchFailure(op, "cannot read a constant");
    auto constant = [&](ElementsAttr attr) -> Value {
      return arith::ConstantOp::create(rewriter, loc, cast<TypedAttr>(attr));
    };
    Value data = constant(dataAttr);
    Value scale = constant(scaleAttr);
    Value zero, bias;
    if (zeroAttr)
      zero = constant(zeroAttr);
    if (biasAttr)
      bias = constant(biasAttr);
    auto pwType0 = pw0.getResult().getType();
    auto pwType =
        PackedWeightType::get(ctx, n, pwType0.getK(), pwType0.getElementType());
    Value packed =
        PackedWeightOp::create(rewriter, loc, pwType, data, scale, zero,
                               pw0.getScheme(), pw0.getLayout());

    auto resType0 = cast<RankedTensorType>(op.getType());
    SmallVector<int64_t> shape(resType0.getShape());
    shape.back() = n;
    auto resType = RankedTensorType::get(shape, resType0.getElementType());
    StringAttr layer = rewriter.getStringAttr(llvm::join(names, "+"));
    ArrayAttr fusedAttr = rewriter.getArrayAttr(fused);
    Operation *mm;
    if constexpr (std::is_same_v<OpTy, WeightOnlyMatmulOp>)
      mm =
          WeightOnlyMatmulOp::create(rewriter, loc, resType, root.input, packed,
                                     bias, layer, KernelAttr(), fusedAttr);
    else
      mm = Int8MatmulOp::create(rewriter, loc, resType, root.input,
                                root.inputScales, packed, bias, layer,
                                KernelAttr(), fusedAttr);
    for (NamedAttribute a : first->getDiscardableAttrs())
      if (!isPerLayerAttr(a.getName().getValue()))
        mm->setAttr(a.getName(), a.getValue());

    // One slice per member, at its channel range.
    Value result = mm->getResult(0);
    int64_t rank = resType.getRank();
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, loc, result);
    SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    int64_t offset = 0;
    for (const Candidate &c : group) {
      offsets.back() = rewriter.getIndexAttr(offset);
      sizes.back() = rewriter.getIndexAttr(c.n());
      auto sliceType = cast<RankedTensorType>(c.op->getResult(0).getType());
      Value slice = tensor::ExtractSliceOp::create(
          rewriter, c.op->getLoc(), sliceType, result, offsets, sizes, strides);
      rewriter.replaceOp(c.op, slice);
      offset += c.n();
    }
    return success();
  }

  int64_t maxN;
  WeightSink sink;
};

struct FuseSiblingMatmulsPass
    : public mlir::qc::impl::QCFuseSiblingMatmulsPassBase<
          FuseSiblingMatmulsPass> {
  using Base::Base;
  bool failedToStore = false;

  void runOnOperation() override {
    FailureOr<WeightSink> sink =
        WeightSink::open(getOperation(), weightStore, weightStoreMinBytes);
    if (failed(sink))
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    populateFuseSiblingMatmulsPatterns(patterns, maxN, int8, *sink);
    // A store that cannot be written is reported at the op and stops the
    // pass (the patterns return failure after emitting it).
    ScopedDiagnosticHandler errors(&getContext(), [&](Diagnostic &d) {
      if (d.getSeverity() == DiagnosticSeverity::Error)
        failedToStore = true;
      return failure(); // still reported
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns)))) {
      getOperation().emitError("qc-fuse-sibling-matmuls did not converge");
      return signalPassFailure();
    }
    if (failedToStore)
      return signalPassFailure();
    // The members' own bytes are dead once fused.
    if (sink->store)
      sink->store->discardUnreferenced(getOperation());
  }
};

} // namespace

void mlir::qc::populateFuseSiblingMatmulsPatterns(RewritePatternSet &patterns,
                                                  int64_t maxN, bool int8,
                                                  WeightSink sink) {
  patterns.add<FuseSiblingMatmuls<WeightOnlyMatmulOp>>(patterns.getContext(),
                                                       maxN, sink);
  if (int8)
    patterns.add<FuseSiblingMatmuls<Int8MatmulOp>>(patterns.getContext(), maxN,
                                                   sink);
}
