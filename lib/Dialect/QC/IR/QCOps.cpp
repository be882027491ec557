//===- QCOps.cpp - qc operation verifiers -----------------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/IR/FragLayout.h"
#include "qc/Dialect/QC/IR/QC.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"

#include <cstring>

using namespace mlir;
using namespace mlir::qc;

#define GET_OP_CLASSES
#include "qc/Dialect/QC/IR/QCOps.cpp.inc"

PackedWeightOp mlir::qc::getPackedWeightDef(Value v) {
  return v.getDefiningOp<PackedWeightOp>();
}

/// Formats a shape for diagnostics, '?' for dynamic dimensions.
static std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  llvm::interleave(
      shape, os,
      [&](int64_t d) {
        if (ShapedType::isDynamic(d))
          os << "?";
        else
          os << d;
      },
      "x");
  return s;
}

/// Two dimensions are compatible when equal or when either is dynamic.
static bool dimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// Verifies the shared shape contract of every linear-like op: `input` is
/// [..., K] with static K, the result is [..., N] with exactly the input's
/// leading dimensions (a dynamic token dimension stays dynamic, a static one
/// stays static: the result type is a function of the operand types), and
/// the optional bias has N elements.
static LogicalResult verifyLinearShapes(Operation *op, RankedTensorType input,
                                        int64_t n, int64_t k,
                                        RankedTensorType result, Value bias) {
  if (input.getRank() < 1)
    return op->emitOpError("input must have rank >= 1");
  int64_t inK = input.getShape().back();
  if (ShapedType::isDynamic(inK))
    return op->emitOpError("input's last dimension (K) must be static");
  if (inK != k)
    return op->emitOpError("input has K = ")
           << inK << " but the weight has K = " << k;
  if (result.getRank() != input.getRank())
    return op->emitOpError("result rank ")
           << result.getRank() << " does not match input rank "
           << input.getRank();
  for (int64_t i = 0, e = input.getRank() - 1; i < e; ++i)
    if (input.getDimSize(i) != result.getDimSize(i))
      return op->emitOpError("result shape ")
             << shapeStr(result.getShape())
             << " does not match the input's leading dimensions "
             << shapeStr(input.getShape());
  if (result.getShape().back() != n)
    return op->emitOpError("result has ")
           << shapeStr(result.getShape().take_back())
           << " columns but the weight has N = " << n;
  if (bias) {
    auto bt = cast<RankedTensorType>(bias.getType());
    if (bt.getRank() != 1 || bt.getDimSize(0) != n)
      return op->emitOpError("bias must have shape ")
             << n << ", got " << shapeStr(bt.getShape());
  }
  return success();
}

/// Verifies that `scales` is a per-tensor ([1]) or per-token (input's leading
/// shape) activation scale vector for `input`. With a `mode`, `scales` is the
/// result of qc.quantize_act and its per-token shape must equal the input's
/// leading shape exactly; without one it is an operand and only has to be
/// compatible (a dynamic dimension matches any size).
static LogicalResult verifyActScales(Operation *op, RankedTensorType input,
                                     RankedTensorType scales,
                                     std::optional<ActMode> mode) {
  if (input.getRank() < 1)
    return op->emitOpError("input must have rank >= 1");
  bool perTensor = scales.getRank() == 1 && scales.getDimSize(0) == 1;
  bool perToken = scales.getRank() == input.getRank() - 1;
  if (perToken)
    for (int64_t i = 0, e = scales.getRank(); i < e; ++i)
      perToken &=
          mode ? scales.getDimSize(i) == input.getDimSize(i)
               : dimsCompatible(scales.getDimSize(i), input.getDimSize(i));
  if (mode == ActMode::StaticPerTensor && !perTensor)
    return op->emitOpError("static_per_tensor scales must have shape 1, got ")
           << shapeStr(scales.getShape());
  if (mode == ActMode::DynamicPerToken && !perToken)
    return op->emitOpError("dynamic_per_token scales must have the input's "
                           "leading shape ")
           << shapeStr(input.getShape().drop_back()) << ", got "
           << shapeStr(scales.getShape());
  if (!mode && !perTensor && !perToken)
    return op->emitOpError("scales must have shape 1 (per-tensor) or the "
                           "input's leading shape ")
           << shapeStr(input.getShape().drop_back()) << " (per-token), got "
           << shapeStr(scales.getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  auto wt = getWeight().getType();
  if (wt.getRank() != 2 || !wt.hasStaticShape())
    return emitOpError("weight must be a static N x K tensor, got ") << wt;
  if (getLayer().empty())
    return emitOpError("layer name must not be empty");
  if (failed(verifyLinearShapes(*this, getInput().getType(), wt.getDimSize(0),
                                wt.getDimSize(1), getResult().getType(),
                                getBias())))
    return failure();
  if (getResult().getType().getElementType() !=
      getInput().getType().getElementType())
    return emitOpError("result element type must match the input's");
  if (auto scheme = getSchemeAttr()) {
    std::string reason;
    if (failed(scheme.checkShape(wt.getDimSize(0), wt.getDimSize(1), reason)))
      return emitOpError("scheme does not fit the weight: ") << reason;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Norms
//===----------------------------------------------------------------------===//

/// Checks a normalization's epsilon: a negative, NaN or infinite value would
/// silently turn every output into NaN or zero.
static LogicalResult verifyEpsilon(Operation *op, APFloat epsilon) {
  double eps = epsilon.convertToDouble();
  if (!(eps >= 0.0) || std::isinf(eps))
    return op->emitOpError("epsilon must be non-negative and finite, got ")
           << eps;
  return success();
}

/// Checks that a per-channel parameter vector matches the last dimension.
static LogicalResult verifyChannelVector(Operation *op, StringRef name,
                                         RankedTensorType input,
                                         RankedTensorType vec) {
  if (input.getRank() < 1)
    return op->emitOpError("input must have rank >= 1");
  int64_t k = input.getShape().back();
  if (ShapedType::isDynamic(k))
    return op->emitOpError("input's last dimension must be static");
  if (vec.getRank() != 1 || vec.getDimSize(0) != k)
    return op->emitOpError()
           << name << " must have shape " << k << " (the input's last "
           << "dimension), got " << shapeStr(vec.getShape());
  return success();
}

LogicalResult RMSNormOp::verify() {
  if (failed(verifyEpsilon(*this, getEpsilon())))
    return failure();
  return verifyChannelVector(*this, "weight", getInput().getType(),
                             getWeight().getType());
}

LogicalResult ArgMaxOp::verify() {
  auto in = getInput().getType();
  auto out = getResult().getType();
  if (in.getRank() < 1)
    return emitOpError("input must have rank >= 1");
  if (in.isDynamicDim(in.getRank() - 1))
    return emitOpError("the last dimension of the input must be static");
  if (in.getDimSize(in.getRank() - 1) <= 0)
    return emitOpError("the last dimension of the input must be positive");
  if (out.getRank() != in.getRank())
    return emitOpError("result rank ")
           << out.getRank() << " must equal the input rank " << in.getRank();
  for (int64_t d = 0; d + 1 < in.getRank(); ++d)
    if (!in.isDynamicDim(d) && !out.isDynamicDim(d) &&
        in.getDimSize(d) != out.getDimSize(d))
      return emitOpError("result dimension ")
             << d << " is " << out.getDimSize(d) << ", the input's is "
             << in.getDimSize(d);
  if (out.getDimSize(out.getRank() - 1) != 1)
    return emitOpError("the last dimension of the result must be 1");
  return success();
}

LogicalResult SampleOp::verify() {
  auto in = getLogits().getType();
  auto out = getResult().getType();
  if (in.getRank() != 2)
    return emitOpError("logits must be [B, V], got rank ") << in.getRank();
  if (in.isDynamicDim(1) || in.getDimSize(1) <= 0)
    return emitOpError("the vocabulary dimension (V) must be static and "
                       "positive");
  for (auto [name, t] : {std::pair<StringRef, RankedTensorType>{
                             "temperature", getTemperature().getType()},
                         {"top_k", getTopK().getType()},
                         {"seed", getSeed().getType()}})
    if (t.getRank() != 0)
      return emitOpError() << name << " must be a 0-d tensor, got rank "
                           << t.getRank();
  auto pos = getPos().getType();
  if (pos.getRank() != 1)
    return emitOpError("pos must be [B], got rank ") << pos.getRank();
  if (out.getRank() != 2 || out.getDimSize(1) != 1)
    return emitOpError("result must be [B, 1]");
  for (RankedTensorType t : {pos, out})
    if (!in.isDynamicDim(0) && !t.isDynamicDim(0) &&
        in.getDimSize(0) != t.getDimSize(0))
      return emitOpError("pos and the result must have the logits' B = ")
             << in.getDimSize(0) << ", got " << t.getDimSize(0);
  return success();
}

LogicalResult LayerNormOp::verify() {
  if (failed(verifyEpsilon(*this, getEpsilon())))
    return failure();
  if (failed(verifyChannelVector(*this, "weight", getInput().getType(),
                                 getWeight().getType())))
    return failure();
  return verifyChannelVector(*this, "bias", getInput().getType(),
                             getBias().getType());
}

LogicalResult ExternalWeightOp::verify() {
  if (!getResult().getType().hasStaticShape())
    return emitOpError("external weight must have a static shape");
  // I64Attr's accessor is unsigned: read the attribute as signed so that a
  // negative offset is caught instead of wrapping around.
  int64_t offset = getOffsetAttr().getInt();
  if (offset < 0)
    return emitOpError("offset must be non-negative, got ") << offset;
  if (getPath().empty())
    return emitOpError("path must not be empty");
  return success();
}

//===----------------------------------------------------------------------===//
// ObserveOp
//===----------------------------------------------------------------------===//

LogicalResult ObserveOp::verify() {
  auto in = getInput().getType();
  if (in.getRank() < 1 || ShapedType::isDynamic(in.getShape().back()))
    return emitOpError("input's last dimension (channels) must be static");
  if (getLayer().empty())
    return emitOpError("layer name must not be empty");
  if (auto p = getPercentile()) {
    double v = p->convertToDouble();
    if (!(v > 0.0 && v <= 100.0))
      return emitOpError("percentile must be in (0, 100], got ") << v;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Activation ops
//===----------------------------------------------------------------------===//

LogicalResult SmoothOp::verify() {
  return verifyChannelVector(*this, "scale", getInput().getType(),
                             getScale().getType());
}

LogicalResult QuantizeActOp::verify() {
  auto in = getInput().getType();
  if (getMode() == ActMode::None)
    return emitOpError("mode must be static_per_tensor or dynamic_per_token");
  if (getMode() == ActMode::StaticPerTensor) {
    if (!getScale())
      return emitOpError("static_per_tensor needs a calibrated scale");
    double s = getScale()->convertToDouble();
    if (!(s > 0.0) || std::isinf(s))
      return emitOpError("scale must be positive and finite, got ") << s;
  } else if (getScale()) {
    return emitOpError("dynamic_per_token computes its scales; remove scale");
  }
  if (getOutput().getType().getShape() != in.getShape())
    return emitOpError("output shape ")
           << shapeStr(getOutput().getType().getShape())
           << " must match the input shape " << shapeStr(in.getShape());
  return verifyActScales(*this, in, getScales().getType(), getMode());
}

LogicalResult DequantizeActOp::verify() {
  auto in = getInput().getType();
  if (getResult().getType().getShape() != in.getShape())
    return emitOpError("result shape ")
           << shapeStr(getResult().getType().getShape())
           << " must match the input shape " << shapeStr(in.getShape());
  return verifyActScales(*this, in, getScales().getType(), std::nullopt);
}

//===----------------------------------------------------------------------===//
// Weight ops
//===----------------------------------------------------------------------===//

LogicalResult PackedWeightOp::verify() {
  SchemeAttr scheme = getScheme();
  PackedWeightType type = getResult().getType();
  int64_t n = type.getN(), k = type.getK();
  if (!scheme.isQuantizedWeight())
    return emitOpError("scheme weight type ")
           << scheme.getWeight()
           << " is not a quantized type; only i4, i8 and f8E4M3FN weights "
              "are packed";
  if (scheme.getWeight() != type.getElementType())
    return emitOpError("scheme weight type ")
           << scheme.getWeight() << " does not match the result element type "
           << type.getElementType();
  std::string reason;
  if (failed(scheme.checkShape(n, k, reason)))
    return emitOpError(reason);

  // Data shape follows the layout.
  unsigned bits = scheme.getWeightBits();
  LayoutAttr layout = getLayout();
  auto data = getData().getType();
  if (layout.getKind() == LayoutKind::Unpacked) {
    if (data.getRank() != 2 || data.getDimSize(0) != n ||
        data.getDimSize(1) != k)
      return emitOpError("unpacked data must have shape ")
             << n << "x" << k << ", got " << shapeStr(data.getShape());
    // Unpacked i4 holds one 4-bit value per byte: sign-extended (symmetric,
    // [-8, 7]) or zero-extended (asymmetric, [0, 15]). Constant data is
    // scanned as raw bytes (one per i8 element), which is cheap next to
    // building the constant; other byte patterns would be silently truncated
    // by packing.
    DenseIntElementsAttr values;
    if (bits == 4 && matchPattern(getData(), m_Constant(&values))) {
      int64_t lo = scheme.getSymmetric() ? -8 : 0;
      int64_t hi = scheme.getSymmetric() ? 7 : 15;
      // Branch-free over 8 bytes at a time first: asymmetric bytes have no
      // bit above the low four; symmetric ones (sign-extended nibbles) have
      // bits 7..3 equal, i.e. x ^ (x << 1, within the byte) has none of bits
      // 7..4. Then byte by byte over the tail, or over everything for the
      // first bad value when a word had one.
      ArrayRef<char> raw = values.getRawData();
      constexpr uint64_t kLow7 = 0x7f7f7f7f7f7f7f7fULL;
      constexpr uint64_t kHigh4 = 0xf0f0f0f0f0f0f0f0ULL;
      uint64_t acc = 0;
      size_t words = raw.size() / 8;
      bool symmetric = scheme.getSymmetric();
      for (size_t i = 0; i < words; ++i) {
        uint64_t x;
        std::memcpy(&x, raw.data() + 8 * i, 8);
        acc |= symmetric ? x ^ ((x & kLow7) << 1) : x;
      }
      size_t from = (acc & kHigh4) != 0 ? 0 : 8 * words;
      for (char byte : raw.drop_front(from)) {
        int64_t v = static_cast<int8_t>(byte);
        if (v < lo || v > hi)
          return emitOpError("unpacked ")
                 << (scheme.getSymmetric() ? "symmetric" : "asymmetric")
                 << " i4 data must be in [" << lo << ", " << hi << "], got "
                 << v;
      }
    }
  } else {
    if (bits == 4 && k % 2 != 0)
      return emitOpError("int4 packing needs an even K, got K = ") << k;
    if (layout.getKind() == LayoutKind::Tiled) {
      if (n % layout.getTileN() != 0 || k % layout.getTileK() != 0)
        return emitOpError("tile ")
               << layout.getTileN() << "x" << layout.getTileK()
               << " does not divide the " << n << "x" << k << " weight";
    }
    if (layout.getKind() == LayoutKind::MmaFrag && !fragLayoutFits(n, k, bits))
      return emitOpError("the mma_frag layout needs N % ")
             << kFragUnitN << " == 0 and K % " << fragUnitK(bits)
             << " == 0, got " << n << "x" << k;
    int64_t bytes = n * k * bits / 8;
    if (data.getRank() != 1 || data.getDimSize(0) != bytes)
      return emitOpError("packed data must be a flat tensor of ")
             << bytes << " bytes, got " << shapeStr(data.getShape());
  }

  // Scales (and zero points) follow the granularity.
  auto scales = getScales().getType();
  int64_t rows = scheme.getGranularity() == Granularity::PerTensor ? 1 : n;
  int64_t cols = scheme.getNumGroups(k);
  if (scales.getRank() != 2 || scales.getDimSize(0) != rows ||
      scales.getDimSize(1) != cols)
    return emitOpError("scales must have shape ")
           << rows << "x" << cols << " for "
           << stringifyGranularity(scheme.getGranularity())
           << " granularity, got " << shapeStr(scales.getShape());
  if (scheme.getSymmetric() && getZeros())
    return emitOpError("symmetric scheme must not carry zero points");
  if (!scheme.getSymmetric()) {
    if (!getZeros())
      return emitOpError("asymmetric scheme needs zero points");
    if (getZeros().getType().getShape() != scales.getShape())
      return emitOpError("zero points must have the scales' shape ")
             << shapeStr(scales.getShape()) << ", got "
             << shapeStr(getZeros().getType().getShape());
    Type zeroType = getZeros().getType().getElementType();
    if (zeroType != scheme.getZeroType())
      return emitOpError("zero points must be ")
             << scheme.getZeroType()
             << (scheme.hasFloatMinimum() ? " minima" : " codes")
             << " for this scheme, got " << zeroType;
    // Asymmetric weights are unsigned: a zero point is an unsigned
    // `bits`-bit value held in an i8. For i4 that leaves [0, 15]; every i8
    // bit pattern is a valid unsigned 8-bit zero point. Only constant zero
    // points can be checked here (they are N x G, so this is cheap).
    DenseIntElementsAttr zeros;
    if (bits < 8 && !scheme.hasFloatMinimum() &&
        matchPattern(getZeros(), m_Constant(&zeros))) {
      int64_t maxZero = (int64_t(1) << bits) - 1;
      for (const APInt &z : zeros.getValues<APInt>()) {
        int64_t v = z.getSExtValue();
        if (v < 0 || v > maxZero)
          return emitOpError("asymmetric ")
                 << scheme.getWeight() << " zero points must be in [0, "
                 << maxZero << "], got " << v;
      }
    }
  }
  return success();
}

LogicalResult DequantizeWeightOp::verify() {
  auto t = getWeight().getType();
  auto r = getResult().getType();
  if (r.getRank() != 2 || r.getDimSize(0) != t.getN() ||
      r.getDimSize(1) != t.getK())
    return emitOpError("result must have shape ")
           << t.getN() << "x" << t.getK() << ", got " << shapeStr(r.getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// Fused matmuls
//===----------------------------------------------------------------------===//

/// Checks `fused_layers` of a fused matmul with `n` output channels: at
/// least two named layers whose ranges are contiguous from 0 and cover n.
static LogicalResult verifyFusedLayers(Operation *op, ArrayAttr fused,
                                       int64_t n) {
  if (!fused)
    return success();
  if (fused.size() < 2)
    return op->emitOpError("fused_layers needs at least two layers, got ")
           << fused.size();
  int64_t next = 0;
  for (auto layer : fused.getAsRange<FusedLayerAttr>()) {
    if (layer.getName().getValue().empty())
      return op->emitOpError("fused layer names must not be empty");
    if (layer.getOffset() != next || layer.getSize() <= 0)
      return op->emitOpError("fused layer '")
             << layer.getName().getValue() << "' must cover output channels ["
             << next << ", ...), got offset " << layer.getOffset()
             << " and size " << layer.getSize();
    next += layer.getSize();
  }
  if (next != n)
    return op->emitOpError("fused layers cover ")
           << next << " output channels, but the weight has " << n;
  return success();
}

LogicalResult WeightOnlyMatmulOp::verify() {
  auto w = getWeight().getType();
  if (isa<Float8E4M3FNType>(w.getElementType()))
    return emitOpError("an f8E4M3FN weight needs FP8 activations: use "
                       "qc.int8_matmul");
  if (failed(verifyLinearShapes(*this, getInput().getType(), w.getN(), w.getK(),
                                getResult().getType(), getBias())))
    return failure();
  if (getResult().getType().getElementType() !=
      getInput().getType().getElementType())
    return emitOpError("result element type must match the input's");
  if (getLayer().empty())
    return emitOpError("layer name must not be empty");
  if (failed(verifyFusedLayers(*this, getFusedLayersAttr(), w.getN())))
    return failure();
  if (auto kernel = getKernelAttr()) {
    if (kernel.getKind() == KernelKind::Int8Mma ||
        kernel.getKind() == KernelKind::Fp16Mma)
      return emitOpError("kernel '")
             << stringifyKernelKind(kernel.getKind())
             << "' cannot implement a weight-only matmul";
    if (kernel.getKind() == KernelKind::Adaptive) {
      PackedWeightOp def = getPackedWeightDef(getWeight());
      if (!w.getElementType().isSignlessInteger(8) ||
          (def && (!def.getScheme().getSymmetric() ||
                   def.getScheme().getGranularity() == Granularity::PerGroup)))
        return emitOpError("adaptive kernel needs a symmetric i8 weight with "
                           "per_channel or per_tensor scales");
    }
    if ((kernel.getKind() == KernelKind::Mma ||
         kernel.getKind() == KernelKind::GemvMma ||
         kernel.getKind() == KernelKind::Frag) &&
        !getInput().getType().getElementType().isF16())
      return emitOpError("kernel '") << stringifyKernelKind(kernel.getKind())
                                     << "' needs f16 activations, got "
                                     << getInput().getType().getElementType();
  }
  return success();
}

LogicalResult Int8MatmulOp::verify() {
  auto w = getWeight().getType();
  if (!w.getElementType().isSignlessInteger(8) &&
      !isa<Float8E4M3FNType>(w.getElementType()))
    return emitOpError("weight must be i8 or f8E4M3FN, got ")
           << w.getElementType();
  auto in = getInput().getType();
  if (in.getElementType() != w.getElementType())
    return emitOpError("input element type ")
           << in.getElementType() << " must match the weight's "
           << w.getElementType() << " (INT8 x INT8 or FP8 x FP8)";
  if (failed(verifyLinearShapes(*this, in, w.getN(), w.getK(),
                                getResult().getType(), getBias())))
    return failure();
  if (failed(
          verifyActScales(*this, in, getInputScales().getType(), std::nullopt)))
    return failure();
  if (getLayer().empty())
    return emitOpError("layer name must not be empty");
  if (failed(verifyFusedLayers(*this, getFusedLayersAttr(), w.getN())))
    return failure();
  if (PackedWeightOp def = getPackedWeightDef(getWeight())) {
    SchemeAttr s = def.getScheme();
    if (!s.getSymmetric() || s.getGranularity() == Granularity::PerGroup)
      return emitOpError("weight must be symmetric with per_channel or "
                         "per_tensor scales");
  }
  if (auto kernel = getKernelAttr()) {
    if (kernel.getKind() != KernelKind::Host &&
        kernel.getKind() != KernelKind::Int8Mma &&
        kernel.getKind() != KernelKind::Gemv)
      return emitOpError("kernel '") << stringifyKernelKind(kernel.getKind())
                                     << "' cannot implement an INT8 matmul";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// KV cache ops
//===----------------------------------------------------------------------===//

/// Checks that dimension `what` agrees between two shaped values (when both
/// are static).
static LogicalResult checkDim(Operation *op, StringRef what, StringRef aName,
                              ShapedType a, int64_t ad, StringRef bName,
                              ShapedType b, int64_t bd) {
  if (dimsCompatible(a.getDimSize(ad), b.getDimSize(bd)))
    return success();
  return op->emitOpError() << what << " of " << aName << " ("
                           << a.getDimSize(ad) << ") does not match " << bName
                           << " (" << b.getDimSize(bd) << ")";
}

/// `layer` must index the cache's L dimension when it is static.
static LogicalResult checkLayer(Operation *op, int64_t layer,
                                ShapedType cache) {
  int64_t l = cache.getDimSize(0);
  if (layer < 0 || (!ShapedType::isDynamic(l) && layer >= l))
    return op->emitOpError("layer ")
           << layer << " is out of range for a cache of "
           << (ShapedType::isDynamic(l) ? std::string("?") : std::to_string(l))
           << " layers";
  return success();
}

LogicalResult CacheWriteOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, ValueRange operands, DictionaryAttr,
    OpaqueProperties, RegionRange, SmallVectorImpl<Type> &inferred) {
  if (operands.size() == 3 && isa<RankedTensorType>(operands[2].getType()))
    inferred.push_back(operands[2].getType());
  return success();
}

void CacheWriteOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  // The tensor form is pure; the buffer form reads its operands and writes
  // the cache.
  for (OpOperand &operand : getOperation()->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    effects.emplace_back(MemoryEffects::Read::get(), &operand,
                         SideEffects::DefaultResource::get());
    if (operand.getOperandNumber() == getCacheMutable().getOperandNumber())
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

LogicalResult CacheWriteOp::verify() {
  auto rows = cast<ShapedType>(getRows().getType());
  auto pos = cast<ShapedType>(getPos().getType());
  auto cache = cast<ShapedType>(getCache().getType());
  bool tensors =
      isa<TensorType>(rows) && isa<TensorType>(pos) && isa<TensorType>(cache);
  bool buffers =
      isa<MemRefType>(rows) && isa<MemRefType>(pos) && isa<MemRefType>(cache);
  if (!tensors && !buffers)
    return emitOpError("rows, pos and cache must be all tensors or all "
                       "memrefs");
  if (rows.getRank() != 4)
    return emitOpError("rows must have rank 4 (B x T x KV x D), got rank ")
           << rows.getRank();
  if (pos.getRank() != 1)
    return emitOpError("pos must have rank 1 (B), got rank ") << pos.getRank();
  if (cache.getRank() != 5)
    return emitOpError("cache must have rank 5 (L x B x KV x S x D), got rank ")
           << cache.getRank();
  if (failed(checkDim(*this, "batch size", "rows", rows, 0, "the cache", cache,
                      1)) ||
      failed(checkDim(*this, "batch size", "pos", pos, 0, "the cache", cache,
                      1)) ||
      failed(checkDim(*this, "KV head count", "rows", rows, 2, "the cache",
                      cache, 2)) ||
      failed(checkDim(*this, "head dimension", "rows", rows, 3, "the cache",
                      cache, 4)))
    return failure();
  return checkLayer(*this, getLayer(), cache);
}

LogicalResult CacheAttentionOp::verify() {
  RankedTensorType q = getQuery().getType();
  RankedTensorType k = getKCache().getType();
  RankedTensorType v = getVCache().getType();
  RankedTensorType pos = getPos().getType();
  if (q.getRank() != 4)
    return emitOpError("query must have rank 4 (B x T x H x D), got rank ")
           << q.getRank();
  if (k.getRank() != 5)
    return emitOpError(
               "k_cache must have rank 5 (L x B x KV x S x D), got rank ")
           << k.getRank();
  if (k != v)
    return emitOpError("k_cache and v_cache must have the same type, got ")
           << k << " and " << v;
  if (pos.getRank() != 1)
    return emitOpError("pos must have rank 1 (B), got rank ") << pos.getRank();
  if (failed(checkDim(*this, "batch size", "the query", q, 0, "the cache", k,
                      1)) ||
      failed(checkDim(*this, "batch size", "pos", pos, 0, "the cache", k, 1)) ||
      failed(checkDim(*this, "head dimension", "the query", q, 3, "the cache",
                      k, 4)))
    return failure();
  int64_t h = q.getDimSize(2), kv = k.getDimSize(2);
  if (ShapedType::isDynamic(h) || ShapedType::isDynamic(kv))
    return emitOpError("the query head count (H) and the cache KV head count "
                       "must be static");
  if (kv == 0 || h % kv != 0)
    return emitOpError("query head count ")
           << h << " is not a multiple of the KV head count " << kv;
  if (failed(checkLayer(*this, getLayer(), k)))
    return failure();
  if (getType() != q)
    return emitOpError("result type ")
           << getType() << " must equal the query type " << q;
  return success();
}
