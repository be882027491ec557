//===- InitAll.h - Register everything quant tools need ---------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#ifndef QC_INITALL_H
#define QC_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace qc {
/// Adds the qc dialect and every upstream dialect, interface and LLVM IR
/// translation the quant pipelines use (func, arith, math, tensor, linalg,
/// memref, scf, vector, bufferization, gpu, nvvm, llvm, and upstream quant).
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers qc passes and pipelines plus the upstream passes the pipelines
/// are built from, so quant-opt can run any step on its own.
void registerAllPasses();
} // namespace qc

#endif // QC_INITALL_H
