//===- HostModule.cpp - Weights file and host shared object ---------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/Target/HostModule.h"
#include "qc/Dialect/QC/IR/WeightStore.h"
#include "qc/Runtime/XXHash64.h"
#include "qc/Runtime/qcrt.h"

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
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Signals.h"
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
constexpr uint64_t kEntryBytes = 32; // offset, bytes, checksum, name length, 0

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

/// Calls `sink` with the little-endian bytes of a weight, in order: a
/// dense/resource elements attribute (splats expanded in bounded chunks) or
/// the slice of an external file.
bool visitWeightBytes(const ::qc::WeightEntry &w,
                      llvm::function_ref<void(const char *, size_t)> sink,
                      std::string &error) {
  if (!w.value) {
    auto buffer = llvm::MemoryBuffer::getFileSlice(w.path, w.bytes, w.offset);
    if (!buffer) {
      error = "cannot read external weight '" + w.symbol + "' from '" + w.path +
              "': " + buffer.getError().message();
      return false;
    }
    if ((*buffer)->getBufferSize() != w.bytes) {
      error = "external weight '" + w.symbol + "' in '" + w.path +
              "' is shorter than its " + std::to_string(w.bytes) + " bytes";
      return false;
    }
    sink((*buffer)->getBufferStart(), w.bytes);
    return true;
  }
  Attribute value = w.value;
  uint64_t bytes = w.bytes;
  auto fail = [&](const std::string &why) {
    error = "weight '" + w.symbol + "': " + why;
    return false;
  };
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != bytes)
      return fail("dense_resource weight has no data of the expected size");
    // In bounded chunks, each released once written: a weight-store
    // mapping's pages do not accumulate in memory.
    constexpr uint64_t kChunk = uint64_t(64) << 20;
    const char *data = blob->getData().data();
    for (uint64_t at = 0; at < bytes; at += kChunk) {
      sink(data + at, std::min(kChunk, bytes - at));
      ::mlir::qc::releaseWeightPages(resource);
    }
    return true;
  }
  auto dense = dyn_cast<DenseIntOrFPElementsAttr>(value);
  if (!dense)
    return fail("unsupported weight attribute");
  ArrayRef<char> raw = dense.getRawData();
  if (dense.isSplat()) {
    int64_t count = dense.getNumElements();
    uint64_t elem = count ? bytes / count : 0;
    if (raw.size() != elem || (count && elem * count != bytes) ||
        (count && !elem))
      return fail("unexpected splat storage");
    // Expand in chunks of at most 64 KiB.
    std::string chunk;
    uint64_t per = elem ? std::max<uint64_t>(1, 65536 / elem) : 0;
    for (uint64_t i = 0; i < per; ++i)
      chunk.append(raw.data(), elem);
    for (uint64_t left = count; left > 0;) {
      uint64_t n = std::min(left, per);
      sink(chunk.data(), n * elem);
      left -= n;
    }
    return true;
  }
  if (raw.size() != bytes)
    return fail("unexpected dense storage size");
  sink(raw.data(), bytes);
  return true;
}

/// The layout of a .qcw file: each entry's data offset and the file size,
/// with overflow checks.
bool weightsLayout(ArrayRef<::qc::WeightEntry> weights,
                   std::vector<uint64_t> &offsets, uint64_t &tableBytes,
                   uint64_t &fileBytes, std::string &error) {
  uint64_t limit = QCRT_MAX_WEIGHTS_FILE_BYTES;
  auto tooLarge = [&]() {
    error = "the weights file would exceed the maximum of " +
            std::to_string(limit) + " bytes (docs/reliability.md)";
    return false;
  };
  tableBytes = 0;
  for (const ::qc::WeightEntry &w : weights) {
    tableBytes += kEntryBytes + (w.symbol.size() + 7) / 8 * 8;
    if (tableBytes > limit)
      return tooLarge();
  }
  offsets.clear();
  uint64_t at = alignUp(kHeaderBytes + tableBytes);
  fileBytes = kHeaderBytes + tableBytes;
  for (const ::qc::WeightEntry &w : weights) {
    if (w.bytes > limit || at > limit - w.bytes)
      return tooLarge();
    offsets.push_back(at);
    fileBytes = at + w.bytes;
    at = alignUp(fileBytes);
  }
  return true;
}

} // namespace

bool ::qc::weightsFileBytes(ArrayRef<WeightEntry> weights, uint64_t &bytes,
                            std::string &error) {
  std::vector<uint64_t> offsets;
  uint64_t tableBytes;
  return weightsLayout(weights, offsets, tableBytes, bytes, error);
}

bool ::qc::computeWeightChecksums(MutableArrayRef<WeightEntry> weights,
                                  std::string &error) {
  for (WeightEntry &w : weights) {
    ::qc::XXHash64 hash;
    if (!visitWeightBytes(
            w, [&](const char *p, size_t n) { hash.update(p, n); }, error))
      return false;
    w.checksum = hash.digest();
  }
  return true;
}

namespace {
/// A raw_ostream that hashes what is written to it.
class HashStream : public llvm::raw_ostream {
public:
  HashStream() = default;
  ::qc::XXHash64 hash;

private:
  uint64_t pos = 0;
  void write_impl(const char *p, size_t n) override {
    hash.update(p, n);
    pos += n;
  }
  uint64_t current_pos() const override { return pos; }
};
} // namespace

uint64_t ::qc::computeModuleIdentity(ModuleOp module, StringRef target,
                                     StringRef cpu,
                                     ArrayRef<WeightEntry> weights) {
  // Each top-level op (function, global) hashed on its own and the hashes
  // sorted: the lowering may create globals in a thread-dependent order,
  // which must not change the identity (same input -> same identity).
  std::vector<uint64_t> parts;
  for (Operation &op : module.getBody()->getOperations()) {
    HashStream part;
    op.print(part, OpPrintingFlags().useLocalScope());
    part.flush();
    parts.push_back(part.hash.digest());
  }
  llvm::sort(parts);
  ::qc::XXHash64 h;
  for (uint64_t p : parts)
    h.updateU64(p);
  auto str = [&](StringRef s) {
    h.updateU64(s.size());
    h.update(s.data(), s.size());
  };
  str(target);
  str(cpu);
  h.updateU64(weights.size());
  for (const WeightEntry &w : weights) {
    str(w.symbol);
    h.updateU64(w.bytes);
    h.updateU64(w.checksum);
  }
  return h.digest();
}

std::string(::qc::addModuleIdentity)(StringRef info, uint64_t identity) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(info);
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    return info.str();
  }
  if (llvm::json::Object *object = parsed->getAsObject())
    (*object)["identity"] = llvm::formatv("{0:x-16}", identity).str();
  std::string text;
  llvm::raw_string_ostream os(text);
  os << *parsed;
  return text;
}

bool ::qc::writeWeightsFile(StringRef path, StringRef target,
                            ArrayRef<WeightEntry> weights, uint64_t identity,
                            std::string &error) {
  // Table: per entry u64 offset, u64 bytes, u64 XXH64 checksum, u32 name
  // length, u32 0, name padded to 8 bytes.
  std::vector<uint64_t> offsets;
  uint64_t tableBytes, fileBytes;
  if (!weightsLayout(weights, offsets, tableBytes, fileBytes, error))
    return false;

  std::string head = "QCWEIGHT";
  putU32(head, kModuleFormatVersion);
  putU32(head, weights.size());
  std::string targetField = target.str();
  targetField.resize(16, '\0');
  head += targetField;
  putU64(head, kHeaderBytes); // table offset
  putU64(head, tableBytes);
  putU64(head, fileBytes);
  putU64(head, identity);
  for (size_t i = 0; i < weights.size(); ++i) {
    putU64(head, offsets[i]);
    putU64(head, weights[i].bytes);
    putU64(head, weights[i].checksum);
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
    if (!visitWeightBytes(
            w, [&](const char *p, size_t n) { os.write(p, n); }, error))
      return false;
    written = offsets[i] + w.bytes;
    if (os.has_error())
      break; // e.g. disk full: stop writing now
  }
  os.close();
  if (os.has_error()) {
    error = ("cannot write '" + path + "': " + os.error().message()).str();
    os.clear_error();
    return false;
  }
  return true;
}

std::string(::qc::resolveHostCpu)(StringRef cpu) {
  if (cpu == "native")
    return llvm::sys::getHostCPUName().str();
  return cpu.str();
}

/// A TargetMachine for the host triple and the requested CPU (PIC: the code
/// goes into a shared object).
static std::unique_ptr<llvm::TargetMachine>
createHostTargetMachine(const ::qc::HostCodegenOptions &options,
                        std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getProcessTriple());
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  std::string cpu = ::qc::resolveHostCpu(options.cpu);
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

std::vector<std::string>(::qc::exportedSymbols)(
    ArrayRef<EntryPoint> entryPoints, ArrayRef<WeightEntry> weights) {
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
                     const ::qc::HostCodegenOptions &options) {
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

bool ::qc::optimizeForHost(llvm::Module &module,
                           const HostCodegenOptions &options,
                           std::string &error) {
  auto machine = createHostTargetMachine(options, error);
  if (!machine)
    return false;
  return optimize(module, *machine, options);
}

bool ::qc::emitHostSharedObject(llvm::Module &module, StringRef soPath,
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
  llvm::sys::RemoveFileOnSignal(objPath); // also on SIGINT/SIGTERM/SIGXFSZ
  struct Unregister {
    llvm::StringRef path;
    ~Unregister() { llvm::sys::DontRemoveFileOnSignal(path); }
  } unregister{objPath};
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
