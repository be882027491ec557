//===- DropBinaryTimings.cpp - Deterministic gpu.binary objects -----------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-gpu-drop-binary-timings: removes the compile-time measurements that
// gpu-module-to-binary records in gpu.object properties, so that one input
// compiles to one module (and one module identity).
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToGPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCGPUDROPBINARYTIMINGS
#include "qc/Conversion/QCToGPU/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {

/// `object` without its `*TimeInMs` properties (no properties when none is
/// left).
gpu::ObjectAttr withoutTimings(gpu::ObjectAttr object) {
  DictionaryAttr props = object.getProperties();
  if (!props)
    return object;
  SmallVector<NamedAttribute> kept;
  for (NamedAttribute p : props)
    if (!p.getName().getValue().ends_with("TimeInMs"))
      kept.push_back(p);
  if (kept.size() == props.size())
    return object;
  MLIRContext *ctx = object.getContext();
  return gpu::ObjectAttr::get(
      ctx, object.getTarget(), object.getFormat(), object.getObject(),
      kept.empty() ? DictionaryAttr() : DictionaryAttr::get(ctx, kept),
      object.getKernels());
}

struct DropBinaryTimingsPass
    : public mlir::qc::impl::QCGpuDropBinaryTimingsBase<DropBinaryTimingsPass> {
  void runOnOperation() override {
    getOperation().walk([](gpu::BinaryOp binary) {
      SmallVector<Attribute> objects;
      for (Attribute a : binary.getObjects()) {
        auto object = dyn_cast<gpu::ObjectAttr>(a);
        objects.push_back(object ? withoutTimings(object) : a);
      }
      binary.setObjectsAttr(ArrayAttr::get(binary.getContext(), objects));
    });
  }
};

} // namespace
