//===- GpuPipeline.cpp - The qc-lower-to-gpu pipeline ---------------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Quantized qc on tensors (matmuls selected for sm_80/sm_90) -> LLVM dialect
// host code that launches GPU kernels, with the device code serialized:
//
//   qc-outline-gpu-kernels      kernel builders -> gpu.module
//   @qc_kernels_<chip> qc-lower-gpu-launches       qc matmuls -> launch stubs
//   on buffers qc-gpu-lower-float-linear   unquantized qc.linear -> linalg
//   convert-qc-to-linalg, qc-host-prepare-functions, fusion (the glue)
//   one-shot-bufferize, qc-drop-inplace-results, qc-lower-cache-writes,
//   buffer-deallocation-pipeline
//   [qc-externalize-weights]    every constant buffer -> the .qcw file
//   qc-gpu-device-memory        alloc/dealloc/copy/weights on the device
//   qc-gpu-serial-glue          scalar reductions -> one-thread loops
//   convert-linalg-to-parallel-loops
//   qc-gpu-tile-glue            blocks of up to glue-block-size threads
//   gpu-map-parallel-loops, convert-parallel-loops-to-gpu,
//   gpu-kernel-outlining
//   qc-gpu-merge-kernel-modules one module for the glue kernels, each once
//   qc-gpu-check-host-code      no host access to device buffers left
//   [qc-gpu-dependent-launch]   kernels wait for their predecessor (sm_90)
//   nvvm-attach-target, scf/affine lowering, convert-gpu-to-nvvm
//   qc-gpu-tensor-map-params    TMA tensor maps as grid-constant params
//   host -> LLVM (memref, func, arith, cf, math, gpu-to-llvm)
//   gpu-module-to-binary        PTX / cubin / fatbin in gpu.binary ops
//   qc-gpu-drop-binary-timings  no compile times in them (deterministic)
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/Passes.h"
#include "qc/Conversion/QCToGPU/Passes.h"
#include "qc/Conversion/QCToGPU/Pipeline.h"
#include "qc/Conversion/QCToNVVM/Passes.h"
#include "qc/Target/Passes.h"
#include "qc/Target/TargetTable.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

/// Adds a textual upstream pipeline; the names are fixed, so a parse failure
/// is a bug in this file.
static void addPipeline(OpPassManager &pm, StringRef text) {
  std::string error;
  llvm::raw_string_ostream os(error);
  if (failed(parsePassPipeline(text, pm, os)))
    llvm::report_fatal_error(llvm::Twine("qc-lower-to-gpu: bad pipeline '") +
                             text + "': " + error);
}

void ::qc::buildGpuLoweringPipeline(
    OpPassManager &pm, const ::qc::GpuLoweringPipelineOptions &options,
    std::unique_ptr<Pass> externalize) {
  std::string chip = options.chip;
  // Same PTX features as qc-outline-gpu-kernels, so both kinds of gpu.module
  // carry one identical target.
  const ::qc::TargetInfo *target = ::qc::lookupGpuTarget(chip);
  if (!target)
    llvm::report_fatal_error(llvm::Twine("qc-lower-to-gpu: unknown chip '") +
                             chip + "'; expected " + ::qc::targetNames(true));
  std::string features = target->ptxFeatures();

  // The chip also gives the glue kernels (norms) their target.
  mlir::qc::QCOutlineGpuKernelsOptions outline;
  outline.chip = chip;
  outline.normPrologue = options.normPrologue;
  outline.fuseNormQuant = options.fuseNormQuant;
  outline.swiGluEpilogue = options.swiGluEpilogue;
  outline.weightPrefetch = options.weightPrefetch;
  outline.attentionPrefill = options.attentionPrefill;
  pm.addPass(mlir::qc::createQCOutlineGpuKernels(outline));
  pm.addPass(mlir::qc::createQCLowerGpuLaunches());
  pm.addPass(mlir::qc::createQCGpuLowerFloatLinear());
  pm.addPass(::qc::createConvertQCToLinalg());
  pm.addPass(::qc::createQCHostPrepareFunctions());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(mlir::qc::createQCGpuFuseGlue());
  addPipeline(pm, "cse");
  addPipeline(pm, "one-shot-bufferize{bufferize-function-boundaries "
                  "function-boundary-type-conversion=identity-layout-map "
                  "unknown-type-conversion=identity-layout-map}");
  // In-place arguments (KV caches written by qc.cache_write) lose their
  // result before deallocation (which would clone a returned argument); the
  // cache writes become scf.parallel glue loops (pos is read on the device).
  pm.addPass(::qc::createQCDropInPlaceResults());
  pm.addPass(::qc::createQCLowerCacheWrites());
  addPipeline(pm, "buffer-deallocation-pipeline,canonicalize");
  if (externalize)
    pm.addPass(std::move(externalize));
  pm.addPass(mlir::qc::createQCGpuDeviceMemory());
  pm.addPass(mlir::qc::createQCGpuSerialGlue());
  addPipeline(pm, "func.func(convert-linalg-to-parallel-loops)");
  // Independent neighbouring loops (the queries' RoPE and the cache
  // writes of a block) become one kernel.
  pm.addPass(mlir::qc::createQCGpuFuseSiblingLoops());
  pm.addPass(mlir::qc::createQCGpuTileGlue(
      mlir::qc::QCGpuTileGlueOptions{options.glueBlockSize}));
  addPipeline(pm, "func.func(gpu-map-parallel-loops),"
                  "convert-parallel-loops-to-gpu,gpu-kernel-outlining");
  pm.addPass(mlir::qc::createQCGpuMergeKernelModules());
  pm.addPass(mlir::qc::createQCGpuCheckHostCode());
  if (::qc::runsDependentLaunch(options))
    pm.addPass(mlir::qc::createQCGpuDependentLaunch());
  addPipeline(pm,
              "nvvm-attach-target{chip=" + chip + " features=" + features +
                  " O=3},lower-affine,convert-scf-to-cf,"
                  "gpu.module(convert-gpu-to-nvvm,qc-gpu-tensor-map-params),"
                  "qc-expand-dynamic-reshapes,"
                  "expand-strided-metadata,lower-affine,"
                  "convert-math-to-llvm,convert-math-to-libm,"
                  "finalize-memref-to-llvm,convert-func-to-llvm,"
                  "convert-arith-to-llvm,convert-index-to-llvm,"
                  "convert-cf-to-llvm,gpu-to-llvm,"
                  "reconcile-unrealized-casts");
  std::string binary =
      "gpu-module-to-binary{format=" + options.format.getValue() + "";
  if (!options.toolkit.empty())
    binary += " toolkit=" + options.toolkit.getValue();
  addPipeline(pm, binary + "},canonicalize");
  // The same input compiles to the same module bit for bit.
  pm.addPass(mlir::qc::createQCGpuDropBinaryTimings());
}

bool ::qc::runsDependentLaunch(
    const ::qc::GpuLoweringPipelineOptions &options) {
  const ::qc::TargetInfo *target = ::qc::lookupGpuTarget(options.chip);
  return options.dependentLaunch && target && target->dependentLaunch;
}

void ::qc::registerGpuLoweringPipeline() {
  mlir::qc::registerQCToGPUPasses();
  PassPipelineRegistration<::qc::GpuLoweringPipelineOptions>(
      "qc-lower-to-gpu",
      "Lower a quantized module whose matmuls target sm_80/sm_90 to host "
      "code launching serialized GPU kernels",
      [](OpPassManager &pm, const ::qc::GpuLoweringPipelineOptions &options) {
        // Every constant buffer becomes a device weight (as quant-compile
        // does, without a base directory for external weight files).
        ::qc::ExternalizeWeightsOptions all;
        all.thresholdBytes = 1;
        ::qc::buildGpuLoweringPipeline(pm, options,
                                       ::qc::createExternalizeWeights(all));
      });
}
