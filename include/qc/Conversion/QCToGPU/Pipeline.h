//===- Pipeline.h - The qc-lower-to-gpu pipeline ----------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Quantized qc (matmuls selected for sm_80/sm_90) -> LLVM dialect host code
// launching serialized GPU kernels (docs/gpu-module.md). Kept apart from
// Passes.h so that files with `using namespace mlir` can include it.
//
//===----------------------------------------------------------------------===//

#ifndef QC_CONVERSION_QCTOGPU_PIPELINE_H
#define QC_CONVERSION_QCTOGPU_PIPELINE_H

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

#include <memory>

namespace qc {

/// Options of `qc-lower-to-gpu`.
struct GpuLoweringPipelineOptions
    : public mlir::PassPipelineOptions<GpuLoweringPipelineOptions> {
  Option<std::string> chip{
      *this, "chip", llvm::cl::desc("GPU architecture: sm_80, sm_90 or sm_90a"),
      llvm::cl::init("sm_90")};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Device code format for gpu-module-to-binary: isa "
                     "(PTX), bin (cubin) or fatbin (cubin + PTX)"),
      llvm::cl::init("isa")};
  Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit path (ptxas, fatbinary, libdevice)"),
      llvm::cl::init("")};
  Option<int64_t> weightThreshold{
      *this, "weight-threshold",
      llvm::cl::desc("Unused by the GPU path (every constant buffer goes to "
                     "device memory); kept for symmetry"),
      llvm::cl::init(1)};
  Option<bool> normPrologue{
      *this, "norm-prologue",
      llvm::cl::desc("GEMV variants that normalize their input in a prologue "
                     "where a qc.rms_norm feeds only the matmul "
                     "(qc-outline-gpu-kernels norm-prologue)"),
      llvm::cl::init(false)};
  Option<bool> fuseNormQuant{
      *this, "fuse-norm-quant",
      llvm::cl::desc("A norm feeding only the activation quantization of "
                     "W8A8 / FP8 matmuls writes their codes and scales "
                     "(qc-outline-gpu-kernels fuse-norm-quant; default on "
                     "since the H100 module matrix of 2026-12-08)"),
      llvm::cl::init(true)};
  Option<bool> swiGluEpilogue{
      *this, "swiglu-epilogue",
      llvm::cl::desc("GEMV families of the fused gate / up projections write "
                     "silu(gate) * up (qc-outline-gpu-kernels "
                     "swiglu-epilogue)"),
      llvm::cl::init(false)};
  Option<bool> weightPrefetch{
      *this, "weight-prefetch",
      llvm::cl::desc("GEMV and frag kernels prefetch their weights into L2 "
                     "before the dependent-launch wait "
                     "(qc-outline-gpu-kernels weight-prefetch)"),
      llvm::cl::init(false)};
  Option<bool> attentionPrefill{
      *this, "attention-prefill",
      llvm::cl::desc("qc.cache_attention of more than max_split_t tokens "
                     "runs the tensor-core prefill kernel where it applies "
                     "(qc-outline-gpu-kernels attention-prefill)"),
      llvm::cl::init(true)};
  Option<bool> dependentLaunch{
      *this, "dependent-launch",
      llvm::cl::desc("On targets with programmatic dependent launch (sm_90): "
                     "every kernel waits for the one before it at its start "
                     "(qc-gpu-dependent-launch), so qcrt launches it early"),
      llvm::cl::init(true)};
  Option<int64_t> glueBlockSize{
      *this, "glue-block-size",
      llvm::cl::desc("Most threads of a block of a glue kernel "
                     "(qc-gpu-tile-glue)"),
      llvm::cl::init(256)};
};

/// Whether buildGpuLoweringPipeline runs qc-gpu-dependent-launch (every
/// kernel waits for its predecessor): the option and a target with
/// dependent launch. The module info says so (quant-compile).
bool runsDependentLaunch(const GpuLoweringPipelineOptions &options);

/// Appends the passes lowering a quantized module (after
/// qc-outline-gpu-kernels) to the LLVM dialect with GPU kernels serialized
/// into gpu.binary ops: GPU launches for the qc matmuls, bufferization,
/// device memory, linalg glue through the upstream parallel-loops-to-GPU
/// path, NVVM lowering, serialization, gpu-to-llvm. `externalize` adds the
/// weight externalization at the memref level (quant-compile passes a
/// configured qc-externalize-weights here).
void buildGpuLoweringPipeline(mlir::OpPassManager &pm,
                              const GpuLoweringPipelineOptions &options,
                              std::unique_ptr<mlir::Pass> externalize = {});

/// Registers the QCToGPU passes and the `qc-lower-to-gpu` pipeline.
void registerGpuLoweringPipeline();

} // namespace qc

#endif // QC_CONVERSION_QCTOGPU_PIPELINE_H
