//===- policy.cpp - libFuzzer target: the policy YAML/JSON reader ---------===//
//
// Any byte string as the policy file of qc-apply-policy on a fixed
// two-layer module: a diagnostic or success, never a crash.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"
#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;

static DialectRegistry *registry;

static const char *kModule = R"mlir(
func.func @f(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %w0 = arith.constant dense<0.5> : tensor<8x8xf32>
  %w1 = arith.constant dense<-0.25> : tensor<4x8xf32>
  %h = qc.linear %x, %w0 {layer = "model.layers.0.self_attn.q_proj"} : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
  %y = qc.linear %h, %w1 {layer = "model.layers.0.mlp.down_proj"} : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
)mlir";

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  ::qc::registerAllPasses();
  registry = new DialectRegistry();
  ::qc::registerAllDialects(*registry);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  qcfuzz::MemFile file(data, size);
  if (!file.ok())
    return 0;
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
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(kModule, ParserConfig(&ctx));
  if (!module)
    abort();
  PassManager pm(&ctx);
  pm.addPass(mlir::qc::createQCApplyPolicyPass({file.name()}));
  (void)pm.run(*module);
  return 0;
}
