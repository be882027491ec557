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
#include "qc/Conversion/QCToNVVM/KernelBuilders.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCGPUDEPENDENTLAUNCH
#include "qc/Conversion/QCToGPU/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {

/// True when `kernel` already waits (the pass is idempotent).
bool hasWait(gpu::GPUFuncOp kernel) {
  for (Operation &op : kernel.getBody().front())
    if (auto g = dyn_cast<NVVM::GriddepcontrolOp>(&op);
        g && g.getKind() == NVVM::GridDepActionKind::wait)
      return true;
  return false;
}

/// The top-level operation the wait follows (::qc::kWaitAfterAttrName: a
/// prologue touching only memory no earlier kernel writes), or null for the
/// kernel's start.
Operation *waitAfter(gpu::GPUFuncOp kernel) {
  for (Operation &op : kernel.getBody().front())
    if (op.hasAttr(::qc::kWaitAfterAttrName))
      return &op;
  return nullptr;
}

struct DependentLaunchPass
    : public mlir::qc::impl::QCGpuDependentLaunchBase<DependentLaunchPass> {
  void runOnOperation() override {
    getOperation().walk([&](gpu::GPUFuncOp kernel) {
      if (!kernel.isKernel() || kernel.getBody().empty() || hasWait(kernel))
        return;
      Operation *after = waitAfter(kernel);
      OpBuilder b = after ? OpBuilder(after->getBlock(), ++after->getIterator())
                          : OpBuilder::atBlockBegin(&kernel.getBody().front());
      if (after)
        after->removeAttr(::qc::kWaitAfterAttrName);
      // Nothing of the kernel (but a marked weight prefetch) runs before its
      // predecessor's writes are visible; only then may the successor be
      // scheduled (one kernel of look-ahead, never a chain of waiting
      // grids).
      NVVM::GriddepcontrolOp::create(b, kernel.getLoc(),
                                     NVVM::GridDepActionKind::wait);
      NVVM::GriddepcontrolOp::create(
          b, kernel.getLoc(), NVVM::GridDepActionKind::launch_dependents);
      ++numKernels;
    });
  }
};

} // namespace
