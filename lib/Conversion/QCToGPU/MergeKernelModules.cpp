//===- MergeKernelModules.cpp - One gpu.module for the glue kernels -------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-gpu-merge-kernel-modules: the outlined glue kernels (one gpu.module
// each) move into one module, identical kernels kept once. See Passes.td.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToGPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringMap.h"

#include <optional>

namespace mlir::qc {
#define GEN_PASS_DEF_QCGPUMERGEKERNELMODULES
#include "qc/Conversion/QCToGPU/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {

constexpr StringLiteral kMergedName = "qc_glue_kernels";

/// The kernel of a module that holds exactly one gpu.func and nothing else,
/// or null.
gpu::GPUFuncOp soleKernel(gpu::GPUModuleOp module) {
  Block &body = module.getBodyRegion().front();
  auto it = body.without_terminator();
  if (std::distance(it.begin(), it.end()) != 1)
    return {};
  auto func = dyn_cast<gpu::GPUFuncOp>(*it.begin());
  return func && func.isKernel() ? func : gpu::GPUFuncOp();
}

/// The kernel's text with a fixed name: equal keys mean identical kernels
/// (same signature, attributes and body; SSA names are printed in order).
std::string kernelKey(gpu::GPUFuncOp func) {
  StringAttr name = func.getNameAttr();
  func.setName("__qc_key");
  std::string text;
  llvm::raw_string_ostream os(text);
  // Local scope: printing a nested op must not number the whole module.
  func->print(os, OpPrintingFlags().useLocalScope());
  func.setName(name);
  return text;
}

struct MergeKernelModulesPass
    : public mlir::qc::impl::QCGpuMergeKernelModulesBase<
          MergeKernelModulesPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<gpu::GPUModuleOp, gpu::GPUFuncOp>> candidates;
    for (auto gm : module.getOps<gpu::GPUModuleOp>()) {
      if (gm.getName().starts_with("qc_kernels_") ||
          gm.getName() == kMergedName)
        continue;
      if (gpu::GPUFuncOp func = soleKernel(gm))
        candidates.emplace_back(gm, func);
    }
    DenseMap<Attribute, SymbolRefAttr> redirect; // old @m::@f -> new
    gpu::GPUModuleOp merged;
    std::optional<SymbolTable> mergedSymbols;
    if (!candidates.empty()) {
      OpBuilder b(module.getBodyRegion());
      b.setInsertionPointAfter(candidates.front().first);
      merged = gpu::GPUModuleOp::create(b, module.getLoc(), kMergedName);
      // Renamed if a symbol of that name exists already.
      SymbolTable(module).insert(merged);
      mergedSymbols.emplace(merged);
    }
    llvm::StringMap<StringAttr> byKey; // kernel text -> kept kernel name
    for (auto [gm, func] : candidates) {
      auto oldRef = SymbolRefAttr::get(
          gm.getNameAttr(), {FlatSymbolRefAttr::get(func.getNameAttr())});
      std::string key = kernelKey(func);
      auto it = byKey.find(key);
      if (it == byKey.end()) {
        // insert() places it (before a terminator, if any) and renames it
        // if the name is taken.
        func->remove();
        StringAttr name = mergedSymbols->insert(func);
        it = byKey.insert({key, name}).first;
        ++numKept;
      } else {
        ++numMerged;
      }
      redirect[oldRef] = SymbolRefAttr::get(
          merged.getNameAttr(), {FlatSymbolRefAttr::get(it->second)});
    }
    // The hand-built kernels: one per layer, so layers of the same shape and
    // scheme repeat the same kernel; keep the first of each.
    SmallVector<gpu::GPUFuncOp> dropped;
    for (auto gm : module.getOps<gpu::GPUModuleOp>()) {
      if (!gm.getName().starts_with("qc_kernels_"))
        continue;
      llvm::StringMap<StringAttr> seen;
      for (auto func : gm.getOps<gpu::GPUFuncOp>()) {
        if (!func.isKernel())
          continue;
        auto [it, inserted] =
            seen.insert({kernelKey(func), func.getNameAttr()});
        if (inserted)
          continue;
        redirect[SymbolRefAttr::get(
            gm.getNameAttr(), {FlatSymbolRefAttr::get(func.getNameAttr())})] =
            SymbolRefAttr::get(gm.getNameAttr(),
                               {FlatSymbolRefAttr::get(it->second)});
        dropped.push_back(func);
        ++numMerged;
      }
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      auto it = redirect.find(launch.getKernel());
      if (it != redirect.end())
        launch.setKernelAttr(it->second);
    });
    for (auto [gm, func] : candidates)
      gm.erase();
    for (gpu::GPUFuncOp func : dropped)
      func.erase();
  }
};

} // namespace
