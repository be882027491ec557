//===- Passes.h - qc GPU kernel passes --------------------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#ifndef QC_CONVERSION_QCTONVVM_PASSES_H
#define QC_CONVERSION_QCTONVVM_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir::qc {
#define GEN_PASS_DECL
#include "qc/Conversion/QCToNVVM/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "qc/Conversion/QCToNVVM/Passes.h.inc"
} // namespace mlir::qc

#endif // QC_CONVERSION_QCTONVVM_PASSES_H
