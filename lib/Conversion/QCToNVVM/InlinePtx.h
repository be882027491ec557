//===- InlinePtx.h - PTX instructions as inline assembly --------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Helpers of the kernel builders in this directory (not a public API).
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_QCTONVVM_INLINEPTX_H
#define QC_LIB_CONVERSION_QCTONVVM_INLINEPTX_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace qc::detail {

/// One f32 PTX instruction `op $0, $1;` as inline assembly (convert-gpu-to-nvvm
/// would turn llvm.intr.sqrt / llvm.intr.exp2 into libdevice calls).
inline mlir::Value ptxUnaryF32(mlir::ImplicitLocOpBuilder &b,
                               llvm::StringRef op, mlir::Value x) {
  return mlir::LLVM::InlineAsmOp::create(
             b, b.getF32Type(), mlir::ValueRange{x}, (op + " $0, $1;").str(),
             "=f,f", /*has_side_effects=*/false, /*is_align_stack=*/false,
             mlir::LLVM::tailcallkind::TailCallKind::None,
             mlir::LLVM::AsmDialectAttr(), mlir::ArrayAttr())
      .getRes();
}

} // namespace qc::detail

#endif // QC_LIB_CONVERSION_QCTONVVM_INLINEPTX_H
