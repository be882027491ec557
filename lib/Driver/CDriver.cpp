//===- CDriver.cpp - C ABI of the quant compile library -------------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/Driver/CDriver.h"
#include "qc/Driver/Driver.h"

#include <mutex>
#include <string>

#define QC_DRIVER_EXPORT __attribute__((visibility("default")))

extern "C" QC_DRIVER_EXPORT int qc_driver_version(void) { return 1; }

extern "C" QC_DRIVER_EXPORT int qc_driver_compile(int argc,
                                                  const char *const *argv,
                                                  qc_driver_callback callback,
                                                  void *user) {
  // One compile at a time: the options are process globals.
  static std::mutex lock;
  std::lock_guard<std::mutex> guard(lock);
  auto send = [&](int event, const std::string &text) {
    if (callback)
      callback(event, text.c_str(), user);
  };
  if (argc < 1 || !argv) {
    send(QC_DRIVER_ERROR, "qc_driver_compile: no arguments (argv[0] is the "
                          "program name)");
    return 1;
  }
  qc::CompileCallbacks callbacks;
  callbacks.diagnostic = [&](const qc::Diagnostic &d) {
    send(d.severity == qc::Severity::Error ? QC_DRIVER_ERROR
                                           : QC_DRIVER_WARNING,
         d.text);
  };
  callbacks.stage = [&](const qc::StageEvent &e) {
    send(QC_DRIVER_PROGRESS, qc::stageEventJson(e));
  };
  callbacks.output = [&](llvm::StringRef text) {
    send(QC_DRIVER_OUTPUT, text.str());
  };
  callbacks.layerTable = [&](llvm::StringRef text) {
    send(QC_DRIVER_LAYER_TABLE, text.str());
  };
  return qc::runCompileCommandLine(llvm::ArrayRef(argv, argc), callbacks) ? 0
                                                                          : 1;
}
