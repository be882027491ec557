//===- Driver.cpp - The quant compile library -----------------------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// compile(): quantize, lower to the LLVM dialect, move large constants to
// the weights file, add the packed entry points and the module info, then
// optimize, emit and link (docs/driver.md). Errors give one diagnostic and
// a false result; outputs are written to temporary names and renamed only
// when everything succeeded.
//
//===----------------------------------------------------------------------===//

#include "qc/Driver/Driver.h"

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
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <mutex>
#include <sys/resource.h>

using namespace mlir;

std::string qc::stageEventJson(const StageEvent &event) {
  llvm::json::Object o{{"event", "stage"},
                       {"stage", event.stage},
                       {"state", event.end ? "end" : "begin"}};
  if (event.end)
    o["seconds"] = event.seconds;
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(o));
  return text;
}

namespace {

/// Reports through the callbacks; every failure path returns report().
struct Reporter {
  const qc::CompileCallbacks &callbacks;

  /// A bare (unlocated) error; returns false for `return fail(...)`.
  bool fail(const llvm::Twine &message) const {
    if (callbacks.diagnostic)
      callbacks.diagnostic(
          qc::Diagnostic{qc::Severity::Error, message.str(), false});
    return false;
  }
  void output(llvm::StringRef text) const {
    if (callbacks.output)
      callbacks.output(text);
  }
};

/// The source manager's rendering of each MLIR diagnostic (location, source
/// line, notes), handed to the diagnostic callback one diagnostic at a
/// time.
class CallbackDiagnosticHandler : public SourceMgrDiagnosticHandler {
public:
  CallbackDiagnosticHandler(llvm::SourceMgr &mgr, MLIRContext *ctx,
                            const qc::CompileCallbacks &callbacks)
      : SourceMgrDiagnosticHandler(mgr, ctx, stream), stream(buffer),
        callbacks(callbacks) {
    // Registered after the base class's handler: called first, and the
    // only one called.
    id = ctx->getDiagEngine().registerHandler([this](mlir::Diagnostic &diag) {
      buffer.clear();
      emitDiagnostic(diag);
      stream.flush();
      qc::Severity severity = qc::Severity::Error;
      switch (diag.getSeverity()) {
      case DiagnosticSeverity::Error:
        severity = qc::Severity::Error;
        break;
      case DiagnosticSeverity::Warning:
        severity = qc::Severity::Warning;
        break;
      case DiagnosticSeverity::Note:
        severity = qc::Severity::Note;
        break;
      case DiagnosticSeverity::Remark:
        severity = qc::Severity::Remark;
        break;
      }
      if (this->callbacks.diagnostic)
        this->callbacks.diagnostic(qc::Diagnostic{severity, buffer, true});
      return success();
    });
    context = ctx;
  }
  ~CallbackDiagnosticHandler() { context->getDiagEngine().eraseHandler(id); }

private:
  std::string buffer;
  llvm::raw_string_ostream stream;
  const qc::CompileCallbacks &callbacks;
  DiagnosticEngine::HandlerID id;
  MLIRContext *context;
};

/// The stages of a compile: events to the callback, the finished stages
/// with their times for `--report`.
class Stages {
public:
  explicit Stages(const qc::CompileCallbacks &callbacks)
      : callbacks(callbacks) {}

  void begin(llvm::StringRef name) {
    end();
    current = name.str();
    start = std::chrono::steady_clock::now();
    if (callbacks.stage)
      callbacks.stage(qc::StageEvent{current, false, 0});
  }
  void end() {
    if (current.empty())
      return;
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (callbacks.stage)
      callbacks.stage(qc::StageEvent{current, true, s});
    // The stage's first word: quantize, lower, translate, optimize.
    done.emplace_back(llvm::StringRef(current).split(' ').first.str(), s);
    current.clear();
  }

  /// `--report`'s "compile" object: the finished stages with their times,
  /// the peak resident memory of the process so far, the threads and
  /// whether the weight store was used.
  llvm::json::Object report(MLIRContext &ctx, bool weightStore) {
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
        {"weight_store", weightStore}};
  }

private:
  const qc::CompileCallbacks &callbacks;
  std::vector<std::pair<std::string, double>> done;
  std::string current;
  std::chrono::steady_clock::time_point start;
};

//===----------------------------------------------------------------------===//
// Output files
//===----------------------------------------------------------------------===//

/// Files written under temporary names, renamed together on commit and
/// removed otherwise.
class OutputSet {
public:
  explicit OutputSet(bool onSignal) : onSignal(onSignal) {}
  ~OutputSet() {
    for (auto &f : files) {
      llvm::sys::fs::remove(f.second);
      if (onSignal)
        llvm::sys::DontRemoveFileOnSignal(f.second);
    }
  }
  std::string add(const std::string &final) {
    std::string temp = final + ".partial-" +
                       std::to_string(llvm::sys::Process::getProcessId());
    files.emplace_back(final, temp);
    // Removed by LLVM's handlers on SIGINT/SIGTERM/SIGHUP and on crashes
    // or resource limits (SIGXFSZ, SIGXCPU) too.
    if (onSignal)
      llvm::sys::RemoveFileOnSignal(temp);
    return temp;
  }
  bool commit(std::string &error) {
    for (auto &f : files)
      if (std::error_code ec = llvm::sys::fs::rename(f.second, f.first)) {
        error = "cannot write '" + f.first + "': " + ec.message();
        return false;
      }
    if (onSignal)
      for (auto &f : files)
        llvm::sys::DontRemoveFileOnSignal(f.second);
    files.clear();
    return true;
  }

private:
  bool onSignal;
  std::vector<std::pair<std::string, std::string>> files;
};

bool writeText(const std::string &path, llvm::StringRef text,
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

std::string headerGuard(llvm::StringRef prefix) {
  std::string guard = "QC_MODULE_";
  for (char c : llvm::sys::path::filename(prefix))
    guard += llvm::isAlnum(c) ? llvm::toUpper(c) : '_';
  return guard + "_H";
}

/// The directory of a path ("." for a bare name).
std::string directoryOf(llvm::StringRef path) {
  llvm::SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
  return dir.str().str();
}

//===----------------------------------------------------------------------===//
// Pipelines: the only place the driver chooses its passes.
//===----------------------------------------------------------------------===//

/// Quantization (qc::buildQuantizePipeline).
LogicalResult addQuantizePasses(OpPassManager &pm, const qc::CompileOptions &o,
                                const std::string &weightStorePath,
                                std::string &error) {
  qc::QuantizePipelineOptions options;
  options.policy = o.policy;
  options.stats = o.stats;
  options.algorithm = o.algorithm;
  if (o.awq && o.stats.empty()) {
    error = "--awq needs --stats FILE with Hessians";
    return failure();
  }
  options.awq = o.awq;
  if (o.gptqActOrder && o.algorithm != "gptq") {
    error = "--gptq-act-order needs --algorithm gptq";
    return failure();
  }
  options.gptqActOrder = o.gptqActOrder;
  if ((o.gptqPrecision || o.gptqDamp || o.gptqBlockSize) &&
      o.algorithm != "gptq") {
    error = o.gptqPrecision ? "--gptq-precision needs --algorithm gptq"
                            : "--gptq-damp and --gptq-block-size need "
                              "--algorithm gptq";
    return failure();
  }
  if (o.gptqPrecision) {
    if (*o.gptqPrecision != "f64" && *o.gptqPrecision != "f32") {
      error = "--gptq-precision must be f64 or f32 (got '" + *o.gptqPrecision +
              "')";
      return failure();
    }
    options.gptqPrecision = *o.gptqPrecision;
  }
  if (o.gptqDamp) {
    if (!(*o.gptqDamp >= 0.0) || !std::isfinite(*o.gptqDamp)) {
      error = "--gptq-damp must be a finite non-negative number";
      return failure();
    }
    options.gptqDamp = *o.gptqDamp;
  }
  if (o.gptqBlockSize) {
    if (*o.gptqBlockSize <= 0) {
      error = "--gptq-block-size must be positive, got " +
              std::to_string(*o.gptqBlockSize);
      return failure();
    }
    options.gptqBlockSize = *o.gptqBlockSize;
  }
  options.target = o.target;
  options.weightOnlyKernel = o.weightOnlyKernel;
  options.wgmmaInt8 = o.wgmmaInt8;
  options.wgmmaTma = o.wgmmaTma;
  options.wgmmaPersistent = o.wgmmaPersistent;
  options.wgmmaTmaFp8 = o.wgmmaTmaFp8;
  if (o.maxBatch && *o.maxBatch <= 0) {
    error = "--max-batch must be positive, got " + std::to_string(*o.maxBatch);
    return failure();
  }
  if (o.maxBatch)
    options.maxBatch = *o.maxBatch;
  options.fuseSiblings = o.fuseSiblings;
  options.recordErrors = o.recordErrors; // the per-layer report
  options.weightStore = weightStorePath;
  // Constants below the .qcw threshold stay inline, as they do in memory.
  options.weightStoreMinBytes = o.weightThreshold;
  qc::buildQuantizePipeline(pm, options);
  return success();
}

/// `--check-policy`: qc-apply-policy (strict) alone, then the scheme each
/// linear layer got, as JSON: {"policy", "layers": [{"layer", "scheme",
/// "batch_threshold"}], "needs_stats"} (needs_stats: a scheme with
/// SmoothQuant or static activation scales needs calibration statistics).
bool runCheckPolicy(ModuleOp module, const qc::CompileOptions &options,
                    const Reporter &r) {
  if (options.policy.empty())
    return r.fail("--check-policy needs --policy FILE");
  FailureOr<llvm::json::Value> doc = qc::checkPolicy(module, options.policy);
  if (failed(doc))
    return false;
  std::string text = llvm::formatv("{0:1}", *doc).str() + "\n";
  if (options.output == "-") {
    r.output(text);
    return true;
  }
  std::string error;
  OutputSet outputs(options.removeOutputsOnSignal);
  if (!writeText(outputs.add(options.output), text, error) ||
      !outputs.commit(error))
    return r.fail(error);
  return true;
}

/// Registers the passes (qc-apply-policy etc. are looked up by name)
/// once per process.
void registerPassesOnce() {
  static std::once_flag once;
  std::call_once(once, [] { qc::registerAllPasses(); });
}

} // namespace

bool qc::compile(const CompileOptions &options,
                 const CompileCallbacks &callbacks) {
  Reporter r{callbacks};
  registerPassesOnce();
  const std::string &targetName = options.target;
  const std::string &outputPath = options.output;
  const bool gpu = qc::isGpuTarget(targetName);
  if (!qc::lookupTarget(targetName))
    return r.fail("unknown target '" + targetName + "' (expected " +
                  qc::targetNames() + ")");
  if (options.algorithm != "rtn" && options.algorithm != "gptq")
    return r.fail("unknown --algorithm '" + options.algorithm +
                  "' (expected rtn or gptq)");
  if (options.weightThreshold < 1)
    return r.fail("--weight-threshold must be at least 1");
  if (options.input.empty())
    return r.fail("no input file");
  if (outputPath.empty())
    return r.fail("no output (-o)");

  // The output and report locations must exist before any work is done.
  for (const std::string &report : {options.report, options.reportTable}) {
    if (report.empty())
      continue;
    std::string dir = directoryOf(report);
    if (!llvm::sys::fs::is_directory(dir))
      return r.fail("cannot write report '" + report + "': directory '" + dir +
                    "' does not exist");
    if (llvm::sys::fs::access(dir, llvm::sys::fs::AccessMode::Write))
      return r.fail("cannot write report '" + report + "': directory '" + dir +
                    "' is not writable");
    if (llvm::sys::fs::is_directory(report))
      return r.fail("cannot write report '" + report + "': it is a directory");
  }
  if (options.emit == EmitKind::Module || outputPath != "-") {
    std::string dir = directoryOf(outputPath);
    if (!llvm::sys::fs::is_directory(dir))
      return r.fail("output directory '" + dir + "' does not exist");
    if (llvm::sys::fs::access(dir, llvm::sys::fs::AccessMode::Write))
      return r.fail("output directory '" + dir + "' is not writable");
  }

  // The weight store (--emit=module only: the IR printed by --emit=mlir
  // keeps its inline constants).
  std::string weightStorePath;
  if (options.weightStore && options.emit == EmitKind::Module) {
    std::string dir = options.weightStoreDir.empty() ? directoryOf(outputPath)
                                                     : options.weightStoreDir;
    if (!llvm::sys::fs::is_directory(dir))
      return r.fail("weight store directory '" + dir + "' does not exist");
    if (llvm::sys::fs::access(dir, llvm::sys::fs::AccessMode::Write))
      return r.fail("weight store directory '" + dir + "' is not writable");
    weightStorePath = dir;
  } else if (!options.weightStoreDir.empty()) {
    return r.fail(options.weightStore
                      ? "--weight-store-dir is only used with --emit=module"
                      : "--weight-store-dir needs the weight store "
                        "(drop --weight-store=false)");
  }

  DialectRegistry registry;
  qc::registerAllDialects(registry);
  // --jobs: the context's threads (quantization, packing, parallel
  // passes); the pool outlives the context.
  std::unique_ptr<llvm::DefaultThreadPool> pool;
  if (options.jobs > 1)
    pool = std::make_unique<llvm::DefaultThreadPool>(
        llvm::hardware_concurrency(options.jobs));
  MLIRContext context(registry, options.jobs > 0
                                    ? MLIRContext::Threading::DISABLED
                                    : MLIRContext::Threading::ENABLED);
  if (pool)
    context.setThreadPool(*pool);
  context.loadAllAvailableDialects();
  context.printOpOnDiagnostic(false); // one diagnostic, not an op dump

  std::string errorMessage;
  auto file = openInputFile(options.input, &errorMessage);
  if (!file)
    return r.fail(errorMessage);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  CallbackDiagnosticHandler diagHandler(sourceMgr, &context, callbacks);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return false; // the parser reported the error
  // Sizes before any work (docs/reliability.md): no pass computes with, or
  // allocates for, a static shape above the maximum tensor size.
  if (failed(qc::checkTensorLimits(*module)))
    return false;
  if (options.checkPolicy)
    return runCheckPolicy(*module, options, r);

  Stages stages(callbacks);
  // 1. Quantize (tensor level).
  stages.begin("quantize (policy, quantize/pack weights, select kernels)");
  PassManager quantizePm(&context);
  if (failed(addQuantizePasses(quantizePm, options, weightStorePath,
                               errorMessage)))
    return r.fail(errorMessage);
  if (failed(quantizePm.run(*module)))
    return false;
  stages.end();

  // The per-layer report, written with the other outputs at the end.
  std::vector<qc::LayerReport> layerReports = qc::collectLayerReports(*module);
  const bool onSignal = options.removeOutputsOnSignal;
  OutputSet reportOutputs(onSignal);
  // --report is written last, with the stage times and the peak memory.
  std::string reportJson = qc::layerReportJson(layerReports);
  auto writeReport = [&]() -> bool {
    if (options.report.empty())
      return true;
    llvm::Expected<llvm::json::Value> doc = llvm::json::parse(reportJson);
    if (!doc) {
      errorMessage =
          "internal error: bad report JSON: " + llvm::toString(doc.takeError());
      return false;
    }
    doc->getAsObject()->insert(
        {"compile", stages.report(context, !weightStorePath.empty())});
    std::string text;
    llvm::raw_string_ostream os(text);
    os << llvm::formatv("{0:2}", *doc) << "\n";
    return writeText(reportOutputs.add(options.report), text, errorMessage);
  };
  std::string table = qc::layerReportTable(layerReports);
  if (!options.reportTable.empty() &&
      !writeText(reportOutputs.add(options.reportTable), table, errorMessage))
    return r.fail(errorMessage);
  if (callbacks.layerTable)
    callbacks.layerTable(table);

  // --emit=mlir/llvm: the text goes to the output file (or the output
  // callback for "-") and is committed together with the report files.
  auto emitText = [&](const std::string &text, OutputSet &reports) -> bool {
    stages.end(); // every stage that began ends, also before a text output
    if (!writeReport())
      return r.fail(errorMessage);
    if (outputPath == "-") {
      if (!reports.commit(errorMessage))
        return r.fail(errorMessage);
      r.output(text);
      return true;
    }
    OutputSet outputs(onSignal);
    if (!writeText(outputs.add(outputPath), text, errorMessage) ||
        !outputs.commit(errorMessage) || !reports.commit(errorMessage))
      return r.fail(errorMessage);
    return true;
  };

  // 2. Record the entry points, then lower to the LLVM dialect and move
  //    the weights out.
  std::vector<qc::EntryPoint> entryPoints;
  if (failed(qc::collectEntryPoints(*module, entryPoints)))
    return false;
  qc::requestCInterfaces(*module);
  qc::ExternalizeWeightsOptions externalize;
  externalize.thresholdBytes = options.weightThreshold;
  externalize.baseDir = directoryOf(options.input);
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
    std::string toolkit = qc::findCudaToolkit(options.cudaPath);
    if (toolkit.empty())
      return r.fail(options.cudaPath.empty()
                        ? llvm::Twine("no CUDA toolkit found for --target ") +
                              targetName +
                              " (libdevice is needed; set --cuda-path or "
                              "CUDA_HOME)"
                        : llvm::Twine("--cuda-path '") + options.cudaPath +
                              "' has no nvvm/libdevice/libdevice.10.bc");
    gpuFormat = qc::gpuBinaryFormat(toolkit);
    qc::GpuLoweringPipelineOptions gpuOptions;
    gpuOptions.chip = targetName;
    gpuOptions.format = gpuFormat;
    gpuOptions.toolkit = toolkit;
    gpuOptions.normPrologue = options.gemvNormPrologue;
    gpuOptions.fuseNormQuant = options.fuseNormQuant;
    gpuOptions.swiGluEpilogue = options.gemvSwiGluEpilogue;
    gpuOptions.weightPrefetch = options.weightPrefetch;
    gpuOptions.attentionPrefill = options.attentionPrefill;
    dependentLaunch = qc::runsDependentLaunch(gpuOptions);
    qc::ExternalizeWeightsOptions all = externalize;
    all.thresholdBytes = 1;
    qc::buildGpuLoweringPipeline(lowerPm, gpuOptions,
                                 qc::createExternalizeWeights(all));
  } else {
    // Lowering to the LLVM dialect, with llvm.emit_c_interface on public
    // functions.
    qc::HostLoweringPipelineOptions hostOptions;
    hostOptions.parallel = options.hostParallel;
    qc::buildHostLoweringPipeline(lowerPm, hostOptions);
    lowerPm.addPass(qc::createExternalizeWeights(externalize));
  }
  if (failed(lowerPm.run(*module)))
    return false;

  qc::takeHostSyncFunctions(*module, entryPoints);
  std::vector<qc::WeightEntry> weights;
  if (failed(qc::takeWeights(*module, weights)) ||
      failed(qc::takeInPlaceArgs(*module, entryPoints)))
    return false;
  // The weights file's size is checked (limit, free space) before anything
  // is hashed or written; then the integrity data (docs/module-format.md).
  uint64_t weightsBytes = 0;
  if (!qc::weightsFileBytes(weights, weightsBytes, errorMessage))
    return r.fail(errorMessage);
  if (options.emit == EmitKind::Module) {
    std::string dir = directoryOf(outputPath);
    llvm::ErrorOr<llvm::sys::fs::space_info> space =
        llvm::sys::fs::disk_space(dir);
    if (space && space->available < weightsBytes)
      return r.fail(llvm::formatv("the weights file needs {0} bytes but '{1}' "
                                  "has {2} bytes free",
                                  weightsBytes, dir, space->available)
                        .str());
  }
  if (!qc::computeWeightChecksums(weights, errorMessage))
    return r.fail(errorMessage);
  qc::HostCodegenOptions codegen;
  codegen.cpu = options.cpu;
  std::string resolvedCpu = qc::resolveHostCpu(options.cpu);
  uint64_t identity =
      qc::computeModuleIdentity(*module, targetName, resolvedCpu, weights);
  std::string info =
      qc::moduleInfoJson(targetName, resolvedCpu, entryPoints, weights);
  if (gpu)
    info = qc::addGpuModuleInfo(info, gpuFormat, dependentLaunch);
  info = qc::addModuleIdentity(info, identity);
  if (failed(qc::buildModuleInterface(*module, entryPoints, info)))
    return false;
  codegen.exportedSymbols = qc::exportedSymbols(entryPoints, weights);

  if (options.emit == EmitKind::Mlir) {
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
    return false; // the translation reported the op it could not translate

  if (options.emit == EmitKind::Llvm) {
    stages.begin("optimize (-O3)");
    if (!qc::optimizeForHost(*llvmModule, codegen, errorMessage))
      return r.fail(errorMessage);
    std::string text;
    llvm::raw_string_ostream os(text);
    llvmModule->print(os, nullptr);
    return emitText(text, reportOutputs);
  }

  // 4. The module: header, weights, shared object; renamed together.
  stages.begin("optimize (-O3), emit the object, link, write weights");
  OutputSet outputs(onSignal);
  const std::string &prefix = outputPath;
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
    return r.fail(errorMessage);
  stages.end();
  return true;
}
