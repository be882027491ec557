//===- mlir.cpp - libFuzzer target: parse + verify + qc-quantize-pipeline -===//
//
// Any byte string as qc IR: parsed, verified, size-checked
// (qc-check-limits) and, when valid, run through qc-quantize-pipeline. Every
// failure must be a diagnostic: no crash, no abort, no out-of-bounds access.
// Tensors are limited to 16 MiB here so that valid inputs stay fast.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Limits.h"
#include "qc/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

static DialectRegistry *registry;

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  ::qc::registerAllPasses();
  registry = new DialectRegistry();
  ::qc::registerAllDialects(*registry);
  ::qc::setMaxTensorBytesForTesting(16 << 20);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // One context for many inputs (creating one costs milliseconds); renewed
  // every 1000 inputs so uniqued types and attributes do not pile up.
  static std::unique_ptr<MLIRContext> owned;
  static unsigned uses = 0;
  if (!owned || ++uses % 1000 == 0) {
    owned = std::make_unique<MLIRContext>(*registry,
                                          MLIRContext::Threading::DISABLED);
    owned->printOpOnDiagnostic(false);
    owned->getDiagEngine().registerHandler(
        [](Diagnostic &) { return success(); });
  }
  MLIRContext &ctx = *owned;
  std::string text(reinterpret_cast<const char *>(data), size);
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(text, ParserConfig(&ctx));
  if (!module || failed(verify(*module)) ||
      failed(::qc::checkTensorLimits(*module)))
    return 0;
  PassManager pm(&ctx);
  // Through the registry (the pipeline as quant-opt runs it).
  if (failed(parsePassPipeline("qc-quantize-pipeline", pm, llvm::nulls())))
    abort();
  (void)pm.run(*module);
  return 0;
}
