//===- QC.h - The qc dialect ------------------------------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Declarations of the qc dialect, its attributes, types and operations.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_IR_QC_H
#define QC_DIALECT_QC_IR_QC_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::qc {
class WeightStore;
/// Parses `[a, b, ...]` (i64 list parameters of qc attributes).
FailureOr<SmallVector<int64_t>> parseI64List(AsmParser &parser);
/// Prints `values` as `[a, b, ...]`.
void printI64List(AsmPrinter &printer, ArrayRef<int64_t> values);
} // namespace mlir::qc

#include "qc/Dialect/QC/IR/QCEnums.h.inc"
#include "qc/Dialect/QC/IR/QCOpsDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "qc/Dialect/QC/IR/QCAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "qc/Dialect/QC/IR/QCOpsTypes.h.inc"

#define GET_OP_CLASSES
#include "qc/Dialect/QC/IR/QCOps.h.inc"

namespace mlir::qc {
/// Returns the packed weight op that defines `v`, or null when `v` is a
/// block argument or comes from elsewhere.
PackedWeightOp getPackedWeightDef(Value v);
} // namespace mlir::qc

#endif // QC_DIALECT_QC_IR_QC_H
