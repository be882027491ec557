//===- CommandLine.cpp - quant-compile's flags and listings ---------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The one home of quant-compile's flags (LLVM options, parsed into
// qc::CompileOptions) and the target / kernel listings. The options are
// process globals (LLVM's option registry): parseCompileCommandLine resets
// them before each parse and holds a lock while it parses.
//
//===----------------------------------------------------------------------===//

#include "qc/Driver/Driver.h"

#include "qc/Kernels/KernelListing.h"
#include "qc/Target/TargetTable.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>
#include <optional>

namespace cl = llvm::cl;

namespace {

static cl::OptionCategory category("quant-compile options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"),
                                      cl::Required, cl::cat(category));
static cl::opt<std::string>
    outputPath("o",
               cl::desc("Output prefix (--emit=module: writes "
                        "<prefix>.so, .h, .qcw) or file ('-' = stdout)"),
               cl::value_desc("prefix"), cl::Required, cl::cat(category));
static cl::opt<std::string> targetName("target",
                                       cl::desc("A target of the target table "
                                                "(--list-targets)"),
                                       cl::init("host"), cl::cat(category));
static cl::opt<std::string>
    policyFile("policy", cl::desc("Per-layer policy file"), cl::cat(category));
// `--stats FILE` is taken out of argv before cl parsing: LLVM itself owns
// a `-stats` flag (pass statistics).
static std::string statsFile;
static cl::opt<bool> checkPolicyFlag(
    "check-policy",
    cl::desc("Only check --policy against the model (every rule must match "
             "a layer; the policy reader of qc-apply-policy) and write each "
             "linear layer's scheme as JSON to -o ('-' = stdout)"),
    cl::init(false), cl::cat(category));
static cl::opt<bool>
    awq("awq",
        cl::desc("AWQ: scale the input channels of weight-only integer "
                 "layers before rounding, strength searched per layer group "
                 "on the --stats Hessians (qc-awq; with rtn or gptq)"),
        cl::init(false), cl::cat(category));
static cl::opt<bool> gptqActOrder(
    "gptq-act-order",
    cl::desc("--algorithm gptq: quantize the columns in descending order of "
             "the Hessian diagonal (act-order, static groups; "
             "qc-quantize-weights gptq-act-order)"),
    cl::init(false), cl::cat(category));
static cl::opt<double> gptqDamp(
    "gptq-damp",
    cl::desc("--algorithm gptq: dampening added to the Hessian's diagonal, "
             "a fraction of its mean (default 0.01)"),
    cl::init(0.01), cl::cat(category));
static cl::opt<int64_t> gptqBlockSize(
    "gptq-block-size",
    cl::desc("--algorithm gptq: columns per lazy-update block (default 128)"),
    cl::init(128), cl::cat(category));
static cl::opt<std::string> gptqPrecision(
    "gptq-precision",
    cl::desc("--algorithm gptq: the precision of its linear algebra, f64 or "
             "f32 (about twice as fast; qc-quantize-weights gptq-precision)"),
    cl::init("f64"), cl::cat(category));
static cl::opt<std::string> algorithm("algorithm",
                                      cl::desc("Weight rounding: rtn or gptq"),
                                      cl::init("rtn"), cl::cat(category));
static cl::opt<std::string> weightOnlyKernel(
    "weight-only-kernel",
    cl::desc("Weight-only matmul kernel on GPU targets: auto (cost model), "
             "gemv, mma, gemv_mma or frag (qc-select-matmul "
             "weight-only-kernel=)"),
    cl::init("auto"), cl::cat(category));
static cl::opt<bool> wgmmaInt8(
    "wgmma-int8",
    cl::desc("Targets with wgmma (sm_90a): INT8 W8A8 layers on the wgmma GEMM "
             "(default; --wgmma-int8=false: the mma.sync GEMM; "
             "qc-select-matmul wgmma-int8)"),
    cl::init(true), cl::cat(category));
static cl::opt<bool> wgmmaTma(
    "wgmma-tma",
    cl::desc("Targets with wgmma (sm_90a): the wgmma GEMMs on the "
             "warp-specialized pipeline (a producer warpgroup issuing TMA "
             "copies, mbarriers per stage; qc-select-matmul wgmma-tma)"),
    cl::init(false), cl::cat(category));
static cl::opt<bool> wgmmaTmaFp8(
    "wgmma-tma-fp8",
    cl::desc("Targets with wgmma (sm_90a): FP8 GEMMs on the TMA pipeline "
             "whatever --wgmma-tma says (default on: faster for FP8 on an "
             "H100; qc-select-matmul wgmma-tma-fp8)"),
    cl::init(true), cl::cat(category));
static cl::opt<bool> wgmmaPersistent(
    "wgmma-persistent",
    cl::desc("Targets with wgmma (sm_90a): the wgmma GEMMs on the TMA "
             "pipeline with a persistent tile scheduler (one CTA per SM; "
             "implies --wgmma-tma; qc-select-matmul wgmma-persistent)"),
    cl::init(false), cl::cat(category));
static cl::opt<bool> gemvNormPrologue(
    "gemv-norm-prologue",
    cl::desc("GPU targets: the GEMV also normalizes its input where an RMSNorm "
             "feeds only that matmul (one launch instead of two; "
             "qc-outline-gpu-kernels norm-prologue)"),
    cl::init(false), cl::cat(category));
static cl::opt<bool> fuseNormQuant(
    "fuse-norm-quant",
    cl::desc("GPU targets: a norm feeding only the activation quantization "
             "of W8A8 / FP8 matmuls writes their codes and scales (one "
             "kernel instead of two; qc-outline-gpu-kernels fuse-norm-quant; "
             "default on, --fuse-norm-quant=false: two kernels)"),
    cl::init(true), cl::cat(category));
static cl::opt<bool> gemvSwiGluEpilogue(
    "gemv-swiglu-epilogue",
    cl::desc("GPU targets: the GEMV of the fused gate / up projections "
             "writes silu(gate) * up itself (no SiLU * mul glue kernel); off "
             "until measured on a GPU"),
    cl::init(false), cl::cat(category));
static cl::opt<bool> weightPrefetch(
    "weight-prefetch",
    cl::desc("GPU targets with dependent launch (sm_90): the GEMV and frag "
             "kernels prefetch their weights into L2 before waiting for the "
             "previous kernel; off until measured on a GPU"),
    cl::init(false), cl::cat(category));
static cl::opt<bool> attentionPrefill(
    "attention-prefill-kernel",
    cl::desc("GPU targets: qc.cache_attention of more than 16 query tokens "
             "runs the tensor-core prefill kernel where it applies (16-bit "
             "queries and caches, D 64 or 128; default on; false: the "
             "flash-decoding pair for every T)"),
    cl::init(true), cl::cat(category));
static cl::opt<int64_t> maxBatch(
    "max-batch",
    cl::desc("Largest expected number of rows M of a matmul (batch x tokens "
             "per call; a prompt's prefill is M = its length) for the kernel "
             "choice (qc-select-matmul max-batch=; default: the pipeline's)"),
    cl::init(0), cl::cat(category));
static cl::opt<bool> fuseSiblings(
    "fuse-sibling-matmuls",
    cl::desc("Fuse quantized matmuls that read the same input (q/k/v, "
             "gate/up) into one matmul (default on; "
             "--fuse-sibling-matmuls=false turns it off)"),
    cl::init(true), cl::cat(category));
static cl::opt<qc::EmitKind> emitKind(
    "emit", cl::desc("What to write"), cl::init(qc::EmitKind::Module),
    cl::values(clEnumValN(qc::EmitKind::Mlir, "mlir",
                          "lowered LLVM-dialect MLIR"),
               clEnumValN(qc::EmitKind::Llvm, "llvm", "optimized LLVM IR"),
               clEnumValN(qc::EmitKind::Module, "module", ".so + .h + .qcw")),
    cl::cat(category));
static cl::opt<int64_t> weightThreshold(
    "weight-threshold",
    cl::desc("Constants of at least this many bytes go to the .qcw file"),
    cl::init(1024), cl::cat(category));
static cl::opt<bool> weightStore(
    "weight-store",
    cl::desc("--emit=module: quantized and packed weight bytes go to a "
             "scratch file (the weight store) instead of staying in memory "
             "until the .qcw is written (default on; "
             "--weight-store=false keeps them in memory)"),
    cl::init(true), cl::cat(category));
static cl::opt<std::string> weightStoreDir(
    "weight-store-dir",
    cl::desc("Directory of the weight store's scratch file (default: the "
             "output's directory); the file is unlinked as it is created"),
    cl::value_desc("dir"), cl::init(""), cl::cat(category));
static cl::opt<bool> recordErrors(
    "record-errors",
    cl::desc("Compute each layer's calibration errors for the report "
             "(quant_error, output_error; default on, ~25% of the RTN "
             "quantization time; false leaves them null)"),
    cl::init(true), cl::cat(category));
static cl::opt<unsigned>
    jobs("jobs",
         cl::desc("Threads for quantization and packing (default: all "
                  "cores; 1: no threads)"),
         cl::init(0), cl::cat(category));
static cl::opt<std::string>
    hostCpu("cpu",
            cl::desc("Host CPU to compile for: native (default) or an LLVM "
                     "CPU name, e.g. x86-64-v3 for portable modules"),
            cl::init("native"), cl::cat(category));

static cl::opt<std::string>
    cudaPath("cuda-path",
             cl::desc("CUDA toolkit for --target sm_*: libdevice (needed), "
                      "ptxas + fatbinary (cubin + PTX; PTX only without "
                      "them). Default: $CUDA_HOME, $CUDA_PATH, "
                      "/usr/local/cuda"),
             cl::init(""), cl::cat(category));
static cl::opt<std::string> reportFile(
    "report",
    cl::desc("Write the per-layer report (qc-layer-report JSON) to this file"),
    cl::value_desc("report.json"), cl::cat(category));
static cl::opt<std::string>
    reportTableFile("report-table",
                    cl::desc("Write the per-layer report as a text table"),
                    cl::value_desc("file"), cl::cat(category));
static cl::opt<bool> hostParallel(
    "host-parallel",
    cl::desc("Host target: split the matmul kernels over the runtime's "
             "threads through qcrt_parallel_for (QCRT_NUM_THREADS at run "
             "time; default on)"),
    cl::init(true), cl::cat(category));
static cl::opt<bool>
    verbose("v",
            cl::desc("Print each stage with its time and the per-layer "
                     "report table to stderr"),
            cl::cat(category));

static cl::opt<std::string> progressFormat(
    "progress",
    cl::desc("Stage events on stderr as they happen: text (as -v without "
             "the layer table) or json (one object per line: {\"event\": "
             "\"stage\", \"stage\", \"state\": \"begin\"|\"end\", "
             "\"seconds\"}); tools parse json"),
    cl::value_desc("text|json"), cl::cat(category));

bool fail(const qc::CompileCallbacks &callbacks, const llvm::Twine &message) {
  if (callbacks.diagnostic)
    callbacks.diagnostic(
        qc::Diagnostic{qc::Severity::Error, message.str(), false});
  return false;
}

/// Flags that print and exit the process (LLVM's --help, --version, ...).
bool exitsProcess(llvm::StringRef arg) {
  arg = arg.ltrim('-');
  arg = arg.split('=').first;
  return arg.starts_with("help") || arg == "version" ||
         arg == "print-options" || arg == "print-all-options";
}

} // namespace

/// `--list-targets[=text|json]`: prints the target table (TargetTable.h).
bool qc::listTargets(llvm::StringRef format,
                     const CompileCallbacks &callbacks) {
  std::string out;
  llvm::raw_string_ostream os(out);
  if (format == "json") {
    llvm::json::Array targets;
    for (const qc::TargetInfo &t : qc::kTargets) {
      llvm::json::Object o{
          {"name", t.name}, {"description", t.description}, {"gpu", t.gpu}};
      if (t.gpu) {
        o["compute_capability"] =
            llvm::formatv("{0}.{1}", t.ccMajor, t.ccMinor).str();
        o["ptx_version"] = t.ptxVersion;
        o["features"] = llvm::json::Object{
            {"cp_async", t.cpAsync},  {"ldmatrix", t.ldmatrix},
            {"mma_sync", t.mmaSync},  {"wgmma", t.wgmma},
            {"tma", t.tma},           {"fp8", t.fp8},
            {"clusters", t.clusters}, {"dependent_launch", t.dependentLaunch}};
        o["sm_count"] = t.smCount;
        o["static_shared_bytes"] = t.staticSharedBytes;
        o["max_shared_bytes_per_block"] = t.maxSharedBytesPerBlock;
        o["dram_bandwidth"] = t.dramBandwidth;
        o["fp32_flops"] = t.fp32Flops;
        o["fp16_tensor_flops"] = t.fp16TensorFlops;
        o["gemv_fma_eff"] = t.gemvFmaEff;
        o["mma_k_step_seconds"] = t.mmaKStepSeconds;
      }
      llvm::json::Array families;
      for (llvm::StringRef f : llvm::split(t.families, ','))
        families.push_back(f.str());
      o["kernel_families"] = std::move(families);
      targets.push_back(std::move(o));
    }
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(targets))) << "\n";
    callbacks.output ? callbacks.output(out) : void();
    return true;
  }
  if (!format.empty() && format != "text")
    return fail(callbacks,
                "--list-targets=" + format.str() + ": expected text or json");
  os << llvm::formatv("{0,-6} {1,-4} {2,-4} {3,-4} {4,-10} {5,-28} "
                      "{6}\n",
                      "target", "cc", "ptx", "SMs", "DRAM GB/s", "features",
                      "description");
  for (const qc::TargetInfo &t : qc::kTargets) {
    std::string features;
    for (auto [on, name] : {std::pair{t.cpAsync, "cp.async"},
                            {t.mmaSync, "mma.sync"},
                            {t.wgmma, "wgmma"},
                            {t.tma, "tma"},
                            {t.fp8, "fp8"},
                            {t.clusters, "clusters"},
                            {t.dependentLaunch, "pdl"}})
      if (on)
        features += (features.empty() ? "" : ",") + std::string(name);
    if (!t.gpu) {
      os << llvm::formatv("{0,-6} {1,-4} {2,-4} {3,-4} {4,-10} "
                          "{5,-28} {6}\n",
                          t.name, "-", "-", "-", "-", "-", t.description);
      continue;
    }
    os << llvm::formatv(
        "{0,-6} {1,-4} {2,-4} {3,-4} {4,-10} {5,-28} {6}\n", t.name,
        llvm::formatv("{0}.{1}", t.ccMajor, t.ccMinor).str(),
        llvm::formatv("{0}.{1}", t.ptxVersion / 10, t.ptxVersion % 10).str(),
        t.smCount, int64_t(t.dramBandwidth / 1e9), features, t.description);
  }
  if (callbacks.output)
    callbacks.output(out);
  return true;
}

/// `--list-kernels[=text|json]`: prints the kernel family registry
/// (qc/Kernels/KernelFamilies.h).
bool qc::listKernels(llvm::StringRef format,
                     const CompileCallbacks &callbacks) {
  std::optional<qc::KernelListingFormat> f =
      llvm::StringSwitch<std::optional<qc::KernelListingFormat>>(format)
          .Cases({"", "text"}, qc::KernelListingFormat::Text)
          .Case("json", qc::KernelListingFormat::Json)
          .Case("markdown", qc::KernelListingFormat::Markdown)
          .Default(std::nullopt);
  if (!f)
    return fail(callbacks, "--list-kernels=" + format.str() +
                               ": expected text, json or markdown");
  std::string out;
  llvm::raw_string_ostream os(out);
  qc::printKernelFamilies(os, *f);
  if (callbacks.output)
    callbacks.output(out);
  return true;
}

bool qc::parseCompileCommandLine(llvm::ArrayRef<const char *> args,
                                 CommandLine &result,
                                 const CompileCallbacks &callbacks,
                                 bool allowExit) {
  static std::mutex lock;
  std::lock_guard<std::mutex> guard(lock);
  result = CommandLine();
  // Handled before option parsing: the input and -o are required otherwise.
  for (size_t i = 1; i < args.size(); ++i) {
    llvm::StringRef arg = args[i];
    if (arg.consume_front("--list-targets") ||
        arg.consume_front("-list-targets")) {
      if (arg.empty() || arg.consume_front("=")) {
        result.kind = CommandKind::ListTargets;
        result.listFormat = arg.str();
        return true;
      }
    }
    arg = args[i];
    if (arg.consume_front("--list-kernels") ||
        arg.consume_front("-list-kernels")) {
      if (arg.empty() || arg.consume_front("=")) {
        result.kind = CommandKind::ListKernels;
        result.listFormat = arg.str();
        return true;
      }
    }
  }
  // `--stats FILE` is taken out of argv before option parsing: LLVM itself
  // owns a `-stats` flag (pass statistics).
  std::vector<const char *> rest;
  std::string stats;
  for (size_t i = 0; i < args.size(); ++i) {
    llvm::StringRef arg = args[i];
    if (arg == "--stats" || arg == "-stats") {
      if (i + 1 >= args.size())
        return fail(callbacks, "missing value for --stats");
      stats = args[++i];
    } else if (arg.consume_front("--stats=") || arg.consume_front("-stats=")) {
      stats = arg.str();
    } else {
      if (i > 0 && !allowExit && exitsProcess(arg))
        return fail(callbacks, "'" + arg +
                                   "' is only available from the "
                                   "quant-compile executable");
      rest.push_back(args[i]);
    }
  }
  if (rest.empty())
    rest.push_back("quant-compile");
  cl::ResetAllOptionOccurrences();
  cl::HideUnrelatedOptions(category);
  std::string errors;
  llvm::raw_string_ostream errorStream(errors);
  bool parsed = cl::ParseCommandLineOptions(
      rest.size(), rest.data(),
      "quant-compile: MLIR -> quant module\n\n"
      "  --stats FILE   calibration statistics (docs/formats.md)\n"
      "  --list-targets[=text|json]\n"
      "                 print the targets and their properties, then exit\n"
      "  --list-kernels[=text|json|markdown]\n"
      "                 print the kernel families (ops, builders, tilings,\n"
      "                 targets, arguments), then exit\n",
      &errorStream);
  if (!parsed) {
    // LLVM's own messages, already "<program>: ..." (one or more lines).
    if (callbacks.diagnostic)
      callbacks.diagnostic(Diagnostic{Severity::Error, errors, true});
    return false;
  }

  if (!progressFormat.empty() && progressFormat != "text" &&
      progressFormat != "json")
    return fail(callbacks,
                "--progress=" + progressFormat + ": expected text or json");
  result.presentation.progress = progressFormat;
  result.presentation.verbose = verbose;

  CompileOptions &o = result.options;
  o.input = inputFile;
  o.output = outputPath;
  o.target = targetName;
  o.policy = policyFile;
  o.stats = stats;
  o.checkPolicy = checkPolicyFlag;
  o.algorithm = algorithm;
  o.awq = awq;
  o.gptqActOrder = gptqActOrder;
  if (gptqPrecision.getNumOccurrences())
    o.gptqPrecision = gptqPrecision.getValue();
  if (gptqDamp.getNumOccurrences())
    o.gptqDamp = gptqDamp.getValue();
  if (gptqBlockSize.getNumOccurrences())
    o.gptqBlockSize = gptqBlockSize.getValue();
  o.weightOnlyKernel = weightOnlyKernel;
  o.wgmmaInt8 = wgmmaInt8;
  o.wgmmaTma = wgmmaTma;
  o.wgmmaTmaFp8 = wgmmaTmaFp8;
  o.wgmmaPersistent = wgmmaPersistent;
  o.gemvNormPrologue = gemvNormPrologue;
  o.fuseNormQuant = fuseNormQuant;
  o.gemvSwiGluEpilogue = gemvSwiGluEpilogue;
  o.weightPrefetch = weightPrefetch;
  o.attentionPrefill = attentionPrefill;
  if (maxBatch.getNumOccurrences())
    o.maxBatch = maxBatch.getValue();
  o.fuseSiblings = fuseSiblings;
  o.emit = emitKind;
  o.weightThreshold = weightThreshold;
  o.weightStore = weightStore;
  o.weightStoreDir = weightStoreDir;
  o.recordErrors = recordErrors;
  o.jobs = jobs;
  o.cpu = hostCpu;
  o.cudaPath = cudaPath;
  o.report = reportFile;
  o.reportTable = reportTableFile;
  o.hostParallel = hostParallel;
  return true;
}

bool qc::run(const CommandLine &command, const CompileCallbacks &callbacks) {
  switch (command.kind) {
  case CommandKind::ListTargets:
    return listTargets(command.listFormat, callbacks);
  case CommandKind::ListKernels:
    return listKernels(command.listFormat, callbacks);
  case CommandKind::Compile:
    break;
  }
  return compile(command.options, callbacks);
}

bool qc::runCompileCommandLine(llvm::ArrayRef<const char *> args,
                               const CompileCallbacks &callbacks) {
  CommandLine command;
  if (!parseCompileCommandLine(args, command, callbacks, /*allowExit=*/false))
    return false;
  // The host process keeps its own signal handlers.
  command.options.removeOutputsOnSignal = false;
  return run(command, callbacks);
}
