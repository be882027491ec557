//===- QCDialect.cpp - qc dialect, attributes and types ---------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/IR/QC.h"
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

static bool isF8(Type t) { return isa<Float8E4M3FNType, Float8E5M2Type>(t); }

LogicalResult SchemeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 Type weight, Granularity granularity,
                                 int64_t groupSize, bool symmetric, ActMode act,
                                 FloatAttr alpha) {
  bool isInt = weight.isSignlessInteger(4) || weight.isSignlessInteger(8);
  if (!isInt && !weight.isF16() && !isF8(weight))
    return emitError() << "unsupported weight type " << weight
                       << "; expected i4, i8, f16 or an 8-bit float";
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
  if (act != ActMode::None && !weight.isSignlessInteger(8))
    return emitError() << "INT8 activations need i8 weights (W8A8), got "
                       << weight;
  if (act != ActMode::None &&
      (!symmetric || granularity == Granularity::PerGroup))
    return emitError() << "INT8 activations need symmetric per_channel or "
                          "per_tensor weights";
  if (alpha) {
    if (act == ActMode::None)
      return emitError() << "alpha (SmoothQuant) needs INT8 activations";
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

LogicalResult KernelAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 KernelKind kind, StringRef target,
                                 int64_t threshold) {
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
  } else if (threshold != 0) {
    return emitError() << "threshold is only allowed with the adaptive and "
                          "gemv_mma kernels";
  }
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
  if (!elementType.isSignlessInteger(4) && !elementType.isSignlessInteger(8))
    return emitError() << "packed weight element type must be i4 or i8, got "
                       << elementType;
  return success();
}
