//===- Pipelines.h - Named quant pipelines ----------------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The named pipelines: registered once (registerQCPipelines) for quant-opt and
// called directly by quant-compile, so both tools run the same passes.
//
//===----------------------------------------------------------------------===//

#ifndef QC_PIPELINES_PIPELINES_H
#define QC_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;
} // namespace mlir

namespace qc {

/// Options of `qc-quantize-pipeline`: policy -> SmoothQuant -> quantize ->
/// pack -> fuse dequantization -> fuse siblings -> select.
struct QuantizePipelineOptions
    : public mlir::PassPipelineOptions<QuantizePipelineOptions> {
  Option<std::string> policy{*this, "policy",
                             llvm::cl::desc("Per-layer policy file (JSON or "
                                            "YAML); empty keeps the schemes "
                                            "already in the IR")};
  Option<std::string> stats{*this, "stats",
                            llvm::cl::desc("Calibration statistics file; "
                                           "needed by SmoothQuant, static "
                                           "activation scales and GPTQ")};
  Option<bool> awq{*this, "awq",
                   llvm::cl::desc("AWQ scaling of weight-only integer "
                                  "layers before rounding (qc-awq; needs "
                                  "stats with Hessians)"),
                   llvm::cl::init(false)};
  Option<bool> gptqActOrder{
      *this, "gptq-act-order",
      llvm::cl::desc("GPTQ in descending Hessian-diagonal order (static "
                     "groups: the packed layout stays group-contiguous)"),
      llvm::cl::init(false)};
  Option<double> gptqDamp{
      *this, "gptq-damp",
      llvm::cl::desc("GPTQ dampening, a fraction of mean(diag H)"),
      llvm::cl::init(0.01)};
  Option<int64_t> gptqBlockSize{
      *this, "gptq-block-size",
      llvm::cl::desc("GPTQ lazy-update block size (columns)"),
      llvm::cl::init(128)};
  Option<std::string> gptqPrecision{
      *this, "gptq-precision",
      llvm::cl::desc("GPTQ's linear algebra: f64 or f32 (about twice as "
                     "fast)"),
      llvm::cl::init("f64")};
  Option<std::string> algorithm{*this, "algorithm",
                                llvm::cl::desc("Weight rounding: rtn or gptq"),
                                llvm::cl::init("rtn")};
  Option<std::string> target{
      *this, "target",
      llvm::cl::desc("Target the kernels are chosen for: host, sm_80, sm_90"),
      llvm::cl::init("host")};
  Option<double> alpha{*this, "alpha",
                       llvm::cl::desc("SmoothQuant migration strength for "
                                      "schemes without alpha"),
                       llvm::cl::init(0.5)};
  Option<std::string> layout{
      *this, "layout",
      llvm::cl::desc("Packed weight layout: row_major or tiled"),
      llvm::cl::init("row_major")};
  Option<int64_t> minBatch{*this, "min-batch",
                           llvm::cl::desc("Smallest expected number of rows "
                                          "M (kernel selection)"),
                           llvm::cl::init(1)};
  Option<int64_t> maxBatch{*this, "max-batch",
                           llvm::cl::desc("Largest expected number of rows M "
                                          "(kernel selection; batch x tokens "
                                          "per call: a prompt's prefill is "
                                          "M = its length)"),
                           llvm::cl::init(512)};
  Option<std::string> weightOnlyKernel{
      *this, "weight-only-kernel",
      llvm::cl::desc("Weight-only kernel on GPUs: auto (cost model), gemv, "
                     "mma, gemv_mma or frag"),
      llvm::cl::init("auto")};
  Option<bool> wgmmaInt8{
      *this, "wgmma-int8",
      llvm::cl::desc("INT8 W8A8 layers on the wgmma GEMM on targets with "
                     "wgmma (qc-select-matmul wgmma-int8; false: the mma.sync "
                     "GEMM)"),
      llvm::cl::init(true)};
  Option<bool> wgmmaTma{
      *this, "wgmma-tma",
      llvm::cl::desc("The wgmma GEMMs on the warp-specialized TMA + mbarrier "
                     "pipeline (qc-select-matmul wgmma-tma)"),
      llvm::cl::init(false)};
  Option<bool> wgmmaTmaFp8{
      *this, "wgmma-tma-fp8",
      llvm::cl::desc("FP8 GEMMs on the TMA pipeline whatever wgmma-tma says "
                     "(qc-select-matmul wgmma-tma-fp8)"),
      llvm::cl::init(true)};
  Option<bool> wgmmaPersistent{
      *this, "wgmma-persistent",
      llvm::cl::desc("The wgmma GEMMs on the TMA pipeline with a persistent "
                     "tile scheduler (qc-select-matmul wgmma-persistent)"),
      llvm::cl::init(false)};
  Option<bool> fuseSiblings{
      *this, "fuse-siblings",
      llvm::cl::desc("Fuse quantized matmuls that read the same input (q/k/v, "
                     "gate/up) into one (qc-fuse-sibling-matmuls)"),
      llvm::cl::init(true)};
  Option<bool> recordErrors{
      *this, "record-errors",
      llvm::cl::desc("qc-quantize-weights records per-layer calibration "
                     "errors (qc.quant_error / qc.output_error)"),
      llvm::cl::init(false)};
  Option<std::string> weightStore{
      *this, "weight-store",
      llvm::cl::desc("Directory of the weight store: the codes and packed "
                     "bytes go to a scratch file there, not into the "
                     "context (empty: inline constants)"),
      llvm::cl::init("")};
  Option<int64_t> weightStoreMinBytes{
      *this, "weight-store-min-bytes",
      llvm::cl::desc("Smaller codes and packed bytes stay inline"),
      llvm::cl::init(0)};
};

/// Appends the quantization passes to `pm` (a module pass manager).
void buildQuantizePipeline(mlir::OpPassManager &pm,
                           const QuantizePipelineOptions &options);

/// Options of `qc-lower-to-host`.
struct HostLoweringPipelineOptions
    : public mlir::PassPipelineOptions<HostLoweringPipelineOptions> {
  PassOptions::Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Split the matmul kernels over threads through the "
                     "runtime's qcrt_parallel_for (the module then needs "
                     "libqcrt)"),
      llvm::cl::init(false)};
};

/// Appends the passes that lower quantized `qc` IR (and the linalg/tensor/
/// arith/math glue around it) to the LLVM dialect for the CPU host.
void buildHostLoweringPipeline(mlir::OpPassManager &pm,
                               const HostLoweringPipelineOptions &options);

/// Registers the named pipelines with the global pass registry.
void registerQCPipelines();

} // namespace qc

#endif // QC_PIPELINES_PIPELINES_H
