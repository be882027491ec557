//===- QCDialect.cpp - qc dialect, attributes and types ---------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/IR/QC.h"
#include "qc/Dialect/QC/IR/WeightStore.h"
#include "qc/Target/TargetTable.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::qc;

#include "qc/Dialect/QC/IR/QCEnums.cpp.inc"
#include "qc/Dialect/QC/IR/QCOpsDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "qc/Dialect/QC/IR/QCAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "qc/Dialect/QC/IR/QCOpsTypes.cpp.inc"

void QCDialect::initialize() {
  weightStore = std::make_unique<WeightStore>();
  registerAttributes();
  registerTypes();
  addOperations<
#define GET_OP_LIST
#include "qc/Dialect/QC/IR/QCOps.cpp.inc"
      >();
  // qc.cache_write bufferizes in place; the model lives in MLIRQCTransforms
  // (registerBufferizableOpInterfaceExternalModels, called by InitAll).
  declarePromisedInterface<bufferization::BufferizableOpInterface,
                           CacheWriteOp>();
}

void QCDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "qc/Dialect/QC/IR/QCAttrs.cpp.inc"
      >();
}

void QCDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "qc/Dialect/QC/IR/QCOpsTypes.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// SchemeAttr
//===----------------------------------------------------------------------===//

LogicalResult SchemeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 Type weight, Granularity granularity,
                                 int64_t groupSize, bool symmetric, ActMode act,
                                 FloatAttr alpha, Type minimum) {
  bool isInt = weight.isSignlessInteger(4) || weight.isSignlessInteger(8);
  bool isFp8 = isa<Float8E4M3FNType>(weight);
  if (!isInt && !weight.isF16() && !isFp8)
    return emitError() << "unsupported weight type " << weight
                       << "; expected i4, i8, f16 or f8E4M3FN";
  if (granularity == Granularity::PerGroup) {
    if (groupSize <= 0)
      return emitError() << "per_group granularity needs a positive "
                            "group_size, got "
                         << groupSize;
  } else if (groupSize != 0) {
    return emitError() << "group_size is only allowed with per_group "
                          "granularity";
  }
  if (!isInt && granularity == Granularity::PerGroup)
    return emitError() << "per_group granularity needs an integer weight type";
  if (!isInt && !symmetric)
    return emitError() << "asymmetric quantization needs an integer weight "
                          "type";
  if (act != ActMode::None && !weight.isSignlessInteger(8) && !isFp8)
    return emitError() << "quantized activations need i8 (W8A8) or f8E4M3FN "
                          "(FP8) weights, got "
                       << weight;
  if (act != ActMode::None &&
      (!symmetric || granularity == Granularity::PerGroup))
    return emitError() << "quantized activations need symmetric per_channel "
                          "or per_tensor weights";
  // The FP8 kernels multiply E4M3 by E4M3: no FP8 weight-only path.
  if (isFp8 && act == ActMode::None)
    return emitError() << "f8E4M3FN weights need FP8 activations (act = "
                          "dynamic_per_token or static_per_tensor)";
  if (minimum) {
    if (!minimum.isF16() && !minimum.isF32())
      return emitError() << "minimum must be f16 or f32, got " << minimum;
    if (!isInt || symmetric)
      return emitError() << "a float minimum needs an asymmetric integer "
                            "weight (symmetric = false)";
  }
  if (alpha) {
    if (act == ActMode::None)
      return emitError() << "alpha (SmoothQuant) needs quantized activations";
    double a = alpha.getValueAsDouble();
    if (!(a >= 0.0 && a <= 1.0))
      return emitError() << "alpha must be in [0, 1], got " << a;
  }
  return success();
}

unsigned SchemeAttr::getWeightBits() const {
  return getWeight().getIntOrFloatBitWidth();
}

bool SchemeAttr::isIntegerWeight() const {
  return getWeight().isSignlessInteger();
}

bool SchemeAttr::isFp8Weight() const {
  return isa<Float8E4M3FNType>(getWeight());
}

Type SchemeAttr::getZeroType() const {
  if (getSymmetric())
    return Type();
  if (Type m = getMinimum())
    return m;
  return IntegerType::get(getContext(), 8);
}

Type SchemeAttr::getActType() const {
  return quantizesActivations() ? getWeight() : Type();
}

int64_t SchemeAttr::getNumGroups(int64_t k) const {
  switch (getGranularity()) {
  case Granularity::PerTensor:
  case Granularity::PerChannel:
    return 1;
  case Granularity::PerGroup:
    return k / getGroupSize();
  }
  llvm_unreachable("unknown granularity");
}

LogicalResult SchemeAttr::checkShape(int64_t n, int64_t k,
                                     std::string &reason) const {
  if (getGranularity() == Granularity::PerGroup && k % getGroupSize() != 0) {
    reason = "group_size " + std::to_string(getGroupSize()) +
             " does not divide K = " + std::to_string(k);
    return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// LayoutAttr / KernelAttr
//===----------------------------------------------------------------------===//

LogicalResult LayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 LayoutKind kind, int64_t tileN,
                                 int64_t tileK) {
  if (kind == LayoutKind::Tiled) {
    if (tileN <= 0 || tileK <= 0)
      return emitError() << "tiled layout needs positive tile_n and tile_k";
    if (tileK % 2 != 0)
      return emitError() << "tile_k must be even so INT4 pairs stay in a tile";
  } else if (tileN != 1 || tileK != 1) {
    return emitError() << "tile_n and tile_k are only allowed with the tiled "
                          "layout";
  }
  return success();
}

FailureOr<SmallVector<int64_t>> mlir::qc::parseI64List(AsmParser &parser) {
  SmallVector<int64_t> values;
  if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&] {
        return parser.parseInteger(values.emplace_back());
      }))
    return failure();
  return values;
}

void mlir::qc::printI64List(AsmPrinter &printer, ArrayRef<int64_t> values) {
  printer << '[';
  llvm::interleaveComma(values, printer);
  printer << ']';
}

/// Checks that `tiles` is a non-empty strictly increasing list of positive
/// M tiles.
static LogicalResult verifyMTiles(function_ref<InFlightDiagnostic()> emitError,
                                  ArrayRef<int64_t> tiles) {
  if (tiles.empty())
    return emitError() << "m_tiles must not be empty";
  for (size_t i = 0; i < tiles.size(); ++i)
    if (tiles[i] <= 0 || (i && tiles[i] <= tiles[i - 1]))
      return emitError() << "m_tiles must be positive and strictly increasing";
  return success();
}

LogicalResult
GemvTilingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       int64_t warps, int64_t rowsPerWarp, int64_t chunks,
                       ArrayRef<int64_t> mTiles) {
  if (warps < 1 || warps > 32)
    return emitError() << "gemv tiling: warps must be in [1, 32], got "
                       << warps;
  if (rowsPerWarp < 1 || chunks < 1)
    return emitError() << "gemv tiling: rows_per_warp and chunks must be "
                          "positive";
  return verifyMTiles(emitError, mTiles);
}

LogicalResult
FragTilingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       int64_t warpsK, int64_t nBlocks, int64_t stages,
                       int64_t splitK, int64_t prefetch, int64_t stepUnits,
                       ArrayRef<int64_t> mTiles) {
  if (warpsK < 1 || warpsK > 16)
    return emitError() << "frag tiling: warps_k must be in [1, 16], got "
                       << warpsK;
  if (nBlocks != 1 && nBlocks != 2 && nBlocks != 4)
    return emitError() << "frag tiling: n_blocks must be 1, 2 or 4, got "
                       << nBlocks;
  if (stages < 2 || stages > 8)
    return emitError() << "frag tiling: stages must be in [2, 8], got "
                       << stages;
  if (splitK < 1)
    return emitError() << "frag tiling: split_k must be positive, got "
                       << splitK;
  if (prefetch < 1 || prefetch > 4)
    return emitError() << "frag tiling: prefetch must be in [1, 4], got "
                       << prefetch;
  if (stepUnits < 1 || stepUnits > 4)
    return emitError() << "frag tiling: step_units must be in [1, 4], got "
                       << stepUnits;
  if (failed(verifyMTiles(emitError, mTiles)))
    return failure();
  for (int64_t t : mTiles)
    if (!llvm::is_contained({1, 2, 4, 8, 16, 32, 64}, t))
      return emitError() << "frag tiling: m_tiles must be 1, 2, 4, 8 (the "
                            "dot path), 16, 32 or 64, got "
                         << t;
  return success();
}

LogicalResult
MmaTilingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      int64_t blockM, int64_t blockN, int64_t blockK,
                      int64_t warpsM, int64_t warpsN, int64_t stages, bool tma,
                      bool persistent) {
  if (persistent && !tma)
    return emitError() << "mma tiling: persistent needs tma";
  if (blockM <= 0 || blockN <= 0 || blockK <= 0 || warpsM <= 0 || warpsN <= 0)
    return emitError() << "mma tiling: blocks and warps must be positive";
  if (stages < 2)
    return emitError() << "mma tiling: stages must be at least 2";
  if (warpsM * warpsN * 32 + (tma ? 128 : 0) > 1024)
    return emitError() << "mma tiling: at most 32 warps per CTA";
  if (blockM % (16 * warpsM) || blockN % (16 * warpsN))
    return emitError() << "mma tiling: block_m must be a multiple of 16 x "
                          "warps_m and block_n of 16 x warps_n";
  return success();
}

LogicalResult LaunchAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 SymbolRefAttr kernel, int64_t block,
                                 int64_t tileN, int64_t tileM,
                                 ArrayRef<int64_t> mTiles, bool residual,
                                 int64_t splitK, bool swiglu,
                                 int64_t sharedBytes, bool tma, int64_t ctas) {
  if (ctas < 0)
    return emitError() << "launch: ctas must be non-negative, got " << ctas;
  if (kernel.getNestedReferences().size() != 1)
    return emitError() << "launch: the kernel must be @module::@kernel";
  if (sharedBytes < 0 || sharedBytes > 227 * 1024)
    return emitError() << "launch: shared_bytes must be in [0, 227 KiB], got "
                       << sharedBytes;
  if (block < 1 || block > 1024)
    return emitError() << "launch: block must be in [1, 1024], got " << block;
  if (tileN < 0 || tileM < 0 || (tileN == 0) != (tileM == 0))
    return emitError() << "launch: tile_n and tile_m must be both positive "
                          "(a matmul) or both absent (a row kernel)";
  if (!mTiles.empty() && failed(verifyMTiles(emitError, mTiles)))
    return failure();
  if (!mTiles.empty() && tileM != 1)
    return emitError() << "launch: a family with m_tiles has tile_m = 1";
  if (splitK < 1 || (splitK > 1 && (tileN == 0 || mTiles.empty())))
    return emitError() << "launch: split_k must be positive, and above 1 "
                          "only for a matmul family with m_tiles";
  if (swiglu && (mTiles.empty() || residual || splitK != 1))
    return emitError() << "launch: swiglu is an epilogue of a GEMV family "
                          "(m_tiles, no residual, no split)";
  return success();
}

LogicalResult AttentionLaunchAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, SymbolRefAttr kernel,
    int64_t chunks, int64_t kvHeads, int64_t heads, int64_t headDim,
    int64_t record, int64_t maxSplitT, int64_t prefillTokens) {
  if (kernel.getNestedReferences().size() != 1)
    return emitError() << "attention launch: the kernel must be "
                          "@module::@kernel";
  if (chunks < 1 || kvHeads < 1 || heads < 1 || headDim < 1 || maxSplitT < 0)
    return emitError() << "attention launch: chunks, kv_heads, heads and "
                          "head_dim must be positive";
  if (heads % kvHeads)
    return emitError() << "attention launch: heads must be a multiple of "
                          "kv_heads";
  if (headDim > 1024 || record < headDim)
    return emitError() << "attention launch: head_dim must be at most 1024 "
                          "and record at least head_dim";
  if (prefillTokens < 0 || prefillTokens > 64)
    return emitError() << "attention launch: prefill_tokens must be in [0, "
                          "64] (0: no prefill kernel)";
  return success();
}

/// The discardable attributes the qc passes put on ops: the launch records
/// of qc-outline-gpu-kernels (`qc.launch`, `qc.<side>_launch`) and the
/// policy's `qc.batch_threshold`.
LogicalResult QCDialect::verifyOperationAttribute(Operation *op,
                                                  NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  if (name == "qc.launch" ||
      (name.starts_with("qc.") && name.ends_with("_launch") &&
       name != "qc.gpu_launch")) {
    if (isa<LaunchAttr>(attr.getValue()) ||
        (name == "qc.launch" && isa<AttentionLaunchAttr>(attr.getValue())))
      return success();
    return op->emitError() << "'" << name << "' must be a #qc.launch"
                           << (name == "qc.launch" ? " or #qc.attention_launch"
                                                   : "")
                           << " attribute";
  }
  if (name == "qc.batch_threshold") {
    auto value = dyn_cast<IntegerAttr>(attr.getValue());
    if (!value || value.getInt() <= 0)
      return op->emitError()
             << "'qc.batch_threshold' must be a positive integer";
  }
  return success();
}

LogicalResult KernelAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 KernelKind kind, StringRef target,
                                 int64_t threshold, GemvTilingAttr gemv,
                                 MmaTilingAttr mma, FragTilingAttr frag) {
  const ::qc::TargetInfo *info = ::qc::lookupTarget(target);
  if (!info)
    return emitError() << "unknown target '" << target << "'; expected "
                       << ::qc::targetNames();
  if (!info->allows(stringifyKernelKind(kind)))
    return emitError() << "kernel '" << stringifyKernelKind(kind)
                       << "' is not available on target '" << target << "'";
  if (kind == KernelKind::Adaptive || kind == KernelKind::GemvMma) {
    if (threshold <= 0)
      return emitError() << "kernel '" << stringifyKernelKind(kind)
                         << "' needs a positive threshold";
  } else if (kind == KernelKind::Frag) {
    // The wgmma variant: M >= threshold, tiled by the mma tiling.
    if (threshold < 0 || (threshold > 0) != bool(mma))
      return emitError() << "kernel 'frag' takes a threshold and an mma "
                            "tiling together (its wgmma variant) or neither";
    if (mma && !info->wgmma)
      return emitError() << "kernel 'frag' with a wgmma variant needs a "
                            "target with wgmma (sm_90a), not '"
                         << target << "'";
  } else if (threshold != 0) {
    return emitError() << "threshold is only allowed with the adaptive, "
                          "gemv_mma and frag kernels";
  }
  bool gemvSide = kind == KernelKind::Gemv || kind == KernelKind::GemvMma ||
                  kind == KernelKind::Adaptive;
  bool mmaSide = kind != KernelKind::Host && kind != KernelKind::Gemv;
  if (gemv && !gemvSide)
    return emitError() << "kernel '" << stringifyKernelKind(kind)
                       << "' has no GEMV side for a gemv tiling";
  if (mma && !mmaSide)
    return emitError() << "kernel '" << stringifyKernelKind(kind)
                       << "' has no tensor-core side for an mma tiling";
  if (frag && kind != KernelKind::Frag)
    return emitError() << "kernel '" << stringifyKernelKind(kind)
                       << "' has no fragment-layout side for a frag tiling";
  return success();
}

//===----------------------------------------------------------------------===//
// PackedWeightType
//===----------------------------------------------------------------------===//

Type PackedWeightType::parse(AsmParser &parser) {
  SmallVector<int64_t> dims;
  Type elementType;
  if (parser.parseLess() ||
      parser.parseDimensionList(dims, /*allowDynamic=*/false,
                                /*withTrailingX=*/true) ||
      parser.parseType(elementType) || parser.parseGreater())
    return {};
  if (dims.size() != 2) {
    parser.emitError(parser.getNameLoc(),
                     "expected N x K dimensions in a packed weight type");
    return {};
  }
  return parser.getChecked<PackedWeightType>(parser.getContext(), dims[0],
                                             dims[1], elementType);
}

void PackedWeightType::print(AsmPrinter &printer) const {
  printer << "<" << getN() << "x" << getK() << "x" << getElementType() << ">";
}

LogicalResult
PackedWeightType::verify(function_ref<InFlightDiagnostic()> emitError,
                         int64_t n, int64_t k, Type elementType) {
  if (n <= 0 || k <= 0)
    return emitError() << "packed weight dimensions must be positive";
  if (!elementType.isSignlessInteger(4) && !elementType.isSignlessInteger(8) &&
      !isa<Float8E4M3FNType>(elementType))
    return emitError() << "packed weight element type must be i4, i8 or "
                          "f8E4M3FN, got "
                       << elementType;
  return success();
}
