//===- Passes.h - qc quantization passes ------------------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Declarations and registration of the qc quantization passes, plus the
// pattern sets they are assembled from.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_TRANSFORMS_PASSES_H
#define QC_DIALECT_QC_TRANSFORMS_PASSES_H

#include "qc/Dialect/QC/IR/QC.h"
#include "qc/Dialect/QC/IR/WeightStore.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace qc {

#define GEN_PASS_DECL
#include "qc/Dialect/QC/Transforms/Passes.h.inc"

/// Adds the patterns of `qc-fuse-dequant`: linear(x, dequantize_weight) ->
/// wo_matmul and linear(dequantize_act, dequantize_weight) -> int8_matmul.
void populateFuseDequantPatterns(RewritePatternSet &patterns);

/// Adds the patterns of `qc-fuse-sibling-matmuls`: qc.wo_matmul (and, with
/// `int8`, qc.int8_matmul) siblings reading the same input become one matmul
/// over the concatenated output channels plus one tensor.extract_slice per
/// layer. `maxN` > 0 bounds the fused N. The fused packed bytes go through
/// `sink` (inline by default, or the weight store).
void populateFuseSiblingMatmulsPatterns(RewritePatternSet &patterns,
                                        int64_t maxN = 0, bool int8 = true,
                                        WeightSink sink = {});

#define GEN_PASS_REGISTRATION
#include "qc/Dialect/QC/Transforms/Passes.h.inc"

} // namespace qc
} // namespace mlir

#endif // QC_DIALECT_QC_TRANSFORMS_PASSES_H
