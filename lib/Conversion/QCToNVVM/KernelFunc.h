//===- KernelFunc.h - The gpu.func of a built kernel ------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Helpers of the kernel builders in this directory (not a public API).
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_CONVERSION_QCTONVVM_KERNELFUNC_H
#define QC_LIB_CONVERSION_QCTONVVM_KERNELFUNC_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

namespace qc::detail {

/// A `gpu.func` kernel `name` taking `args`, with its known block size
/// (blockSize x 1 x 1).
inline mlir::gpu::GPUFuncOp createKernelFunc(mlir::OpBuilder &builder,
                                             mlir::Location loc,
                                             llvm::StringRef name,
                                             llvm::ArrayRef<mlir::Type> args,
                                             int64_t blockSize) {
  auto func = mlir::gpu::GPUFuncOp::create(builder, loc, name,
                                           builder.getFunctionType(args, {}));
  func->setAttr(mlir::gpu::GPUDialect::getKernelFuncAttrName(),
                builder.getUnitAttr());
  func.setKnownBlockSizeAttr(
      builder.getDenseI32ArrayAttr({static_cast<int32_t>(blockSize), 1, 1}));
  return func;
}

} // namespace qc::detail

#endif // QC_LIB_CONVERSION_QCTONVVM_KERNELFUNC_H
