//===- DependentLaunch.cpp - Kernels that may start early
//------------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-gpu-dependent-launch: every kernel waits for the grid before it
// (griddepcontrol.wait) and then lets the next one be scheduled
// (griddepcontrol.launch_dependents), so that qcrt may launch it with
// programmatic dependent launch and hide the launch gap (sm_90).
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToGPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCGPUDEPENDENTLAUNCH
#include "qc/Conversion/QCToGPU/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {

/// True when `kernel` already starts with the wait (the pass is idempotent).
bool startsWithWait(gpu::GPUFuncOp kernel) {
  Block &entry = kernel.getBody().front();
  auto first = dyn_cast<NVVM::GriddepcontrolOp>(&entry.front());
  return first && first.getKind() == NVVM::GridDepActionKind::wait;
}

struct DependentLaunchPass
    : public mlir::qc::impl::QCGpuDependentLaunchBase<DependentLaunchPass> {
  void runOnOperation() override {
    getOperation().walk([&](gpu::GPUFuncOp kernel) {
      if (!kernel.isKernel() || kernel.getBody().empty() ||
          startsWithWait(kernel))
        return;
      OpBuilder b = OpBuilder::atBlockBegin(&kernel.getBody().front());
      // Nothing of the kernel runs before its predecessor's writes are
      // visible; only then may the successor be scheduled (one kernel of
      // look-ahead, never a chain of waiting grids).
      NVVM::GriddepcontrolOp::create(b, kernel.getLoc(),
                                     NVVM::GridDepActionKind::wait);
      NVVM::GriddepcontrolOp::create(
          b, kernel.getLoc(), NVVM::GridDepActionKind::launch_dependents);
      ++numKernels;
    });
  }
};

} // namespace
