//===- Registration.cpp - Register the named pipelines ----------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/Pipelines/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"

void qc::registerQCPipelines() {
  mlir::PassPipelineRegistration<QuantizePipelineOptions>(
      "qc-quantize-pipeline",
      "Quantizes qc.linear layers: apply-policy (policy=) -> smoothquant "
      "(stats=) -> quantize-weights (algorithm=) -> pack-weights -> "
      "fuse-dequant -> fuse-sibling-matmuls (fuse-siblings=) -> "
      "select-matmul (target=) -> canonicalize, cse",
      buildQuantizePipeline);
  mlir::PassPipelineRegistration<HostLoweringPipelineOptions>(
      "qc-lower-to-host",
      "Lowers quantized qc (and the linalg/tensor/arith/math glue) to the "
      "LLVM dialect for the CPU host",
      buildHostLoweringPipeline);
}
