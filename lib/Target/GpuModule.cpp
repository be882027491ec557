//===- GpuModule.cpp - GPU (sm_80/sm_90) quant modules --------------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/Target/GpuModule.h"
#include "qc/Target/HostModule.h"
#include "qc/Target/TargetTable.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

bool qc::isGpuTarget(StringRef target) {
  return lookupGpuTarget(target) != nullptr;
}

static bool hasTool(StringRef toolkit, StringRef tool) {
  SmallString<256> path(toolkit);
  sys::path::append(path, "bin", tool);
  return sys::fs::can_execute(path);
}

/// A toolkit must at least have libdevice (math functions of the kernels).
static bool hasLibdevice(StringRef toolkit) {
  SmallString<256> path(toolkit);
  sys::path::append(path, "nvvm", "libdevice", "libdevice.10.bc");
  return sys::fs::is_regular_file(path);
}

std::string qc::findCudaToolkit(StringRef explicitPath) {
  if (!explicitPath.empty())
    return hasLibdevice(explicitPath) ? explicitPath.str() : "";
  for (const char *var : {"CUDA_HOME", "CUDA_PATH"})
    if (std::optional<std::string> v = sys::Process::GetEnv(var))
      if (!v->empty() && hasLibdevice(*v))
        return *v;
  if (hasLibdevice("/usr/local/cuda"))
    return "/usr/local/cuda";
  return "";
}

std::string qc::gpuBinaryFormat(StringRef toolkit) {
  if (!toolkit.empty() && hasTool(toolkit, "ptxas") &&
      hasTool(toolkit, "fatbinary"))
    return "fatbin";
  return "isa";
}

std::string qc::addGpuModuleInfo(StringRef infoJson, StringRef format,
                                 bool dependentLaunch) {
  Expected<json::Value> parsed = json::parse(infoJson);
  if (!parsed) {
    consumeError(parsed.takeError());
    return infoJson.str();
  }
  if (json::Object *object = parsed->getAsObject()) {
    (*object)["weight_storage"] = "device";
    (*object)["device_code"] = format.str();
    (*object)["dependent_launch"] = dependentLaunch;
  }
  std::string text;
  raw_string_ostream os(text);
  os << *parsed;
  return text;
}

std::string qc::gpuHeaderNote(StringRef target, StringRef format) {
  std::string s;
  raw_string_ostream os(s);
  os << "/* GPU module: target " << target << ", device code " << format
     << " embedded in the .so.\n"
        " * Every memref descriptor pointer (inputs, results, weights) is a\n"
        " * CUDA device pointer; results are allocated with the runtime's\n"
        " * mgpuMemAlloc. Each weight symbol below is an 8-byte slot that\n"
        " * holds the device address of the weight (filled by qcrt at load\n"
        " * time). Run it through qcrt (qcrt_module_run / _run_ex).\n"
        " */\n";
  return s;
}

void qc::takeHostSyncFunctions(mlir::ModuleOp module,
                               std::vector<EntryPoint> &entryPoints) {
  auto syncing = module->getAttrOfType<mlir::ArrayAttr>(kHostSyncAttr);
  if (!syncing)
    return;
  for (EntryPoint &ep : entryPoints)
    ep.hostSync =
        llvm::is_contained(syncing.getValue(),
                           mlir::StringAttr::get(module.getContext(), ep.name));
  module->removeAttr(kHostSyncAttr);
}
