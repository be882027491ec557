//===- SharedMemory.h - Static shared memory of a kernel --------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Helpers of the kernel builders in this directory (not a public API).
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_QCTONVVM_SHAREDMEMORY_H
#define QC_LIB_CONVERSION_QCTONVVM_SHAREDMEMORY_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

#include <string>

namespace qc::detail {

/// Declares an addrspace(3) array of `count` x `elem` with `align` as an
/// internal global at the builder's insertion point (inside the gpu.module,
/// next to the kernel being built), named `base`, or `base_<i>` when that
/// name is taken; returns the symbol name. External linkage with `count` 0
/// declares the kernel's dynamic shared memory (sized at launch).
inline std::string declareSharedArray(
    mlir::OpBuilder &builder, mlir::Location loc, llvm::StringRef base,
    mlir::Type elem, int64_t count, int64_t align = 16,
    mlir::LLVM::Linkage linkage = mlir::LLVM::Linkage::Internal) {
  mlir::Operation *parent = builder.getInsertionBlock()->getParentOp();
  std::string symbol = base.str();
  for (int i = 1; mlir::SymbolTable::lookupSymbolIn(parent, symbol); ++i)
    symbol = (base + "_" + llvm::Twine(i)).str();
  mlir::LLVM::GlobalOp::create(builder, loc,
                               mlir::LLVM::LLVMArrayType::get(elem, count),
                               /*isConstant=*/false, linkage, symbol,
                               mlir::Attribute(), align, /*addrSpace=*/3);
  return symbol;
}

} // namespace qc::detail

#endif // QC_LIB_CONVERSION_QCTONVVM_SHAREDMEMORY_H
