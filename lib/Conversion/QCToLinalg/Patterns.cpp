//===- Patterns.cpp - qc op lowering patterns for the host ------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// One OpConversionPattern per qc op. Activations are collapsed to [M, K],
// computed, and expanded back; matmuls use the blocked kernels of
// MatmulKernels.cpp, everything else linalg.generic.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"
#include "qc/Conversion/QCToLinalg/QCToLinalg.h"
#include "qc/Dialect/QC/Utils/Fp8.h"
#include "qc/Dialect/QC/Utils/Sampling.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/xxhash.h"

#include <cmath>

using namespace mlir;
using namespace mlir::qc;
using namespace ::qc::detail;
using ::qc::MatmulKernelSpec;
using ::qc::PackedWeightAccess;
using ::qc::RowChunkLoader;

namespace {

Value cIdx(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value cF32(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

/// Loader of row chunks of a float [rows, K] tensor, converted to f32.
RowChunkLoader floatRowLoader(Value t, int64_t vl) {
  return [t, vl](OpBuilder &b, Location loc, Value row, Value k0) -> Value {
    Type elem = cast<RankedTensorType>(t.getType()).getElementType();
    Value v = vector::TransferReadOp::create(
        b, loc, VectorType::get({vl}, elem), t, ValueRange{row, k0},
        std::nullopt, ArrayRef<bool>{true});
    return castFloat(b, loc, v, b.getF32Type());
  };
}

/// Where an outlined kernel writes: `init` ([rows, N], filled and returned)
/// and, for kernels called through qcrt_parallel_for, the range of column
/// panels to compute (null: all).
struct KernelOutput {
  Value init;
  Value panelBegin, panelEnd;
};

/// Sets the panel range of `spec` from `out` and builds the kernel.
Value buildKernel(OpBuilder &b, Location loc, MatmulKernelSpec &spec,
                  Value rows, const KernelOutput &out) {
  spec.panelBegin = out.panelBegin;
  spec.panelEnd = out.panelEnd;
  Value m = tensor::DimOp::create(b, loc, rows, 0);
  return ::qc::buildBlockedMatmul(b, loc, spec, m, out.init);
}

/// Activation scales are per tensor when shaped [1] (even where a [?, K]
/// input makes that shape also match the leading shape), else per token.
bool isPerTokenScales(RankedTensorType input, RankedTensorType scales) {
  bool perTensor = scales.getRank() == 1 && scales.getDimSize(0) == 1;
  return !perTensor && scales.getRank() == input.getRank() - 1;
}

/// Adds bias[n] (if any) to the f32 value `v` and casts to `outElem`.
Value biasAndCast(OpBuilder &b, Location loc, Value v, Value bias, Value n,
                  Type outElem) {
  if (bias) {
    Value bn = tensor::ExtractOp::create(b, loc, bias, ValueRange{n});
    v = arith::AddFOp::create(b, loc, v, castFloat(b, loc, bn, b.getF32Type()));
  }
  return castFloat(b, loc, v, outElem);
}

/// The weight-only kernel: y = x * dequant(W)^T (+ b), x [M, K] float.
Value buildWeightOnlyKernel(OpBuilder &b, Location loc,
                            const PackedWeightAccess &w, Value x, Value bias,
                            Type outElem, const KernelOutput &out) {
  int64_t vl = w.chooseVectorWidth(16);
  MatmulKernelSpec spec;
  spec.n = w.n;
  spec.k = w.k;
  spec.vectorWidth = vl;
  spec.loadLhs = floatRowLoader(x, vl);
  // Prefill-sized inputs dequantize each weight panel once.
  spec.stageRhsMinRows = 16;
  bool scaleOutside = w.rowConstantScale();
  spec.loadRhs = [w, vl, scaleOutside](OpBuilder &b, Location loc, Value n,
                                       Value k0) {
    return w.loadDequantized(b, loc, n, k0, vl, /*applyScale=*/!scaleOutside);
  };
  spec.epilogue = [w, bias, outElem, scaleOutside](
                      OpBuilder &b, Location loc, Value acc, Value m, Value n) {
    if (scaleOutside)
      acc = arith::MulFOp::create(b, loc, acc,
                                  w.scaleAt(b, loc, n, cIdx(b, loc, 0)));
    return biasAndCast(b, loc, acc, bias, n, outElem);
  };
  return buildKernel(b, loc, spec, x, out);
}

/// The W8A8 kernel: y = (sum q_x q_w) * s_x * s_w (+ b), q_x [M, K] i8 or
/// f8E4M3FN (the weight's type), `xScales` [M] (per token) or [1] (per
/// tensor). INT8 multiplies i16-extended codes into i32 accumulators; FP8
/// multiplies the decoded E4M3 values (exact in f32) into f32 accumulators.
Value buildInt8Kernel(OpBuilder &b, Location loc, const PackedWeightAccess &w,
                      Value q, Value xScales, bool perToken, Value bias,
                      Type outElem, const KernelOutput &out) {
  int64_t vl = w.chooseVectorWidth(16);
  bool fp8 = w.scheme.isFp8Weight();
  MatmulKernelSpec spec;
  spec.n = w.n;
  spec.k = w.k;
  spec.vectorWidth = vl;
  spec.integer = !fp8;
  Type qElem = cast<RankedTensorType>(q.getType()).getElementType();
  spec.loadLhs = [q, vl, fp8, qElem](OpBuilder &b, Location loc, Value row,
                                     Value k0) -> Value {
    Value v = vector::TransferReadOp::create(
        b, loc, VectorType::get({vl}, qElem), q, ValueRange{row, k0},
        std::nullopt, ArrayRef<bool>{true});
    if (fp8)
      return ::qc::fp8::emitDecodeE4M3(b, loc, v);
    return arith::ExtSIOp::create(b, loc, VectorType::get({vl}, b.getI16Type()),
                                  v)
        .getResult();
  };
  if (fp8) {
    // Decode each weight panel once for prefill-sized inputs.
    spec.stageRhsMinRows = 16;
    spec.loadRhs = [w, vl](OpBuilder &b, Location loc, Value n, Value k0) {
      return w.loadDequantized(b, loc, n, k0, vl, /*applyScale=*/false);
    };
  } else {
    spec.loadRhs = [w, vl](OpBuilder &b, Location loc, Value n, Value k0) {
      return w.loadInt16(b, loc, n, k0, vl);
    };
  }
  spec.epilogue = [=](OpBuilder &b, Location loc, Value acc, Value m, Value n) {
    Value v = fp8 ? acc : arith::SIToFPOp::create(b, loc, b.getF32Type(), acc);
    Value sx = tensor::ExtractOp::create(
        b, loc, xScales, ValueRange{perToken ? m : cIdx(b, loc, 0)});
    v = arith::MulFOp::create(b, loc, v, sx);
    v = arith::MulFOp::create(b, loc, v, w.scaleAt(b, loc, n, cIdx(b, loc, 0)));
    return biasAndCast(b, loc, v, bias, n, outElem);
  };
  return buildKernel(b, loc, spec, q, out);
}

/// Column panels of a kernel with `n` outputs and the default block sizes.
int64_t numPanels(int64_t n) {
  MatmulKernelSpec spec;
  spec.n = n;
  return spec.getNumPanels();
}

/// Calls the kernel built by `body` through a private function
/// `__qc_kernel_<hash>`, created on first use in the enclosing module. The
/// function is keyed by `config` (scheme, layout, flags: whatever `body`
/// depends on besides its arguments) and the argument types, so every layer
/// with the same configuration shares one copy: a model's ~200 matmuls
/// become a handful of functions, and the LLVM back end optimizes each
/// distinct kernel once instead of once per layer. Arguments flagged in
/// `rowShaped` have their leading (row) dimension made dynamic at the call,
/// so prefill and decode share the function too. Returns a [rows, n] tensor
/// with the caller's row type.
///
/// With `parallel`, the function also takes the output tensor and a range of
/// column panels ([rows, N] init, begin, end: destination-passing style) and
/// is marked `qc.parallel_range`; the call passes the whole range [0,
/// numPanels). After bufferization `qc-host-parallelize-calls` runs such calls
/// through qcrt_parallel_for. Without the runtime the call computes
/// everything, so the IR means the same either way.
Value callKernel(
    OpBuilder &b, Location loc, Operation *anchor, StringRef config,
    ValueRange args, ArrayRef<bool> rowShaped, int64_t n, int64_t numPanels,
    Type outElem, bool parallel,
    function_ref<Value(OpBuilder &, Location, ValueRange, const KernelOutput &)>
        body) {
  SmallVector<Value> callArgs(args);
  for (auto [i, v] : llvm::enumerate(args)) {
    if (!rowShaped[i])
      continue;
    auto t = cast<RankedTensorType>(v.getType());
    SmallVector<int64_t> shape(t.getShape());
    shape[0] = ShapedType::kDynamic;
    auto dyn = RankedTensorType::get(shape, t.getElementType());
    if (dyn != t)
      callArgs[i] = tensor::CastOp::create(b, loc, dyn, v);
  }
  auto resType = RankedTensorType::get({ShapedType::kDynamic, n}, outElem);
  unsigned numInputs = callArgs.size();
  if (parallel) {
    callArgs.push_back(emptyRows(b, loc, callArgs[0], n, outElem));
    callArgs.push_back(cIdx(b, loc, 0));
    callArgs.push_back(cIdx(b, loc, numPanels));
  }
  auto fnType = b.getFunctionType(ValueRange(callArgs).getTypes(), resType);

  std::string key;
  llvm::raw_string_ostream os(key);
  os << config << ';' << fnType;
  auto module = anchor->getParentOfType<ModuleOp>();
  std::string base =
      "__qc_kernel_" + llvm::utohexstr(llvm::xxh3_64bits(key), true);
  std::string name = base;
  func::FuncOp fn;
  for (unsigned i = 1;; ++i) {
    fn = module.lookupSymbol<func::FuncOp>(name);
    if (!fn)
      break;
    auto k = fn->getAttrOfType<StringAttr>("qc.kernel_key");
    if (k && k.getValue() == key)
      break;
    name = base + "_" + std::to_string(i); // hash collision
  }
  if (!fn) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(module.getBody());
    fn = func::FuncOp::create(b, loc, name, fnType);
    fn.setPrivate();
    fn->setAttr("qc.kernel_key", b.getStringAttr(key));
    if (parallel)
      fn->setAttr("qc.parallel_range", b.getUnitAttr());
    SmallVector<Location> locs(callArgs.size(), loc);
    Block *entry = b.createBlock(&fn.getBody(), {}, fnType.getInputs(), locs);
    b.setInsertionPointToEnd(entry);
    ValueRange fnArgs = entry->getArguments();
    KernelOutput out;
    if (parallel) {
      out.init = fnArgs[numInputs];
      out.panelBegin = fnArgs[numInputs + 1];
      out.panelEnd = fnArgs[numInputs + 2];
    } else {
      out.init = emptyRows(b, loc, fnArgs[0], n, outElem);
    }
    Value y = body(b, loc, fnArgs.take_front(numInputs), out);
    if (y.getType() != resType)
      y = tensor::CastOp::create(b, loc, resType, y);
    func::ReturnOp::create(b, loc, y);
  }
  Value y = func::CallOp::create(b, loc, fn, callArgs).getResult(0);
  auto rowType = RankedTensorType::get(
      {cast<RankedTensorType>(args[0].getType()).getDimSize(0), n}, outElem);
  if (rowType != resType)
    y = tensor::CastOp::create(b, loc, rowType, y);
  return y;
}

/// `w` reading its data, scales and zero points from `vals` (in that order,
/// zeros only for asymmetric schemes) instead of the packed weight's operands.
PackedWeightAccess rebindAccess(PackedWeightAccess w, ValueRange vals) {
  w.data = vals[0];
  w.scales = vals[1];
  w.zeros = w.zeros ? vals[2] : Value();
  return w;
}

/// The packed weight's operands, in `rebindAccess` order.
SmallVector<Value> accessOperands(const PackedWeightAccess &w) {
  SmallVector<Value> v{w.data, w.scales};
  if (w.zeros)
    v.push_back(w.zeros);
  return v;
}

std::string attrString(Attribute a) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << a;
  return s;
}

/// Outlined weight-only kernel (see buildWeightOnlyKernel).
Value callWeightOnlyKernel(OpBuilder &b, Location loc, Operation *anchor,
                           const PackedWeightAccess &w, Value x, Value bias,
                           Type outElem, bool parallel) {
  SmallVector<Value> args{x};
  llvm::append_range(args, accessOperands(w));
  if (bias)
    args.push_back(bias);
  SmallVector<bool> rows(args.size(), false);
  rows[0] = true;
  std::string config = "wo;" + attrString(w.scheme) + ";" +
                       attrString(w.layout) + ";n=" + std::to_string(w.n) +
                       ";k=" + std::to_string(w.k) + ";" +
                       attrString(TypeAttr::get(outElem));
  unsigned nw = args.size() - 1 - (bias ? 1 : 0);
  return callKernel(
      b, loc, anchor, config, args, rows, w.n, numPanels(w.n), outElem,
      parallel,
      [&](OpBuilder &b, Location loc, ValueRange a, const KernelOutput &out) {
        PackedWeightAccess wa = rebindAccess(w, a.slice(1, nw));
        return buildWeightOnlyKernel(b, loc, wa, a[0],
                                     bias ? a.back() : Value(), outElem, out);
      });
}

/// Outlined INT8 kernel (see buildInt8Kernel).
Value callInt8Kernel(OpBuilder &b, Location loc, Operation *anchor,
                     const PackedWeightAccess &w, Value q, Value xScales,
                     bool perToken, Value bias, Type outElem, bool parallel) {
  SmallVector<Value> args{q, xScales};
  llvm::append_range(args, accessOperands(w));
  if (bias)
    args.push_back(bias);
  SmallVector<bool> rows(args.size(), false);
  rows[0] = true;
  rows[1] = perToken;
  std::string config =
      "i8;" + attrString(w.scheme) + ";" + attrString(w.layout) +
      ";n=" + std::to_string(w.n) + ";k=" + std::to_string(w.k) +
      (perToken ? ";token;" : ";tensor;") + attrString(TypeAttr::get(outElem));
  unsigned nw = args.size() - 2 - (bias ? 1 : 0);
  return callKernel(
      b, loc, anchor, config, args, rows, w.n, numPanels(w.n), outElem,
      parallel,
      [&](OpBuilder &b, Location loc, ValueRange a, const KernelOutput &out) {
        PackedWeightAccess wa = rebindAccess(w, a.slice(2, nw));
        return buildInt8Kernel(b, loc, wa, a[0], a[1], perToken,
                               bias ? a.back() : Value(), outElem, out);
      });
}

/// Returns the access to the packed weight `v` or fails with a diagnostic
/// reason (the pass reports it before conversion).
FailureOr<PackedWeightAccess> getAccess(Value v, std::string &reason) {
  PackedWeightOp def = getPackedWeightDef(v);
  if (!def) {
    reason = "weight must be produced by qc.packed_weight";
    return failure();
  }
  return PackedWeightAccess::get(def, reason);
}

//===----------------------------------------------------------------------===//
// Matmuls
//===----------------------------------------------------------------------===//

struct LinearOpLowering : OpConversionPattern<LinearOp> {
  LinearOpLowering(MLIRContext *ctx, bool parallel)
      : OpConversionPattern(ctx), parallel(parallel) {}
  bool parallel; ///< Kernels called through qcrt_parallel_for.
  LogicalResult
  matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto wType = op.getWeight().getType();
    Type outElem = op.getType().getElementType();
    Value x = collapseToRows(rewriter, loc, adaptor.getInput());
    int64_t n = wType.getDimSize(0), k = wType.getDimSize(1);
    Value bias = adaptor.getBias();
    SmallVector<Value> args{x, adaptor.getWeight()};
    if (bias)
      args.push_back(bias);
    SmallVector<bool> rows(args.size(), false);
    rows[0] = true;
    std::string config = "linear;" + attrString(TypeAttr::get(outElem));
    Value y = callKernel(
        rewriter, loc, op, config, args, rows, n, numPanels(n), outElem,
        parallel,
        [&](OpBuilder &b, Location loc, ValueRange a, const KernelOutput &out) {
          int64_t vl = chooseFloatVectorWidth(k);
          MatmulKernelSpec spec;
          spec.n = n;
          spec.k = k;
          spec.vectorWidth = vl;
          spec.loadLhs = floatRowLoader(a[0], vl);
          spec.loadRhs = floatRowLoader(a[1], vl);
          Value bv = bias ? a[2] : Value();
          spec.epilogue = [bv, outElem](OpBuilder &b, Location loc, Value acc,
                                        Value, Value n) {
            return biasAndCast(b, loc, acc, bv, n, outElem);
          };
          return buildKernel(b, loc, spec, a[0], out);
        });
    rewriter.replaceOp(
        op, expandFromRows(rewriter, loc, y, adaptor.getInput(), op.getType()));
    return success();
  }
};

struct WeightOnlyMatmulOpLowering : OpConversionPattern<WeightOnlyMatmulOp> {
  WeightOnlyMatmulOpLowering(MLIRContext *ctx, bool parallel)
      : OpConversionPattern(ctx), parallel(parallel) {}
  bool parallel; ///< Kernels called through qcrt_parallel_for.
  LogicalResult
  matchAndRewrite(WeightOnlyMatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    std::string reason;
    FailureOr<PackedWeightAccess> w = getAccess(op.getWeight(), reason);
    if (failed(w))
      return rewriter.notifyMatchFailure(op, reason);
    Location loc = op.getLoc();
    Type outElem = op.getType().getElementType();
    Value x = collapseToRows(rewriter, loc, adaptor.getInput());
    Value bias = adaptor.getBias();
    Value y;
    KernelAttr kernel = op.getKernelAttr();
    if (kernel && kernel.getKind() == KernelKind::Adaptive) {
      // M < T: weight-only; M >= T: per-token INT8 activations, same weight.
      Value m = tensor::DimOp::create(rewriter, loc, x, 0);
      Value small =
          arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::slt, m,
                                cIdx(rewriter, loc, kernel.getThreshold()));
      Type yType = RankedTensorType::get({ShapedType::kDynamic, w->n}, outElem);
      auto ifOp = scf::IfOp::create(
          rewriter, loc, small,
          [&](OpBuilder &b, Location loc) {
            Value r = callWeightOnlyKernel(b, loc, op, *w, x, bias, outElem,
                                           parallel);
            scf::YieldOp::create(
                b, loc, tensor::CastOp::create(b, loc, yType, r).getResult());
          },
          [&](OpBuilder &b, Location loc) {
            auto [q, s] = quantizeRowsDynamic(b, loc, x, b.getI8Type());
            Value r = callInt8Kernel(b, loc, op, *w, q, s, /*perToken=*/true,
                                     bias, outElem, parallel);
            scf::YieldOp::create(
                b, loc, tensor::CastOp::create(b, loc, yType, r).getResult());
          });
      y = ifOp.getResult(0);
    } else {
      y = callWeightOnlyKernel(rewriter, loc, op, *w, x, bias, outElem,
                               parallel);
    }
    rewriter.replaceOp(
        op, expandFromRows(rewriter, loc, y, adaptor.getInput(), op.getType()));
    return success();
  }
};

struct Int8MatmulOpLowering : OpConversionPattern<Int8MatmulOp> {
  Int8MatmulOpLowering(MLIRContext *ctx, bool parallel)
      : OpConversionPattern(ctx), parallel(parallel) {}
  bool parallel; ///< Kernels called through qcrt_parallel_for.
  LogicalResult
  matchAndRewrite(Int8MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    std::string reason;
    FailureOr<PackedWeightAccess> w = getAccess(op.getWeight(), reason);
    if (failed(w))
      return rewriter.notifyMatchFailure(op, reason);
    if (!w->scheme.getSymmetric() || !w->rowConstantScale())
      return rewriter.notifyMatchFailure(op, "weight must be symmetric with "
                                             "per-channel/per-tensor scales");
    Location loc = op.getLoc();
    auto inType = op.getInput().getType();
    bool perToken = isPerTokenScales(inType, op.getInputScales().getType());
    Value q = collapseToRows(rewriter, loc, adaptor.getInput());
    Value s = adaptor.getInputScales();
    if (perToken)
      s = collapseLeading(rewriter, loc, s);
    Value y =
        callInt8Kernel(rewriter, loc, op, *w, q, s, perToken, adaptor.getBias(),
                       op.getType().getElementType(), parallel);
    rewriter.replaceOp(
        op, expandFromRows(rewriter, loc, y, adaptor.getInput(), op.getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

struct DequantizeWeightOpLowering : OpConversionPattern<DequantizeWeightOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeWeightOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    std::string reason;
    FailureOr<PackedWeightAccess> w = getAccess(op.getWeight(), reason);
    if (failed(w))
      return rewriter.notifyMatchFailure(op, reason);
    Location loc = op.getLoc();
    Type elem = op.getType().getElementType();
    int64_t vl = w->chooseVectorWidth(16);
    Value init =
        tensor::EmptyOp::create(rewriter, loc, op.getType().getShape(), elem);
    auto rows = scf::ForOp::create(
        rewriter, loc, cIdx(rewriter, loc, 0), cIdx(rewriter, loc, w->n),
        cIdx(rewriter, loc, 1), ValueRange{init},
        [&](OpBuilder &b, Location loc, Value n, ValueRange iter) {
          auto cols = scf::ForOp::create(
              b, loc, cIdx(b, loc, 0), cIdx(b, loc, w->k), cIdx(b, loc, vl),
              iter, [&](OpBuilder &b, Location loc, Value k0, ValueRange it) {
                Value v = w->loadDequantized(b, loc, n, k0, vl, true);
                v = castFloat(b, loc, v, elem);
                Value r = vector::TransferWriteOp::create(b, loc, v, it[0],
                                                          ValueRange{n, k0},
                                                          ArrayRef<bool>{true})
                              .getResult();
                scf::YieldOp::create(b, loc, r);
              });
          scf::YieldOp::create(b, loc, cols.getResult(0));
        });
    rewriter.replaceOp(op, rows.getResult(0));
    return success();
  }
};

struct ExternalWeightOpLowering : OpConversionPattern<ExternalWeightOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ExternalWeightOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto module = op->getParentOfType<ModuleOp>();
    if (!module)
      return rewriter.notifyMatchFailure(op, "not inside a module");
    auto tType = op.getType();
    auto mType = MemRefType::get(tType.getShape(), tType.getElementType());
    // One global per (path, offset, type).
    memref::GlobalOp global;
    for (auto g : module.getOps<memref::GlobalOp>()) {
      auto path = g->getAttrOfType<StringAttr>("qc.external_path");
      auto offset = g->getAttrOfType<IntegerAttr>("qc.external_offset");
      if (path && offset && path.getValue() == op.getPath() &&
          offset.getInt() == static_cast<int64_t>(op.getOffset()) &&
          g.getType() == mType) {
        global = g;
        break;
      }
    }
    if (!global) {
      unsigned id = 0;
      std::string name;
      do {
        name = "qc_external_" + std::to_string(id++);
      } while (module.lookupSymbol(name));
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(module.getBody());
      global = memref::GlobalOp::create(
          rewriter, op.getLoc(), name, /*sym_visibility=*/nullptr, mType,
          rewriter.getUnitAttr(), /*constant=*/false,
          rewriter.getI64IntegerAttr(64));
      global->setAttr("qc.external_path", op.getPathAttr());
      global->setAttr("qc.external_offset", op.getOffsetAttr());
      // The manifest the weight loader reads (survives to the LLVM dialect).
      SmallVector<Attribute> entries;
      if (auto old = module->getAttrOfType<ArrayAttr>("qc.external_weights"))
        entries.append(old.begin(), old.end());
      int64_t bytes =
          mType.getNumElements() * mType.getElementTypeBitWidth() / 8;
      entries.push_back(rewriter.getDictionaryAttr({
          rewriter.getNamedAttr("symbol", rewriter.getStringAttr(name)),
          rewriter.getNamedAttr("path", op.getPathAttr()),
          rewriter.getNamedAttr("offset", op.getOffsetAttr()),
          rewriter.getNamedAttr("bytes", rewriter.getI64IntegerAttr(bytes)),
          rewriter.getNamedAttr("type", TypeAttr::get(tType)),
      }));
      module->setAttr("qc.external_weights", rewriter.getArrayAttr(entries));
    }
    Value m = memref::GetGlobalOp::create(rewriter, op.getLoc(), mType,
                                          global.getSymName());
    rewriter.replaceOpWithNewOp<bufferization::ToTensorOp>(
        op, tType, m, /*restrict=*/true, /*writable=*/false);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Norms and activations
//===----------------------------------------------------------------------===//

AffineMap idMap(MLIRContext *ctx) {
  return AffineMap::getMultiDimIdentityMap(2, ctx);
}
AffineMap rowMap(MLIRContext *ctx) {
  return AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
}
AffineMap colMap(MLIRContext *ctx) {
  return AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
}

struct RMSNormOpLowering : OpConversionPattern<RMSNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RMSNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value x = collapseToRows(rewriter, loc, adaptor.getInput());
    int64_t k = op.getType().getShape().back();
    Type elem = op.getType().getElementType();
    Value sumsq =
        rowReduce(rewriter, loc, x, cF32(rewriter, loc, 0), false,
                  [](OpBuilder &b, Location loc, Value v, ValueRange) -> Value {
                    return arith::MulFOp::create(b, loc, v, v);
                  });
    double eps = op.getEpsilon().convertToDouble();
    Value y = buildGeneric(
        rewriter, loc, {x, sumsq, adaptor.getWeight()},
        {idMap(ctx), rowMap(ctx), colMap(ctx)},
        emptyRows(rewriter, loc, x, k, elem), idMap(ctx), 2, 0,
        [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
          Value xf = castFloat(b, loc, a[0], b.getF32Type());
          Value ms = arith::DivFOp::create(b, loc, a[1], cF32(b, loc, k));
          Value rms = math::SqrtOp::create(
              b, loc, arith::AddFOp::create(b, loc, ms, cF32(b, loc, eps)));
          Value v = arith::DivFOp::create(b, loc, xf, rms);
          v = arith::MulFOp::create(b, loc, v,
                                    castFloat(b, loc, a[2], b.getF32Type()));
          return castFloat(b, loc, v, elem);
        });
    rewriter.replaceOp(
        op, expandFromRows(rewriter, loc, y, adaptor.getInput(), op.getType()));
    return success();
  }
};

/// qc.argmax: the row maximum (maximumf propagates NaN), then the smallest
/// index holding it (a NaN maximum matches the row's NaNs): numpy's argmax.
struct ArgMaxOpLowering : OpConversionPattern<ArgMaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ArgMaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value x = collapseToRows(rewriter, loc, adaptor.getInput());
    int64_t k = cast<RankedTensorType>(x.getType()).getShape().back();
    Value rowMax = rowReduce(
        rewriter, loc, x, cF32(rewriter, loc, -INFINITY), /*isMax=*/true,
        [](OpBuilder &, Location, Value v, ValueRange) { return v; });
    Type i64 = rewriter.getI64Type();
    Value init = emptyRows(rewriter, loc, x, -1, i64);
    init = linalg::FillOp::create(
               rewriter, loc,
               ValueRange{arith::ConstantIntOp::create(rewriter, loc, i64, k)},
               ValueRange{init})
               .getResult(0);
    Value idx = buildGeneric(
        rewriter, loc, {x, rowMax}, {idMap(ctx), rowMap(ctx)}, init,
        rowMap(ctx), 2, 1,
        [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
          Value v = castFloat(b, loc, a[0], b.getF32Type());
          Value eq =
              arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, v, a[1]);
          Value bothNaN = arith::AndIOp::create(
              b, loc,
              arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, v, v),
              arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, a[1],
                                    a[1]));
          Value col = arith::IndexCastOp::create(
              b, loc, b.getI64Type(), linalg::IndexOp::create(b, loc, 1));
          Value cand = arith::SelectOp::create(
              b, loc, arith::OrIOp::create(b, loc, eq, bothNaN), col, a[2]);
          return arith::MinSIOp::create(b, loc, cand, a[2]);
        });
    auto rowsTy = RankedTensorType::get(
        {cast<RankedTensorType>(x.getType()).getDimSize(0), 1}, i64);
    Value rows = tensor::ExpandShapeOp::create(
        rewriter, loc, rowsTy, idx, ArrayRef<ReassociationIndices>{{0, 1}});
    rewriter.replaceOp(op, expandFromRows(rewriter, loc, rows,
                                          adaptor.getInput(), op.getType()));
    return success();
  }
};

/// qc.sample: tau by a 32-step bisection over the ordered keys (the largest
/// key t with count(key >= t) >= k'), the masked Gumbel scores, then
/// qc.argmax (lowered by the pattern above). Greedy rows (temperature <= 0)
/// take the logits themselves.
struct SampleOpLowering : OpConversionPattern<SampleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SampleOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    namespace smp = ::qc::sampling;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value x = adaptor.getLogits();
    int64_t v = cast<RankedTensorType>(x.getType()).getDimSize(1);
    Type f32 = rewriter.getF32Type(), i32 = rewriter.getI32Type(),
         i64 = rewriter.getI64Type();
    AffineMap id1 = AffineMap::getMultiDimIdentityMap(1, ctx);
    Value temp =
        tensor::ExtractOp::create(rewriter, loc, adaptor.getTemperature());
    Value kEff = smp::effectiveK(
        rewriter, loc,
        tensor::ExtractOp::create(rewriter, loc, adaptor.getTopK()), v);
    Value seed = tensor::ExtractOp::create(rewriter, loc, adaptor.getSeed());
    auto fill = [&](OpBuilder &b, Value init, Value value) {
      return linalg::FillOp::create(b, loc, ValueRange{value}, ValueRange{init})
          .getResult(0);
    };

    Value keys = buildGeneric(
        rewriter, loc, {x}, {idMap(ctx)}, emptyRows(rewriter, loc, x, v, i32),
        idMap(ctx), 2, 0, [&](OpBuilder &b, Location loc, ValueRange a) {
          return smp::orderedKey(b, loc, castFloat(b, loc, a[0], f32));
        });
    // Unrolled (32 steps of three row-wise generics): a tensor loop would
    // need its carried value to stay in one buffer through the host
    // pipeline's rewrites.
    Value tau = fill(rewriter, emptyRows(rewriter, loc, x, -1, i32),
                     arith::ConstantIntOp::create(rewriter, loc, i32, 0));
    for (int bitIdx = 31; bitIdx >= 0; --bitIdx) {
      OpBuilder &b = rewriter;
      // Keep bit `bitIdx` when enough keys reach tau | bit.
      Value bit = arith::ConstantIntOp::create(
          b, loc, i32, static_cast<int32_t>(uint32_t(1) << bitIdx));
      Value cand = buildGeneric(
          b, loc, {tau}, {id1}, emptyRows(b, loc, x, -1, i32), id1, 1, 0,
          [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
            return arith::OrIOp::create(b, loc, a[0], bit);
          });
      Value cnt = buildGeneric(
          b, loc, {keys, cand}, {idMap(ctx), rowMap(ctx)},
          fill(b, emptyRows(b, loc, x, -1, i64),
               arith::ConstantIntOp::create(b, loc, i64, 0)),
          rowMap(ctx), 2, 1,
          [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
            Value ge = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                             a[0], a[1]);
            return arith::AddIOp::create(
                b, loc, a[2], arith::ExtUIOp::create(b, loc, i64, ge));
          });
      tau = buildGeneric(
          b, loc, {cand, cnt, tau}, {id1, id1, id1},
          emptyRows(b, loc, x, -1, i32), id1, 1, 0,
          [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
            Value enough = arith::CmpIOp::create(
                b, loc, arith::CmpIPredicate::sge, a[1], kEff);
            return arith::SelectOp::create(b, loc, enough, a[0], a[2]);
          });
    }
    Value rows = buildGeneric(
        rewriter, loc, {adaptor.getPos()}, {id1},
        emptyRows(rewriter, loc, x, -1, i64), id1, 1, 0,
        [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
          Value row = arith::IndexCastOp::create(
              b, loc, b.getI64Type(), linalg::IndexOp::create(b, loc, 0));
          return smp::rowHash(b, loc, seed, row, a[0]);
        });
    Value sampling = smp::samples(rewriter, loc, temp);
    Value scores = buildGeneric(
        rewriter, loc, {x, keys, tau, rows},
        {idMap(ctx), idMap(ctx), rowMap(ctx), rowMap(ctx)},
        emptyRows(rewriter, loc, x, v, f32), idMap(ctx), 2, 0,
        [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
          Value xf = castFloat(b, loc, a[0], b.getF32Type());
          Value col = arith::IndexCastOp::create(
              b, loc, b.getI64Type(), linalg::IndexOp::create(b, loc, 1));
          Value s = arith::AddFOp::create(
              b, loc, arith::DivFOp::create(b, loc, xf, temp),
              smp::gumbel(b, loc, a[3], col));
          Value kept = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                             a[1], a[2]);
          Value masked =
              arith::SelectOp::create(b, loc, kept, s, cF32(b, loc, -INFINITY));
          return arith::SelectOp::create(b, loc, sampling, masked, xf);
        });
    rewriter.replaceOpWithNewOp<ArgMaxOp>(op, op.getType(), scores);
    return success();
  }
};

struct LayerNormOpLowering : OpConversionPattern<LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value x = collapseToRows(rewriter, loc, adaptor.getInput());
    int64_t k = op.getType().getShape().back();
    Type elem = op.getType().getElementType();
    Value sum =
        rowReduce(rewriter, loc, x, cF32(rewriter, loc, 0), false,
                  [](OpBuilder &, Location, Value v, ValueRange) { return v; });
    AffineMap id1 = AffineMap::getMultiDimIdentityMap(1, ctx);
    Value mean = buildGeneric(
        rewriter, loc, {sum}, {id1},
        emptyRows(rewriter, loc, x, -1, rewriter.getF32Type()), id1, 1, 0,
        [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
          return arith::DivFOp::create(b, loc, a[0], cF32(b, loc, k));
        });
    // Two-pass variance: sum((x - mean)^2) / K.
    Value sq = rowReduce(
        rewriter, loc, x, cF32(rewriter, loc, 0), false,
        [](OpBuilder &b, Location loc, Value v, ValueRange extra) -> Value {
          Value d = arith::SubFOp::create(b, loc, v, extra[0]);
          return arith::MulFOp::create(b, loc, d, d);
        },
        {mean});
    double eps = op.getEpsilon().convertToDouble();
    Value y = buildGeneric(
        rewriter, loc, {x, mean, sq, adaptor.getWeight(), adaptor.getBias()},
        {idMap(ctx), rowMap(ctx), rowMap(ctx), colMap(ctx), colMap(ctx)},
        emptyRows(rewriter, loc, x, k, elem), idMap(ctx), 2, 0,
        [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
          Type f32 = b.getF32Type();
          Value xf = castFloat(b, loc, a[0], f32);
          Value var = arith::DivFOp::create(b, loc, a[2], cF32(b, loc, k));
          Value sd = math::SqrtOp::create(
              b, loc, arith::AddFOp::create(b, loc, var, cF32(b, loc, eps)));
          Value v = arith::DivFOp::create(
              b, loc, arith::SubFOp::create(b, loc, xf, a[1]), sd);
          v = arith::MulFOp::create(b, loc, v, castFloat(b, loc, a[3], f32));
          v = arith::AddFOp::create(b, loc, v, castFloat(b, loc, a[4], f32));
          return castFloat(b, loc, v, elem);
        });
    rewriter.replaceOp(
        op, expandFromRows(rewriter, loc, y, adaptor.getInput(), op.getType()));
    return success();
  }
};

struct SmoothOpLowering : OpConversionPattern<SmoothOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SmoothOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value x = collapseToRows(rewriter, loc, adaptor.getInput());
    int64_t k = op.getType().getShape().back();
    Type elem = op.getType().getElementType();
    Value y = buildGeneric(
        rewriter, loc, {x, adaptor.getScale()}, {idMap(ctx), colMap(ctx)},
        emptyRows(rewriter, loc, x, k, elem), idMap(ctx), 2, 0,
        [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
          Value v = arith::DivFOp::create(
              b, loc, castFloat(b, loc, a[0], b.getF32Type()), a[1]);
          return castFloat(b, loc, v, elem);
        });
    rewriter.replaceOp(
        op, expandFromRows(rewriter, loc, y, adaptor.getInput(), op.getType()));
    return success();
  }
};

struct QuantizeActOpLowering : OpConversionPattern<QuantizeActOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QuantizeActOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = collapseToRows(rewriter, loc, adaptor.getInput());
    Type elem = op.getOutput().getType().getElementType();
    Value q, s;
    if (op.getMode() == ActMode::DynamicPerToken) {
      std::tie(q, s) = quantizeRowsDynamic(rewriter, loc, x, elem);
      s = expandLeading(rewriter, loc, s, adaptor.getInput(),
                        op.getScales().getType());
    } else {
      Value scale = cF32(rewriter, loc, op.getScale()->convertToDouble());
      q = quantizeRows(rewriter, loc, x, scale, elem);
      Value init = tensor::EmptyOp::create(rewriter, loc, ArrayRef<int64_t>{1},
                                           rewriter.getF32Type());
      s = linalg::FillOp::create(rewriter, loc, ValueRange{scale},
                                 ValueRange{init})
              .getResult(0);
      if (s.getType() != op.getScales().getType())
        s = tensor::CastOp::create(rewriter, loc, op.getScales().getType(), s);
    }
    q = expandFromRows(rewriter, loc, q, adaptor.getInput(),
                       op.getOutput().getType());
    rewriter.replaceOp(op, {q, s});
    return success();
  }
};

struct DequantizeActOpLowering : OpConversionPattern<DequantizeActOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeActOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    auto inType = op.getInput().getType();
    bool perToken = isPerTokenScales(inType, op.getScales().getType());
    Value q = collapseToRows(rewriter, loc, adaptor.getInput());
    Value s = adaptor.getScales();
    if (perToken)
      s = collapseLeading(rewriter, loc, s);
    int64_t k = inType.getShape().back();
    Type elem = op.getType().getElementType();
    AffineMap sMap =
        perToken ? rowMap(ctx)
                 : AffineMap::get(2, 0, {getAffineConstantExpr(0, ctx)}, ctx);
    Value y = buildGeneric(
        rewriter, loc, {q, s}, {idMap(ctx), sMap},
        emptyRows(rewriter, loc, q, k, elem), idMap(ctx), 2, 0,
        [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
          Value v = isa<Float8E4M3FNType>(a[0].getType())
                        ? ::qc::fp8::emitDecodeE4M3(b, loc, a[0])
                        : arith::SIToFPOp::create(b, loc, b.getF32Type(), a[0])
                              .getResult();
          v = arith::MulFOp::create(b, loc, v, a[1]);
          return castFloat(b, loc, v, elem);
        });
    rewriter.replaceOp(
        op, expandFromRows(rewriter, loc, y, adaptor.getInput(), op.getType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Calibration
//===----------------------------------------------------------------------===//

/// Declares (once) the runtime's observer and the private thunk that passes
/// a contiguous f32 memref to it:
///   void qcrt_observe(const char *layer, const float *data, int64_t rows,
///                     int64_t cols, int32_t hessian, double percentile);
/// The thunk takes the memref so that buffer deallocation frees the copy
/// only after the call.
func::FuncOp getObserveThunk(OpBuilder &rewriter, ModuleOp module,
                             Location loc) {
  MLIRContext *ctx = module.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  Type i64 = IntegerType::get(ctx, 64), i32 = IntegerType::get(ctx, 32);
  Type f64 = Float64Type::get(ctx);
  if (auto thunk = module.lookupSymbol<func::FuncOp>("__qc_observe_thunk"))
    return thunk;
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToEnd(module.getBody());
  if (!module.lookupSymbol("qcrt_observe")) {
    auto decl = func::FuncOp::create(
        rewriter, loc, "qcrt_observe",
        FunctionType::get(ctx, {ptr, ptr, i64, i64, i32, f64}, {}));
    decl.setPrivate();
  }
  auto memTy = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                               Float32Type::get(ctx));
  auto thunk =
      func::FuncOp::create(rewriter, loc, "__qc_observe_thunk",
                           FunctionType::get(ctx, {ptr, memTy, i32, f64}, {}));
  thunk.setPrivate();
  Block *entry = thunk.addEntryBlock();
  rewriter.setInsertionPointToStart(entry);
  Value mem = entry->getArgument(1);
  auto md = memref::ExtractStridedMetadataOp::create(rewriter, loc, mem);
  Value base =
      memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, mem);
  Value baseI = arith::IndexCastOp::create(rewriter, loc, i64, base);
  Value p = LLVM::IntToPtrOp::create(rewriter, loc, ptr, baseI);
  Value off = arith::IndexCastOp::create(rewriter, loc, i64, md.getOffset());
  Value data = LLVM::GEPOp::create(rewriter, loc, ptr, Float32Type::get(ctx), p,
                                   ValueRange{off});
  Value rows = arith::IndexCastOp::create(rewriter, loc, i64, md.getSizes()[0]);
  Value cols = arith::IndexCastOp::create(rewriter, loc, i64, md.getSizes()[1]);
  func::CallOp::create(rewriter, loc, "qcrt_observe", TypeRange{},
                       ValueRange{entry->getArgument(0), data, rows, cols,
                                  entry->getArgument(2),
                                  entry->getArgument(3)});
  func::ReturnOp::create(rewriter, loc);
  return thunk;
}

/// A NUL-terminated constant string global, reused per layer name.
LLVM::GlobalOp getLayerNameGlobal(OpBuilder &rewriter, ModuleOp module,
                                  Location loc, StringRef layer) {
  std::string text = layer.str();
  text.push_back('\0');
  for (auto g : module.getOps<LLVM::GlobalOp>())
    if (auto v = dyn_cast_or_null<StringAttr>(g.getValueOrNull()))
      if (g.getSymName().starts_with("__qc_layer_") && v.getValue() == text)
        return g;
  unsigned id = 0;
  std::string name;
  do {
    name = "__qc_layer_" + std::to_string(id++);
  } while (module.lookupSymbol(name));
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToStart(module.getBody());
  auto type = LLVM::LLVMArrayType::get(rewriter.getI8Type(), text.size());
  return LLVM::GlobalOp::create(rewriter, loc, type, /*isConstant=*/true,
                                LLVM::Linkage::Internal, name,
                                rewriter.getStringAttr(text));
}

struct ObserveOpLowering : OpConversionPattern<ObserveOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ObserveOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto module = op->getParentOfType<ModuleOp>();
    if (!module)
      return rewriter.notifyMatchFailure(op, "not inside a module");
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    func::FuncOp thunk = getObserveThunk(rewriter, module, loc);
    LLVM::GlobalOp name =
        getLayerNameGlobal(rewriter, module, loc, op.getLayer());

    // A fresh contiguous f32 copy of the rows.
    Value x = collapseToRows(rewriter, loc, adaptor.getInput());
    int64_t k = op.getInput().getType().getShape().back();
    Value copy = buildGeneric(
        rewriter, loc, {x}, {idMap(ctx)},
        emptyRows(rewriter, loc, x, k, rewriter.getF32Type()), idMap(ctx), 2, 0,
        [](OpBuilder &b, Location loc, ValueRange a) -> Value {
          return castFloat(b, loc, a[0], b.getF32Type());
        });
    auto dynType = RankedTensorType::get(
        {ShapedType::kDynamic, ShapedType::kDynamic}, rewriter.getF32Type());
    copy = tensor::CastOp::create(rewriter, loc, dynType, copy);
    auto memTy = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                                 rewriter.getF32Type());
    Value mem = bufferization::ToBufferOp::create(rewriter, loc, memTy, copy,
                                                  /*read_only=*/true);
    Value namePtr = LLVM::AddressOfOp::create(rewriter, loc, name);
    Value hessian = arith::ConstantOp::create(
        rewriter, loc, rewriter.getI32IntegerAttr(op.getHessian() ? 1 : 0));
    double pct = op.getPercentile() ? op.getPercentile()->convertToDouble() : 0;
    Value pctV =
        arith::ConstantOp::create(rewriter, loc, rewriter.getF64FloatAttr(pct));
    func::CallOp::create(rewriter, loc, thunk,
                         ValueRange{namePtr, mem, hessian, pctV});
    rewriter.eraseOp(op);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Attention over a KV cache
//===----------------------------------------------------------------------===//

/// qc.cache_attention as linalg generics over the full cache length S, all
/// in f32: scores = scale * q.k (masked to -inf where s > pos[b] + t), the
/// row maximum, e = exp(score - max) (0 where masked), the row sum, P.V and
/// the normalization (0 for a row without a valid key). `pos` is an input of
/// the masking generic (indexing map (b, t, h, s) -> (b)): no host read of
/// pos, no size that depends on it.
struct CacheAttentionOpLowering : OpConversionPattern<CacheAttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CacheAttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value q = adaptor.getQuery(), kc = adaptor.getKCache(),
          vc = adaptor.getVCache(), pos = adaptor.getPos();
    RankedTensorType qType = op.getQuery().getType();
    int64_t heads = qType.getDimSize(2);
    int64_t group = heads / op.getKCache().getType().getDimSize(2);
    int64_t layer = op.getLayer();
    double scale = op.getScale().convertToDouble();
    Type f32 = rewriter.getF32Type();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    auto map = [&](unsigned n, ArrayRef<AffineExpr> e) {
      return AffineMap::get(n, 0, e, ctx);
    };
    AffineExpr layerExpr = getAffineConstantExpr(layer, ctx);

    SmallVector<OpFoldResult> rowSizes{
        tensor::getMixedSize(rewriter, loc, q, 0),
        tensor::getMixedSize(rewriter, loc, q, 1),
        rewriter.getIndexAttr(heads)};
    SmallVector<OpFoldResult> scoreSizes(rowSizes);
    scoreSizes.push_back(tensor::getMixedSize(rewriter, loc, kc, 3));
    SmallVector<OpFoldResult> outSizes(rowSizes);
    outSizes.push_back(tensor::getMixedSize(rewriter, loc, q, 3));
    auto filled = [&](ArrayRef<OpFoldResult> sizes, double v) -> Value {
      Value e = tensor::EmptyOp::create(rewriter, loc, sizes, f32);
      return linalg::FillOp::create(rewriter, loc,
                                    ValueRange{cF32(rewriter, loc, v)},
                                    ValueRange{e})
          .getResult(0);
    };
    double inf = std::numeric_limits<double>::infinity();
    auto toF32 = [&](OpBuilder &b, Location l, Value v) {
      return castFloat(b, l, v, b.getF32Type());
    };

    // scores[b, t, h, s] = sum_e q[b, t, h, e] * k[layer, b, h / G, s, e]
    // (loops b, t, h, s, e).
    Value scores = buildGeneric(
        rewriter, loc, {q, kc},
        {map(5, {d(0), d(1), d(2), d(4)}),
         map(5, {layerExpr, d(0), d(2).floorDiv(group), d(3), d(4)})},
        filled(scoreSizes, 0.0), map(5, {d(0), d(1), d(2), d(3)}), 5, 1,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value prod =
              arith::MulFOp::create(b, l, toF32(b, l, a[0]), toF32(b, l, a[1]));
          return arith::AddFOp::create(b, l, a[2], prod);
        });

    // Scaled and masked: s <= pos[b] + t, else -inf.
    AffineMap id4 = AffineMap::getMultiDimIdentityMap(4, ctx);
    Value masked = buildGeneric(
        rewriter, loc, {scores, pos}, {id4, map(4, {d(0)})},
        tensor::EmptyOp::create(rewriter, loc, scoreSizes, f32), id4, 4, 0,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value t = linalg::IndexOp::create(b, l, 1);
          Value s = linalg::IndexOp::create(b, l, 3);
          Value p = arith::IndexCastOp::create(b, l, b.getIndexType(), a[1]);
          Value last = arith::AddIOp::create(b, l, p, t);
          Value valid =
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::sle, s, last);
          Value v = arith::MulFOp::create(b, l, a[0], cF32(b, l, scale));
          return arith::SelectOp::create(b, l, valid, v, cF32(b, l, -inf));
        });

    // Row maximum over s.
    AffineMap rows4 = map(4, {d(0), d(1), d(2)});
    Value rowMax = buildGeneric(
        rewriter, loc, {masked}, {id4}, filled(rowSizes, -inf), rows4, 4, 1,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          return arith::MaximumFOp::create(b, l, a[1], a[0]);
        });

    // e = exp(x - max), 0 for masked keys.
    Value probs = buildGeneric(
        rewriter, loc, {masked, rowMax}, {id4, rows4},
        tensor::EmptyOp::create(rewriter, loc, scoreSizes, f32), id4, 4, 0,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value isMasked = arith::CmpFOp::create(
              b, l, arith::CmpFPredicate::OEQ, a[0], cF32(b, l, -inf));
          Value e = math::ExpOp::create(
              b, l, arith::SubFOp::create(b, l, a[0], a[1]));
          return arith::SelectOp::create(b, l, isMasked, cF32(b, l, 0.0), e);
        });

    // Row sum over s.
    Value rowSum = buildGeneric(
        rewriter, loc, {probs}, {id4}, filled(rowSizes, 0.0), rows4, 4, 1,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          return arith::AddFOp::create(b, l, a[1], a[0]);
        });

    // acc[b, t, h, e] = sum_s e[b, t, h, s] * v[layer, b, h / G, s, e]
    // (loops b, t, h, e, s).
    Value acc = buildGeneric(
        rewriter, loc, {probs, vc},
        {map(5, {d(0), d(1), d(2), d(4)}),
         map(5, {layerExpr, d(0), d(2).floorDiv(group), d(4), d(3)})},
        filled(outSizes, 0.0), map(5, {d(0), d(1), d(2), d(3)}), 5, 1,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value prod = arith::MulFOp::create(b, l, a[0], toF32(b, l, a[1]));
          return arith::AddFOp::create(b, l, a[2], prod);
        });

    // Normalize and convert to the query's element type.
    Type elem = qType.getElementType();
    Value out = buildGeneric(
        rewriter, loc, {acc, rowSum}, {id4, rows4},
        tensor::EmptyOp::create(rewriter, loc, outSizes, elem), id4, 4, 0,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value zero = cF32(b, l, 0.0);
          Value any = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT,
                                            a[1], zero);
          Value v = arith::DivFOp::create(b, l, a[0], a[1]);
          v = arith::SelectOp::create(b, l, any, v, zero);
          return castFloat(b, l, v, elem);
        });
    if (out.getType() != op.getType())
      out = tensor::CastOp::create(rewriter, loc, op.getType(), out);
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void ::qc::populateQCToLinalgConversionPatterns(RewritePatternSet &patterns,
                                                bool parallelKernels) {
  patterns
      .add<LinearOpLowering, WeightOnlyMatmulOpLowering, Int8MatmulOpLowering>(
          patterns.getContext(), parallelKernels);
  patterns
      .add<DequantizeWeightOpLowering, ExternalWeightOpLowering,
           RMSNormOpLowering, LayerNormOpLowering, SmoothOpLowering,
           QuantizeActOpLowering, DequantizeActOpLowering, ObserveOpLowering,
           CacheAttentionOpLowering, ArgMaxOpLowering, SampleOpLowering>(
          patterns.getContext());
}
