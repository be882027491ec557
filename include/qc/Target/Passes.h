//===- Passes.h - Module emission passes ------------------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#ifndef QC_TARGET_PASSES_H
#define QC_TARGET_PASSES_H

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace qc {

#define GEN_PASS_DECL
#include "qc/Target/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "qc/Target/Passes.h.inc"

} // namespace qc

#endif // QC_TARGET_PASSES_H
