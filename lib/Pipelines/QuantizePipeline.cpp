//===- QuantizePipeline.cpp - The quantization pipeline ---------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-quantize-pipeline: policy -> SmoothQuant (-> AWQ) -> quantize -> pack ->
// fuse dequantization -> fuse sibling matmuls -> select -> repack for the frag
// kernels -> cleanup. Also used by
// quant-compile, so both tools run the same passes.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Limits.h"
#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Pipelines/Pipelines.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

void qc::buildQuantizePipeline(mlir::OpPassManager &pm,
                               const QuantizePipelineOptions &options) {
  using namespace mlir::qc;
  // Sizes first: no pass below computes with an unchecked static shape.
  pm.addPass(::qc::createCheckLimitsPass());
  if (!options.policy.empty())
    pm.addPass(createQCApplyPolicyPass({options.policy}));
  if (!options.stats.empty())
    pm.addPass(createQCSmoothQuantPass({options.stats, options.alpha}));
  if (options.awq) {
    QCAwqPassOptions awq;
    awq.stats = options.stats;
    pm.addPass(createQCAwqPass(awq));
  }
  QCQuantizeWeightsPassOptions qw;
  qw.algorithm = options.algorithm;
  qw.gptqActOrder = options.gptqActOrder;
  qw.gptqPrecision = options.gptqPrecision;
  qw.gptqDamp = options.gptqDamp;
  qw.gptqBlockSize = options.gptqBlockSize;
  qw.recordErrors = options.recordErrors;
  qw.stats = options.stats;
  qw.weightStore = options.weightStore;
  qw.weightStoreMinBytes = options.weightStoreMinBytes;
  pm.addPass(createQCQuantizeWeightsPass(qw));
  QCPackWeightsPassOptions pack;
  pack.layout = options.layout;
  pack.weightStore = options.weightStore;
  pack.weightStoreMinBytes = options.weightStoreMinBytes;
  pm.addPass(createQCPackWeightsPass(pack));
  pm.addPass(createQCFuseDequantPass());
  if (options.fuseSiblings) {
    // Each INT8 layer quantized its input with its own qc.quantize_act:
    // CSE merges equal ones so that q/k/v int8_matmuls become siblings.
    pm.addPass(mlir::createCSEPass());
    QCFuseSiblingMatmulsPassOptions fuse;
    fuse.weightStore = options.weightStore;
    fuse.weightStoreMinBytes = options.weightStoreMinBytes;
    pm.addPass(createQCFuseSiblingMatmulsPass(fuse));
  }
  QCSelectMatmulPassOptions sel;
  sel.target = options.target;
  sel.minBatch = options.minBatch;
  sel.maxBatch = options.maxBatch;
  sel.weightOnlyKernel = options.weightOnlyKernel;
  sel.wgmmaInt8 = options.wgmmaInt8;
  sel.wgmmaTma = options.wgmmaTma;
  sel.wgmmaPersistent = options.wgmmaPersistent;
  sel.wgmmaTmaFp8 = options.wgmmaTmaFp8;
  pm.addPass(createQCSelectMatmulPass(sel));
  // The frag kernels read their weight in the mma_frag layout: repack the
  // weights selection gave them (nothing else changes).
  QCPackWeightsPassOptions fragPack;
  fragPack.layout = "auto";
  fragPack.weightStore = options.weightStore;
  fragPack.weightStoreMinBytes = options.weightStoreMinBytes;
  pm.addPass(createQCPackWeightsPass(fragPack));
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
}
