//===- LayerReport.h - Per-layer compile report ----------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// What quantization did to every linear layer of a module: scheme, weight
// bytes, chosen kernel and calibration error. Collected from the IR after
// the quantize pipeline (docs/passes.md, "Per-layer report").
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_TRANSFORMS_LAYERREPORT_H
#define QC_DIALECT_QC_TRANSFORMS_LAYERREPORT_H

#include "mlir/IR/BuiltinOps.h"

#include <optional>
#include <string>
#include <vector>

// In ::qc (like the pipelines and the target), for the tools.
namespace qc {

/// One linear layer of a quantized module.
struct LayerReport {
  std::string layer;  ///< the `layer` name
  std::string op;     ///< qc.linear, qc.wo_matmul or qc.int8_matmul
  std::string scheme; ///< the scheme attribute as printed, or "none"
  std::string kernel; ///< the #qc.kernel as printed, or "none"
  int64_t n = 0, k = 0;
  /// Stored weight bytes: packed data (N*K*bits/8, rounded up) + scales +
  /// zero points; a float weight: N*K*element bytes. The bias is excluded.
  int64_t dataBytes = 0, scaleBytes = 0, zeroBytes = 0;
  int64_t weightBytes() const { return dataBytes + scaleBytes + zeroBytes; }
  /// `qc.quant_error` / `qc.output_error` left by qc-quantize-weights.
  std::optional<double> quantError, outputError;
  /// The fused matmul's `layer` when qc-fuse-sibling-matmuls merged this
  /// layer with its siblings (JSON `fused_into`), else empty.
  std::string fusedInto;
};

/// Collects one entry per layer name (the first op carrying it, in walk
/// order: a layer present in several functions, e.g. @forward and @decode,
/// is reported once) from qc.linear, qc.wo_matmul and qc.int8_matmul ops.
std::vector<LayerReport> collectLayerReports(mlir::ModuleOp module);

/// The report as JSON (`qc-layer-report` v1, docs/passes.md).
std::string layerReportJson(const std::vector<LayerReport> &layers);

/// The report as an aligned text table with a totals line.
std::string layerReportTable(const std::vector<LayerReport> &layers);

} // namespace qc

#endif // QC_DIALECT_QC_TRANSFORMS_LAYERREPORT_H
