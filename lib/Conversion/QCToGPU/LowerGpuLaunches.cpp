//===- LowerGpuLaunches.cpp - qc matmuls -> gpu.launch_func ---------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-lower-gpu-launches: every GPU-targeted qc.wo_matmul whose kernel was
// built by qc-outline-gpu-kernels becomes a launch of the M-tile variant
// that fits the run-time M, on read-only views of its operands and a fresh
// result buffer. See Passes.td for the contract.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToGPU/Passes.h"
#include "qc/Dialect/QC/IR/QC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCLOWERGPULAUNCHES
#include "qc/Conversion/QCToGPU/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {

/// The launch geometry qc-outline-gpu-kernels recorded on an op.
struct LaunchInfo {
  SymbolRefAttr family; // @qc_kernels_<chip>::@<family>
  int64_t block = 0, rowsPerBlock = 0;
  SmallVector<int64_t> mTiles;
};

FailureOr<LaunchInfo> readLaunchInfo(Operation *op, std::string &reason) {
  LaunchInfo info;
  info.family = op->getAttrOfType<SymbolRefAttr>("qc.kernel_symbol");
  auto launch = op->getAttrOfType<DictionaryAttr>("qc.launch");
  if (!info.family || info.family.getNestedReferences().size() != 1 ||
      !launch) {
    reason = "needs 'qc.kernel_symbol' = @module::@family and 'qc.launch' "
             "(run qc-outline-gpu-kernels first)";
    return failure();
  }
  auto block = launch.getAs<IntegerAttr>("block");
  auto rows = launch.getAs<IntegerAttr>("rows_per_block");
  auto tiles = launch.getAs<DenseI64ArrayAttr>("m_tiles");
  if (!block || !rows || !tiles || tiles.empty() || block.getInt() <= 0 ||
      rows.getInt() <= 0 ||
      llvm::any_of(tiles.asArrayRef(), [](int64_t t) { return t <= 0; })) {
    reason = "'qc.launch' needs positive integers 'block' and "
             "'rows_per_block' and a non-empty positive 'm_tiles' array";
    return failure();
  }
  info.block = block.getInt();
  info.rowsPerBlock = rows.getInt();
  info.mTiles.assign(tiles.asArrayRef().begin(), tiles.asArrayRef().end());
  llvm::sort(info.mTiles);
  return info;
}

/// `tensor` as a read-only identity-layout buffer.
Value readOnlyBuffer(ImplicitLocOpBuilder &b, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
  return bufferization::ToBufferOp::create(b, memrefType, tensor,
                                           /*read_only=*/true);
}

/// The address of the first element of `buffer` (an identity-layout memref:
/// its offset is 0) as a global pointer.
Value devicePointer(ImplicitLocOpBuilder &b, Value buffer) {
  assert(cast<MemRefType>(buffer.getType()).getLayout().isIdentity() &&
         "launch operands have identity layouts");
  Value address = memref::ExtractAlignedPointerAsIndexOp::create(b, buffer);
  Value asI64 = arith::IndexCastOp::create(b, b.getI64Type(), address);
  return LLVM::IntToPtrOp::create(
      b, LLVM::LLVMPointerType::get(b.getContext(), 1), asI64);
}

/// ceil(a / c) for a non-negative index and a positive constant.
Value ceilDiv(ImplicitLocOpBuilder &b, Value a, int64_t c) {
  return arith::CeilDivUIOp::create(b, a, arith::ConstantIndexOp::create(b, c));
}

/// Tensor level: the matmul becomes a call of a private stub on its buffers
/// (x, w, scales, [zeros], [bias], y) that carries the launch record; the
/// stub keeps bufferization and buffer deallocation (which do not know
/// gpu.launch_func) exact. expandGpuLaunchStubs replaces it after them.
LogicalResult lowerWeightOnly(WeightOnlyMatmulOp op, const LaunchInfo &info,
                              SymbolTable &symbols, int &counter) {
  PackedWeightOp pw = getPackedWeightDef(op.getWeight());
  if (!pw)
    return op.emitError("GPU matmul of layer '")
           << op.getLayer() << "': the weight must come from qc.packed_weight";
  ImplicitLocOpBuilder b(op.getLoc(), op);
  MLIRContext *ctx = b.getContext();
  auto xType = cast<RankedTensorType>(op.getInput().getType());
  auto yType = cast<RankedTensorType>(op.getType());
  int64_t rank = xType.getRank();
  int64_t k = xType.getShape().back();
  int64_t n = yType.getShape().back();
  Type elem = xType.getElementType();

  // x as M x K.
  Value x = op.getInput();
  if (rank == 1) {
    x = tensor::ExpandShapeOp::create(b, RankedTensorType::get({1, k}, elem), x,
                                      ArrayRef<ReassociationIndices>{{0, 1}});
  } else if (rank > 2) {
    ReassociationIndices lead;
    for (int64_t d = 0; d + 1 < rank; ++d)
      lead.push_back(d);
    x = tensor::CollapseShapeOp::create(
        b, x, ArrayRef<ReassociationIndices>{lead, {rank - 1}});
  }
  auto x2Type = cast<RankedTensorType>(x.getType());
  SmallVector<Value> operands = {readOnlyBuffer(b, x),
                                 readOnlyBuffer(b, pw.getData()),
                                 readOnlyBuffer(b, pw.getScales())};
  if (pw.getZeros())
    operands.push_back(readOnlyBuffer(b, pw.getZeros()));
  if (op.getBias())
    operands.push_back(readOnlyBuffer(b, op.getBias()));
  auto y2Type = RankedTensorType::get({x2Type.getShape()[0], n}, elem);
  auto yBufType = MemRefType::get(y2Type.getShape(), elem);
  SmallVector<Value> dynSizes;
  if (y2Type.isDynamicDim(0))
    dynSizes.push_back(tensor::DimOp::create(b, x, 0));
  Value yBuf =
      memref::AllocOp::create(b, yBufType, dynSizes, b.getI64IntegerAttr(64));
  operands.push_back(yBuf);

  // The stub declaration, next to the enclosing function.
  auto parent = op->getParentOfType<func::FuncOp>();
  OpBuilder mb(parent);
  auto stub = func::FuncOp::create(
      mb, op.getLoc(), "__qc_gpu_launch_" + std::to_string(counter++),
      FunctionType::get(ctx, ValueRange(operands).getTypes(), {}));
  stub.setPrivate();
  symbols.insert(stub);
  auto i64 = [&](int64_t v) { return b.getI64IntegerAttr(v); };
  auto record = DictionaryAttr::get(
      ctx, {b.getNamedAttr("kernel", info.family),
            b.getNamedAttr("block", i64(info.block)),
            b.getNamedAttr("rows_per_block", i64(info.rowsPerBlock)),
            b.getNamedAttr("m_tiles", DenseI64ArrayAttr::get(ctx, info.mTiles)),
            b.getNamedAttr("has_zeros", b.getBoolAttr(bool(pw.getZeros()))),
            b.getNamedAttr("has_bias", b.getBoolAttr(bool(op.getBias())))});
  stub->setAttr("qc.gpu_launch_stub", b.getUnitAttr());
  auto call = func::CallOp::create(b, stub, operands);
  call->setAttr("qc.gpu_launch", record);

  Value y = bufferization::ToTensorOp::create(b, y2Type, yBuf,
                                              /*restrict=*/b.getUnitAttr(),
                                              /*writable=*/b.getUnitAttr());
  if (rank != 2) {
    SmallVector<OpFoldResult> shape;
    ReassociationIndices lead;
    for (int64_t d = 0; d + 1 < rank; ++d) {
      lead.push_back(d);
      if (xType.isDynamicDim(d))
        shape.push_back(tensor::DimOp::create(b, op.getInput(), d).getResult());
      else
        shape.push_back(b.getIndexAttr(xType.getDimSize(d)));
    }
    shape.push_back(b.getIndexAttr(n));
    if (rank == 1)
      y = tensor::CollapseShapeOp::create(
          b, yType, y, ArrayRef<ReassociationIndices>{{0, 1}});
    else
      y = tensor::ExpandShapeOp::create(
          b, yType, y, ArrayRef<ReassociationIndices>{lead, {rank - 1}}, shape);
  }
  op.replaceAllUsesWith(y);
  op.erase();
  return success();
}

} // namespace

LogicalResult mlir::qc::expandGpuLaunchStubs(ModuleOp module) {
  SmallVector<func::CallOp> calls;
  module.walk([&](func::CallOp call) {
    if (call->hasAttr("qc.gpu_launch"))
      calls.push_back(call);
  });
  for (func::CallOp call : calls) {
    auto record = call->getAttrOfType<DictionaryAttr>("qc.gpu_launch");
    auto family = record.getAs<SymbolRefAttr>("kernel");
    auto block = record.getAs<IntegerAttr>("block");
    auto rows = record.getAs<IntegerAttr>("rows_per_block");
    auto tiles = record.getAs<DenseI64ArrayAttr>("m_tiles");
    auto hasZeros = record.getAs<BoolAttr>("has_zeros");
    auto hasBias = record.getAs<BoolAttr>("has_bias");
    size_t expected =
        4 + (hasZeros && hasZeros.getValue()) + (hasBias && hasBias.getValue());
    if (!family || !block || !rows || !tiles || tiles.empty() || !hasZeros ||
        !hasBias || call.getNumOperands() != expected ||
        !llvm::all_of(call.getOperandTypes(), [](Type t) {
          auto m = dyn_cast<MemRefType>(t);
          return m && m.getLayout().isIdentity();
        }))
      return call.emitError("malformed qc.gpu_launch record");
    ImplicitLocOpBuilder b(call.getLoc(), call);
    ValueRange ops = call.getOperands();
    Value null =
        LLVM::ZeroOp::create(b, LLVM::LLVMPointerType::get(b.getContext(), 1));
    size_t at = 3;
    Value px = devicePointer(b, ops[0]);
    Value pw = devicePointer(b, ops[1]);
    Value ps = devicePointer(b, ops[2]);
    Value pz = hasZeros.getValue() ? devicePointer(b, ops[at++]) : null;
    Value pb = hasBias.getValue() ? devicePointer(b, ops[at++]) : null;
    Value yBuf = ops[at];
    Value py = devicePointer(b, yBuf);
    Value m = memref::DimOp::create(b, ops[0], 0);
    Value m32 = arith::IndexCastOp::create(b, b.getI32Type(), m);
    int64_t n = cast<MemRefType>(yBuf.getType()).getShape()[1];

    Value one = arith::ConstantIndexOp::create(b, 1);
    Value gridX =
        arith::ConstantIndexOp::create(b, llvm::divideCeil(n, rows.getInt()));
    Value blockX = arith::ConstantIndexOp::create(b, block.getInt());
    SmallVector<Value> args = {px, pw, ps, pz, pb, py, m32};
    StringAttr kernelModule = family.getRootReference();
    StringRef name = family.getLeafReference().getValue();
    auto launch = [&](ImplicitLocOpBuilder &lb, int64_t tile) {
      auto kernel = SymbolRefAttr::get(
          kernelModule,
          {FlatSymbolRefAttr::get(lb.getContext(),
                                  (name + "_mt" + Twine(tile)).str())});
      gpu::LaunchFuncOp::create(
          lb, kernel, gpu::KernelDim3{gridX, ceilDiv(lb, m, tile), one},
          gpu::KernelDim3{blockX, one, one},
          /*dynamicSharedMemorySize=*/Value(), args,
          /*asyncObject=*/Value());
    };
    // if (M > 0) { if (M <= t0) launch t0 else if (M <= t1) ... else tLast }
    SmallVector<int64_t> sorted(tiles.asArrayRef());
    llvm::sort(sorted);
    Value zero = arith::ConstantIndexOp::create(b, 0);
    Value nonEmpty =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, m, zero);
    auto outer = scf::IfOp::create(b, nonEmpty, /*withElseRegion=*/false);
    ImplicitLocOpBuilder ib(call.getLoc(), outer.thenBlock()->getTerminator());
    for (size_t i = 0; i + 1 < sorted.size(); ++i) {
      Value fits =
          arith::CmpIOp::create(ib, arith::CmpIPredicate::ule, m,
                                arith::ConstantIndexOp::create(ib, sorted[i]));
      auto branch = scf::IfOp::create(ib, fits, /*withElseRegion=*/true);
      ImplicitLocOpBuilder tb(call.getLoc(),
                              branch.thenBlock()->getTerminator());
      launch(tb, sorted[i]);
      ib.setInsertionPoint(branch.elseBlock()->getTerminator());
    }
    launch(ib, sorted.back());
    call.erase();
  }
  SmallVector<func::FuncOp> stubs;
  for (auto f : module.getOps<func::FuncOp>())
    if (f->hasAttr("qc.gpu_launch_stub"))
      stubs.push_back(f);
  for (func::FuncOp f : stubs) {
    if (!f.symbolKnownUseEmpty(module))
      return f.emitError("GPU launch stub still in use");
    f.erase();
  }
  return success();
}

namespace {

struct LowerGpuLaunchesPass
    : public mlir::qc::impl::QCLowerGpuLaunchesBase<LowerGpuLaunchesPass> {
  using Base::Base;

  void runOnOperation() override {
    SymbolTable symbols(getOperation());
    int counter = 0;
    SmallVector<Operation *> ops;
    bool failedAny = false;
    getOperation().walk([&](Operation *op) {
      if (!isa<WeightOnlyMatmulOp, Int8MatmulOp>(op))
        return;
      auto kernel = op->getAttrOfType<KernelAttr>("kernel");
      if (!kernel || kernel.getTarget() == "host")
        return;
      ops.push_back(op);
    });
    for (Operation *op : ops) {
      auto kernel = op->getAttrOfType<KernelAttr>("kernel");
      StringRef layer = op->getAttrOfType<StringAttr>("layer").getValue();
      std::string reason;
      FailureOr<LaunchInfo> info = readLaunchInfo(op, reason);
      auto wo = dyn_cast<WeightOnlyMatmulOp>(op);
      if (succeeded(info) && (!wo || kernel.getKind() != KernelKind::Gemv))
        reason = "no launch lowering for this kernel kind yet";
      if (!reason.empty() || failed(info)) {
        op->emitError() << "layer '" << layer << "': GPU kernel '"
                        << stringifyKernelKind(kernel.getKind()) << "' for "
                        << kernel.getTarget() << ": " << reason;
        failedAny = true;
        continue;
      }
      if (failed(lowerWeightOnly(wo, *info, symbols, counter)))
        failedAny = true;
    }
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
