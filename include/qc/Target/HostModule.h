//===- HostModule.h - Writing quant modules ---------------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The pieces of a quant module (docs/module-format.md): the entry-point
// signatures recorded before lowering, the packed `qc_entry_<name>` and
// `qc_module_info` functions added to the lowered LLVM-dialect module, the
// generated C header, the .qcw weights file and the host shared object.
//
//===----------------------------------------------------------------------===//

#ifndef QC_TARGET_HOSTMODULE_H
#define QC_TARGET_HOSTMODULE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <string>
#include <vector>

namespace llvm {
class Module;
} // namespace llvm

namespace qc {

/// Version written into qc_module_info and the .qcw header.
constexpr int kModuleFormatVersion = 2;

/// The declared dtype ("f32", "i8", ... as in qcrt_dtype_name) and shape
/// (-1 for dynamic dimensions) of an entry point's argument or result.
struct TensorSignature {
  std::string dtype;
  std::vector<int64_t> shape;
};

/// A public function of the module, callable through qc_entry_<name>.
struct EntryPoint {
  std::string name;
  std::vector<TensorSignature> inputs, outputs;
  /// Indices of the inputs updated in place (the in-place ABI of
  /// docs/module-format.md); their results are not in `outputs`.
  std::vector<int64_t> inplace;
  /// GPU modules: the host code reads device memory mid-run (set from the
  /// qc.host_sync module attribute after lowering); module info "host_sync".
  bool hostSync = false;
};

/// One externalized weight (from the `qc.weights` module attribute).
struct WeightEntry {
  std::string symbol;
  uint64_t bytes = 0;
  mlir::Attribute value; // ElementsAttr, or null when read from `path`
  std::string path;
  uint64_t offset = 0;
  uint64_t checksum = 0; // XXH64 of the bytes (computeWeightChecksums)
};

/// Records the public functions with bodies of `module` (on tensors, before
/// bufferization). Fails with a diagnostic on an argument or result that is
/// not a ranked tensor of a supported element type.
mlir::LogicalResult collectEntryPoints(mlir::ModuleOp module,
                                       std::vector<EntryPoint> &entryPoints);

/// Sets `llvm.emit_c_interface` on every public function with a body so
/// the lowering emits `_mlir_ciface_<name>` wrappers.
void requestCInterfaces(mlir::ModuleOp module);

/// Reads and removes the `qc.weights` module attribute written by
/// qc-externalize-weights.
mlir::LogicalResult takeWeights(mlir::ModuleOp module,
                                std::vector<WeightEntry> &weights);

/// Reads and removes the `qc.inplace` module attribute written by
/// qc-drop-inplace-results: sets each entry point's `inplace` arguments and
/// removes the dropped results from its `outputs`.
mlir::LogicalResult takeInPlaceArgs(mlir::ModuleOp module,
                                    std::vector<EntryPoint> &entryPoints);

/// Builds, in the lowered LLVM-dialect `module`, for each entry point:
///   void qc_entry_<name>(void **args)
/// which loads args[0..n) (pointers to the input memref descriptors) and
/// args[n] (pointer to the result struct) and calls
/// `_mlir_ciface_<name>(result, inputs...)`; and the module-level
///   const char *qc_module_info(void)
/// returning `infoJson` (see moduleInfoJson).
mlir::LogicalResult buildModuleInterface(mlir::ModuleOp module,
                                         llvm::ArrayRef<EntryPoint> entryPoints,
                                         llvm::StringRef infoJson);

/// The qc_module_info JSON: format, version, target, cpu, functions,
/// weights.
std::string moduleInfoJson(llvm::StringRef target, llvm::StringRef cpu,
                           llvm::ArrayRef<EntryPoint> entryPoints,
                           llvm::ArrayRef<WeightEntry> weights);

/// The C header declaring the module's functions, descriptor structs and
/// weight symbols; `guard` names the include guard.
std::string generateHeader(llvm::StringRef guard,
                           llvm::ArrayRef<EntryPoint> entryPoints,
                           llvm::ArrayRef<WeightEntry> weights);

/// The size of the .qcw file for `weights`, computed with overflow checks;
/// fails (message in `error`) above QCRT_MAX_WEIGHTS_FILE_BYTES. Checked
/// before anything is hashed or written.
bool weightsFileBytes(llvm::ArrayRef<WeightEntry> weights, uint64_t &bytes,
                      std::string &error);

/// Fills every entry's `checksum` (XXH64 of its bytes; `path` entries are
/// read from disk).
bool computeWeightChecksums(llvm::MutableArrayRef<WeightEntry> weights,
                            std::string &error);

/// The module identity: XXH64 over the lowered LLVM-dialect module (the
/// code, printed), the target and CPU, and every weight's symbol, size and
/// checksum (docs/module-format.md "Integrity").
uint64_t computeModuleIdentity(mlir::ModuleOp module, llvm::StringRef target,
                               llvm::StringRef cpu,
                               llvm::ArrayRef<WeightEntry> weights);

/// `info` (module info JSON) with `"identity": "<16 hex digits>"` added.
std::string addModuleIdentity(llvm::StringRef info, uint64_t identity);

/// Writes the .qcw weights file (version kModuleFormatVersion, `identity`
/// in the header, each entry's checksum in the table) to `path`. Reads
/// `path`/`offset` entries from disk. Fails with a message in `error`.
bool writeWeightsFile(llvm::StringRef path, llvm::StringRef target,
                      llvm::ArrayRef<WeightEntry> weights, uint64_t identity,
                      std::string &error);

/// Options of the host code generator.
struct HostCodegenOptions {
  /// "native" (the host CPU with its features) or an LLVM CPU name
  /// ("x86-64-v3", "generic", ...).
  std::string cpu = "native";
  /// The C compiler driver used to link the shared object.
  std::string linker = "cc";
  /// Symbols the shared object exports (exportedSymbols()); every other
  /// definition becomes internal, so nothing in the process (e.g. libc's
  /// `glob` for a function named glob) can interpose on it. Empty: keep
  /// the linkage as is.
  std::vector<std::string> exportedSymbols;
};

/// The symbols a module exports: qc_module_info, qc_entry_<name> and
/// _mlir_ciface_<name> per entry point, and the weight globals.
std::vector<std::string> exportedSymbols(llvm::ArrayRef<EntryPoint> entryPoints,
                                         llvm::ArrayRef<WeightEntry> weights);

/// Resolves "native" to the host CPU name.
std::string resolveHostCpu(llvm::StringRef cpu);

/// Optimizes `llvmModule` (-O3 for the chosen CPU), emits an object and links
/// it into the shared object `soPath` with `cc -shared`.
bool emitHostSharedObject(llvm::Module &llvmModule, llvm::StringRef soPath,
                          const HostCodegenOptions &options,
                          std::string &error);

/// Prepares `llvmModule` for the host (triple, data layout, CPU, features)
/// and runs the -O3 pipeline; used by emitHostSharedObject and --emit=llvm.
bool optimizeForHost(llvm::Module &llvmModule,
                     const HostCodegenOptions &options, std::string &error);

} // namespace qc

#endif // QC_TARGET_HOSTMODULE_H
