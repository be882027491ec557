//===- quant-opt.cpp - quant optimizer driver -----------------------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// mlir-opt with the qc dialect and passes. Every run starts with
// qc-check-limits (docs/reliability.md): a static shape above the maximum
// tensor size is one diagnostic before any pass computes with it.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Limits.h"
#include "qc/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::DialectRegistry registry;
  qc::registerAllDialects(registry);
  qc::registerAllPasses();
  auto [inputFile, outputFile] = mlir::registerAndParseCLIOptions(
      argc, argv, "quant optimizer driver\n", registry);
  mlir::MlirOptMainConfig config =
      mlir::MlirOptMainConfig::createFromCLOptions();
  mlir::MlirOptMainConfig base = config;
  config.setPassPipelineSetupFn([base](mlir::PassManager &pm) {
    pm.addPass(qc::createCheckLimitsPass());
    return base.setupPassPipeline(pm);
  });
  std::string error;
  auto input = mlir::openInputFile(inputFile, &error);
  if (!input) {
    llvm::WithColor::error(llvm::errs(), "quant-opt") << error << "\n";
    return 1;
  }
  // The output is written to a temporary and renamed on success (removed
  // on failure and on SIGINT/SIGTERM).
  // Devices and pipes (-o /dev/null) are written directly.
  bool toStdout =
      outputFile == "-" || (llvm::sys::fs::exists(outputFile) &&
                            !llvm::sys::fs::is_regular_file(outputFile));
  std::string temp =
      toStdout ? outputFile
               : outputFile + ".partial-" +
                     std::to_string(llvm::sys::Process::getProcessId());
  auto output = mlir::openOutputFile(temp, &error);
  if (!output) {
    llvm::WithColor::error(llvm::errs(), "quant-opt") << error << "\n";
    return 1;
  }
  if (mlir::failed(
          mlir::MlirOptMain(output->os(), std::move(input), registry, config)))
    return 1; // ~ToolOutputFile removes the temporary
  if (toStdout) {
    output->keep();
    return 0;
  }
  output->os().close();
  if (output->os().has_error() || llvm::sys::fs::rename(temp, outputFile)) {
    llvm::WithColor::error(llvm::errs(), "quant-opt")
        << "cannot write '" << outputFile << "'\n";
    output->os().clear_error();
    return 1;
  }
  output->keep();
  return 0;
}
