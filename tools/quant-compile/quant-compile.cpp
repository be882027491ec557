//===- quant-compile.cpp - Compile MLIR into a quant module ---------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// quant-compile in.mlir --target host -o out/model writes out/model.so,
// out/model.h and out/model.qcw (docs/module-format.md): quantize, lower to
// the LLVM dialect, move large constants to the weights file, add the
// packed entry points and the module info, then optimize, emit and link.
// Errors give one diagnostic and a non-zero exit; outputs are written to
// temporary names and renamed only when everything succeeded.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToGPU/Pipeline.h"
#include "qc/Dialect/QC/Transforms/LayerReport.h"
#include "qc/Dialect/QC/Transforms/Limits.h"
#include "qc/Dialect/QC/Transforms/Policy.h"
#include "qc/InitAll.h"
#include "qc/Kernels/KernelListing.h"
#include "qc/Pipelines/Pipelines.h"
#include "qc/Target/GpuModule.h"
#include "qc/Target/HostModule.h"
#include "qc/Target/Passes.h"
#include "qc/Target/TargetTable.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <optional>
#include <sys/resource.h>
#include <unistd.h>

using namespace mlir;
namespace cl = llvm::cl;

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
static cl::opt<bool> checkPolicy(
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
static cl::opt<int> gptqBlockSize(
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
enum class Emit { Mlir, Llvm, Module };
static cl::opt<Emit> emitKind(
    "emit", cl::desc("What to write"), cl::init(Emit::Module),
    cl::values(clEnumValN(Emit::Mlir, "mlir", "lowered LLVM-dialect MLIR"),
               clEnumValN(Emit::Llvm, "llvm", "optimized LLVM IR"),
               clEnumValN(Emit::Module, "module", ".so + .h + .qcw")),
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

/// The weight store's directory (empty: no store); set by main.
static std::string weightStorePath;

static cl::opt<std::string> progressFormat(
    "progress",
    cl::desc("Stage events on stderr as they happen: text (as -v without "
             "the layer table) or json (one object per line: {\"event\": "
             "\"stage\", \"stage\", \"state\": \"begin\"|\"end\", "
             "\"seconds\"}); tools parse json"),
    cl::value_desc("text|json"), cl::cat(category));

/// `-v` / `--progress`: one line per stage on stderr, flushed, so callers
/// can show progress while a large model compiles.
class Stages {
public:
  void begin(llvm::StringRef name) {
    end();
    current = name.str();
    start = std::chrono::steady_clock::now();
    if (progressFormat == "json")
      llvm::errs() << llvm::json::Value(llvm::json::Object{{"event", "stage"},
                                                           {"stage", name},
                                                           {"state", "begin"}})
                   << "\n";
    else if (verbose || progressFormat == "text")
      llvm::errs() << "quant-compile: " << name << " ...\n";
  }
  void end() {
    if (current.empty())
      return;
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (progressFormat == "json")
      llvm::errs() << llvm::json::Value(llvm::json::Object{{"event", "stage"},
                                                           {"stage", current},
                                                           {"state", "end"},
                                                           {"seconds", s}})
                   << "\n";
    else if (verbose || progressFormat == "text")
      llvm::errs() << "quant-compile: " << current << " done in "
                   << llvm::formatv("{0:f1}", s) << " s\n";
    // The stage's first word: quantize, lower, translate, optimize.
    done.emplace_back(llvm::StringRef(current).split(' ').first.str(), s);
    current.clear();
  }

  /// `--report`'s "compile" object: the finished stages with their times,
  /// the peak resident memory so far, the threads and whether the weight
  /// store was used.
  llvm::json::Object report(MLIRContext &ctx) {
    end();
    llvm::json::Array list;
    for (const auto &[name, seconds] : done)
      list.push_back(llvm::json::Object{{"stage", name}, {"seconds", seconds}});
    struct rusage usage;
    ::getrusage(RUSAGE_SELF, &usage);
    return llvm::json::Object{
        {"stages", std::move(list)},
        {"peak_rss_bytes", int64_t(usage.ru_maxrss) * 1024},
        {"threads",
         int64_t(ctx.isMultithreadingEnabled() ? ctx.getNumThreads() : 1)},
        {"weight_store", !weightStorePath.empty()}};
  }

private:
  std::vector<std::pair<std::string, double>> done;
  std::string current;
  std::chrono::steady_clock::time_point start;
};

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "quant-compile") << message << "\n";
  return 1;
}

//===----------------------------------------------------------------------===//
// Pipelines: the only place quant-compile chooses its passes.
//===----------------------------------------------------------------------===//

/// Quantization (qc::buildQuantizePipeline). Without the passes in the
/// tree, quantization options are rejected and the IR is compiled as is.
static LogicalResult addQuantizePasses(OpPassManager &pm, std::string &error) {
#if QC_HAVE_QUANTIZE_PIPELINE
  qc::QuantizePipelineOptions options;
  options.policy = policyFile.getValue();
  options.stats = statsFile;
  options.algorithm = algorithm.getValue();
  if (awq && statsFile.empty()) {
    error = "--awq needs --stats FILE with Hessians";
    return failure();
  }
  options.awq = awq.getValue();
  if (gptqActOrder && algorithm != "gptq") {
    error = "--gptq-act-order needs --algorithm gptq";
    return failure();
  }
  options.gptqActOrder = gptqActOrder.getValue();
  if (gptqPrecision != "f64" && gptqPrecision != "f32") {
    error = "--gptq-precision must be f64 or f32 (got '" +
            gptqPrecision.getValue() + "')";
    return failure();
  }
  if (gptqPrecision.getNumOccurrences() && algorithm != "gptq") {
    error = "--gptq-precision needs --algorithm gptq";
    return failure();
  }
  options.gptqPrecision = gptqPrecision.getValue();
  if ((gptqDamp.getNumOccurrences() || gptqBlockSize.getNumOccurrences()) &&
      algorithm != "gptq") {
    error = "--gptq-damp and --gptq-block-size need --algorithm gptq";
    return failure();
  }
  if (!(gptqDamp >= 0.0) || !std::isfinite(gptqDamp)) {
    error = "--gptq-damp must be a finite non-negative number";
    return failure();
  }
  if (gptqBlockSize <= 0) {
    error = "--gptq-block-size must be positive, got " +
            std::to_string(gptqBlockSize.getValue());
    return failure();
  }
  options.gptqDamp = gptqDamp.getValue();
  options.gptqBlockSize = gptqBlockSize.getValue();
  options.target = targetName.getValue();
  options.weightOnlyKernel = weightOnlyKernel.getValue();
  options.wgmmaInt8 = wgmmaInt8.getValue();
  options.wgmmaTma = wgmmaTma.getValue();
  options.wgmmaPersistent = wgmmaPersistent.getValue();
  options.wgmmaTmaFp8 = wgmmaTmaFp8.getValue();
  if (maxBatch.getNumOccurrences() && maxBatch <= 0) {
    error = "--max-batch must be positive, got " +
            std::to_string(maxBatch.getValue());
    return failure();
  }
  if (maxBatch > 0)
    options.maxBatch = maxBatch.getValue();
  options.fuseSiblings = fuseSiblings.getValue();
  options.recordErrors = recordErrors.getValue(); // the per-layer report
  options.weightStore = weightStorePath;
  // Constants below the .qcw threshold stay inline, as they do in memory.
  options.weightStoreMinBytes = weightThreshold.getValue();
  qc::buildQuantizePipeline(pm, options);
  return success();
#else
  (void)pm;
  if (!policyFile.empty() || !statsFile.empty() || algorithm != "rtn" ||
      weightOnlyKernel != "auto") {
    error = "this build has no quantization passes (--policy, --stats and "
            "--algorithm are unavailable)";
    return failure();
  }
  return success();
#endif
}

/// Lowering to the LLVM dialect (qc::buildHostLoweringPipeline), with
/// llvm.emit_c_interface on public functions.
static LogicalResult addHostLoweringPasses(OpPassManager &pm,
                                           std::string &error) {
#if QC_HAVE_HOST_PIPELINE
  qc::HostLoweringPipelineOptions options;
  options.parallel = hostParallel;
  qc::buildHostLoweringPipeline(pm, options);
  return success();
#else
  // Upstream lowering of linalg/tensor/arith/math on tensors.
  const char *pipeline =
      "one-shot-bufferize{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map},"
      "buffer-deallocation-pipeline,convert-bufferization-to-memref,"
      "convert-linalg-to-loops,"
      "expand-strided-metadata,lower-affine,convert-scf-to-cf,"
      "convert-math-to-llvm,finalize-memref-to-llvm,convert-func-to-llvm,"
      "convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,"
      "reconcile-unrealized-casts";
  llvm::raw_string_ostream os(error);
  return parsePassPipeline(pipeline, pm, os);
#endif
}

//===----------------------------------------------------------------------===//
// Output files
//===----------------------------------------------------------------------===//

/// Files written under temporary names, renamed together on commit and
/// removed otherwise.
class OutputSet {
public:
  ~OutputSet() {
    for (auto &f : files) {
      llvm::sys::fs::remove(f.second);
      llvm::sys::DontRemoveFileOnSignal(f.second);
    }
  }
  std::string add(const std::string &final) {
    std::string temp = final + ".partial-" +
                       std::to_string(llvm::sys::Process::getProcessId());
    files.emplace_back(final, temp);
    // Removed by LLVM's handlers on SIGINT/SIGTERM/SIGHUP and on crashes
    // or resource limits (SIGXFSZ, SIGXCPU) too.
    llvm::sys::RemoveFileOnSignal(temp);
    return temp;
  }
  bool commit(std::string &error) {
    for (auto &f : files)
      if (std::error_code ec = llvm::sys::fs::rename(f.second, f.first)) {
        error = "cannot write '" + f.first + "': " + ec.message();
        return false;
      }
    for (auto &f : files)
      llvm::sys::DontRemoveFileOnSignal(f.second);
    files.clear();
    return true;
  }

private:
  std::vector<std::pair<std::string, std::string>> files;
};

static bool writeText(const std::string &path, llvm::StringRef text,
                      std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    error = "cannot write '" + path + "': " + ec.message();
    return false;
  }
  os << text;
  os.close();
  if (os.has_error()) {
    error = "cannot write '" + path + "': " + os.error().message();
    os.clear_error();
    return false;
  }
  return true;
}

static std::string headerGuard(llvm::StringRef prefix) {
  std::string guard = "QC_MODULE_";
  for (char c : llvm::sys::path::filename(prefix))
    guard += llvm::isAlnum(c) ? llvm::toUpper(c) : '_';
  return guard + "_H";
}

/// `--check-policy`: qc-apply-policy (strict) alone, then the scheme each
/// linear layer got, as JSON: {"policy", "layers": [{"layer", "scheme",
/// "batch_threshold"}], "needs_stats"} (needs_stats: a scheme with
/// SmoothQuant or static activation scales needs calibration statistics).
static int runCheckPolicy(ModuleOp module) {
#if QC_HAVE_QUANTIZE_PIPELINE
  if (policyFile.empty())
    return fail("--check-policy needs --policy FILE");
  FailureOr<llvm::json::Value> doc = qc::checkPolicy(module, policyFile);
  if (failed(doc))
    return 1;
  std::string text = llvm::formatv("{0:1}", *doc).str() + "\n";
  if (outputPath == "-") {
    llvm::outs() << text;
    return 0;
  }
  std::string error;
  OutputSet outputs;
  if (!writeText(outputs.add(outputPath), text, error) ||
      !outputs.commit(error))
    return fail(error);
  return 0;
#else
  (void)module;
  return fail("this build has no quantization passes (--check-policy is "
              "unavailable)");
#endif
}

/// `--list-targets[=text|json]`: prints the target table (TargetTable.h).
static int listTargets(llvm::StringRef format) {
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
    llvm::outs() << llvm::formatv("{0:2}",
                                  llvm::json::Value(std::move(targets)))
                 << "\n";
    return 0;
  }
  if (!format.empty() && format != "text")
    return fail("--list-targets=" + format.str() + ": expected text or json");
  llvm::outs() << llvm::formatv("{0,-6} {1,-4} {2,-4} {3,-4} {4,-10} {5,-28} "
                                "{6}\n",
                                "target", "cc", "ptx", "SMs", "DRAM GB/s",
                                "features", "description");
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
      llvm::outs() << llvm::formatv("{0,-6} {1,-4} {2,-4} {3,-4} {4,-10} "
                                    "{5,-28} {6}\n",
                                    t.name, "-", "-", "-", "-", "-",
                                    t.description);
      continue;
    }
    llvm::outs() << llvm::formatv(
        "{0,-6} {1,-4} {2,-4} {3,-4} {4,-10} {5,-28} {6}\n", t.name,
        llvm::formatv("{0}.{1}", t.ccMajor, t.ccMinor).str(),
        llvm::formatv("{0}.{1}", t.ptxVersion / 10, t.ptxVersion % 10).str(),
        t.smCount, int64_t(t.dramBandwidth / 1e9), features, t.description);
  }
  return 0;
}

/// `--list-kernels[=text|json]`: prints the kernel family registry
/// (qc/Kernels/KernelFamilies.h).
static int listKernels(llvm::StringRef format) {
  std::optional<qc::KernelListingFormat> f =
      llvm::StringSwitch<std::optional<qc::KernelListingFormat>>(format)
          .Cases({"", "text"}, qc::KernelListingFormat::Text)
          .Case("json", qc::KernelListingFormat::Json)
          .Case("markdown", qc::KernelListingFormat::Markdown)
          .Default(std::nullopt);
  if (!f)
    return fail("--list-kernels=" + format.str() +
                ": expected text, json or markdown");
  qc::printKernelFamilies(llvm::outs(), *f);
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Handled before cl parsing: the input and -o are required otherwise.
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg = argv[i];
    if (arg.consume_front("--list-targets") ||
        arg.consume_front("-list-targets")) {
      if (arg.empty() || arg.consume_front("="))
        return listTargets(arg);
    }
    arg = argv[i];
    if (arg.consume_front("--list-kernels") ||
        arg.consume_front("-list-kernels")) {
      if (arg.empty() || arg.consume_front("="))
        return listKernels(arg);
    }
  }
  qc::registerAllPasses();
  std::vector<char *> args;
  for (int i = 0; i < argc; ++i) {
    llvm::StringRef arg = argv[i];
    if (arg == "--stats" || arg == "-stats") {
      if (i + 1 >= argc)
        return fail("missing value for --stats");
      statsFile = argv[++i];
    } else if (arg.consume_front("--stats=") || arg.consume_front("-stats=")) {
      statsFile = arg.str();
    } else {
      args.push_back(argv[i]);
    }
  }
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      args.size(), args.data(),
      "quant-compile: MLIR -> quant module\n\n"
      "  --stats FILE   calibration statistics (docs/formats.md)\n"
      "  --list-targets[=text|json]\n"
      "                 print the targets and their properties, then exit\n"
      "  --list-kernels[=text|json|markdown]\n"
      "                 print the kernel families (ops, builders, tilings,\n"
      "                 targets, arguments), then exit\n");

  const bool gpu = qc::isGpuTarget(targetName);
  if (!qc::lookupTarget(targetName))
    return fail("unknown target '" + targetName + "' (expected " +
                qc::targetNames() + ")");
  if (!progressFormat.empty() && progressFormat != "text" &&
      progressFormat != "json")
    return fail("--progress=" + progressFormat + ": expected text or json");
  if (algorithm != "rtn" && algorithm != "gptq")
    return fail("unknown --algorithm '" + algorithm +
                "' (expected rtn or gptq)");
  if (weightThreshold < 1)
    return fail("--weight-threshold must be at least 1");

  // The output and report locations must exist before any work is done.
  for (const std::string &report :
       {reportFile.getValue(), reportTableFile.getValue()}) {
    if (report.empty())
      continue;
    llvm::SmallString<256> dir(report);
    llvm::sys::path::remove_filename(dir);
    if (dir.empty())
      dir = ".";
    if (!llvm::sys::fs::is_directory(dir))
      return fail("cannot write report '" + report + "': directory '" + dir +
                  "' does not exist");
    if (llvm::sys::fs::access(dir, llvm::sys::fs::AccessMode::Write))
      return fail("cannot write report '" + report + "': directory '" + dir +
                  "' is not writable");
    if (llvm::sys::fs::is_directory(report))
      return fail("cannot write report '" + report + "': it is a directory");
  }
  if (emitKind == Emit::Module || outputPath != "-") {
    llvm::SmallString<256> dir(outputPath.getValue());
    llvm::sys::path::remove_filename(dir);
    if (dir.empty())
      dir = ".";
    if (!llvm::sys::fs::is_directory(dir))
      return fail("output directory '" + dir + "' does not exist");
    if (llvm::sys::fs::access(dir, llvm::sys::fs::AccessMode::Write))
      return fail("output directory '" + dir + "' is not writable");
  }

  // The weight store (--emit=module only: the IR printed by --emit=mlir
  // keeps its inline constants).
  if (weightStore && emitKind == Emit::Module) {
    llvm::SmallString<256> dir(weightStoreDir.getValue());
    if (dir.empty()) {
      dir = outputPath.getValue();
      llvm::sys::path::remove_filename(dir);
    }
    if (dir.empty())
      dir = ".";
    if (!llvm::sys::fs::is_directory(dir))
      return fail("weight store directory '" + dir + "' does not exist");
    if (llvm::sys::fs::access(dir, llvm::sys::fs::AccessMode::Write))
      return fail("weight store directory '" + dir + "' is not writable");
    weightStorePath = dir.str().str();
  } else if (!weightStoreDir.empty()) {
    return fail(weightStore ? "--weight-store-dir is only used with "
                              "--emit=module"
                            : "--weight-store-dir needs the weight store "
                              "(drop --weight-store=false)");
  }

  DialectRegistry registry;
  qc::registerAllDialects(registry);
  // --jobs: the context's threads (quantization, packing, parallel
  // passes); the pool outlives the context.
  std::unique_ptr<llvm::DefaultThreadPool> pool;
  if (jobs > 1)
    pool = std::make_unique<llvm::DefaultThreadPool>(
        llvm::hardware_concurrency(jobs));
  MLIRContext context(registry, jobs > 0 ? MLIRContext::Threading::DISABLED
                                         : MLIRContext::Threading::ENABLED);
  if (pool)
    context.setThreadPool(*pool);
  context.loadAllAvailableDialects();
  context.printOpOnDiagnostic(false); // one diagnostic, not an op dump

  std::string errorMessage;
  auto file = openInputFile(inputFile, &errorMessage);
  if (!file)
    return fail(errorMessage);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1; // the parser reported the error
  // Sizes before any work (docs/reliability.md): no pass computes with, or
  // allocates for, a static shape above the maximum tensor size.
  if (failed(qc::checkTensorLimits(*module)))
    return 1;
  if (checkPolicy)
    return runCheckPolicy(*module);

  Stages stages;
  // 1. Quantize (tensor level).
  stages.begin("quantize (policy, quantize/pack weights, select kernels)");
  PassManager quantizePm(&context);
  if (failed(addQuantizePasses(quantizePm, errorMessage)))
    return fail(errorMessage);
  if (failed(quantizePm.run(*module)))
    return 1;
  stages.end();

  // The per-layer report, written with the other outputs at the end.
  std::vector<qc::LayerReport> layerReports = qc::collectLayerReports(*module);
  OutputSet reportOutputs;
  // --report is written last, with the stage times and the peak memory.
  std::string reportJson = qc::layerReportJson(layerReports);
  auto writeReport = [&]() -> bool {
    if (reportFile.empty())
      return true;
    llvm::Expected<llvm::json::Value> doc = llvm::json::parse(reportJson);
    if (!doc) {
      errorMessage =
          "internal error: bad report JSON: " + llvm::toString(doc.takeError());
      return false;
    }
    doc->getAsObject()->insert({"compile", stages.report(context)});
    std::string text;
    llvm::raw_string_ostream os(text);
    os << llvm::formatv("{0:2}", *doc) << "\n";
    return writeText(reportOutputs.add(reportFile), text, errorMessage);
  };
  std::string table = qc::layerReportTable(layerReports);
  if (!reportTableFile.empty() &&
      !writeText(reportOutputs.add(reportTableFile), table, errorMessage))
    return fail(errorMessage);
  if (verbose)
    llvm::errs() << table;

  // --emit=mlir/llvm: the text goes to the output file (or stdout for "-")
  // and is committed together with the report files.
  auto emitText = [&](const std::string &text, OutputSet &reports) -> int {
    if (!writeReport())
      return fail(errorMessage);
    if (outputPath == "-") {
      if (!reports.commit(errorMessage))
        return fail(errorMessage);
      llvm::outs() << text;
      return 0;
    }
    OutputSet outputs;
    if (!writeText(outputs.add(outputPath), text, errorMessage) ||
        !outputs.commit(errorMessage) || !reports.commit(errorMessage))
      return fail(errorMessage);
    return 0;
  };

  // 2. Record the entry points, then lower to the LLVM dialect and move
  //    the weights out.
  std::vector<qc::EntryPoint> entryPoints;
  if (failed(qc::collectEntryPoints(*module, entryPoints)))
    return 1;
  qc::requestCInterfaces(*module);
  llvm::SmallString<256> baseDir(inputFile.getValue());
  llvm::sys::path::remove_filename(baseDir);
  qc::ExternalizeWeightsOptions externalize;
  externalize.thresholdBytes = weightThreshold;
  externalize.baseDir = baseDir.empty() ? "." : baseDir.str().str();
  stages.begin("lower to the LLVM dialect");
  PassManager lowerPm(&context);
  // Before lowering: qc.external_weight ops left by quantization become
  // tagged globals (the lowering drops tags); after: large constants.
  lowerPm.addPass(qc::createExternalizeWeights(externalize));
  std::string gpuFormat;
  // Whether qc-lower-to-gpu made every kernel wait for its predecessor
  // (qc-gpu-dependent-launch; the module info tells qcrt).
  bool dependentLaunch = false;
  if (gpu) {
    // GPU modules (docs/gpu-module.md): every constant buffer goes to the
    // .qcw file and device memory, externalized at the memref level.
    std::string toolkit = qc::findCudaToolkit(cudaPath);
    if (toolkit.empty())
      return fail(cudaPath.empty()
                      ? llvm::Twine("no CUDA toolkit found for --target ") +
                            targetName +
                            " (libdevice is needed; set --cuda-path or "
                            "CUDA_HOME)"
                      : llvm::Twine("--cuda-path '") + cudaPath +
                            "' has no nvvm/libdevice/libdevice.10.bc");
    gpuFormat = qc::gpuBinaryFormat(toolkit);
    qc::GpuLoweringPipelineOptions gpuOptions;
    gpuOptions.chip = targetName.getValue();
    gpuOptions.format = gpuFormat;
    gpuOptions.toolkit = toolkit;
    gpuOptions.normPrologue = gemvNormPrologue;
    gpuOptions.fuseNormQuant = fuseNormQuant;
    gpuOptions.swiGluEpilogue = gemvSwiGluEpilogue;
    gpuOptions.weightPrefetch = weightPrefetch;
    gpuOptions.attentionPrefill = attentionPrefill;
    dependentLaunch = qc::runsDependentLaunch(gpuOptions);
    qc::ExternalizeWeightsOptions all = externalize;
    all.thresholdBytes = 1;
    qc::buildGpuLoweringPipeline(lowerPm, gpuOptions,
                                 qc::createExternalizeWeights(all));
  } else {
    if (failed(addHostLoweringPasses(lowerPm, errorMessage)))
      return fail("cannot build the host lowering pipeline: " + errorMessage);
    lowerPm.addPass(qc::createExternalizeWeights(externalize));
  }
  if (failed(lowerPm.run(*module)))
    return 1;

  qc::takeHostSyncFunctions(*module, entryPoints);
  std::vector<qc::WeightEntry> weights;
  if (failed(qc::takeWeights(*module, weights)) ||
      failed(qc::takeInPlaceArgs(*module, entryPoints)))
    return 1;
  // The weights file's size is checked (limit, free space) before anything
  // is hashed or written; then the integrity data (docs/module-format.md).
  uint64_t weightsBytes = 0;
  if (!qc::weightsFileBytes(weights, weightsBytes, errorMessage))
    return fail(errorMessage);
  if (emitKind == Emit::Module) {
    llvm::SmallString<256> dir(outputPath.getValue());
    llvm::sys::path::remove_filename(dir);
    if (dir.empty())
      dir = ".";
    llvm::ErrorOr<llvm::sys::fs::space_info> space =
        llvm::sys::fs::disk_space(dir);
    if (space && space->available < weightsBytes)
      return fail(llvm::formatv("the weights file needs {0} bytes but '{1}' "
                                "has {2} bytes free",
                                weightsBytes, dir, space->available)
                      .str());
  }
  if (!qc::computeWeightChecksums(weights, errorMessage))
    return fail(errorMessage);
  qc::HostCodegenOptions codegen;
  codegen.cpu = hostCpu;
  std::string resolvedCpu = qc::resolveHostCpu(hostCpu);
  uint64_t identity =
      qc::computeModuleIdentity(*module, targetName, resolvedCpu, weights);
  std::string info =
      qc::moduleInfoJson(targetName, resolvedCpu, entryPoints, weights);
  if (gpu)
    info = qc::addGpuModuleInfo(info, gpuFormat, dependentLaunch);
  info = qc::addModuleIdentity(info, identity);
  if (failed(qc::buildModuleInterface(*module, entryPoints, info)))
    return 1;
  codegen.exportedSymbols = qc::exportedSymbols(entryPoints, weights);

  if (emitKind == Emit::Mlir) {
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    return emitText(text, reportOutputs);
  }

  // 3. LLVM IR, optimized for the host.
  stages.begin("translate to LLVM IR");
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(*module, llvmContext, "qc_module");
  if (!llvmModule)
    return 1; // the translation reported the op it could not translate

  if (emitKind == Emit::Llvm) {
    stages.begin("optimize (-O3)");
    if (!qc::optimizeForHost(*llvmModule, codegen, errorMessage))
      return fail(errorMessage);
    std::string text;
    llvm::raw_string_ostream os(text);
    llvmModule->print(os, nullptr);
    return emitText(text, reportOutputs);
  }

  // 4. The module: header, weights, shared object; renamed together.
  stages.begin("optimize (-O3), emit the object, link, write weights");
  OutputSet outputs;
  std::string prefix = outputPath;
  if (!writeText(
          outputs.add(prefix + ".h"),
          (gpu ? qc::gpuHeaderNote(targetName, gpuFormat) : "") +
              qc::generateHeader(headerGuard(prefix), entryPoints, weights),
          errorMessage) ||
      !qc::writeWeightsFile(outputs.add(prefix + ".qcw"), targetName, weights,
                            identity, errorMessage) ||
      !qc::emitHostSharedObject(*llvmModule, outputs.add(prefix + ".so"),
                                codegen, errorMessage) ||
      !writeReport() || !outputs.commit(errorMessage) ||
      !reportOutputs.commit(errorMessage))
    return fail(errorMessage);
  stages.end();
  return 0;
}
