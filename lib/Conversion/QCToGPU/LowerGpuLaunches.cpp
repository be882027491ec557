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
#include "qc/Kernels/EpilogueFusion.h"
#include "qc/Kernels/KernelFamilies.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::qc {
#define GEN_PASS_DEF_QCLOWERGPULAUNCHES
#include "qc/Conversion/QCToGPU/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {

//===----------------------------------------------------------------------===//
// The launch record
//===----------------------------------------------------------------------===//

/// One kernel launch, as carried by a stub call (`qc.gpu_launch`):
///
///   {kernel = @qc_kernels_<chip>::@name, block = 128 : i64, n = 160 : i64,
///    grid = ["n", "m"], grid_tile = array<i64: 8, 1>,
///    args = [0 : i64, 1 : i64, 2 : i64, "null", 3 : i64, 4 : i64, "m"],
///    m_tiles = array<i64: 1, 2, 4, 8>}
///
/// - grid: per grid dimension (x, y[, z]) the extent it walks, "n" (the
///   static `n`: output channels, or any static count), "m" (the rows: dim 0
///   of call operand 0), "1", or "dim:<i>:<d>" (dimension d of call operand
///   i, run time); the dimension is ceil(extent / grid_tile).
/// - args: the kernel arguments in order: a call operand (an index; passed
///   as the `!llvm.ptr<1>` of its first element), "null" (a null pointer),
///   "m" (the rows as i32) or "dim:<i>:<d>" (that dimension as i32).
/// - m_tiles (optional): `kernel` names a family of variants
///   `<kernel>_mt<T>`; the launch picks the smallest T >= M (else the
///   largest), and an "m" grid dimension is divided by T instead.
/// - smem (optional): bytes of dynamic shared memory.
/// Nothing is launched when M = 0 or a "dim" grid extent is 0.
struct LaunchRecord {
  SymbolRefAttr kernel;
  int64_t block = 0, n = 0;
  /// Two or three grid dimensions.
  SmallVector<std::string, 3> grid = {"1", "1"};
  SmallVector<int64_t, 3> gridTile = {1, 1};
  SmallVector<Attribute> args;
  SmallVector<int64_t> mTiles;
  /// CTAs per thread-block cluster along x (1: a plain launch).
  int64_t cluster = 1;
  /// Dynamic shared memory in bytes (0: none).
  int64_t smem = 0;
  /// A persistent kernel's CTAs (0: the grid from the tiles).
  int64_t ctas = 0;

  DictionaryAttr toAttr(MLIRContext *ctx) const {
    Builder b(ctx);
    SmallVector<NamedAttribute> entries = {
        b.getNamedAttr("kernel", kernel),
        b.getNamedAttr("block", b.getI64IntegerAttr(block)),
        b.getNamedAttr("n", b.getI64IntegerAttr(n)),
        b.getNamedAttr("grid", b.getStrArrayAttr(SmallVector<StringRef>(
                                   grid.begin(), grid.end()))),
        b.getNamedAttr("grid_tile", b.getDenseI64ArrayAttr(gridTile)),
        b.getNamedAttr("args", b.getArrayAttr(args))};
    if (!mTiles.empty())
      entries.push_back(
          b.getNamedAttr("m_tiles", b.getDenseI64ArrayAttr(mTiles)));
    if (cluster > 1)
      entries.push_back(
          b.getNamedAttr("cluster", b.getI64IntegerAttr(cluster)));
    if (smem > 0)
      entries.push_back(b.getNamedAttr("smem", b.getI64IntegerAttr(smem)));
    if (ctas > 0)
      entries.push_back(b.getNamedAttr("ctas", b.getI64IntegerAttr(ctas)));
    return b.getDictionaryAttr(entries);
  }

  /// Parses "dim:<i>:<d>" (dimension d of call operand i < numOperands).
  static std::optional<std::pair<unsigned, unsigned>>
  parseDim(StringRef word, unsigned numOperands) {
    unsigned i, d;
    if (!word.consume_front("dim:"))
      return std::nullopt;
    auto [a, c] = word.split(':');
    if (a.getAsInteger(10, i) || c.getAsInteger(10, d) || i >= numOperands)
      return std::nullopt;
    return std::make_pair(i, d);
  }

  /// A TMA tensor-map argument: "tmap:<i>:<rows>:<cols>:<elem bytes>:<box
  /// rows>" -- the map of call operand i (a row-major [rows, cols] buffer;
  /// rows "m" or a number), encoded at launch (qcrtEncodeTensorMap).
  struct TensorMap {
    unsigned operand;
    int64_t rows; // -1: M
    int64_t cols, elemBytes, boxRows;
  };
  static std::optional<TensorMap> parseTensorMap(StringRef word,
                                                 unsigned numOperands) {
    if (!word.consume_front("tmap:"))
      return std::nullopt;
    SmallVector<StringRef> parts;
    word.split(parts, ':');
    TensorMap t;
    if (parts.size() != 5 || parts[0].getAsInteger(10, t.operand) ||
        t.operand >= numOperands || parts[2].getAsInteger(10, t.cols) ||
        parts[3].getAsInteger(10, t.elemBytes) ||
        parts[4].getAsInteger(10, t.boxRows) || t.cols <= 0 ||
        (t.elemBytes != 1 && t.elemBytes != 2) ||
        (t.cols * t.elemBytes) % 16 != 0 || t.boxRows < 1 || t.boxRows > 256)
      return std::nullopt;
    t.rows = -1;
    if (parts[1] != "m" && (parts[1].getAsInteger(10, t.rows) || t.rows <= 0))
      return std::nullopt;
    return t;
  }
  static std::string tensorMapWord(const TensorMap &t) {
    return ("tmap:" + Twine(t.operand) + ":" +
            (t.rows < 0 ? std::string("m") : std::to_string(t.rows)) + ":" +
            Twine(t.cols) + ":" + Twine(t.elemBytes) + ":" + Twine(t.boxRows))
        .str();
  }

  /// Parses and checks a record for a call with `numOperands` operands.
  static FailureOr<LaunchRecord> fromAttr(DictionaryAttr dict,
                                          unsigned numOperands) {
    LaunchRecord r;
    r.kernel = dict.getAs<SymbolRefAttr>("kernel");
    auto block = dict.getAs<IntegerAttr>("block");
    auto n = dict.getAs<IntegerAttr>("n");
    auto grid = dict.getAs<ArrayAttr>("grid");
    auto tile = dict.getAs<DenseI64ArrayAttr>("grid_tile");
    auto args = dict.getAs<ArrayAttr>("args");
    auto tiles = dict.getAs<DenseI64ArrayAttr>("m_tiles");
    if (auto cluster = dict.get("cluster")) {
      auto c = dyn_cast<IntegerAttr>(cluster);
      if (!c || c.getInt() < 2 || c.getInt() > ::qc::kMaxFragClusterSplit)
        return failure();
      r.cluster = c.getInt();
    }
    if (auto ctas = dict.get("ctas")) {
      auto c = dyn_cast<IntegerAttr>(ctas);
      if (!c || c.getInt() <= 0 || c.getInt() > (int64_t(1) << 31) - 1)
        return failure();
      r.ctas = c.getInt();
    }
    if (auto smem = dict.get("smem")) {
      auto s = dyn_cast<IntegerAttr>(smem);
      if (!s || s.getInt() <= 0 || s.getInt() > 227 * 1024)
        return failure();
      r.smem = s.getInt();
    }
    if (!r.kernel || r.kernel.getNestedReferences().size() != 1 || !block ||
        block.getInt() <= 0 || !n || n.getInt() < 0 || !grid ||
        grid.size() < 2 || grid.size() > 3 || !tile ||
        tile.size() != grid.size() || !args)
      return failure();
    r.block = block.getInt();
    r.n = n.getInt();
    r.grid.assign(grid.size(), "1");
    r.gridTile.assign(grid.size(), 1);
    for (size_t d = 0; d < grid.size(); ++d) {
      auto extent = dyn_cast<StringAttr>(grid[d]);
      if (!extent ||
          !(llvm::is_contained({"n", "m", "1"}, extent.getValue()) ||
            parseDim(extent.getValue(), numOperands)) ||
          tile[d] <= 0)
        return failure();
      r.grid[d] = extent.getValue().str();
      r.gridTile[d] = tile[d];
    }
    for (Attribute a : args) {
      auto index = dyn_cast<IntegerAttr>(a);
      auto word = dyn_cast<StringAttr>(a);
      if (!(index && index.getInt() >= 0 && index.getInt() < numOperands) &&
          !(word && (word.getValue() == "null" || word.getValue() == "m" ||
                     parseDim(word.getValue(), numOperands) ||
                     parseTensorMap(word.getValue(), numOperands))))
        return failure();
      r.args.push_back(a);
    }
    if (tiles) {
      if (tiles.empty() ||
          llvm::any_of(tiles.asArrayRef(), [](int64_t t) { return t <= 0; }))
        return failure();
      r.mTiles.assign(tiles.asArrayRef().begin(), tiles.asArrayRef().end());
      llvm::sort(r.mTiles);
    }
    return r;
  }
};

//===----------------------------------------------------------------------===//
// What qc-outline-gpu-kernels recorded on an op
//===----------------------------------------------------------------------===//

/// Reads the #qc.launch recorded as `attrName` on `op` (a matmul's when
/// `matmul`: tiles set; a GEMV family's when `family`: m_tiles too); on
/// failure returns the reason.
FailureOr<LaunchAttr> readLaunch(Operation *op, StringRef attrName, bool matmul,
                                 bool family, std::string &reason) {
  auto launch = op->getAttrOfType<LaunchAttr>(attrName);
  if (!launch) {
    reason = ("needs '" + attrName +
              "' = #qc.launch<...> (run qc-outline-gpu-kernels first)")
                 .str();
    return failure();
  }
  if ((matmul && launch.getTileN() <= 0) ||
      (family && launch.getMTiles().empty()) ||
      (!family && !launch.getMTiles().empty()) ||
      (!matmul && launch.getTileN() != 0)) {
    reason = ("'" + attrName + "' is not the launch of a " +
              (family   ? "GEMV family"
               : matmul ? "tensor-core kernel"
                        : "row kernel"))
                 .str();
    return failure();
  }
  return launch;
}

/// A matmul launch: grid (ceil(N / tile_n), ceil(M / tile_m)), or for a
/// GEMV family ceil(M / T) with T the variant's M tile.
LaunchRecord matmulRecord(LaunchAttr k, int64_t n) {
  LaunchRecord r;
  r.kernel = k.getKernel();
  r.block = k.getBlock();
  r.n = n;
  r.grid = {"n", "m"};
  r.gridTile = {k.getTileN(), k.getTileM()};
  r.mTiles.assign(k.getMTiles().begin(), k.getMTiles().end());
  r.smem = k.getSharedBytes();
  r.ctas = k.getCtas();
  return r;
}

/// A row kernel's launch: one CTA per row.
LaunchRecord rowRecord(LaunchAttr k) {
  LaunchRecord r;
  r.kernel = k.getKernel();
  r.block = k.getBlock();
  r.grid = {"m", "1"};
  return r;
}

//===----------------------------------------------------------------------===//
// Tensor level: stub calls
//===----------------------------------------------------------------------===//

/// `tensor` as a read-only identity-layout buffer.
Value readOnlyBuffer(ImplicitLocOpBuilder &b, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
  return bufferization::ToBufferOp::create(b, memrefType, tensor,
                                           /*read_only=*/true);
}

/// `x` (rank >= 1) as rows: M x K, M the product of the leading dimensions
/// (1 for rank 1).
Value toRows(ImplicitLocOpBuilder &b, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  if (rank == 1)
    return tensor::ExpandShapeOp::create(
        b,
        RankedTensorType::get({1, type.getShape()[0]}, type.getElementType()),
        x, ArrayRef<ReassociationIndices>{{0, 1}});
  if (rank == 2)
    return x;
  ReassociationIndices lead;
  for (int64_t d = 0; d + 1 < rank; ++d)
    lead.push_back(d);
  return tensor::CollapseShapeOp::create(
      b, x, ArrayRef<ReassociationIndices>{lead, {rank - 1}});
}

/// Per-row values `v` (shape M or M x C, C = trailing extent of `type`)
/// reshaped to `type`, whose leading dimensions are those of `like`.
Value fromRows(ImplicitLocOpBuilder &b, Value v, Value like,
               RankedTensorType type) {
  auto vType = cast<RankedTensorType>(v.getType());
  if (vType.getShape() == type.getShape())
    return v;
  auto likeType = cast<RankedTensorType>(like.getType());
  int64_t lead = likeType.getRank() - 1; // leading dims of `like`
  bool trailing = vType.getRank() == 2;  // M x C, else M
  if (lead == 0)                         // rank-1 `like`: drop the unit row
    return tensor::CollapseShapeOp::create(
        b, type, v,
        trailing ? ArrayRef<ReassociationIndices>{{0, 1}}
                 : ArrayRef<ReassociationIndices>{});
  SmallVector<OpFoldResult> shape;
  ReassociationIndices rows;
  for (int64_t d = 0; d < lead; ++d) {
    rows.push_back(d);
    if (likeType.isDynamicDim(d))
      shape.push_back(tensor::DimOp::create(b, like, d).getResult());
    else
      shape.push_back(b.getIndexAttr(likeType.getDimSize(d)));
  }
  SmallVector<ReassociationIndices> reassociation = {rows};
  if (trailing) {
    shape.push_back(b.getIndexAttr(type.getShape().back()));
    reassociation.push_back({lead});
  }
  return tensor::ExpandShapeOp::create(b, type, v, reassociation, shape);
}

/// Emits one launch at tensor level: `inputs` (tensors; inputs[0] has the M
/// rows) as read-only buffers, a fresh buffer per `results` type (a dynamic
/// dim 0 is M), one call of a new private stub on (inputs..., results...)
/// carrying `record` (its arg indices refer to that operand list). The
/// stub keeps one-shot bufferization and the ownership-based deallocation
/// exact (they do not know gpu.launch_func); expandGpuLaunchStubs replaces
/// it after them. Returns the results as tensors.
/// `resultSizes`, when given, holds the dynamic sizes of each result.
SmallVector<Value> emitLaunch(ImplicitLocOpBuilder &b, Operation *anchor,
                              SymbolTable &symbols, int &counter,
                              const LaunchRecord &record, ValueRange inputs,
                              ArrayRef<RankedTensorType> results,
                              ArrayRef<SmallVector<Value>> resultSizes = {}) {
  MLIRContext *ctx = b.getContext();
  SmallVector<Value> operands;
  for (Value in : inputs)
    operands.push_back(readOnlyBuffer(b, in));
  SmallVector<Value> buffers;
  for (auto [r, type] : llvm::enumerate(results)) {
    SmallVector<Value> dynSizes;
    if (!resultSizes.empty())
      dynSizes = resultSizes[r];
    else if (type.getRank() > 0 && type.isDynamicDim(0))
      dynSizes.push_back(tensor::DimOp::create(b, inputs[0], 0));
    buffers.push_back(memref::AllocOp::create(
        b, MemRefType::get(type.getShape(), type.getElementType()), dynSizes,
        b.getI64IntegerAttr(64)));
  }
  llvm::append_range(operands, buffers);

  // The stub declaration, next to the enclosing function.
  auto parent = anchor->getParentOfType<func::FuncOp>();
  OpBuilder mb(parent);
  auto stub = func::FuncOp::create(
      mb, anchor->getLoc(), "__qc_gpu_launch_" + std::to_string(counter++),
      FunctionType::get(ctx, ValueRange(operands).getTypes(), {}));
  stub.setPrivate();
  stub->setAttr("qc.gpu_launch_stub", b.getUnitAttr());
  symbols.insert(stub);
  auto call = func::CallOp::create(b, stub, operands);
  call->setAttr("qc.gpu_launch", record.toAttr(ctx));

  SmallVector<Value> tensors;
  for (auto [buffer, type] : llvm::zip(buffers, results))
    tensors.push_back(bufferization::ToTensorOp::create(
        b, type, buffer, /*restrict=*/b.getUnitAttr(),
        /*writable=*/b.getUnitAttr()));
  return tensors;
}

/// Kernel argument operands: call operand `i`, a null pointer or M.
Attribute operand(MLIRContext *ctx, int64_t i) {
  return IntegerAttr::get(IntegerType::get(ctx, 64), i);
}
Attribute nullArg(MLIRContext *ctx) { return StringAttr::get(ctx, "null"); }
Attribute mArg(MLIRContext *ctx) { return StringAttr::get(ctx, "m"); }

/// Binds the kernel arguments `args` (the family's list, KernelFamilies.h)
/// for a launch: the value of each input argument (`inputOf`; null passes a
/// null pointer) joins `inputs`, each argument of `outputs` is the next
/// result buffer, `Rows` is M. Sets `record.args`.
void bindArgs(MLIRContext *ctx, ArrayRef<::qc::KernelArg> args,
              ArrayRef<::qc::KernelArg> outputs,
              llvm::function_ref<Value(::qc::KernelArg)> inputOf,
              SmallVector<Value> &inputs, LaunchRecord &record) {
  SmallVector<std::optional<int64_t>> index(args.size());
  for (auto [i, arg] : llvm::enumerate(args)) {
    if (arg == ::qc::KernelArg::Rows || arg == ::qc::KernelArg::InputMap ||
        arg == ::qc::KernelArg::WeightMap || llvm::is_contained(outputs, arg))
      continue;
    if (Value v = inputOf(arg)) {
      index[i] = inputs.size();
      inputs.push_back(v);
    }
  }
  record.args.clear();
  // The operand of argument `of` and its row-major [rows, K] shape.
  auto tensorMap = [&](::qc::KernelArg of, int64_t rows, int64_t boxRows) {
    const auto *at = llvm::find(args, of);
    assert(at != args.end() && index[at - args.begin()] &&
           "a tensor map's operand is bound");
    auto input = cast<ShapedType>(inputOf(::qc::KernelArg::Input).getType());
    LaunchRecord::TensorMap t;
    t.operand = *index[at - args.begin()];
    t.rows = rows;
    t.cols = input.getShape().back();
    t.elemBytes = input.getElementTypeBitWidth() / 8;
    t.boxRows = boxRows;
    return StringAttr::get(ctx, LaunchRecord::tensorMapWord(t));
  };
  for (auto [i, arg] : llvm::enumerate(args)) {
    const auto *out = llvm::find(outputs, arg);
    if (arg == ::qc::KernelArg::Rows)
      record.args.push_back(mArg(ctx));
    else if (arg == ::qc::KernelArg::InputMap)
      record.args.push_back(
          tensorMap(::qc::KernelArg::Input, -1, record.gridTile[1]));
    else if (arg == ::qc::KernelArg::WeightMap)
      record.args.push_back(
          tensorMap(::qc::KernelArg::Weight, record.n, record.gridTile[0]));
    else if (out != outputs.end())
      record.args.push_back(
          operand(ctx, inputs.size() + (out - outputs.begin())));
    else if (index[i])
      record.args.push_back(operand(ctx, *index[i]));
    else
      record.args.push_back(nullArg(ctx));
  }
}

/// What the weight-only kernels' arguments (::qc::weightOnlyArgs,
/// ::qc::weightOnlyFragArgs) are bound to; a null value is passed as a null
/// pointer.
struct WeightOnlyOperands {
  Value x, weight, scales, zeros, bias, residual, normWeight;

  WeightOnlyOperands(Value x, PackedWeightOp pw, Value bias, Value residual,
                     Value normWeight = {})
      : x(x), weight(pw.getData()), scales(pw.getScales()),
        zeros(pw.getZeros()), bias(bias), residual(residual),
        normWeight(normWeight) {}

  Value operator()(::qc::KernelArg arg) const {
    using ::qc::KernelArg;
    switch (arg) {
    case KernelArg::Input:
      return x;
    case KernelArg::Weight:
      return weight;
    case KernelArg::Scales:
      return scales;
    case KernelArg::Zeros:
      return zeros;
    case KernelArg::Bias:
      return bias;
    case KernelArg::Residual:
      return residual;
    case KernelArg::NormWeight:
      return normWeight;
    default:
      return {};
    }
  }
};

/// The context of one pass run: symbol table and stub counter.
struct Lowering {
  SymbolTable &symbols;
  int counter = 0;

  /// Weight-only matmul on rows `x` (M x K) with the GEMV or mma kernel
  /// (::qc::weightOnlyArgs). Returns y (M x N).
  Value weightOnly(ImplicitLocOpBuilder &b, WeightOnlyMatmulOp op,
                   PackedWeightOp pw, Value x, LaunchRecord record,
                   Value residualRows = {}, Value normWeight = {}) {
    using ::qc::KernelArg;
    SmallVector<Value> inputs;
    bindArgs(b.getContext(),
             ::qc::weightOnlyArgs(bool(residualRows), bool(normWeight)),
             {KernelArg::Output},
             WeightOnlyOperands(x, pw, op.getBias(), residualRows, normWeight),
             inputs, record);
    auto yType = RankedTensorType::get(
        {cast<RankedTensorType>(x.getType()).getShape()[0], record.n},
        op.getType().getElementType());
    return emitLaunch(b, op, symbols, counter, record, inputs, {yType})[0];
  }

  /// The frag family on rows `x` (::qc::weightOnlyFragArgs): with split_k S
  /// > 1 and M at most the largest M tile, S CTAs per channel tile either
  /// form one thread-block cluster and add their sums in shared memory
  /// (::qc::fragClusterSplit: one launch) or write f32 partial sums ws [S,
  /// M, N] that `<kernel>_reduce` adds (bias and residual there); otherwise
  /// one launch with S = 1 and the epilogue in the kernel. Returns y (M x
  /// N).
  Value fragMatmul(ImplicitLocOpBuilder &b, WeightOnlyMatmulOp op,
                   PackedWeightOp pw, Value x, LaunchAttr k,
                   Value residualRows) {
    using ::qc::KernelArg;
    MLIRContext *ctx = b.getContext();
    int64_t n = pw.getResult().getType().getN();
    int64_t tilesN = n / k.getTileN();
    int64_t splits = k.getSplitK();
    Type outElem = op.getType().getElementType();
    auto xType = cast<RankedTensorType>(x.getType());
    auto yType = RankedTensorType::get({xType.getShape()[0], n}, outElem);
    // With split-K the reduction kernel adds bias and residual.
    auto inputOf = [&](bool split) {
      return WeightOnlyOperands(x, pw, split ? Value() : op.getBias(),
                                split ? Value() : residualRows);
    };
    const ::qc::TargetInfo *target =
        ::qc::lookupTarget(op.getKernelAttr().getTarget());
    bool cluster = target && ::qc::fragClusterSplit(*target, splits);
    // One launch of the M-tile variants with `s` CTAs per channel tile.
    auto launchMain = [&](ImplicitLocOpBuilder &bb, int64_t s) -> Value {
      LaunchRecord r = matmulRecord(k, tilesN * s);
      r.gridTile = {1, 1};
      if (cluster && s > 1)
        r.cluster = s;
      SmallVector<Value> inputs;
      bool split = s > 1 && !cluster;
      bindArgs(ctx, ::qc::weightOnlyFragArgs(k.getResidual()),
               {split ? KernelArg::Workspace : KernelArg::Output},
               inputOf(split), inputs, r);
      if (!split)
        return emitLaunch(bb, op, symbols, counter, r, inputs, {yType})[0];
      auto wsType =
          RankedTensorType::get({s, ShapedType::kDynamic, n}, bb.getF32Type());
      Value m = tensor::DimOp::create(bb, x, 0);
      return emitLaunch(bb, op, symbols, counter, r, inputs, {wsType},
                        {SmallVector<Value>{m}})[0];
    };
    if (splits == 1)
      return launchMain(b, 1);

    Value m = tensor::DimOp::create(b, x, 0);
    Value small = arith::CmpIOp::create(
        b, arith::CmpIPredicate::ule, m,
        arith::ConstantIndexOp::create(b, k.getMTiles().back()));
    auto dynType = RankedTensorType::get({ShapedType::kDynamic, n}, outElem);
    auto branch = scf::IfOp::create(b, TypeRange{dynType}, small,
                                    /*withElseRegion=*/true);
    auto toDyn = [&](ImplicitLocOpBuilder &bb, Value v) -> Value {
      return v.getType() == dynType
                 ? v
                 : tensor::CastOp::create(bb, dynType, v).getResult();
    };
    // The workspace's partial sums added by `<kernel>_reduce` (bias and
    // residual there); rows are dim 1 of the workspace (operand 0).
    auto reduceSplits = [&](ImplicitLocOpBuilder &bb, Value ws) -> Value {
      LaunchRecord red;
      StringAttr module = k.getKernel().getRootReference();
      std::string name =
          (k.getKernel().getLeafReference().getValue() + "_reduce").str();
      red.kernel =
          SymbolRefAttr::get(module, {FlatSymbolRefAttr::get(ctx, name)});
      ::qc::FragReduceKernelConfig redCfg; // its default tiling
      red.block = redCfg.threads;
      red.n = n;
      red.grid = {"n", "dim:0:1"};
      red.gridTile = {redCfg.tileN(), 1};
      SmallVector<Value> inputs;
      bindArgs(
          ctx, ::qc::fragReduceArgs(bool(residualRows)), {KernelArg::Output},
          [&](KernelArg arg) -> Value {
            return arg == KernelArg::Workspace  ? ws
                   : arg == KernelArg::Bias     ? op.getBias()
                   : arg == KernelArg::Residual ? residualRows
                                                : Value();
          },
          inputs, red);
      for (Attribute &a : red.args)
        if (a == mArg(ctx))
          a = StringAttr::get(ctx, "dim:0:1");
      return emitLaunch(
          bb, op, symbols, counter, red, inputs, {dynType},
          {SmallVector<Value>{tensor::DimOp::create(bb, x, 0)}})[0];
    };
    {
      // A cluster adds its splits itself; else the reduction kernel.
      ImplicitLocOpBuilder tb(op.getLoc(), branch.thenBlock(),
                              branch.thenBlock()->end());
      Value y = launchMain(tb, splits);
      if (!cluster)
        y = reduceSplits(tb, y);
      scf::YieldOp::create(tb, toDyn(tb, y));
    }
    {
      ImplicitLocOpBuilder eb(op.getLoc(), branch.elseBlock(),
                              branch.elseBlock()->end());
      scf::YieldOp::create(eb, toDyn(eb, launchMain(eb, 1)));
    }
    Value y = branch.getResult(0);
    if (yType != dynType)
      y = tensor::CastOp::create(b, yType, y);
    return y;
  }

  /// Activation quantization of rows `x` (M x K) (::qc::actQuantArgs); q is
  /// M x K i8, scales `scalesType` (M, or one element for a static scale).
  /// Returns {q, scales}.
  /// With `fusedNorm` the kernel is a row norm's with the quantization fused
  /// (::qc::normActQuantArgs): x is the norm's input, `normWeight` and
  /// `normBias` (null for RMSNorm) its parameters.
  std::pair<Value, Value> actQuant(ImplicitLocOpBuilder &b, Operation *anchor,
                                   Value x, LaunchAttr kernel,
                                   RankedTensorType scalesType,
                                   Value normWeight = {}, Value normBias = {},
                                   bool fusedNorm = false) {
    using ::qc::KernelArg;
    LaunchRecord record = rowRecord(kernel);
    SmallVector<Value> inputs;
    bindArgs(
        b.getContext(),
        fusedNorm ? ::qc::normActQuantArgs() : ::qc::actQuantArgs(),
        {KernelArg::Output, KernelArg::OutScales},
        [&](KernelArg arg) -> Value {
          return arg == KernelArg::Input        ? x
                 : arg == KernelArg::NormWeight ? normWeight
                 : arg == KernelArg::NormBias   ? normBias
                                                : Value();
        },
        inputs, record);
    auto xType = cast<RankedTensorType>(x.getType());
    auto qType = RankedTensorType::get(xType.getShape(), b.getI8Type());
    SmallVector<Value> r = emitLaunch(b, anchor, symbols, counter, record,
                                      inputs, {qType, scalesType});
    return {r[0], r[1]};
  }

  /// W8A8 GEMM on rows `qx` (M x K i8) and scales `sx` (M or one element)
  /// (::qc::int8GemmArgs). Returns y (M x N).
  Value int8Gemm(ImplicitLocOpBuilder &b, Operation *anchor, Value qx, Value sx,
                 PackedWeightOp pw, Value bias, Type outElem,
                 LaunchAttr kernel) {
    using ::qc::KernelArg;
    int64_t n = pw.getResult().getType().getN();
    LaunchRecord record = matmulRecord(kernel, n);
    SmallVector<Value> inputs;
    bindArgs(
        b.getContext(), ::qc::int8GemmArgs(kernel.getTma()),
        {KernelArg::Output},
        [&](KernelArg arg) -> Value {
          switch (arg) {
          case KernelArg::Input:
            return qx;
          case KernelArg::InputScales:
            return sx;
          case KernelArg::Weight:
            return pw.getData();
          case KernelArg::Scales:
            return pw.getScales();
          case KernelArg::Bias:
            return bias;
          default:
            return {};
          }
        },
        inputs, record);
    auto yType = RankedTensorType::get(
        {cast<RankedTensorType>(qx.getType()).getShape()[0], n}, outElem);
    return emitLaunch(b, anchor, symbols, counter, record, inputs, {yType})[0];
  }

  /// qc.rms_norm / qc.layer_norm with the row normalization kernel:
  /// arguments (x, w, b, y, M) on rows x (M x K); b null for RMSNorm.
  LogicalResult lowerNorm(Operation *op, Value input, Value weight, Value bias,
                          std::string &reason) {
    using ::qc::KernelArg;
    FailureOr<LaunchAttr> kernel =
        readLaunch(op, "qc.launch", false, false, reason);
    if (failed(kernel))
      return failure();
    ImplicitLocOpBuilder b(op->getLoc(), op);
    LaunchRecord record = rowRecord(*kernel);
    Value x = toRows(b, input);
    SmallVector<Value> inputs;
    bindArgs(
        b.getContext(), ::qc::rowNormArgs(), {KernelArg::Output},
        [&](KernelArg arg) -> Value {
          return arg == KernelArg::Input        ? x
                 : arg == KernelArg::NormWeight ? weight
                 : arg == KernelArg::NormBias   ? bias
                                                : Value();
        },
        inputs, record);
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    Value y = emitLaunch(b, op, symbols, counter, record, inputs,
                         {cast<RankedTensorType>(x.getType())})[0];
    op->getResult(0).replaceAllUsesWith(fromRows(b, y, input, resultType));
    op->erase();
    return success();
  }

  /// The row norm kernel of `norm` (its `qc.launch`) on rows `xRows`;
  /// returns the normalized rows (the GEMV prologue's fallback).
  FailureOr<Value> normRows(ImplicitLocOpBuilder &b, Operation *anchor,
                            RMSNormOp norm, Value xRows, std::string &reason) {
    using ::qc::KernelArg;
    FailureOr<LaunchAttr> kernel =
        readLaunch(norm, "qc.launch", false, false, reason);
    if (failed(kernel))
      return failure();
    LaunchRecord record = rowRecord(*kernel);
    SmallVector<Value> inputs;
    bindArgs(
        b.getContext(), ::qc::rowNormArgs(), {KernelArg::Output},
        [&](KernelArg arg) -> Value {
          return arg == KernelArg::Input        ? xRows
                 : arg == KernelArg::NormWeight ? norm.getWeight()
                                                : Value();
        },
        inputs, record);
    return emitLaunch(b, anchor, symbols, counter, record, inputs,
                      {cast<RankedTensorType>(xRows.getType())})[0];
  }

  /// qc.argmax with the row argmax kernel: arguments (x, out, M) on rows x
  /// (M x K), out M x 1 i64.
  LogicalResult lower(ArgMaxOp op, std::string &reason) {
    FailureOr<LaunchAttr> kernel =
        readLaunch(op, "qc.launch", false, false, reason);
    if (failed(kernel))
      return failure();
    ImplicitLocOpBuilder b(op.getLoc(), op);
    MLIRContext *ctx = b.getContext();
    LaunchRecord record = rowRecord(*kernel);
    Value x = toRows(b, op.getInput());
    record.args = {operand(ctx, 0), operand(ctx, 1), mArg(ctx)};
    auto rowsType = RankedTensorType::get(
        {cast<RankedTensorType>(x.getType()).getDimSize(0), 1}, b.getI64Type());
    Value y = emitLaunch(b, op, symbols, counter, record, {x}, {rowsType})[0];
    op.getResult().replaceAllUsesWith(
        fromRows(b, y, op.getInput(), op.getType()));
    op.erase();
    return success();
  }

  /// qc.sample with the row sampling kernel: arguments (logits, temperature,
  /// top_k, seed, pos, out, M) on logits [M, V], out M x 1 i64.
  LogicalResult lower(SampleOp op, std::string &reason) {
    FailureOr<LaunchAttr> kernel =
        readLaunch(op, "qc.launch", false, false, reason);
    if (failed(kernel))
      return failure();
    ImplicitLocOpBuilder b(op.getLoc(), op);
    MLIRContext *ctx = b.getContext();
    LaunchRecord record = rowRecord(*kernel);
    record.args = {operand(ctx, 0), operand(ctx, 1), operand(ctx, 2),
                   operand(ctx, 3), operand(ctx, 4), operand(ctx, 5),
                   mArg(ctx)};
    Value y = emitLaunch(b, op, symbols, counter, record,
                         {op.getLogits(), op.getTemperature(), op.getTopK(),
                          op.getSeed(), op.getPos()},
                         {op.getType()})[0];
    op.getResult().replaceAllUsesWith(y);
    op.erase();
    return success();
  }

  /// qc.cache_attention with the decode attention kernels: a f32 workspace
  /// of B * T * H * chunks records (chunks = the record's `chunks` for T <=
  /// max_split_t, else 1; a temporary freed by the deallocation pipeline
  /// after its last use), then
  ///   partial (q, kc, vc, pos, ws, T, B_cache); grid (chunks * KV, T, B);
  ///   combine (ws, pos, out, T); grid (H, T, B), block D.
  /// With `prefill_tokens` (the tensor-core prefill kernel was built) that
  /// pair runs for T <= max_split_t only, and T > max_split_t runs
  ///   prefill (q, kc, vc, pos, out, T, B_cache); grid (KV, ceil(T /
  ///   prefill_tokens), B), block 128; no workspace.
  LogicalResult lower(CacheAttentionOp op, std::string &reason) {
    auto kernel = op->getAttrOfType<AttentionLaunchAttr>("qc.launch");
    if (!kernel) {
      reason = "needs 'qc.launch' = #qc.attention_launch<...> (run "
               "qc-outline-gpu-kernels first)";
      return failure();
    }
    ImplicitLocOpBuilder b(op.getLoc(), op);
    MLIRContext *ctx = b.getContext();
    Value q = op.getQuery();
    auto outType = cast<RankedTensorType>(op.getType());
    StringAttr module = kernel.getKernel().getRootReference();
    StringRef base = kernel.getKernel().getLeafReference().getValue();
    auto sym = [&](StringRef suffix) {
      return SymbolRefAttr::get(
          module, {FlatSymbolRefAttr::get(ctx, (base + suffix).str())});
    };
    auto word = [&](StringRef w) -> Attribute {
      return StringAttr::get(ctx, w);
    };
    auto cIdx = [&](ImplicitLocOpBuilder &bb, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(bb, v);
    };
    // The output's dynamic sizes: those of the query.
    auto outSizes = [&](ImplicitLocOpBuilder &bb) {
      SmallVector<Value> sizes;
      for (int64_t d = 0; d < outType.getRank(); ++d)
        if (outType.isDynamicDim(d))
          sizes.push_back(tensor::DimOp::create(bb, q, d));
      return sizes;
    };

    // The flash-decoding pair (every T without the prefill kernel).
    auto decode = [&](ImplicitLocOpBuilder &bb) -> Value {
      Value batch = tensor::DimOp::create(bb, q, 0);
      Value tokens = tensor::DimOp::create(bb, q, 1);
      Value split = arith::CmpIOp::create(bb, arith::CmpIPredicate::ule, tokens,
                                          cIdx(bb, kernel.getMaxSplitT()));
      Value chunks = arith::SelectOp::create(
          bb, split, cIdx(bb, kernel.getChunks()), cIdx(bb, 1));
      Value rows = arith::MulIOp::create(
          bb, arith::MulIOp::create(bb, batch, tokens),
          arith::MulIOp::create(bb, cIdx(bb, kernel.getHeads()), chunks));
      auto wsType = RankedTensorType::get(
          {ShapedType::kDynamic, kernel.getRecord()}, bb.getF32Type());

      LaunchRecord partial;
      partial.kernel = sym("_partial");
      partial.block = 32; // one warp per CTA (buildCacheAttentionKernels)
      partial.n = kernel.getChunks() * kernel.getKvHeads();
      partial.grid = {"n", "dim:0:1", "dim:0:0"};
      partial.gridTile = {1, 1, 1};
      partial.args = {operand(ctx, 0), operand(ctx, 1), operand(ctx, 2),
                      operand(ctx, 3), operand(ctx, 4), word("dim:0:1"),
                      word("dim:1:1")};
      Value ws = emitLaunch(bb, op, symbols, counter, partial,
                            {q, op.getKCache(), op.getVCache(), op.getPos()},
                            {wsType}, {SmallVector<Value>{rows}})[0];

      LaunchRecord combine;
      combine.kernel = sym("_combine");
      combine.block = kernel.getHeadDim();
      combine.n = kernel.getHeads();
      combine.grid = {"n", "dim:2:1", "dim:2:0"};
      combine.gridTile = {1, 1, 1};
      combine.args = {operand(ctx, 0), operand(ctx, 1), operand(ctx, 2),
                      word("dim:2:1")};
      return emitLaunch(bb, op, symbols, counter, combine, {ws, op.getPos()},
                        {outType}, {outSizes(bb)})[0];
    };
    if (kernel.getPrefillTokens() == 0) {
      op.replaceAllUsesWith(decode(b));
      op.erase();
      return success();
    }

    Value tokens = tensor::DimOp::create(b, q, 1);
    Value split = arith::CmpIOp::create(b, arith::CmpIPredicate::ule, tokens,
                                        cIdx(b, kernel.getMaxSplitT()));
    auto branch = scf::IfOp::create(b, TypeRange{outType}, split,
                                    /*withElseRegion=*/true);
    {
      ImplicitLocOpBuilder tb(op.getLoc(), branch.thenBlock(),
                              branch.thenBlock()->end());
      scf::YieldOp::create(tb, decode(tb));
    }
    {
      ImplicitLocOpBuilder eb(op.getLoc(), branch.elseBlock(),
                              branch.elseBlock()->end());
      LaunchRecord prefill;
      prefill.kernel = sym("_prefill");
      prefill.block = 128; // 4 warps (buildPrefillAttentionKernel)
      prefill.n = kernel.getKvHeads();
      prefill.grid = {"n", "dim:0:1", "dim:0:0"};
      prefill.gridTile = {1, kernel.getPrefillTokens(), 1};
      prefill.args = {operand(ctx, 0), operand(ctx, 1), operand(ctx, 2),
                      operand(ctx, 3), operand(ctx, 4), word("dim:0:1"),
                      word("dim:1:1")};
      Value out = emitLaunch(eb, op, symbols, counter, prefill,
                             {q, op.getKCache(), op.getVCache(), op.getPos()},
                             {outType}, {outSizes(eb)})[0];
      scf::YieldOp::create(eb, out);
    }
    op.replaceAllUsesWith(branch.getResult(0));
    op.erase();
    return success();
  }

  /// `small(bb)` for rows M < `threshold` of `x`, else `large(bb)`: one
  /// scf.if yielding the [?, n] result (`outElem`), cast back to x's row
  /// count. Null when either side is (it could not be built).
  Value branchOnRows(ImplicitLocOpBuilder &b, Value x, int64_t threshold,
                     int64_t n, Type outElem,
                     function_ref<Value(ImplicitLocOpBuilder &)> small,
                     function_ref<Value(ImplicitLocOpBuilder &)> large) {
    auto yType = RankedTensorType::get({ShapedType::kDynamic, n}, outElem);
    Value m = tensor::DimOp::create(b, x, 0);
    Value isSmall =
        arith::CmpIOp::create(b, arith::CmpIPredicate::slt, m,
                              arith::ConstantIndexOp::create(b, threshold));
    auto branch = scf::IfOp::create(b, TypeRange{yType}, isSmall,
                                    /*withElseRegion=*/true);
    for (auto [block, side] : {std::make_pair(branch.thenBlock(), small),
                               std::make_pair(branch.elseBlock(), large)}) {
      ImplicitLocOpBuilder bb(b.getLoc(), block, block->end());
      Value r = side(bb);
      if (!r)
        return Value();
      scf::YieldOp::create(bb,
                           tensor::CastOp::create(bb, yType, r).getResult());
    }
    Value y = branch.getResult(0);
    auto rowsType = RankedTensorType::get(
        {cast<RankedTensorType>(x.getType()).getShape()[0], n}, outElem);
    if (rowsType != yType)
      y = tensor::CastOp::create(b, rowsType, y);
    return y;
  }

  /// qc.wo_matmul: gemv, mma, gemv_mma (M < threshold: gemv; else mma) or
  /// adaptive (M < threshold: gemv; else per-token activation quantization +
  /// INT8 GEMM on the same weight, the host lowering's semantics).
  LogicalResult lower(WeightOnlyMatmulOp op, std::string &reason) {
    KernelAttr kernel = op.getKernelAttr();
    KernelKind kind = kernel.getKind();
    PackedWeightOp pw = getPackedWeightDef(op.getWeight());
    if (!pw) {
      reason = "the weight must come from qc.packed_weight";
      return failure();
    }
    bool gemvKind = kind != KernelKind::Mma;
    FailureOr<LaunchAttr> main =
        readLaunch(op, "qc.launch", /*matmul=*/true, gemvKind, reason);
    if (failed(main))
      return failure();
    // The large-M side: the INT8 GEMM (+ activation quantization) of an
    // adaptive matmul, the tensor-core kernel of a gemv_mma one.
    FailureOr<LaunchAttr> gemm, quant, mma;
    if (kind == KernelKind::Adaptive) {
      gemm = readLaunch(op, "qc.int8_launch", true, false, reason);
      if (succeeded(gemm))
        quant = readLaunch(op, "qc.act_quant_launch", false, false, reason);
      if (failed(gemm) || failed(quant))
        return failure();
    } else if (kind == KernelKind::GemvMma ||
               (kind == KernelKind::Frag && kernel.getThreshold() > 0)) {
      // gemv_mma's tensor-core side; the frag family's wgmma variant.
      mma = readLaunch(op, "qc.mma_launch", true, false, reason);
      if (failed(mma))
        return failure();
    }
    // The RMSNorm feeding it, fused into the GEMV family's prologue
    // (`qc.norm_launch`): the GEMV side reads the norm's input; the other
    // side (M >= threshold) runs the norm kernel first.
    RMSNormOp fusedNorm;
    FailureOr<LaunchAttr> normGemv = failure();
    if (op->hasAttr("qc.norm_launch")) {
      normGemv = readLaunch(op, "qc.norm_launch", true, true, reason);
      if (failed(normGemv))
        return failure();
      fusedNorm = ::qc::normProducer(op);
      if (!fusedNorm ||
          (kind != KernelKind::Gemv && kind != KernelKind::GemvMma &&
           kind != KernelKind::Adaptive)) {
        reason = "'qc.norm_launch' needs a gemv, gemv_mma or adaptive matmul "
                 "whose input is a GPU qc.rms_norm it alone reads";
        return failure();
      }
    }
    int64_t n = pw.getResult().getType().getN();
    ImplicitLocOpBuilder b(op.getLoc(), op);
    Value shapeSrc = fusedNorm ? fusedNorm.getInput() : op.getInput();
    Value x = toRows(b, shapeSrc);
    Value y;
    // Kernels built with the residual epilogue absorb the add that follows;
    // both sides of a gemv_mma agree (qc-outline-gpu-kernels).
    auto hasResidual = [](LaunchAttr k) { return k.getResidual(); };
    ::qc::ResidualAdd residual;
    if (hasResidual(*main) || (succeeded(mma) && hasResidual(*mma))) {
      residual = ::qc::residualAddUser(op.getResult());
      bool bothSides = failed(mma) || (hasResidual(*main) && hasResidual(*mma));
      if (kind == KernelKind::Adaptive || !bothSides || !residual.add) {
        reason = "the kernel has a residual epilogue, but the matmul is not "
                 "a weight-only gemv/mma followed by its residual add";
        return failure();
      }
    }
    Value residualRows = residual.add ? toRows(b, residual.other) : Value();
    // A GEMV family with the SwiGLU epilogue writes silu(gate) * up: N / 2
    // channels in place of the glue that reads the matmul alone.
    ::qc::SwiGluUse swiGlu;
    if (main->getSwiglu() || (succeeded(normGemv) && normGemv->getSwiglu())) {
      swiGlu = ::qc::swiGluUser(op.getResult());
      bool gemvSides =
          main->getSwiglu() && (failed(normGemv) || normGemv->getSwiglu());
      if (!swiGlu.glue || !gemvSides ||
          (kind != KernelKind::Gemv && kind != KernelKind::GemvMma)) {
        reason = "the kernel has a SwiGLU epilogue, but the matmul is not a "
                 "gemv/gemv_mma whose output only the SiLU * mul glue reads";
        return failure();
      }
    }
    int64_t gemvN = swiGlu.glue ? n / 2 : n;
    // The GEMV side on rows x (the norm's input when fused), and the rows
    // the other side reads (the norm kernel's output when fused).
    std::string normReason;
    auto largeSideRows = [&](ImplicitLocOpBuilder &bb) -> Value {
      if (!fusedNorm)
        return x;
      FailureOr<Value> xn = normRows(bb, op, fusedNorm, x, normReason);
      return succeeded(xn) ? *xn : Value();
    };
    // Null when the norm kernel cannot be launched (normReason).
    auto gemvSide = [&](ImplicitLocOpBuilder &bb) -> Value {
      if (!fusedNorm)
        return weightOnly(bb, op, pw, x, matmulRecord(*main, gemvN),
                          residualRows);
      // The fused family takes M up to its largest tile (EpilogueFusion.h
      // normProloguePays); more rows run the norm kernel, then the plain
      // family.
      auto dynType = RankedTensorType::get({ShapedType::kDynamic, gemvN},
                                           op.getType().getElementType());
      Value m = tensor::DimOp::create(bb, x, 0);
      Value fits = arith::CmpIOp::create(
          bb, arith::CmpIPredicate::ule, m,
          arith::ConstantIndexOp::create(bb, normGemv->getMTiles().back()));
      auto branch = scf::IfOp::create(bb, TypeRange{dynType}, fits,
                                      /*withElseRegion=*/true);
      ImplicitLocOpBuilder tb(op.getLoc(), branch.thenBlock(),
                              branch.thenBlock()->end());
      Value fused = weightOnly(tb, op, pw, x, matmulRecord(*normGemv, gemvN),
                               residualRows, fusedNorm.getWeight());
      scf::YieldOp::create(
          tb, tensor::CastOp::create(tb, dynType, fused).getResult());
      ImplicitLocOpBuilder eb(op.getLoc(), branch.elseBlock(),
                              branch.elseBlock()->end());
      Value xn = largeSideRows(eb);
      if (!xn)
        return Value();
      Value plain =
          weightOnly(eb, op, pw, xn, matmulRecord(*main, gemvN), residualRows);
      scf::YieldOp::create(
          eb, tensor::CastOp::create(eb, dynType, plain).getResult());
      return branch.getResult(0);
    };
    // The large-M side's result through the SiLU * mul glue (a copy of it
    // on these rows) where the GEMV side absorbed it.
    auto afterGlue = [&](ImplicitLocOpBuilder &bb, Value r) -> Value {
      if (!swiGlu.glue)
        return r;
      Value m = tensor::DimOp::create(bb, r, 0);
      auto half = [&](int64_t col) {
        return tensor::ExtractSliceOp::create(
            bb, r,
            ArrayRef<OpFoldResult>{bb.getIndexAttr(0), bb.getIndexAttr(col)},
            ArrayRef<OpFoldResult>{m, bb.getIndexAttr(gemvN)},
            ArrayRef<OpFoldResult>{bb.getIndexAttr(1), bb.getIndexAttr(1)});
      };
      Type elem = op.getType().getElementType();
      Value init = tensor::EmptyOp::create(
          bb, ArrayRef<OpFoldResult>{m, bb.getIndexAttr(gemvN)}, elem);
      IRMapping map;
      map.map(swiGlu.gate.getResult(), half(0));
      map.map(swiGlu.up.getResult(), half(gemvN));
      map.map(swiGlu.glue.getDpsInitOperand(0)->get(), init);
      Operation *copy = bb.clone(*swiGlu.glue, map);
      copy->getResult(0).setType(
          RankedTensorType::get({ShapedType::kDynamic, gemvN}, elem));
      return copy->getResult(0);
    };
    if (kind == KernelKind::Frag && succeeded(mma)) {
      // M < threshold: the mma.sync / dot-path variants; else wgmma.
      y = branchOnRows(
          b, x, kernel.getThreshold(), n, op.getType().getElementType(),
          [&](ImplicitLocOpBuilder &tb) {
            return fragMatmul(tb, op, pw, x, *main, residualRows);
          },
          [&](ImplicitLocOpBuilder &eb) {
            return weightOnly(eb, op, pw, x, matmulRecord(*mma, n),
                              residualRows);
          });
    } else if (kind == KernelKind::Frag) {
      y = fragMatmul(b, op, pw, x, *main, residualRows);
    } else if (kind == KernelKind::Gemv) {
      y = gemvSide(b);
      if (!y) {
        reason = normReason;
        return failure();
      }
    } else if (kind == KernelKind::Mma) {
      y = weightOnly(b, op, pw, x, matmulRecord(*main, n), residualRows);
    } else {
      // M < threshold: the GEMV family; else the large-M side.
      Type outElem = op.getType().getElementType();
      y = branchOnRows(
          b, x, kernel.getThreshold(), gemvN, outElem, gemvSide,
          [&](ImplicitLocOpBuilder &eb) -> Value {
            Value xl = largeSideRows(eb);
            if (!xl)
              return Value();
            if (kind == KernelKind::GemvMma)
              return afterGlue(eb,
                               weightOnly(eb, op, pw, xl, matmulRecord(*mma, n),
                                          residualRows));
            auto scalesType =
                RankedTensorType::get({ShapedType::kDynamic}, eb.getF32Type());
            auto [q, s] = actQuant(eb, op, xl, *quant, scalesType);
            return int8Gemm(eb, op, q, s, pw, op.getBias(), outElem, *gemm);
          });
      if (!y) {
        reason = normReason;
        return failure();
      }
    }
    if (swiGlu.glue) {
      // y is the glue's result (rank 2, as swiGluUser requires).
      Type glueType = swiGlu.glue->getResult(0).getType();
      Value result = y.getType() == glueType
                         ? y
                         : tensor::CastOp::create(b, glueType, y).getResult();
      swiGlu.glue->getResult(0).replaceAllUsesWith(result);
      swiGlu.glue.erase();
      swiGlu.gate.erase();
      swiGlu.up.erase();
      // What still reads y is its row count (swiGluUser): the input's.
      Value rows = tensor::DimOp::create(b, shapeSrc, 0);
      for (Operation *user : llvm::make_early_inc_range(op->getUsers())) {
        user->getResult(0).replaceAllUsesWith(rows);
        user->erase();
      }
      op.erase();
      if (fusedNorm)
        fusedNorm.erase();
      return success();
    }
    Value result = fromRows(b, y, shapeSrc, op.getType());
    if (residual.add) {
      residual.add->getResult(0).replaceAllUsesWith(result);
      residual.add.erase();
    } else {
      op.replaceAllUsesWith(result);
    }
    op.erase();
    if (fusedNorm)
      fusedNorm.erase();
    return success();
  }

  /// qc.quantize_act feeding GPU INT8 matmuls: one act-quant launch.
  LogicalResult lower(QuantizeActOp op, std::string &reason) {
    FailureOr<LaunchAttr> kernel =
        readLaunch(op, "qc.launch", false, false, reason);
    if (failed(kernel))
      return failure();
    // With `qc.fused_norm` the kernel is the producing norm's, quantizing
    // its output (RowNormKernelConfig::quantize): it reads the norm's input.
    Operation *norm = nullptr;
    Value normWeight, normBias;
    if (op->hasAttr("qc.fused_norm")) {
      norm = op.getInput().getDefiningOp();
      if (auto rms = dyn_cast_or_null<RMSNormOp>(norm)) {
        normWeight = rms.getWeight();
      } else if (auto ln = dyn_cast_or_null<LayerNormOp>(norm)) {
        normWeight = ln.getWeight();
        normBias = ln.getBias();
      } else {
        reason = "qc.fused_norm needs the input to come from qc.rms_norm or "
                 "qc.layer_norm";
        return failure();
      }
      if (!norm->hasOneUse()) {
        reason = "qc.fused_norm needs the norm's result to have no other user";
        return failure();
      }
    }
    ImplicitLocOpBuilder b(op.getLoc(), op);
    Value x = toRows(b, norm ? norm->getOperand(0) : op.getInput());
    RankedTensorType scalesType = op.getScales().getType();
    if (op.getMode() == ActMode::DynamicPerToken)
      scalesType = RankedTensorType::get(
          {cast<RankedTensorType>(x.getType()).getShape()[0]}, b.getF32Type());
    auto [q, s] = actQuant(b, op, x, *kernel, scalesType, normWeight, normBias,
                           norm != nullptr);
    op.getOutput().replaceAllUsesWith(
        fromRows(b, q, op.getInput(), op.getOutput().getType()));
    op.getScales().replaceAllUsesWith(
        fromRows(b, s, op.getInput(), op.getScales().getType()));
    op.erase();
    if (norm)
      norm->erase();
    return success();
  }

  /// qc.int8_matmul with the int8_mma kernel.
  LogicalResult lower(Int8MatmulOp op, std::string &reason) {
    PackedWeightOp pw = getPackedWeightDef(op.getWeight());
    if (!pw) {
      reason = "the weight must come from qc.packed_weight";
      return failure();
    }
    FailureOr<LaunchAttr> kernel =
        readLaunch(op, "qc.launch", true, false, reason);
    if (failed(kernel))
      return failure();
    ImplicitLocOpBuilder b(op.getLoc(), op);
    Value qx = toRows(b, op.getInput());
    Value sx = op.getInputScales();
    auto sxType = cast<RankedTensorType>(sx.getType());
    bool perTensor = sxType.hasStaticShape() && sxType.getNumElements() == 1;
    // Per-token scales have the input's leading shape: flatten to M.
    if (!perTensor && sxType.getRank() > 1) {
      ReassociationIndices all;
      for (int64_t d = 0; d < sxType.getRank(); ++d)
        all.push_back(d);
      sx = tensor::CollapseShapeOp::create(b, sx,
                                           ArrayRef<ReassociationIndices>{all});
    }
    Value y = int8Gemm(b, op, qx, sx, pw, op.getBias(),
                       op.getType().getElementType(), *kernel);
    op.replaceAllUsesWith(fromRows(b, y, op.getInput(), op.getType()));
    op.erase();
    return success();
  }

  /// Unquantized f16 qc.linear with the fp16_mma kernel
  /// (::qc::fp16GemmArgs).
  LogicalResult lower(LinearOp op, std::string &reason) {
    FailureOr<LaunchAttr> kernel =
        readLaunch(op, "qc.launch", true, false, reason);
    if (failed(kernel))
      return failure();
    using ::qc::KernelArg;
    ImplicitLocOpBuilder b(op.getLoc(), op);
    int64_t n = op.getWeight().getType().getDimSize(0);
    LaunchRecord record = matmulRecord(*kernel, n);
    Value x = toRows(b, op.getInput());
    SmallVector<Value> inputs;
    bindArgs(
        b.getContext(), ::qc::fp16GemmArgs(kernel->getTma()),
        {KernelArg::Output},
        [&](KernelArg arg) -> Value {
          return arg == KernelArg::Input    ? x
                 : arg == KernelArg::Weight ? op.getWeight()
                 : arg == KernelArg::Bias   ? op.getBias()
                                            : Value();
        },
        inputs, record);
    auto yType = RankedTensorType::get(
        {cast<RankedTensorType>(x.getType()).getShape()[0], n},
        op.getType().getElementType());
    Value y = emitLaunch(b, op, symbols, counter, record, inputs, {yType})[0];
    op.replaceAllUsesWith(fromRows(b, y, op.getInput(), op.getType()));
    op.erase();
    return success();
  }
};

//===----------------------------------------------------------------------===//
// After bufferization: stub calls -> gpu.launch_func
//===----------------------------------------------------------------------===//

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

/// The TMA tensor map `t` of the buffer at `pointer` (M rows: `m`, an index)
/// as a 128-byte value to pass by value: encoded by the runtime
/// (qcrtEncodeTensorMap, qc/Runtime/TensorMap.h) into a slot allocated once
/// in the entry block of the function around `anchor`.
Value encodeTensorMap(ImplicitLocOpBuilder &b, Operation *anchor, Value pointer,
                      Value m, const LaunchRecord::TensorMap &t) {
  MLIRContext *ctx = b.getContext();
  auto mapTy = LLVM::LLVMArrayType::get(b.getI64Type(), 16);
  auto ptrTy = LLVM::LLVMPointerType::get(ctx);
  auto i32 = b.getI32Type(), i64 = b.getI64Type();
  auto module = anchor->getParentOfType<ModuleOp>();
  StringRef name = "qcrtEncodeTensorMap";
  auto callee = module.lookupSymbol<LLVM::LLVMFuncOp>(name);
  if (!callee) {
    OpBuilder mb = OpBuilder::atBlockBegin(module.getBody());
    callee = LLVM::LLVMFuncOp::create(
        mb, b.getLoc(), name,
        LLVM::LLVMFunctionType::get(
            LLVM::LLVMVoidType::get(ctx),
            {ptrTy, pointer.getType(), i64, i64, i32, i32}));
  }
  Value slot;
  {
    auto func = anchor->getParentOfType<FunctionOpInterface>();
    OpBuilder eb = OpBuilder::atBlockBegin(&func.getFunctionBody().front());
    slot = LLVM::AllocaOp::create(
        eb, b.getLoc(), ptrTy, mapTy,
        LLVM::ConstantOp::create(eb, b.getLoc(), i64, eb.getI64IntegerAttr(1)),
        /*alignment=*/64);
  }
  Value rows = t.rows < 0 ? arith::IndexCastOp::create(b, i64, m).getResult()
                          : arith::ConstantIntOp::create(b, i64, t.rows);
  LLVM::CallOp::create(
      b, callee,
      ValueRange{slot, pointer, rows,
                 arith::ConstantIntOp::create(b, i64, t.cols),
                 arith::ConstantIntOp::create(b, i32, t.elemBytes),
                 arith::ConstantIntOp::create(b, i32, t.boxRows)});
  return LLVM::LoadOp::create(b, mapTy, slot, /*alignment=*/64);
}

/// ceil(a / c) for a non-negative index and a positive constant.
Value ceilDiv(ImplicitLocOpBuilder &b, Value a, int64_t c) {
  if (c == 1)
    return a;
  return arith::CeilDivUIOp::create(b, a, arith::ConstantIndexOp::create(b, c));
}

/// Replaces one stub call by its launch(es).
LogicalResult expandLaunch(func::CallOp call) {
  auto dict = call->getAttrOfType<DictionaryAttr>("qc.gpu_launch");
  FailureOr<LaunchRecord> record =
      LaunchRecord::fromAttr(dict, call.getNumOperands());
  if (failed(record) || call.getNumOperands() == 0 ||
      !llvm::all_of(call.getOperandTypes(),
                    [](Type t) {
                      auto m = dyn_cast<MemRefType>(t);
                      return m && m.getLayout().isIdentity();
                    }) ||
      cast<MemRefType>(call.getOperand(0).getType()).getRank() == 0)
    return call.emitError("malformed qc.gpu_launch record");
  // "dim:<i>:<d>" words must name a dimension of their operand.
  SmallVector<StringRef> words(record->grid.begin(), record->grid.end());
  for (Attribute a : record->args)
    if (auto w = dyn_cast<StringAttr>(a))
      words.push_back(w.getValue());
  for (StringRef w : words)
    if (auto dim = LaunchRecord::parseDim(w, call.getNumOperands());
        dim &&
        dim->second >=
            cast<MemRefType>(call.getOperand(dim->first).getType()).getRank())
      return call.emitError("malformed qc.gpu_launch record");
  ImplicitLocOpBuilder b(call.getLoc(), call);
  ValueRange ops = call.getOperands();
  Value null =
      LLVM::ZeroOp::create(b, LLVM::LLVMPointerType::get(b.getContext(), 1));
  DenseMap<int64_t, Value> pointers;
  for (Attribute a : record->args)
    if (auto index = dyn_cast<IntegerAttr>(a);
        index && !pointers.count(index.getInt()))
      pointers[index.getInt()] = devicePointer(b, ops[index.getInt()]);
  Value m = memref::DimOp::create(b, ops[0], 0);
  Value m32 = arith::IndexCastOp::create(b, b.getI32Type(), m);
  // "dim:<i>:<d>" as an index (checked by fromAttr, rank included below).
  auto dimOf = [&](StringRef word) -> Value {
    auto [i, d] = *LaunchRecord::parseDim(word, ops.size());
    return memref::DimOp::create(b, ops[i], d);
  };
  SmallVector<Value> args;
  // Tensor maps (argument position, map) are encoded inside the M > 0
  // branch below (a map of an empty tensor cannot be made).
  SmallVector<std::pair<size_t, LaunchRecord::TensorMap>> maps;
  for (Attribute a : record->args) {
    std::optional<LaunchRecord::TensorMap> map;
    if (auto word = dyn_cast<StringAttr>(a))
      map = LaunchRecord::parseTensorMap(word.getValue(), ops.size());
    if (auto index = dyn_cast<IntegerAttr>(a)) {
      args.push_back(pointers[index.getInt()]);
    } else if (map) {
      if (!pointers.count(map->operand))
        pointers[map->operand] = devicePointer(b, ops[map->operand]);
      maps.push_back({args.size(), *map});
      args.push_back(Value());
    } else if (cast<StringAttr>(a).getValue() == "m")
      args.push_back(m32);
    else if (cast<StringAttr>(a).getValue() == "null")
      args.push_back(null);
    else
      args.push_back(arith::IndexCastOp::create(
          b, b.getI32Type(), dimOf(cast<StringAttr>(a).getValue())));
  }
  SmallVector<Value, 3> dims(record->grid.size());
  for (auto [d, extent] : llvm::enumerate(record->grid))
    if (StringRef(extent).starts_with("dim:"))
      dims[d] = dimOf(extent);
  Value one = arith::ConstantIndexOp::create(b, 1);
  Value blockX = arith::ConstantIndexOp::create(b, record->block);
  StringAttr kernelModule = record->kernel.getRootReference();
  StringRef name = record->kernel.getLeafReference().getValue();
  // One launch of `kernel`; `mTile` divides an "m" grid dimension.
  auto launch = [&](ImplicitLocOpBuilder &lb, StringRef kernel, int64_t mTile) {
    Value grid[3] = {one, one, one};
    // A persistent kernel: `ctas` CTAs walk the tiles themselves.
    for (size_t d = 0; d < record->grid.size() && !record->ctas; ++d) {
      StringRef extent = record->grid[d];
      if (extent == "n")
        grid[d] = arith::ConstantIndexOp::create(
            lb, llvm::divideCeil(record->n, record->gridTile[d]));
      else if (extent == "m")
        grid[d] = ceilDiv(lb, m, mTile ? mTile : record->gridTile[d]);
      else if (dims[d])
        grid[d] = ceilDiv(lb, dims[d], record->gridTile[d]);
    }
    if (record->ctas)
      grid[0] = arith::ConstantIndexOp::create(lb, record->ctas);
    auto symbol = SymbolRefAttr::get(
        kernelModule, {FlatSymbolRefAttr::get(lb.getContext(), kernel)});
    std::optional<gpu::KernelDim3> cluster;
    if (record->cluster > 1)
      cluster = gpu::KernelDim3{
          arith::ConstantIndexOp::create(lb, record->cluster), one, one};
    gpu::LaunchFuncOp::create(
        lb, symbol, gpu::KernelDim3{grid[0], grid[1], grid[2]},
        gpu::KernelDim3{blockX, one, one},
        /*dynamicSharedMemorySize=*/
        record->smem > 0
            ? arith::ConstantIntOp::create(lb, lb.getI32Type(), record->smem)
                  .getResult()
            : Value(),
        args,
        /*asyncObject=*/Value(), cluster);
  };
  // if (M > 0) { launch } -- with M tiles:
  // if (M > 0) { if (M <= t0) launch t0 else if (M <= t1) ... else tLast }
  Value zero = arith::ConstantIndexOp::create(b, 0);
  Value nonEmpty = arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, m, zero);
  for (Value dim : dims)
    if (dim)
      nonEmpty = arith::AndIOp::create(
          b, nonEmpty,
          arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, dim, zero));
  auto outer = scf::IfOp::create(b, nonEmpty, /*withElseRegion=*/false);
  ImplicitLocOpBuilder ib(call.getLoc(), outer.thenBlock()->getTerminator());
  for (auto &[position, map] : maps)
    args[position] = encodeTensorMap(ib, call, pointers[map.operand], m, map);
  if (record->mTiles.empty()) {
    launch(ib, name, 0);
  } else {
    ArrayRef<int64_t> tiles = record->mTiles;
    auto variant = [&](int64_t t) { return (name + "_mt" + Twine(t)).str(); };
    for (int64_t tile : tiles.drop_back()) {
      Value fits =
          arith::CmpIOp::create(ib, arith::CmpIPredicate::ule, m,
                                arith::ConstantIndexOp::create(ib, tile));
      auto branch = scf::IfOp::create(ib, fits, /*withElseRegion=*/true);
      ImplicitLocOpBuilder tb(call.getLoc(),
                              branch.thenBlock()->getTerminator());
      launch(tb, variant(tile), tile);
      ib.setInsertionPoint(branch.elseBlock()->getTerminator());
    }
    launch(ib, variant(tiles.back()), tiles.back());
  }
  call.erase();
  return success();
}

} // namespace

LogicalResult mlir::qc::expandGpuLaunchStubs(ModuleOp module) {
  SmallVector<func::CallOp> calls;
  module.walk([&](func::CallOp call) {
    if (call->hasAttr("qc.gpu_launch"))
      calls.push_back(call);
  });
  for (func::CallOp call : calls)
    if (failed(expandLaunch(call)))
      return failure();
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
    Lowering lowering{symbols};
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      // Glue ops with a kernel (no #qc.kernel: qc-outline-gpu-kernels built
      // one when the module targets a GPU).
      if (isa<RMSNormOp, LayerNormOp, CacheAttentionOp, ArgMaxOp, SampleOp>(
              op)) {
        // A norm fused into its GEMV's prologue is lowered with the GEMV.
        if (auto rms = dyn_cast<RMSNormOp>(op); rms && rms->hasOneUse())
          if (auto wo = dyn_cast<WeightOnlyMatmulOp>(*rms->user_begin());
              wo && wo->hasAttr("qc.norm_launch") &&
              ::qc::normProducer(wo) == rms)
            return;
        if (op->hasAttr("qc.launch"))
          ops.push_back(op);
        return;
      }
      if (!isa<WeightOnlyMatmulOp, Int8MatmulOp, LinearOp>(op))
        return;
      auto kernel = op->getAttrOfType<KernelAttr>("kernel");
      if (!kernel || kernel.getTarget() == "host")
        return;
      // The activation quantization feeding it first (once, however many
      // INT8 matmuls read it).
      if (auto i8 = dyn_cast<Int8MatmulOp>(op))
        if (auto qa = i8.getInput().getDefiningOp<QuantizeActOp>();
            qa && !llvm::is_contained(ops, qa.getOperation()))
          ops.push_back(qa);
      ops.push_back(op);
    });
    bool failedAny = false;
    for (Operation *op : ops) {
      auto kernel = op->getAttrOfType<KernelAttr>("kernel");
      std::string reason;
      LogicalResult lowered = failure();
      if (auto qa = dyn_cast<QuantizeActOp>(op)) {
        lowered = lowering.lower(qa, reason);
        if (failed(lowered))
          qa.emitError("activation quantization for a GPU INT8 matmul: ")
              << reason;
        failedAny |= failed(lowered);
        continue;
      }
      // Glue ops with their own kernels: one lowering each, one message.
      StringRef glue =
          llvm::TypeSwitch<Operation *, StringRef>(op)
              .Case([&](ArgMaxOp am) {
                lowered = lowering.lower(am, reason);
                return "GPU argmax kernel: ";
              })
              .Case([&](SampleOp sm) {
                lowered = lowering.lower(sm, reason);
                return "GPU sampling kernel: ";
              })
              .Case([&](CacheAttentionOp att) {
                lowered = lowering.lower(att, reason);
                return "GPU attention kernels: ";
              })
              .Case([&](RMSNormOp rms) {
                lowered = lowering.lowerNorm(op, rms.getInput(),
                                             rms.getWeight(), Value(), reason);
                return "GPU norm kernel: ";
              })
              .Case([&](LayerNormOp ln) {
                lowered = lowering.lowerNorm(op, ln.getInput(), ln.getWeight(),
                                             ln.getBias(), reason);
                return "GPU norm kernel: ";
              })
              .Default([](Operation *) { return StringRef(); });
      if (!glue.empty()) {
        if (failed(lowered))
          op->emitError(glue) << reason;
        failedAny |= failed(lowered);
        continue;
      }
      auto wo = dyn_cast<WeightOnlyMatmulOp>(op);
      auto i8 = dyn_cast<Int8MatmulOp>(op);
      auto lin = dyn_cast<LinearOp>(op);
      KernelKind kind = kernel.getKind();
      if (wo && (kind == KernelKind::Gemv || kind == KernelKind::Mma ||
                 kind == KernelKind::Adaptive || kind == KernelKind::GemvMma ||
                 kind == KernelKind::Frag))
        lowered = lowering.lower(wo, reason);
      else if (i8 && kind == KernelKind::Int8Mma)
        lowered = lowering.lower(i8, reason);
      else if (lin && kind == KernelKind::Fp16Mma)
        lowered = lowering.lower(lin, reason);
      else
        reason = "no launch lowering for this kernel kind on " +
                 op->getName().getStringRef().str();
      if (failed(lowered)) {
        StringRef layer = op->getAttrOfType<StringAttr>("layer").getValue();
        op->emitError() << "layer '" << layer << "': GPU kernel '"
                        << stringifyKernelKind(kind) << "' for "
                        << kernel.getTarget() << ": " << reason;
        failedAny = true;
      }
    }
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
