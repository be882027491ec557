//===- Passes.h - Whole-program GPU lowering passes -------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The passes that turn a quantized program whose matmuls target sm_80/sm_90
// into host code launching GPU kernels on device buffers
// (docs/gpu-module.md); the pipeline is in Pipeline.h.
//
//===----------------------------------------------------------------------===//

#ifndef QC_CONVERSION_QCTOGPU_PASSES_H
#define QC_CONVERSION_QCTOGPU_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::qc {
#define GEN_PASS_DECL
#include "qc/Conversion/QCToGPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "qc/Conversion/QCToGPU/Passes.h.inc"

/// Replaces the launch stubs qc-lower-gpu-launches left (calls carrying a
/// `qc.gpu_launch` record, on buffers) by their gpu.launch_func (guarded by
/// M > 0; with `m_tiles`, the variant-choosing chain), and erases the stub
/// declarations. Run by qc-gpu-device-memory, after bufferization and
/// buffer deallocation. A malformed record is an error on its call.
LogicalResult expandGpuLaunchStubs(ModuleOp module);

} // namespace mlir::qc

#endif // QC_CONVERSION_QCTOGPU_PASSES_H
