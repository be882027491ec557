//===- quant-opt.cpp - The quant optimizer driver ---------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Runs qc and upstream passes and pipelines on MLIR input, like mlir-opt.
//
//===----------------------------------------------------------------------===//

#include "qc/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  qc::registerAllDialects(registry);
  qc::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "quant optimizer driver\n", registry));
}
