//===- Driver.h - The quant compile library ---------------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The compile flow of quant-compile as a library (docs/driver.md): MLIR in,
// a quant module (.so + .h + .qcw, docs/module-format.md), lowered MLIR or
// LLVM IR out, plus the per-layer report, the policy check and the target
// and kernel listings. quant-compile is a thin command line around it and
// the Python package calls it in process through the C ABI of
// include/qc/Driver/CDriver.h.
//
// Nothing here exits or aborts: every failure is reported through the
// diagnostic callback and returned as failure. Each compile() uses a fresh
// MLIRContext, so compiles may be repeated in one process (not run
// concurrently: parseCompileCommandLine uses LLVM's global options).
//
// A ::qc header (tool-facing): it does not include the dialect headers that
// declare mlir::qc.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DRIVER_DRIVER_H
#define QC_DRIVER_DRIVER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace qc {

/// What compile() writes.
enum class EmitKind {
  /// Lowered LLVM-dialect MLIR (one file, or stdout for "-").
  Mlir,
  /// Optimized LLVM IR (one file, or stdout for "-").
  Llvm,
  /// The module: <prefix>.so, <prefix>.h and <prefix>.qcw.
  Module,
};

/// Everything that decides a compile; quant-compile's flags one to one
/// (`quant-compile --help` documents each). Defaults are the tool's.
struct CompileOptions {
  /// The input MLIR file ("-": stdin).
  std::string input;
  /// -o: the output prefix (EmitKind::Module) or file ("-": the output
  /// callback, stdout in quant-compile).
  std::string output;
  /// --target: a target of the target table (listTargets).
  std::string target = "host";
  /// --policy: the per-layer policy file (empty: none).
  std::string policy;
  /// --stats: calibration statistics (empty: none).
  std::string stats;
  /// --check-policy: only check `policy` against the model and write each
  /// linear layer's scheme as JSON to `output`.
  bool checkPolicy = false;
  /// --algorithm: weight rounding, "rtn" or "gptq".
  std::string algorithm = "rtn";
  /// --awq (needs `stats` with Hessians).
  bool awq = false;
  /// --gptq-act-order (needs algorithm "gptq").
  bool gptqActOrder = false;
  /// --gptq-precision (f64 or f32), --gptq-damp, --gptq-block-size: unset
  /// takes qc-quantize-weights' defaults; set needs algorithm "gptq".
  std::optional<std::string> gptqPrecision;
  std::optional<double> gptqDamp;
  std::optional<int64_t> gptqBlockSize;
  /// --weight-only-kernel: auto, gemv, mma, gemv_mma or frag.
  std::string weightOnlyKernel = "auto";
  /// --wgmma-int8, --wgmma-tma, --wgmma-tma-fp8, --wgmma-persistent.
  bool wgmmaInt8 = true;
  bool wgmmaTma = false;
  bool wgmmaTmaFp8 = true;
  bool wgmmaPersistent = false;
  /// --gemv-norm-prologue, --fuse-norm-quant, --gemv-swiglu-epilogue,
  /// --weight-prefetch, --attention-prefill-kernel (GPU targets).
  bool gemvNormPrologue = false;
  bool fuseNormQuant = true;
  bool gemvSwiGluEpilogue = false;
  bool weightPrefetch = false;
  bool attentionPrefill = true;
  /// --max-batch: the largest expected matmul M (unset: the pipeline's
  /// default; set: must be positive).
  std::optional<int64_t> maxBatch;
  /// --fuse-sibling-matmuls.
  bool fuseSiblings = true;
  /// --emit.
  EmitKind emit = EmitKind::Module;
  /// --weight-threshold: constants of at least this many bytes go to the
  /// .qcw file (at least 1).
  int64_t weightThreshold = 1024;
  /// --weight-store and --weight-store-dir (empty: the output's directory).
  bool weightStore = true;
  std::string weightStoreDir;
  /// --record-errors: the report's calibration errors.
  bool recordErrors = true;
  /// --jobs: threads for quantization and packing (0: all cores).
  unsigned jobs = 0;
  /// --cpu: native or an LLVM CPU name.
  std::string cpu = "native";
  /// --cuda-path (empty: $CUDA_HOME, $CUDA_PATH, /usr/local/cuda).
  std::string cudaPath;
  /// --report (JSON) and --report-table (text) files (empty: none).
  std::string report;
  std::string reportTable;
  /// --host-parallel.
  bool hostParallel = true;
  /// Temporary outputs are also removed on SIGINT/SIGTERM/crashes (LLVM's
  /// signal handlers). quant-compile: on; in process (the C ABI): off, the
  /// host process keeps its own handlers.
  bool removeOutputsOnSignal = true;
};

/// A stage event (--progress): a stage begins or ends.
struct StageEvent {
  /// The stage, e.g. "lower to the LLVM dialect".
  std::string stage;
  /// True at the end of the stage (`seconds` is then its duration).
  bool end = false;
  double seconds = 0;
};

/// The one JSON form of a stage event (one line, no newline):
/// {"event": "stage", "stage", "state": "begin"|"end", "seconds"}; the
/// schema of quant-compile --progress=json and of the C ABI's events.
std::string stageEventJson(const StageEvent &event);

/// Severity of a diagnostic.
enum class Severity { Error, Warning, Note, Remark };

/// A diagnostic of the compile.
struct Diagnostic {
  Severity severity = Severity::Error;
  /// Located diagnostics (from the IR, the policy reader, the parser): the
  /// full text as MLIR prints it ("file:line:col: error: ...", the source
  /// line, attached notes). Others: the bare message ("output directory 'x'
  /// does not exist"), which quant-compile prints as
  /// "quant-compile: error: <message>".
  std::string text;
  /// Whether `text` is already complete (located) or a bare message.
  bool located = false;
};

/// Where compile() reports. Unset callbacks drop what they would receive.
struct CompileCallbacks {
  /// Every diagnostic, in order; a failed compile reports at least one
  /// error.
  std::function<void(const Diagnostic &)> diagnostic;
  /// Stage begin/end events, as they happen.
  std::function<void(const StageEvent &)> stage;
  /// The per-layer report as a text table, once quantization is done
  /// (quant-compile -v prints it).
  std::function<void(llvm::StringRef)> layerTable;
  /// What goes to output "-" (the emitted text, the policy check's JSON),
  /// the listings of listTargets / listKernels.
  std::function<void(llvm::StringRef)> output;
};

/// Compiles `options.input` (or, with options.checkPolicy, checks the
/// policy) and writes the outputs: all of them, renamed into place together,
/// or none. Returns false after reporting the errors through `callbacks`.
bool compile(const CompileOptions &options, const CompileCallbacks &callbacks);

/// `--list-targets[=text|json]`: the target table (Target/TargetTable.h)
/// to `callbacks.output`; an unknown format is an error.
bool listTargets(llvm::StringRef format, const CompileCallbacks &callbacks);

/// `--list-kernels[=text|json|markdown]`: the kernel family registry
/// (Kernels/KernelFamilies.h) to `callbacks.output`.
bool listKernels(llvm::StringRef format, const CompileCallbacks &callbacks);

/// How quant-compile presents its diagnostics and progress, from its flags.
struct PresentationOptions {
  /// --progress: "", "text" or "json".
  std::string progress;
  /// -v: stage lines and the layer table.
  bool verbose = false;
};

/// What a quant-compile command line asks for.
enum class CommandKind {
  Compile,
  ListTargets,
  ListKernels,
};

/// A parsed quant-compile command line.
struct CommandLine {
  CommandKind kind = CommandKind::Compile;
  /// The listing format (ListTargets, ListKernels).
  std::string listFormat;
  CompileOptions options;
  PresentationOptions presentation;
};

/// Parses quant-compile's command line (`args[0]` is the program name)
/// with LLVM's option parser; the single home of the flags. Errors go to
/// `callbacks.diagnostic`. The options are reset to their defaults first,
/// so a process may parse several command lines (one at a time).
/// `--help` and `--version` print and exit the process: quant-compile
/// only (`allowExit`); otherwise they are errors.
bool parseCompileCommandLine(llvm::ArrayRef<const char *> args,
                             CommandLine &result,
                             const CompileCallbacks &callbacks, bool allowExit);

/// Runs what a parsed command line asks for: compile() or a listing.
bool run(const CommandLine &command, const CompileCallbacks &callbacks);

/// parseCompileCommandLine, then run: quant-compile in process (the C
/// ABI). `--help` and `--version` are errors, LLVM's signal handlers are
/// not installed (removeOutputsOnSignal off), and the stage events go to
/// `callbacks.stage` whatever --progress says (the caller presents them).
bool runCompileCommandLine(llvm::ArrayRef<const char *> args,
                           const CompileCallbacks &callbacks);

} // namespace qc

#endif // QC_DRIVER_DRIVER_H
