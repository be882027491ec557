//===- stats.cpp - libFuzzer target: the qc-stats reader ------------------===//
//
// Any byte string as a calibration statistics file (docs/formats.md): the
// reader returns a diagnostic or a table whose vectors match their channel
// counts; never a crash.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"
#include "qc/Dialect/QC/Transforms/QuantUtils.h"
#include "qc/InitAll.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static MLIRContext *ctx = [] {
    auto *c = new MLIRContext(MLIRContext::Threading::DISABLED);
    c->printOpOnDiagnostic(false);
    return c;
  }();
  static ScopedDiagnosticHandler quiet(ctx,
                                       [](Diagnostic &) { return success(); });
  qcfuzz::MemFile file(data, size);
  if (!file.ok())
    return 0;
  FailureOr<mlir::qc::StatsFile> stats =
      mlir::qc::loadStatsFile(file.name(), UnknownLoc::get(ctx));
  (void)stats;
  return 0;
}
