//===- Limits.h - Size limits checked before any work -----------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Every static shape in the input IR (types of values, block arguments,
// attributes, function signatures, globals) must have an element count and
// byte size that fit 64 bits and at most QCRT_MAX_TENSOR_BYTES
// (include/qc/Runtime/qcrt.h, docs/reliability.md). Checked once, before
// any pass computes sizes or allocates, so that later size arithmetic on
// static shapes cannot overflow and a huge weight is one diagnostic instead
// of an abort in the allocator.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_TRANSFORMS_LIMITS_H
#define QC_DIALECT_QC_TRANSFORMS_LIMITS_H

#include "mlir/IR/Operation.h"
#include "mlir/Pass/Pass.h"

#include <memory>

namespace qc {

/// The largest tensor the compiler accepts, in bytes (QCRT_MAX_TENSOR_BYTES).
uint64_t maxTensorBytes();
/// Lowers the limit (fuzz targets keep valid inputs small); never raises it
/// above QCRT_MAX_TENSOR_BYTES.
void setMaxTensorBytesForTesting(uint64_t bytes);

/// Byte size of a statically shaped type (element count x element bytes,
/// sub-byte elements rounded up per element); false on overflow.
bool staticTypeBytes(mlir::ShapedType type, uint64_t &bytes);

/// Checks every static shape under `root`; emits one error at the first
/// offending op and fails.
mlir::LogicalResult checkTensorLimits(mlir::Operation *root);

/// `qc-check-limits`: checkTensorLimits as a pass (first pass of the qc
/// pipelines and of every quant-opt run).
std::unique_ptr<mlir::Pass> createCheckLimitsPass();
void registerCheckLimitsPass();

} // namespace qc

#endif // QC_DIALECT_QC_TRANSFORMS_LIMITS_H
