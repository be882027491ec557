//===- HostModule.cpp - Weights file and host shared object ---------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/Target/HostModule.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

using namespace mlir;

namespace {

constexpr uint64_t kAlignment = 64;
constexpr uint64_t kHeaderBytes = 64;

void putU32(std::string &s, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void putU64(std::string &s, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t alignUp(uint64_t v) {
  return (v + kAlignment - 1) / kAlignment * kAlignment;
}

/// Appends the little-endian bytes of a dense/resource elements attribute.
bool appendElements(Attribute value, uint64_t bytes, llvm::raw_ostream &os,
                    std::string &error) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != bytes) {
      error = "dense_resource weight has no data of the expected size";
      return false;
    }
    os.write(blob->getData().data(), bytes);
    return true;
  }
  auto dense = dyn_cast<DenseIntOrFPElementsAttr>(value);
  if (!dense) {
    error = "unsupported weight attribute";
    return false;
  }
  ArrayRef<char> raw = dense.getRawData();
  if (dense.isSplat()) {
    uint64_t elem = bytes / dense.getNumElements();
    if (raw.size() != elem) {
      error = "unexpected splat storage";
      return false;
    }
    for (int64_t i = 0, e = dense.getNumElements(); i < e; ++i)
      os.write(raw.data(), elem);
    return true;
  }
  if (raw.size() != bytes) {
    error = "unexpected dense storage size";
    return false;
  }
  os.write(raw.data(), bytes);
  return true;
}

} // namespace

bool qc::writeWeightsFile(StringRef path, StringRef target,
                          ArrayRef<WeightEntry> weights, std::string &error) {
  // Table: per entry u64 offset, u64 bytes, u32 name length, u32 0, name
  // padded to 8 bytes.
  uint64_t tableBytes = 0;
  for (const WeightEntry &w : weights)
    tableBytes += 24 + (w.symbol.size() + 7) / 8 * 8;
  std::vector<uint64_t> offsets;
  uint64_t at = alignUp(kHeaderBytes + tableBytes);
  for (const WeightEntry &w : weights) {
    offsets.push_back(at);
    at = alignUp(at + w.bytes);
  }
  uint64_t fileBytes = weights.empty() ? kHeaderBytes + tableBytes
                                       : offsets.back() + weights.back().bytes;

  std::string head = "QCWEIGHT";
  putU32(head, kModuleFormatVersion);
  putU32(head, weights.size());
  std::string targetField = target.str();
  targetField.resize(16, '\0');
  head += targetField;
  putU64(head, kHeaderBytes); // table offset
  putU64(head, tableBytes);
  putU64(head, fileBytes);
  putU64(head, 0);
  for (size_t i = 0; i < weights.size(); ++i) {
    putU64(head, offsets[i]);
    putU64(head, weights[i].bytes);
    putU32(head, weights[i].symbol.size());
    putU32(head, 0);
    head += weights[i].symbol;
    head.resize((head.size() + 7) / 8 * 8, '\0');
  }

  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = ("cannot write '" + path + "': " + ec.message()).str();
    return false;
  }
  os << head;
  uint64_t written = head.size();
  for (size_t i = 0; i < weights.size(); ++i) {
    const WeightEntry &w = weights[i];
    os.write_zeros(offsets[i] - written);
    if (w.value) {
      if (!appendElements(w.value, w.bytes, os, error)) {
        error = "weight '" + w.symbol + "': " + error;
        return false;
      }
    } else {
      auto buffer = llvm::MemoryBuffer::getFileSlice(w.path, w.bytes, w.offset);
      if (!buffer) {
        error = "cannot read external weight '" + w.symbol + "' from '" +
                w.path + "': " + buffer.getError().message();
        return false;
      }
      os.write((*buffer)->getBufferStart(), w.bytes);
    }
    written = offsets[i] + w.bytes;
  }
  os.close();
  if (os.has_error()) {
    error = ("cannot write '" + path + "': " + os.error().message()).str();
    os.clear_error();
    return false;
  }
  return true;
}

std::string qc::resolveHostCpu(StringRef cpu) {
  if (cpu == "native")
    return llvm::sys::getHostCPUName().str();
  return cpu.str();
}

/// A TargetMachine for the host triple and the requested CPU (PIC: the code
/// goes into a shared object).
static std::unique_ptr<llvm::TargetMachine>
createHostTargetMachine(const qc::HostCodegenOptions &options,
                        std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getProcessTriple());
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  std::string cpu = qc::resolveHostCpu(options.cpu);
  std::string features;
  if (options.cpu == "native") {
    llvm::SubtargetFeatures f;
    for (auto &feature : llvm::sys::getHostCPUFeatures())
      f.AddFeature(feature.first(), feature.second);
    features = f.getString();
  }
  // Validate the CPU name first: LLVM would only warn and use a default.
  std::unique_ptr<llvm::MCSubtargetInfo> generic(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!generic || !generic->isCPUStringValid(cpu)) {
    error = "unknown CPU '" + cpu + "' for " + triple.str();
    return nullptr;
  }
  llvm::TargetOptions targetOptions;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpu, features, targetOptions, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    error = "cannot create a target machine for CPU '" + cpu + "'";
  return machine;
}

std::vector<std::string> qc::exportedSymbols(ArrayRef<EntryPoint> entryPoints,
                                             ArrayRef<WeightEntry> weights) {
  std::vector<std::string> symbols = {"qc_module_info"};
  for (const EntryPoint &ep : entryPoints) {
    symbols.push_back("qc_entry_" + ep.name);
    symbols.push_back("_mlir_ciface_" + ep.name);
  }
  for (const WeightEntry &w : weights)
    symbols.push_back(w.symbol);
  return symbols;
}

static bool optimize(llvm::Module &module, llvm::TargetMachine &machine,
                     const qc::HostCodegenOptions &options) {
  if (!options.exportedSymbols.empty()) {
    llvm::StringSet<> exported;
    for (const std::string &name : options.exportedSymbols)
      exported.insert(name);
    for (llvm::GlobalValue &value : module.global_values()) {
      // llvm.global_ctors & co. (appending linkage) must stay as they are:
      // GPU modules load their device code from a global constructor.
      if (value.isDeclaration() || value.hasLocalLinkage() ||
          value.hasAppendingLinkage() || value.getName().starts_with("llvm.") ||
          exported.contains(value.getName()))
        continue;
      value.setLinkage(llvm::GlobalValue::InternalLinkage);
    }
  }
  module.setTargetTriple(machine.getTargetTriple());
  module.setDataLayout(machine.createDataLayout());
  // Every function gets the CPU and features (the MLIR export sets none).
  for (llvm::Function &f : module) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", machine.getTargetCPU());
    if (!machine.getTargetFeatureString().empty())
      f.addFnAttr("target-features", machine.getTargetFeatureString());
  }
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  // No LLVM loop unrolling: the matmul kernels are register-blocked in MLIR
  // already, and unrolling the glue's static-trip-count loops (norms, RoPE,
  // attention, per layer and per entry point) made LLVM spend ~80% of a
  // model's compile time on it for no run-time gain (docs/host-lowering.md).
  tuning.LoopUnrolling = false;
  llvm::PassBuilder pb(&machine, tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm =
      pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(module, mam);
  return true;
}

bool qc::optimizeForHost(llvm::Module &module,
                         const HostCodegenOptions &options,
                         std::string &error) {
  auto machine = createHostTargetMachine(options, error);
  if (!machine)
    return false;
  return optimize(module, *machine, options);
}

bool qc::emitHostSharedObject(llvm::Module &module, StringRef soPath,
                              const HostCodegenOptions &options,
                              std::string &error) {
  auto machine = createHostTargetMachine(options, error);
  if (!machine || !optimize(module, *machine, options))
    return false;

  SmallString<128> objPath;
  int fd;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("qc-module", "o", fd, objPath)) {
    error = "cannot create a temporary object file: " + ec.message();
    return false;
  }
  llvm::FileRemover removeObject(objPath);
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    llvm::legacy::PassManager codegen;
    if (machine->addPassesToEmitFile(codegen, os, nullptr,
                                     llvm::CodeGenFileType::ObjectFile)) {
      error = "the target cannot emit object files";
      return false;
    }
    codegen.run(module);
    os.close();
    if (os.has_error()) {
      error = "cannot write the object file: " + os.error().message();
      os.clear_error();
      return false;
    }
  }

  auto linker = llvm::sys::findProgramByName(options.linker);
  if (!linker) {
    error = "cannot find the C compiler '" + options.linker +
            "' to link the shared object";
    return false;
  }
  // Undefined symbols (qcrt_observe, ...) resolve against the process that
  // loads the module.
  SmallVector<StringRef> args = {*linker, "-shared", "-o",
                                 soPath,  objPath,   "-lm"};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*linker, args, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0) {
    error = "linking '" + soPath.str() + "' with '" + *linker + "' failed" +
            (message.empty() ? "" : ": " + message);
    return false;
  }
  return true;
}
