//===- DeviceMemory.cpp - Buffers of GPU modules live on the device -------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-gpu-device-memory (allocations, copies and weights of host functions
// moved to device memory) and qc-gpu-check-host-code (no host access to
// buffer contents after the GPU mapping). See Passes.td.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToGPU/Passes.h"
#include "qc/Target/GpuModule.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCGPUDEVICEMEMORY
#define GEN_PASS_DEF_QCGPUCHECKHOSTCODE
#include "qc/Conversion/QCToGPU/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;

namespace {

/// Buffers of `index` elements are shape operands (memref.reshape) the
/// host code reads itself: they stay in host memory.
bool isHostShapeBuffer(Value memref) {
  auto type = dyn_cast<MemRefType>(memref.getType());
  return type && type.getElementType().isIndex();
}

/// Host functions: everything outside gpu.modules.
template <typename Fn> void walkHostOps(ModuleOp module, Fn fn) {
  module.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (isa<gpu::GPUModuleOp>(op))
      return WalkResult::skip();
    fn(op);
    return WalkResult::advance();
  });
}

/// A memref descriptor for `pointer` (offset 0, identity strides) of the
/// static-shaped `type`, cast to the memref type; the memref-to-LLVM lowering
/// folds the cast away.
Value descriptorFromPointer(ImplicitLocOpBuilder &b, Value pointer,
                            MemRefType type) {
  MLIRContext *ctx = b.getContext();
  Type i64 = b.getI64Type();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  int64_t rank = type.getRank();
  SmallVector<Type> fields = {ptr, ptr, i64};
  if (rank) {
    fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
    fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
  }
  auto structType = LLVM::LLVMStructType::getLiteral(ctx, fields);
  Value desc = LLVM::PoisonOp::create(b, structType);
  desc = LLVM::InsertValueOp::create(b, desc, pointer, ArrayRef<int64_t>{0});
  desc = LLVM::InsertValueOp::create(b, desc, pointer, ArrayRef<int64_t>{1});
  auto constant = [&](int64_t v) {
    return LLVM::ConstantOp::create(b, i64, b.getI64IntegerAttr(v));
  };
  desc =
      LLVM::InsertValueOp::create(b, desc, constant(0), ArrayRef<int64_t>{2});
  int64_t stride = 1;
  for (int64_t d = rank - 1; d >= 0; --d) {
    desc = LLVM::InsertValueOp::create(b, desc, constant(type.getDimSize(d)),
                                       ArrayRef<int64_t>{3, d});
    desc = LLVM::InsertValueOp::create(b, desc, constant(stride),
                                       ArrayRef<int64_t>{4, d});
    stride *= type.getDimSize(d);
  }
  return UnrealizedConversionCastOp::create(b, type, desc).getResult(0);
}

/// Host code reading single elements of a device buffer (a position or
/// length argument such as `%pos : memref<i64>` whose value sizes the
/// loops) reads a host copy: the buffer (rank 0 or at most
/// kMaxReadBackElements static elements, identity layout) is copied into a
/// stack buffer with gpu.memcpy, waited, and loaded from. Loads inside linalg
/// bodies and parallel loops run on the device and are left alone.
constexpr int64_t kMaxReadBackElements = 16;

void readScalarsBack(ModuleOp module) {
  SmallVector<memref::LoadOp> loads;
  walkHostOps(module, [&](Operation *op) {
    auto load = dyn_cast<memref::LoadOp>(op);
    if (!load || isHostShapeBuffer(load.getMemref()) ||
        load.getMemref().getDefiningOp<memref::AllocaOp>() ||
        load->getParentOfType<linalg::LinalgOp>() ||
        load->getParentOfType<scf::ParallelOp>())
      return;
    MemRefType type = load.getMemRefType();
    if (type.hasStaticShape() && type.getLayout().isIdentity() &&
        type.getNumElements() <= kMaxReadBackElements)
      loads.push_back(load);
  });
  auto tokenType = gpu::AsyncTokenType::get(module.getContext());
  // The functions that now synchronize mid-run (module info "host_sync"):
  // they cannot be captured as CUDA graphs.
  llvm::SetVector<Attribute> syncing;
  if (auto previous = module->getAttrOfType<ArrayAttr>(::qc::kHostSyncAttr))
    syncing.insert(previous.begin(), previous.end());
  for (memref::LoadOp load : loads) {
    if (auto func = load->getParentOfType<func::FuncOp>())
      syncing.insert(StringAttr::get(module.getContext(), func.getSymName()));
    ImplicitLocOpBuilder b(load.getLoc(), load);
    auto host = memref::AllocaOp::create(
        b, MemRefType::get(load.getMemRefType().getShape(),
                           load.getMemRefType().getElementType()));
    Value start =
        gpu::WaitOp::create(b, tokenType, ValueRange{}).getAsyncToken();
    auto copy = gpu::MemcpyOp::create(b, tokenType, ValueRange{start}, host,
                                      load.getMemref());
    gpu::WaitOp::create(b, Type(), ValueRange{copy.getAsyncToken()});
    load.getMemrefMutable().assign(host);
  }
  if (!syncing.empty())
    module->setAttr(::qc::kHostSyncAttr,
                    ArrayAttr::get(module.getContext(), syncing.getArrayRef()));
}

struct GpuDeviceMemoryPass
    : public mlir::qc::impl::QCGpuDeviceMemoryBase<GpuDeviceMemoryPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (failed(mlir::qc::expandGpuLaunchStubs(module)))
      return signalPassFailure();
    llvm::StringSet<> weights;
    if (auto records = module->getAttrOfType<ArrayAttr>("qc.weights"))
      for (Attribute r : records)
        if (auto dict = dyn_cast<DictionaryAttr>(r))
          if (auto symbol = dict.getAs<StringAttr>("symbol"))
            weights.insert(symbol.getValue());

    SmallVector<Operation *> ops;
    walkHostOps(module, [&](Operation *op) {
      if (isa<memref::AllocOp, memref::DeallocOp, memref::CopyOp,
              memref::GetGlobalOp, memref::AllocaOp>(op))
        ops.push_back(op);
    });
    auto tokenType = gpu::AsyncTokenType::get(ctx);
    bool failedAny = false;
    for (Operation *op : ops) {
      ImplicitLocOpBuilder b(op->getLoc(), op);
      if (isa<memref::AllocOp, memref::DeallocOp, memref::AllocaOp>(op) &&
          isHostShapeBuffer(op->getNumResults() ? op->getResult(0)
                                                : op->getOperand(0)))
        continue;
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        Value start =
            gpu::WaitOp::create(b, tokenType, ValueRange{}).getAsyncToken();
        auto dev = gpu::AllocOp::create(
            b, alloc.getType(), tokenType, ValueRange{start},
            alloc.getDynamicSizes(), alloc.getSymbolOperands(),
            /*hostShared=*/UnitAttr());
        gpu::WaitOp::create(b, Type(), ValueRange{dev.getAsyncToken()});
        alloc.replaceAllUsesWith(dev.getMemref());
        alloc.erase();
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        Value start =
            gpu::WaitOp::create(b, tokenType, ValueRange{}).getAsyncToken();
        auto dev = gpu::DeallocOp::create(b, tokenType, ValueRange{start},
                                          dealloc.getMemref());
        gpu::WaitOp::create(b, Type(), ValueRange{dev.getAsyncToken()});
        dealloc.erase();
      } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
        linalg::CopyOp::create(b, ValueRange{copy.getSource()},
                               ValueRange{copy.getTarget()});
        copy.erase();
      } else if (auto get = dyn_cast<memref::GetGlobalOp>(op)) {
        if (!weights.contains(get.getName())) {
          get.emitError() << "global '" << get.getName()
                          << "' is not an externalized weight and cannot be "
                             "placed in device memory";
          failedAny = true;
          continue;
        }
        auto ptr = LLVM::LLVMPointerType::get(ctx);
        Value slot = LLVM::AddressOfOp::create(b, ptr, get.getName());
        Value pointer = LLVM::LoadOp::create(b, ptr, slot, /*alignment=*/8);
        Value view = descriptorFromPointer(b, pointer, get.getType());
        get.replaceAllUsesWith(view);
        get.erase();
      } else {
        op->emitError("stack buffers (memref.alloca) cannot be placed in "
                      "device memory");
        failedAny = true;
      }
    }
    if (failedAny)
      return signalPassFailure();
    readScalarsBack(module);

    // The weight globals become pointer slots of the same name.
    SmallVector<memref::GlobalOp> globals;
    for (auto global : module.getOps<memref::GlobalOp>())
      if (weights.contains(global.getSymName()))
        globals.push_back(global);
    for (memref::GlobalOp global : globals) {
      OpBuilder b(global);
      auto ptr = LLVM::LLVMPointerType::get(ctx);
      auto slot = LLVM::GlobalOp::create(
          b, global.getLoc(), ptr, /*isConstant=*/false,
          LLVM::Linkage::External, global.getSymName(), Attribute(),
          /*alignment=*/8);
      Block *block = new Block();
      slot.getInitializerRegion().push_back(block);
      OpBuilder ib = OpBuilder::atBlockBegin(block);
      Value zero = LLVM::ZeroOp::create(ib, global.getLoc(), ptr);
      LLVM::ReturnOp::create(ib, global.getLoc(), zero);
      global.erase();
    }
  }
};

struct GpuCheckHostCodePass
    : public mlir::qc::impl::QCGpuCheckHostCodeBase<GpuCheckHostCodePass> {
  using Base::Base;

  void runOnOperation() override {
    bool failedAny = false;
    walkHostOps(getOperation(), [&](Operation *op) {
      if (op->getParentOfType<gpu::LaunchOp>())
        return;
      if (isa<memref::LoadOp, memref::StoreOp>(op)) {
        Value buffer =
            isa<memref::LoadOp>(op) ? op->getOperand(0) : op->getOperand(1);
        // A host shape buffer, or a host copy (qc-gpu-device-memory refuses
        // any other stack buffer).
        if (isHostShapeBuffer(buffer) ||
            buffer.getDefiningOp<memref::AllocaOp>())
          return;
      }
      if (isa<memref::LoadOp, memref::StoreOp, memref::CopyOp,
              vector::TransferReadOp, vector::TransferWriteOp, vector::LoadOp,
              vector::StoreOp, linalg::LinalgOp>(op)) {
        op->emitError() << "host code would read or write device memory: "
                        << op->getName()
                        << " (a loop nest the GPU mapping could not take)";
        failedAny = true;
      }
    });
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
