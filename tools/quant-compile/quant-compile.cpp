//===- quant-compile.cpp - Compile MLIR into a quant module ---------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// quant-compile in.mlir --target host -o out/model writes out/model.so,
// out/model.h and out/model.qcw (docs/module-format.md). The command line
// around the compile library (qc/Driver/Driver.h, docs/driver.md): it
// parses the flags, runs the compile and prints what the library reports:
// diagnostics and stage lines (-v, --progress) on stderr, output "-" on
// stdout. Exit status 0 on success, 1 after an error.
//
//===----------------------------------------------------------------------===//

#include "qc/Driver/Driver.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  qc::CompileCallbacks callbacks;
  callbacks.diagnostic = [](const qc::Diagnostic &d) {
    if (d.located) {
      llvm::errs() << d.text;
      if (!llvm::StringRef(d.text).ends_with("\n"))
        llvm::errs() << "\n";
      return;
    }
    (d.severity == qc::Severity::Error
         ? llvm::WithColor::error(llvm::errs(), "quant-compile")
         : llvm::WithColor::warning(llvm::errs(), "quant-compile"))
        << d.text << "\n";
  };
  callbacks.output = [](llvm::StringRef text) { llvm::outs() << text; };

  qc::CommandLine command;
  if (!qc::parseCompileCommandLine(llvm::ArrayRef(argv, argc), command,
                                   callbacks, /*allowExit=*/true))
    return 1;

  // -v / --progress: one line per stage on stderr, flushed, so callers can
  // show progress while a large model compiles.
  const qc::PresentationOptions &show = command.presentation;
  callbacks.stage = [&show](const qc::StageEvent &e) {
    if (show.progress == "json") {
      llvm::errs() << qc::stageEventJson(e) << "\n";
    } else if (show.verbose || show.progress == "text") {
      if (e.end)
        llvm::errs() << "quant-compile: " << e.stage << " done in "
                     << llvm::formatv("{0:f1}", e.seconds) << " s\n";
      else
        llvm::errs() << "quant-compile: " << e.stage << " ...\n";
    }
    llvm::errs().flush();
  };
  if (show.verbose)
    callbacks.layerTable = [](llvm::StringRef table) { llvm::errs() << table; };
  return qc::run(command, callbacks) ? 0 : 1;
}
