//===- TensorMapParams.cpp - TMA tensor maps as grid-constant params ------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-gpu-tensor-map-params: the 128-byte tensor-map arguments of TMA kernels
// become `byval` grid-constant parameters, addressed in the parameter space
// (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToGPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCGPUTENSORMAPPARAMS
#include "qc/Conversion/QCToGPU/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {

/// The type of a tensor-map argument: a CUtensorMap's 128 bytes.
bool isTensorMapType(Type t) {
  auto array = dyn_cast<LLVM::LLVMArrayType>(t);
  return array && array.getNumElements() == 16 &&
         array.getElementType().isInteger(64);
}

LogicalResult rewrite(LLVM::LLVMFuncOp func, DenseI32ArrayAttr indices) {
  if (func.isExternal())
    return func.emitError("qc.tensor_map_args on a function without a body");
  MLIRContext *ctx = func.getContext();
  Block &entry = func.getBody().front();
  auto ptrTy = LLVM::LLVMPointerType::get(ctx);
  SmallVector<Type> argTypes(func.getFunctionType().getParams());
  for (int32_t index : indices.asArrayRef()) {
    if (index < 0 || index >= static_cast<int32_t>(argTypes.size()) ||
        !isTensorMapType(argTypes[index]))
      return func.emitError("qc.tensor_map_args: argument ")
             << index << " is not a !llvm.array<16 x i64> tensor map";
    BlockArgument arg = entry.getArgument(index);
    Type mapTy = argTypes[index];
    // Every use must take the map's address.
    SmallVector<UnrealizedConversionCastOp> casts;
    for (Operation *user : arg.getUsers()) {
      auto cast = dyn_cast<UnrealizedConversionCastOp>(user);
      if (!cast || cast->getNumOperands() != 1 || cast->getNumResults() != 1 ||
          cast.getResult(0).getType() != ptrTy)
        return user->emitError("a tensor-map argument may only be cast to "
                               "!llvm.ptr (its address)");
      casts.push_back(cast);
    }
    arg.setType(ptrTy);
    for (UnrealizedConversionCastOp cast : casts) {
      cast.getResult(0).replaceAllUsesWith(arg);
      cast.erase();
    }
    argTypes[index] = ptrTy;
    func.setArgAttr(index, LLVM::LLVMDialect::getByValAttrName(),
                    TypeAttr::get(mapTy));
    func.setArgAttr(index, LLVM::LLVMDialect::getAlignAttrName(),
                    IntegerAttr::get(IntegerType::get(ctx, 64), 64));
    func.setArgAttr(index, NVVM::NVVMDialect::getGridConstantAttrName(),
                    UnitAttr::get(ctx));
  }
  func.setFunctionType(LLVM::LLVMFunctionType::get(
      func.getFunctionType().getReturnType(), argTypes));
  func->removeAttr("qc.tensor_map_args");
  return success();
}

struct TensorMapParamsPass
    : public mlir::qc::impl::QCGpuTensorMapParamsBase<TensorMapParamsPass> {
  void runOnOperation() override {
    WalkResult r = getOperation().walk([](LLVM::LLVMFuncOp func) {
      auto indices =
          func->getAttrOfType<DenseI32ArrayAttr>("qc.tensor_map_args");
      if (!indices)
        return WalkResult::advance();
      return failed(rewrite(func, indices)) ? WalkResult::interrupt()
                                            : WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
