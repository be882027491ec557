//===- WgmmaKernels.cpp - Hopper (sm_90a) tensor-core kernel builders -----===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The wgmma MMA atom, the 128-byte-swizzle cp.async tile stager and the
// kernels built from them: buildWeightOnlyWgmmaKernel, the frag family's
// large-M variant (weights as the register A operand of the transposed
// problem). See KernelConfigs.h (WeightOnlyWgmmaKernelConfig) for tiling,
// memory path and instructions.
//
// wgmma is emitted as inline PTX (the NVVM dialect's wgmma.mma_async takes
// both operands from shared memory); the accumulators and A registers go
// through the fence and wait as tied operands, so that no register copy of
// an accumulator can be scheduled between an asynchronous wgmma and its wait.
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/QCToNVVM/KernelBuilders.h"

#include "KernelFunc.h"
#include "MmaEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using qc::detail::createKernelFunc;
using qc::detail::Emitter;
using qc::detail::FragWeightStream;

namespace {

/// Inline PTX with tied operands: `asmText` runs on `ins`, the results are
/// the new values of `ins` (each operand is both read and written, so the
/// register allocator keeps them in place and nothing moves across).
/// `extra` are read-only operands ($<ins.size() * 2 + i>), constraint
/// `extraConstraints` each.
SmallVector<Value> tiedAsm(ImplicitLocOpBuilder &b, StringRef asmText,
                           ValueRange ins, ValueRange extra = {},
                           ArrayRef<StringRef> extraConstraints = {}) {
  SmallVector<Type> types;
  SmallVector<std::string> cons;
  for (Value v : ins) {
    types.push_back(v.getType());
    cons.push_back(v.getType().isF32() ? "=f" : "=r");
  }
  for (size_t i = 0; i < ins.size(); ++i)
    cons.push_back(std::to_string(i));
  for (StringRef c : extraConstraints)
    cons.push_back(c.str());
  SmallVector<Value> operands(ins.begin(), ins.end());
  operands.append(extra.begin(), extra.end());
  Type resTy = ins.size() == 1
                   ? types.front()
                   : LLVM::LLVMStructType::getLiteral(b.getContext(), types);
  auto op = LLVM::InlineAsmOp::create(
      b, ins.empty() ? Type() : resTy, operands, asmText, llvm::join(cons, ","),
      /*has_side_effects=*/true,
      /*is_align_stack=*/false, LLVM::tailcallkind::TailCallKind::None,
      LLVM::AsmDialectAttr(), ArrayAttr());
  SmallVector<Value> out;
  if (ins.size() == 1)
    out.push_back(op.getRes());
  else
    for (size_t i = 0; i < ins.size(); ++i)
      out.push_back(LLVM::ExtractValueOp::create(b, op.getRes(), i));
  return out;
}

/// The wgmma MMA atom: m64nNk16 f32 += f16 x f16 with A from registers and
/// B from a shared-memory descriptor (K-major, 128-byte swizzle). A thread
/// of the warpgroup holds N / 2 f32 accumulators: for n8 chunk j, acc[4 j +
/// 2 h + d] is row 16 w + g + 8 h, column 8 j + 2 t + d (w = warp in the
/// warpgroup, g = lane / 4, t = lane % 4), the mma.sync C layout repeated
/// along N. The A fragment of warp w is rows [16 w, 16 w + 16) in the
/// mma.sync m16n8k16 A layout: {(g, 2t), (g + 8, 2t), (g, 2t + 8), (g + 8,
/// 2t + 8)} as four f16x2 registers.
/// The operand types of a wgmma: f16 x f16 -> f32 (m64nNk16), s8 x s8 ->
/// s32 or e4m3 x e4m3 -> f32 (m64nNk32: the same 32 bytes of K per wgmma).
enum class WgmmaOperands { F16, S8, E4M3 };

struct WgmmaAtom {
  Emitter &e;
  int64_t n;
  WgmmaOperands operands;

  WgmmaAtom(Emitter &e, int64_t n, WgmmaOperands operands = WgmmaOperands::F16)
      : e(e), n(n), operands(operands) {}

  int64_t numAcc() const { return n / 2; }

  /// The descriptor of a K-major, 128-byte-swizzled B tile starting at the
  /// shared-memory byte address `addr` (i32): 8-row groups 1024 bytes apart
  /// (the stride byte offset), the leading byte offset unused by swizzled
  /// K-major tiles (1 by convention), swizzle mode 1 (128 bytes).
  Value descriptor(Value addr) {
    ImplicitLocOpBuilder &b = e.b;
    Value a = arith::ExtUIOp::create(
        b, e.i64,
        arith::ShRUIOp::create(
            b, arith::AndIOp::create(b, addr, e.cst(0x3FFFF)), e.cst(4)));
    uint64_t fixed =
        (uint64_t(1) << 16) | (uint64_t(1024 >> 4) << 32) | (uint64_t(1) << 62);
    return arith::OrIOp::create(b, a, e.cst64(static_cast<int64_t>(fixed)));
  }

  /// `wgmma.fence`: orders this thread's register writes (the accumulators,
  /// the A fragments `a`) before the wgmmas that follow; both pass through.
  void fence(MutableArrayRef<Value> acc, MutableArrayRef<Value> a) {
    SmallVector<Value> ins(acc.begin(), acc.end());
    ins.append(a.begin(), a.end());
    SmallVector<Value> out = tiedAsm(e.b, "wgmma.fence.sync.aligned;", ins);
    for (size_t i = 0; i < acc.size(); ++i)
      acc[i] = out[i];
    for (size_t i = 0; i < a.size(); ++i)
      a[i] = out[acc.size() + i];
  }

  /// acc += A (four i32 registers) x B (the tile at `descB`).
  void mma(MutableArrayRef<Value> acc, ArrayRef<Value> a, Value descB) {
    int64_t na = acc.size();
    std::string text = "{\n.reg .pred p;\nsetp.ne.b32 p, $" +
                       std::to_string(2 * na + 5) +
                       ", 0;\nwgmma.mma_async.sync.aligned.m64n" +
                       std::to_string(n) + "k16.f32.f16.f16 {";
    for (int64_t i = 0; i < na; ++i)
      text += (i ? ", $" : "$") + std::to_string(i);
    text += "}, {";
    for (int64_t i = 0; i < 4; ++i)
      text += (i ? ", $" : "$") + std::to_string(2 * na + i);
    text += "}, $" + std::to_string(2 * na + 4) + ", p, 1, 1, 0;\n}";
    SmallVector<Value> extra(a.begin(), a.end());
    extra.push_back(descB);
    extra.push_back(e.cst(1)); // scale-d: accumulate
    SmallVector<Value> out =
        tiedAsm(e.b, text, acc, extra, {"r", "r", "r", "r", "l", "r"});
    llvm::copy(out, acc.begin());
  }

  /// acc = A (the 64-row tile at `descA`) x B (the tile at `descB`) + acc
  /// (`scaleD` an i32 1, the default) or + 0 (`scaleD` 0: the accumulators'
  /// old values are ignored), both operands K-major in shared memory.
  /// (Integer wgmma takes no scale or transpose immediates, FP8 no
  /// transposes: only K-major operands exist for it.)
  void mma(MutableArrayRef<Value> acc, Value descA, Value descB,
           Value scaleD = {}) {
    int64_t na = acc.size();
    const char *types = operands == WgmmaOperands::S8 ? "k32.s32.s8.s8 {"
                        : operands == WgmmaOperands::E4M3
                            ? "k32.f32.e4m3.e4m3 {"
                            : "k16.f32.f16.f16 {";
    const char *tail = operands == WgmmaOperands::S8 ? ", p;\n}"
                       : operands == WgmmaOperands::E4M3
                           ? ", p, 1, 1;\n}"
                           : ", p, 1, 1, 0, 0;\n}";
    std::string text =
        "{\n.reg .pred p;\nsetp.ne.b32 p, $" + std::to_string(2 * na + 2) +
        ", 0;\nwgmma.mma_async.sync.aligned.m64n" + std::to_string(n) + types;
    for (int64_t i = 0; i < na; ++i)
      text += (i ? ", $" : "$") + std::to_string(i);
    text += "}, $" + std::to_string(2 * na) + ", $" +
            std::to_string(2 * na + 1) + tail;
    SmallVector<Value> out = tiedAsm(
        e.b, text, acc, ValueRange{descA, descB, scaleD ? scaleD : e.cst(1)},
        {"l", "l", "r"});
    llvm::copy(out, acc.begin());
  }

  /// Closes the wgmmas issued since the last commit into one group.
  void commit() {
    tiedAsm(e.b, "wgmma.commit_group.sync.aligned;", ValueRange{});
  }

  /// Waits until at most `pending` groups are in flight; the accumulators
  /// pass through (their values are final only after the wait).
  void wait(MutableArrayRef<Value> acc, int64_t pending) {
    SmallVector<Value> out = tiedAsm(
        e.b, "wgmma.wait_group.sync.aligned " + std::to_string(pending) + ";",
        SmallVector<Value>(acc.begin(), acc.end()));
    llvm::copy(out, acc.begin());
  }
};

/// The 128-byte-swizzle tile stager: one K step of `rows` K-contiguous rows
/// of 128 bytes (64 f16) into a 1024-byte aligned shared tile, 16-byte chunk
/// c of row r at byte 128 r + 16 (c ^ (r % 8)) -- the layout a K-major
/// SW128 wgmma descriptor (and a TMA box with 128-byte swizzle) reads.
/// 16-byte cp.async.cg copies, consecutive threads copying consecutive
/// chunks; rows >= `rowLimit` and bytes >= `kLimitBytes` copy 0 bytes (zero
/// fill) from a valid address.
void copySwizzledTile(Emitter &e, Value tid, int64_t threads, Value src,
                      int64_t srcRowBytes, int64_t rows, Value row0,
                      Value rowLimit, Value kByte0, int64_t kLimitBytes,
                      Value dst) {
  const int64_t total = rows * 8;
  for (int64_t i = 0; i * threads < total; ++i) {
    Value c = e.add(tid, i * threads);
    std::optional<OpBuilder::InsertionGuard> guard;
    if ((i + 1) * threads > total) {
      auto ifIn = scf::IfOp::create(e.b, e.ult(c, total), false);
      guard.emplace(e.b);
      e.b.setInsertionPointToStart(ifIn.thenBlock());
    }
    Value r = arith::ShRUIOp::create(e.b, c, e.cst(3));
    Value cc = arith::AndIOp::create(e.b, c, e.cst(7));
    Value gRow = e.add(row0, r);
    Value kByte = e.add(kByte0, e.mul(cc, 16));
    Value rowOk = e.ult(gRow, rowLimit);
    Value kOk = e.ult(kByte, kLimitBytes);
    Value ok = arith::AndIOp::create(e.b, rowOk, kOk);
    Value off = arith::AddIOp::create(
        e.b,
        arith::MulIOp::create(e.b, e.wide(e.select(rowOk, gRow, e.cst(0))),
                              e.cst64(srcRowBytes)),
        e.wide(e.select(kOk, kByte, e.cst(0))));
    Value swz =
        arith::XOrIOp::create(e.b, cc, arith::AndIOp::create(e.b, r, e.cst(7)));
    Value to = e.byteGep(dst, e.add(e.mul(r, 128), e.mul(swz, 16)));
    NVVM::CpAsyncOp::create(e.b, to, e.byteGep(src, off), 16,
                            NVVM::LoadCacheModifierKind::CG,
                            e.select(ok, e.cst(16), e.cst(0)));
  }
}

/// The (channel tile, row tile) of this CTA in the grid (channel tiles x
/// row tiles), in launch order row tiles first: consecutive CTAs share a
/// weight tile, which then comes from L2 for all but the first of them
/// (the weights of a large layer do not fit L2; the activations of a
/// prefill do).
std::pair<Value, Value> tileOfCta(Emitter &e) {
  ImplicitLocOpBuilder &b = e.b;
  Value bx = e.toI32(gpu::BlockIdOp::create(b, gpu::Dimension::x));
  Value by = e.toI32(gpu::BlockIdOp::create(b, gpu::Dimension::y));
  Value gx = e.toI32(gpu::GridDimOp::create(b, gpu::Dimension::x));
  Value gy = e.toI32(gpu::GridDimOp::create(b, gpu::Dimension::y));
  Value id = e.add(e.mul(by, gx), bx);
  return {arith::DivUIOp::create(b, id, gy), arith::RemUIOp::create(b, id, gy)};
}

/// Shared memory of a wgmma kernel's stages: static (1024-byte aligned) up
/// to 48 KiB, else the kernel's dynamic shared memory, whose base is
/// rounded up to 1024 bytes at run time (the 128-byte swizzle repeats every
/// 1024 bytes; the launch passes 1 KiB more). The stages' pointer and their
/// shared-window byte address (for descriptors).
struct StageMemory {
  Value ptr, addr;
};

/// Declares the stages' shared memory next to the kernel being built.
std::string declareStages(OpBuilder &builder, Location loc, StringRef name,
                          int64_t stageBytes, bool dynamic) {
  return qc::detail::declareSharedArray(
      builder, loc, (name + "_smem").str(), builder.getI8Type(),
      dynamic ? 0 : stageBytes, /*align=*/1024,
      dynamic ? LLVM::Linkage::External : LLVM::Linkage::Internal);
}

StageMemory stageMemory(Emitter &e, StringRef smemName, bool dynamic) {
  ImplicitLocOpBuilder &b = e.b;
  Value ptr = LLVM::AddressOfOp::create(b, e.ptr3, smemName);
  Value addr = arith::TruncIOp::create(b, e.i32,
                                       LLVM::PtrToIntOp::create(b, e.i64, ptr));
  if (!dynamic)
    return {ptr, addr};
  Value aligned =
      arith::AndIOp::create(b, e.add(addr, 1023), e.cst(~int64_t(1023)));
  return {e.byteGep(ptr, arith::SubIOp::create(b, aligned, addr)), aligned};
}

/// The staged main loop of the wgmma kernels: `steps` K steps, `stages`
/// shared-memory stages filled by cp.async (`load(step, stage)` issues one
/// step's copies), `pending` wgmma groups left in flight at the end of a
/// step (then a stage is refilled one step later: `stages - 1 - pending`
/// steps of copies in flight ahead of the one multiplied). Per step: wait
/// for the step's copies, one barrier, the copies `ahead` steps on, then
/// `body(step, stage, iterArgs)` (which issues and commits the wgmmas and
/// returns the next iteration's values). Returns the loop's results. A
/// group left in flight must not read registers the next step redefines
/// (a register A operand): only the GEMMs, whose operands are both in
/// shared memory, leave one (WeightOnlyWgmmaKernelConfig says why).
SmallVector<Value> emitStagedLoop(
    Emitter &e, int64_t steps, int64_t stages, int64_t pending, ValueRange init,
    function_ref<void(Value, Value)> load,
    function_ref<SmallVector<Value>(Value, Value, ValueRange)> body) {
  ImplicitLocOpBuilder &b = e.b;
  const int64_t ahead = stages - 1 - pending;
  // Prologue: `ahead` steps in flight (empty groups keep the count
  // cp.async.wait_group relies on).
  for (int64_t st = 0; st < ahead; ++st) {
    if (st < steps)
      load(e.cst(st), e.cst(st));
    NVVM::CpAsyncCommitGroupOp::create(b);
  }
  Value nSteps = e.cst(steps);
  auto loop = scf::ForOp::create(b, e.cst(0), nSteps, e.cst(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value c = loop.getInductionVar();
    NVVM::CpAsyncWaitGroupOp::create(b, ahead - 1);
    NVVM::Barrier0Op::create(b);
    Value next = e.add(c, ahead);
    auto ifLoad = scf::IfOp::create(b, e.ult(next, nSteps), false);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(ifLoad.thenBlock());
      load(next, e.urem(next, stages));
    }
    NVVM::CpAsyncCommitGroupOp::create(b);
    scf::YieldOp::create(b,
                         body(c, e.urem(c, stages), loop.getRegionIterArgs()));
  }
  SmallVector<Value> results(loop.getResults());
  return results;
}

/// The TMA tile stager and mbarrier pipeline of the warp-specialized wgmma
/// GEMMs (MmaTileConfig::tma). Per stage two mbarriers in shared memory:
/// "full" (one arrival, the producer's arrive.expect_tx, plus the bytes its
/// TMA copies complete) and "empty" (one arrival per consumer warp, after
/// the wgmmas that read the stage have completed). Step c uses stage c %
/// stages in round c / stages; consumers wait for full[s] in parity round &
/// 1, the producer for empty[s] in the opposite parity (a fresh barrier's
/// "previous" phase counts as complete, so the first round does not wait).
struct TmaPipeline {
  Emitter &e;
  Value bars; // ptr<3>: full[0, stages) then empty[0, stages), i64 each
  int64_t stages;

  Value full(Value s) { return e.gep(bars, e.i64, s); }
  Value empty(Value s) { return e.gep(bars, e.i64, e.add(s, stages)); }
  Value stageOf(Value c) { return e.urem(c, stages); }
  Value parityOf(Value c) {
    return arith::AndIOp::create(e.b, e.udiv(c, stages), e.cst(1));
  }

  /// Thread 0 initializes the barriers; the fence makes them visible to the
  /// TMA unit (the async proxy), the barrier to every thread.
  void init(Value tid, int64_t consumerWarps) {
    ImplicitLocOpBuilder &b = e.b;
    auto first = scf::IfOp::create(b, e.ult(tid, 1), false);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(first.thenBlock());
      for (int64_t s = 0; s < stages; ++s) {
        NVVM::MBarrierInitOp::create(b, full(e.cst(s)), e.cst(1), Value());
        NVVM::MBarrierInitOp::create(b, empty(e.cst(s)), e.cst(consumerWarps),
                                     Value());
      }
      NVVM::FenceMbarrierInitOp::create(b);
    }
    NVVM::Barrier0Op::create(b);
  }

  /// Blocks until the phase of `bar` with parity `parity` has completed
  /// (mbarrier.try_wait.parity in a loop; inline PTX: the NVVM op needs
  /// convert-nvvm-to-llvm, which the other kernels do not).
  void wait(Value bar, Value parity) {
    ImplicitLocOpBuilder &b = e.b;
    Value addr = arith::TruncIOp::create(
        b, e.i32, LLVM::PtrToIntOp::create(b, e.i64, bar));
    LLVM::InlineAsmOp::create(
        b, Type(), ValueRange{addr, parity},
        "{\n.reg .pred p;\nwait_again:\n"
        "mbarrier.try_wait.parity.shared::cta.b64 p, [$0], $1;\n"
        "@!p bra wait_again;\n}",
        "r,r", /*has_side_effects=*/true, /*is_align_stack=*/false,
        LLVM::tailcallkind::TailCallKind::None, LLVM::AsmDialectAttr(),
        ArrayAttr());
  }

  /// The producer's arrival on full[s], announcing `bytes` of TMA copies.
  void expectBytes(Value s, int64_t bytes) {
    NVVM::MBarrierArriveExpectTxOp::create(
        e.b, Type(), full(s), e.cst(bytes),
        NVVM::MemScopeKindAttr::get(e.b.getContext(), NVVM::MemScopeKind::CTA),
        e.b.getBoolAttr(false), Value());
  }

  /// One TMA tensor copy: the box at (column `col` elements, row `row`) of
  /// the tensor map at `map` (a grid-constant parameter's address) into
  /// shared memory at `dst`, completing bytes on full[s].
  /// (The destination is this CTA's shared memory addressed in the cluster
  /// window, valid without clusters too: the shared::cta form needs PTX 8.6.)
  void copy(Value dst, Value map, Value col, Value row, Value s) {
    MLIRContext *ctx = e.b.getContext();
    Value cluster = LLVM::AddrSpaceCastOp::create(
        e.b, LLVM::LLVMPointerType::get(ctx, 7), dst);
    NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
        e.b, cluster, map, ValueRange{col, row}, full(s), ValueRange{}, Value(),
        Value(), NVVM::TMALoadModeAttr::get(ctx, NVVM::TMALoadMode::TILE),
        e.b.getBoolAttr(false), NVVM::CTAGroupKindAttr(), Value());
  }

  /// A consumer warp's release of stage s (lane 0 arrives on empty[s]).
  void release(Value lane, Value s) {
    ImplicitLocOpBuilder &b = e.b;
    auto first = scf::IfOp::create(b, e.ult(lane, 1), false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(first.thenBlock());
    NVVM::MBarrierArriveOp::create(
        b, Type(), empty(s), Value(),
        NVVM::MemScopeKindAttr::get(b.getContext(), NVVM::MemScopeKind::CTA));
  }
};

} // namespace

gpu::GPUFuncOp
qc::buildWeightOnlyWgmmaKernel(OpBuilder &builder, Location loc, StringRef name,
                               const WeightOnlyWgmmaKernelConfig &cfg) {
  std::string smemName =
      declareStages(builder, loc, name, cfg.sharedBytes(), cfg.dynamicShared());
  auto ptrTy = LLVM::LLVMPointerType::get(builder.getContext(), 1);
  SmallVector<Type> argTypes = {
      ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, builder.getI32Type()};
  if (cfg.hasResidual)
    argTypes.push_back(ptrTy);
  auto func = createKernelFunc(builder, loc, name, argTypes, cfg.blockSize());
  ImplicitLocOpBuilder b(loc, builder);
  b.setInsertionPointToStart(&func.getBody().front());
  Emitter e(b);
  auto args = func.getArguments();
  Value x = args[0], w = args[1], scales = args[2], zeros = args[3],
        bias = args[4], y = args[5], m = args[6];
  Value residual = cfg.hasResidual ? args[7] : Value();

  const int64_t T = cfg.tokens, threads = cfg.blockSize();
  const int64_t perUnit = cfg.unitK() / 16; // k16 steps per mma_frag unit
  // The frag weight stream, one channel block per warp, the whole K.
  WeightOnlyFragKernelConfig wcfg;
  static_cast<WeightOnlyWeightConfig &>(wcfg) = cfg;
  wcfg.nBlocks = 1;
  wcfg.warpsK = 1;
  wcfg.stepUnits = cfg.unitsPerStep();
  wcfg.prefetch = cfg.prefetch;

  StageMemory sm = stageMemory(e, smemName, cfg.dynamicShared());
  Value tid = e.toI32(gpu::ThreadIdOp::create(b, gpu::Dimension::x));
  Value lane = arith::AndIOp::create(b, tid, e.cst(31));
  Value warp = arith::ShRUIOp::create(b, tid, e.cst(5));
  auto [bx, by] = tileOfCta(e);
  Value m0 = e.mul(by, T);
  // Warp w's channel block: rows [16 w, 16 w + 16) of the CTA's channels.
  Value block = e.add(e.mul(bx, 4 * cfg.warpgroups), warp);
  Value n0 = e.mul(block, 16);
  FragWeightStream wts(e, wcfg, w, scales, zeros, lane, block, n0,
                       /*warpFirst=*/e.cst(0));

  WgmmaAtom atom(e, T);
  auto loadX = [&](Value c, Value stage) {
    copySwizzledTile(e, tid, threads, x, cfg.k * 2, T, m0, m, e.mul(c, 128),
                     cfg.k * 2,
                     e.byteGep(sm.ptr, e.mul(stage, cfg.stageBytes())));
  };
  SmallVector<Value> init(
      atom.numAcc(), arith::ConstantOp::create(b, e.f32, b.getF32FloatAttr(0)));
  SmallVector<Value> first = wts.prologue();
  init.append(first.begin(), first.end());
  auto body = [&](Value c, Value stage, ValueRange iter) {
    SmallVector<Value> acc(iter.take_front(atom.numAcc()));
    SmallVector<Value> inFlight(iter.drop_front(atom.numAcc()));
    Value u0 = e.mul(c, cfg.unitsPerStep());
    SmallVector<Value> aheadW = wts.loadAhead(u0);
    // The four A fragments of this step: k16 step s is step s % perUnit of
    // unit s / perUnit.
    SmallVector<Value> a;
    SmallVector<std::pair<Value, Value>> params(2);
    for (int64_t uj = 0; uj < cfg.unitsPerStep(); ++uj) {
      Value uc = e.umin(e.add(u0, uj), e.cst(cfg.k / cfg.unitK() - 1));
      SmallVector<Value> words = wts.words(ArrayRef<Value>(inFlight[uj]));
      for (int64_t s = 0; s < perUnit; ++s) {
        wts.paramsAt(uc, s, params);
        for (auto [tile, r] :
             {std::pair<int64_t, int64_t>{0, 0}, {1, 0}, {0, 1}, {1, 1}})
          a.push_back(LLVM::BitcastOp::create(
              b, e.i32, wts.pair(words, 0, tile, s, r, params[tile])));
      }
    }
    atom.fence(acc, a);
    Value stageAddr = e.add(sm.addr, e.mul(stage, cfg.stageBytes()));
    for (int64_t s = 0; s < 4; ++s)
      atom.mma(acc, ArrayRef<Value>(a).slice(4 * s, 4),
               atom.descriptor(e.add(stageAddr, 32 * s)));
    atom.commit();
    // Waited for within the step: the next step's dequantization must not
    // redefine the A registers this group still reads.
    atom.wait(acc, 0);
    wts.advance(acc, inFlight, aheadW);
    return acc;
  };
  SmallVector<Value> results = emitStagedLoop(e, cfg.steps(), cfg.stages,
                                              /*pending=*/0, init, loadX, body);
  SmallVector<Value> acc(ArrayRef<Value>(results).take_front(atom.numAcc()));
  NVVM::CpAsyncWaitGroupOp::create(b, 0);

  // Epilogue from registers: lane (g, t) of warp w holds channels c0 + g and
  // c0 + g + 8 (c0 = 16 x block) at tokens m0 + 8 j + 2 t + d.
  Value g = e.udiv(lane, 4), t = e.urem(lane, 4);
  Value ch[2] = {e.add(n0, g), e.add(n0, e.add(g, 8))};
  Value bs[2];
  if (cfg.hasBias)
    for (int64_t h = 0; h < 2; ++h)
      bs[h] = e.loadF32(bias, e.f16, ch[h]);
  for (int64_t j = 0; j < T / 8; ++j)
    for (int64_t d = 0; d < 2; ++d) {
      Value tok = e.add(m0, e.add(e.mul(t, 2), 8 * j + d));
      auto ifIn = scf::IfOp::create(b, e.ult(tok, m), false);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(ifIn.thenBlock());
      for (int64_t h = 0; h < 2; ++h) {
        Value v = acc[4 * j + 2 * h + d];
        if (cfg.hasBias)
          v = arith::AddFOp::create(b, v, bs[h]);
        Value idx = e.add(e.mul(tok, cfg.n), ch[h]);
        if (residual)
          v = arith::AddFOp::create(b, v, e.loadF32(residual, e.f16, idx));
        LLVM::StoreOp::create(b, arith::TruncFOp::create(b, e.f16, v),
                              e.gep(y, e.f16, idx), 2);
      }
    }
  gpu::ReturnOp::create(b);
  return func;
}

namespace {
/// What one wgmma GEMM (both operands in shared memory) computes: y[m, n] =
/// sum_k x[m, k] w[n, k] with `operands` (f16: 2-byte elements, f32
/// accumulators; s8: 1-byte, s32 accumulators; e4m3: 1-byte, f32
/// accumulators), then `epilogue(acc, row, col)` turns an accumulator into
/// the stored value (bias, scales).
struct WgmmaGemmSpec {
  int64_t n, k;
  WgmmaOperands operands;
  const qc::MmaTileConfig &tile;
  Type outTy;
  /// Adds each step's wgmma sums into separate f32 accumulators (FP8: the
  /// tensor cores accumulate E4M3 products with about 14 significant bits;
  /// one step = 128 K elements, four wgmmas, is summed there, then promoted).
  /// Each step's group is waited for.
  bool promote = false;
  int64_t elemBytes() const { return operands == WgmmaOperands::F16 ? 2 : 1; }
};

/// Whether a promoted (FP8) TMA GEMM keeps two wgmma accumulator sets
/// besides its f32 totals (three sets of blockN / 2 registers per thread:
/// up to 128 channels fit under the raised register limit).
bool fp8DualAccumulators(const qc::MmaTileConfig &t) {
  return t.tma && t.blockN <= 128;
}

/// The epilogue of the wgmma GEMMs, from registers: lane (g, t) of warp w
/// of MMA warpgroup `mmaWg` holds rows m0 + 64 mmaWg + 16 (w % 4) + g (+ 8)
/// at columns n0 + 8 j + 2 t (+ 1).
void emitWgmmaEpilogue(Emitter &e, const WgmmaGemmSpec &sp, ArrayRef<Value> acc,
                       Value mmaWg, Value warp, Value lane, Value m0, Value n0,
                       Value y, Value m,
                       function_ref<Value(Value, Value, Value)> value) {
  ImplicitLocOpBuilder &b = e.b;
  Value g = e.udiv(lane, 4), tq = e.urem(lane, 4);
  Value row0 = e.add(m0, e.add(e.mul(e.urem(warp, 4), 16), e.mul(mmaWg, 64)));
  Value rows[2] = {e.add(row0, g), e.add(row0, e.add(g, 8))};
  Value mLast = arith::SubIOp::create(b, m, e.cst(1));
  Value nLast = e.cst(sp.n - 1);
  for (int64_t j = 0; j < sp.tile.blockN / 8; ++j) {
    Value col = e.add(n0, e.add(e.mul(tq, 2), 8 * j));
    for (int64_t h = 0; h < 2; ++h) {
      std::array<Value, 2> v;
      for (int64_t d = 0; d < 2; ++d)
        v[d] = value(acc[4 * j + 2 * h + d], e.umin(rows[h], mLast),
                     e.umin(e.add(col, d), nLast));
      qc::detail::storePair(e, y, sp.outTy, sp.n, rows[h], col, m, v);
    }
  }
}

/// One K step of a wgmma GEMM's MMA warpgroup: four m64n<blockN> wgmmas
/// over the 128 bytes of K of the stage at shared byte address `stageAddr`
/// (A rows [64 mmaWg, 64 mmaWg + 64) of the x tile, all of the w tile), one
/// commit group. With promotion the first starts from zero (scale-d 0).
void issueWgmmaStep(Emitter &e, WgmmaAtom &atom, const WgmmaGemmSpec &sp,
                    MutableArrayRef<Value> acc, Value stageAddr, Value mmaWg) {
  atom.fence(acc, {});
  Value aAddr = e.add(stageAddr, e.mul(mmaWg, 64 * 128));
  Value bAddr = e.add(stageAddr, sp.tile.blockM * 128);
  for (int64_t s = 0; s < 4; ++s)
    atom.mma(acc, atom.descriptor(e.add(aAddr, 32 * s)),
             atom.descriptor(e.add(bAddr, 32 * s)),
             sp.promote && s == 0 ? e.cst(0) : Value());
  atom.commit();
}

/// The shared body of the wgmma GEMMs: per stage 128 bytes of K of the x
/// tile (blockM rows) then of the w tile (blockN rows), both 128-byte
/// swizzled; each MMA warpgroup multiplies its 64 rows of x by the w tile
/// (issueWgmmaStep), then the epilogue from registers. `value(acc, row,
/// col)` maps an accumulator (f32 or i32) at a clamped row and column to the
/// stored value.
///
/// Two pipelines fill the stages:
/// - cp.async (`tile.tma` false): every thread copies (copySwizzledTile),
///   one CTA barrier per step (emitStagedLoop), one wgmma group in flight
///   from 4 stages on.
/// - TMA, warp-specialized (`tile.tma`): warpgroup 0 is the producer, one
///   thread of which issues two TMA tensor copies per step (x box blockM x
///   128 bytes from `mapX`, w box blockN x 128 bytes from `mapW`; rows and
///   K past the tensor are zero-filled) once the stage is empty; warpgroups
///   1.. are the MMA warpgroups, which wait for the stage to be full, issue
///   its wgmmas and, one step later (one group in flight), release it
///   (TmaPipeline). No CTA barrier in the main loop.
void emitWgmmaGemm(Emitter &e, StringRef smemName, StringRef barsName,
                   const WgmmaGemmSpec &sp, Value x, Value w, Value mapX,
                   Value mapW, Value y, Value m,
                   function_ref<Value(Value, Value, Value)> value) {
  ImplicitLocOpBuilder &b = e.b;
  const qc::MmaTileConfig &t = sp.tile;
  const int64_t mmaThreads = 128 * (t.blockM / 64);
  const int64_t aStage = t.blockM * 128, stageBytes = t.wgmmaStageBytes();
  const int64_t stages = t.stages;
  const bool dynamic = t.wgmmaDynamicShared();
  const int64_t rowBytes = sp.k * sp.elemBytes();
  const int64_t steps = (rowBytes + 127) / 128;

  StageMemory sm = stageMemory(e, smemName, dynamic);
  Value tid = e.toI32(gpu::ThreadIdOp::create(b, gpu::Dimension::x));
  Value lane = arith::AndIOp::create(b, tid, e.cst(31));
  Value warp = arith::ShRUIOp::create(b, tid, e.cst(5));
  Value wg = arith::ShRUIOp::create(b, tid, e.cst(7));
  auto [nTile, mTile] = tileOfCta(e);
  Value n0 = e.mul(nTile, t.blockN);
  Value m0 = e.mul(mTile, t.blockM);
  WgmmaAtom atom(e, t.blockN, sp.operands);
  Value zero = sp.operands == WgmmaOperands::S8
                   ? e.cst(0)
                   : arith::ConstantOp::create(b, e.f32, b.getF32FloatAttr(0))
                         .getResult();
  const int64_t na = atom.numAcc();
  // With promotion: [wgmma accumulators, f32 totals].
  SmallVector<Value> init(sp.promote ? 2 * na : na, zero);
  auto promoted = [&](ValueRange iter, ArrayRef<Value> acc) {
    SmallVector<Value> out(acc);
    for (int64_t i = 0; i < na; ++i)
      out.push_back(arith::AddFOp::create(b, iter[na + i], acc[i]));
    return out;
  };

  if (!t.tma) {
    const int64_t pending = stages >= 4 && !sp.promote ? 1 : 0;
    auto load = [&](Value c, Value stage) {
      Value base = e.byteGep(sm.ptr, e.mul(stage, stageBytes));
      copySwizzledTile(e, tid, mmaThreads, x, rowBytes, t.blockM, m0, m,
                       e.mul(c, 128), rowBytes, base);
      copySwizzledTile(e, tid, mmaThreads, w, rowBytes, t.blockN, n0,
                       e.cst(sp.n), e.mul(c, 128), rowBytes,
                       e.byteGep(base, e.cst(aStage)));
    };
    auto body = [&](Value c, Value stage, ValueRange iter) {
      SmallVector<Value> acc(iter.begin(), iter.begin() + na);
      issueWgmmaStep(e, atom, sp, acc, e.add(sm.addr, e.mul(stage, stageBytes)),
                     wg);
      atom.wait(acc, pending);
      return sp.promote ? promoted(iter, acc) : acc;
    };
    SmallVector<Value> acc =
        emitStagedLoop(e, steps, stages, pending, init, load, body);
    if (pending)
      atom.wait(acc, 0);
    if (sp.promote)
      acc.erase(acc.begin(), acc.begin() + na);
    NVVM::CpAsyncWaitGroupOp::create(b, 0);
    emitWgmmaEpilogue(e, sp, acc, wg, warp, lane, m0, n0, y, m, value);
    return;
  }

  TmaPipeline pipe{e, LLVM::AddressOfOp::create(b, e.ptr3, barsName), stages};
  pipe.init(tid, /*consumerWarps=*/t.blockM / 16);
  // The tiles of this CTA: its own, or with `persistent` (a grid of P CTAs,
  // P the target's SM count) tiles bid, bid + P, ... of the ceil(N /
  // blockN) x ceil(M / blockM) tiles, in tileOfCta's order (row tiles
  // first). `body(base, m0, n0)` runs per tile, `base` = the CTA's steps
  // before it (its stage rounds continue across tiles, so the producer
  // fills the next tile's stages while the MMA warpgroups run the last
  // tile's epilogue).
  auto forEachTile = [&](function_ref<void(Value, Value, Value)> body) {
    if (!t.persistent) {
      body(e.cst(0), m0, n0);
      return;
    }
    Value mTiles = e.udiv(e.add(m, t.blockM - 1), t.blockM);
    Value tiles = e.mul(mTiles, (sp.n + t.blockN - 1) / t.blockN);
    Value bid = e.toI32(gpu::BlockIdOp::create(b, gpu::Dimension::x));
    Value ctas = e.toI32(gpu::GridDimOp::create(b, gpu::Dimension::x));
    Value iters = e.select(
        e.ult(bid, tiles),
        arith::DivUIOp::create(b,
                               e.add(arith::SubIOp::create(b, tiles, bid),
                                     arith::SubIOp::create(b, ctas, e.cst(1))),
                               ctas),
        e.cst(0));
    auto loop = scf::ForOp::create(b, e.cst(0), iters, e.cst(1));
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(loop.getBody());
    Value i = loop.getInductionVar();
    Value tile = e.add(bid, e.mul(i, ctas));
    body(e.mul(i, steps),
         e.mul(arith::RemUIOp::create(b, tile, mTiles), t.blockM),
         e.mul(arith::DivUIOp::create(b, tile, mTiles), t.blockN));
  };
  const bool dual = sp.promote && fp8DualAccumulators(t);
  // The MMA warpgroups take the registers the producer does not need: the
  // FP8 accumulator sets, the persistent loop's state (setmaxnreg; 168 at
  // launch for 384 threads).
  const bool moveRegisters = dual || t.persistent;
  auto isProducer = scf::IfOp::create(b, e.ult(wg, 1), true);
  {
    // Producer: thread 0 fills stage g % stages (g: the CTA's step count)
    // once its consumers have released it.
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(isProducer.thenBlock());
    if (moveRegisters)
      NVVM::SetMaxRegisterOp::create(b, 40,
                                     NVVM::SetMaxRegisterAction::decrease);
    auto first = scf::IfOp::create(b, e.ult(tid, 1), false);
    b.setInsertionPointToStart(first.thenBlock());
    forEachTile([&](Value base, Value tm0, Value tn0) {
      auto loop = scf::ForOp::create(b, e.cst(0), e.cst(steps), e.cst(1));
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(loop.getBody());
      Value c = loop.getInductionVar();
      Value gs = e.add(base, c);
      Value s = pipe.stageOf(gs);
      pipe.wait(pipe.empty(s),
                arith::XOrIOp::create(b, pipe.parityOf(gs), e.cst(1)));
      pipe.expectBytes(s, stageBytes);
      Value dst = e.byteGep(sm.ptr, e.mul(s, stageBytes));
      Value col = e.mul(c, 128 / sp.elemBytes());
      pipe.copy(dst, mapX, col, tm0, s);
      pipe.copy(e.byteGep(dst, e.cst(aStage)), mapW, col, tn0, s);
    });
  }
  // MMA warpgroups.
  b.setInsertionPointToStart(isProducer.elseBlock());
  Value mmaWg = arith::SubIOp::create(b, wg, e.cst(1));
  if (moveRegisters)
    NVVM::SetMaxRegisterOp::create(b, 232,
                                   NVVM::SetMaxRegisterAction::increase);
  forEachTile([&](Value base, Value tm0, Value tn0) {
    // Issues step c's wgmmas into `acc` once its stage is full.
    auto issue = [&](Value c, MutableArrayRef<Value> acc) {
      Value gs = e.add(base, c);
      Value s = pipe.stageOf(gs);
      pipe.wait(pipe.full(s), pipe.parityOf(gs));
      issueWgmmaStep(e, atom, sp, acc, e.add(sm.addr, e.mul(s, stageBytes)),
                     mmaWg);
    };
    auto release = [&](Value c) {
      pipe.release(lane, pipe.stageOf(e.add(base, c)));
    };
    // Releases the stage of step c - 1 when c > 0.
    auto releasePrevious = [&](Value c) {
      auto when = scf::IfOp::create(b, e.ult(e.cst(0), c), false);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(when.thenBlock());
      release(arith::SubIOp::create(b, c, e.cst(1)));
    };
    // Waits until one group is left in flight, passing `a` and `bs` through.
    auto waitOne = [&](MutableArrayRef<Value> a, MutableArrayRef<Value> bs) {
      SmallVector<Value> both(a.begin(), a.end());
      both.append(bs.begin(), bs.end());
      atom.wait(both, 1);
      llvm::copy(ArrayRef<Value>(both).take_front(a.size()), a.begin());
      llvm::copy(ArrayRef<Value>(both).drop_front(a.size()), bs.begin());
    };
    auto addInto = [&](MutableArrayRef<Value> totals, ArrayRef<Value> acc) {
      for (int64_t i = 0; i < na; ++i)
        totals[i] = arith::AddFOp::create(b, totals[i], acc[i]);
    };
    SmallVector<Value> acc;
    if (dual) {
      // FP8 promotion with two accumulator sets A and B (steps alternate
      // between them): while one step's group runs on the tensor cores the
      // previous one's sums (the other set) are added into the f32 totals,
      // so a group stays in flight as in the unpromoted loop. Three sets of
      // blockN / 2 registers: the MMA warpgroups raise their register limit
      // to 232, the producer lowers its own to 40 (setmaxnreg).
      SmallVector<Value> sets(3 * na, zero); // [A, B, totals]
      auto pairs =
          scf::ForOp::create(b, e.cst(0), e.cst(steps / 2), e.cst(1), sets);
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(pairs.getBody());
        ValueRange iter = pairs.getRegionIterArgs();
        SmallVector<Value> a(iter.begin(), iter.begin() + na),
            bs(iter.begin() + na, iter.begin() + 2 * na),
            totals(iter.begin() + 2 * na, iter.end());
        Value c0 = e.mul(pairs.getInductionVar(), 2), c1 = e.add(c0, 1);
        issue(c0, a);
        // Step c0 - 1 (set B; zeros before the first) is complete.
        waitOne(a, bs);
        addInto(totals, bs);
        releasePrevious(c0);
        issue(c1, bs);
        waitOne(a, bs);
        addInto(totals, a);
        release(c0);
        SmallVector<Value> out(a);
        out.append(bs);
        out.append(totals);
        scf::YieldOp::create(b, out);
      }
      ValueRange res = pairs.getResults();
      SmallVector<Value> a(res.begin(), res.begin() + na),
          bs(res.begin() + na, res.begin() + 2 * na),
          totals(res.begin() + 2 * na, res.end());
      if (steps % 2) {
        // The last step (set A) after the pairs.
        issue(e.cst(steps - 1), a);
        waitOne(a, bs);
        addInto(totals, bs);
        if (steps > 1)
          release(e.cst(steps - 2));
        atom.wait(a, 0);
        addInto(totals, a);
      } else {
        atom.wait(bs, 0);
        addInto(totals, bs);
      }
      release(e.cst(steps - 1));
      acc = totals;
    } else {
      auto loop = scf::ForOp::create(b, e.cst(0), e.cst(steps), e.cst(1), init);
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(loop.getBody());
        Value c = loop.getInductionVar();
        ValueRange iter = loop.getRegionIterArgs();
        SmallVector<Value> cur(iter.begin(), iter.begin() + na);
        issue(c, cur);
        if (sp.promote) {
          // The sums are needed now: wait for this step, release its stage.
          atom.wait(cur, 0);
          release(c);
          scf::YieldOp::create(b, promoted(iter, cur));
        } else {
          // One group in flight: the previous step's wgmmas are complete
          // after this wait, so its stage goes back to the producer.
          atom.wait(cur, 1);
          releasePrevious(c);
          scf::YieldOp::create(b, cur);
        }
      }
      acc.assign(loop.getResults().begin(), loop.getResults().end());
      if (!sp.promote) {
        atom.wait(acc, 0);
        release(e.cst(steps - 1));
      } else {
        acc.erase(acc.begin(), acc.begin() + na);
      }
    }
    emitWgmmaEpilogue(e, sp, acc, mmaWg, warp, lane, tm0, tn0, y, m, value);
  });
  b.setInsertionPointAfter(isProducer);
}

/// The gpu.func of a wgmma GEMM: `ptrArgs` pointer arguments, M as i32,
/// then with `tile.tma` the tensor maps of x and w (128 bytes each, passed
/// by value: qc-gpu-tensor-map-params makes them grid constants), with its
/// stages (and the TMA pipeline's mbarriers) declared next to it.
struct WgmmaGemmFunc {
  gpu::GPUFuncOp func;
  std::string smemName, barsName;
  /// The tensor maps' addresses (null without TMA).
  Value mapX, mapW;
};

WgmmaGemmFunc createWgmmaGemmFunc(OpBuilder &builder, Location loc,
                                  StringRef name, const qc::MmaTileConfig &t,
                                  int64_t ptrArgs) {
  MLIRContext *ctx = builder.getContext();
  WgmmaGemmFunc f;
  f.smemName = declareStages(builder, loc, name, t.wgmmaSharedBytes(),
                             t.wgmmaDynamicShared());
  SmallVector<Type> args(ptrArgs, LLVM::LLVMPointerType::get(ctx, 1));
  args.push_back(builder.getI32Type());
  auto mapTy = LLVM::LLVMArrayType::get(builder.getI64Type(), 16);
  if (t.tma) {
    f.barsName = qc::detail::declareSharedArray(
        builder, loc, (name + "_bars").str(), builder.getI64Type(),
        2 * t.stages, /*align=*/8);
    args.append(2, mapTy);
  }
  f.func = createKernelFunc(builder, loc, name, args, t.blockSize());
  if (t.tma) {
    f.func->setAttr(
        "qc.tensor_map_args",
        builder.getDenseI32ArrayAttr({static_cast<int32_t>(ptrArgs + 1),
                                      static_cast<int32_t>(ptrArgs + 2)}));
    OpBuilder::InsertionGuard g(builder);
    builder.setInsertionPointToStart(&f.func.getBody().front());
    auto address = [&](Value map) {
      return UnrealizedConversionCastOp::create(
                 builder, loc, LLVM::LLVMPointerType::get(ctx), map)
          .getResult(0);
    };
    f.mapX = address(f.func.getArgument(ptrArgs + 1));
    f.mapW = address(f.func.getArgument(ptrArgs + 2));
  }
  return f;
}
} // namespace

gpu::GPUFuncOp
qc::detail::buildFp16WgmmaGemmKernel(OpBuilder &builder, Location loc,
                                     StringRef name,
                                     const Fp16GemmKernelConfig &cfg) {
  const MmaTileConfig &t = cfg.tile;
  WgmmaGemmFunc f = createWgmmaGemmFunc(builder, loc, name, t, 4);
  gpu::GPUFuncOp func = f.func;
  ImplicitLocOpBuilder b(loc, builder);
  b.setInsertionPointToEnd(&func.getBody().front());
  Emitter e(b);
  auto args = func.getArguments();
  Value x = args[0], w = args[1], bias = args[2], y = args[3], m = args[4];
  Type outTy = cfg.outF16 ? e.f16 : e.f32;
  emitWgmmaGemm(
      e, f.smemName, f.barsName,
      WgmmaGemmSpec{cfg.n, cfg.k, WgmmaOperands::F16, t, outTy}, x, w, f.mapX,
      f.mapW, y, m, [&](Value acc, Value, Value col) -> Value {
        if (!cfg.hasBias)
          return acc;
        return arith::AddFOp::create(b, acc, e.loadF32(bias, outTy, col));
      });
  gpu::ReturnOp::create(b);
  return func;
}

gpu::GPUFuncOp
qc::detail::buildInt8WgmmaGemmKernel(OpBuilder &builder, Location loc,
                                     StringRef name,
                                     const Int8GemmKernelConfig &cfg) {
  const MmaTileConfig &t = cfg.tile;
  WgmmaGemmFunc f = createWgmmaGemmFunc(builder, loc, name, t, 6);
  gpu::GPUFuncOp func = f.func;
  ImplicitLocOpBuilder b(loc, builder);
  b.setInsertionPointToEnd(&func.getBody().front());
  Emitter e(b);
  auto args = func.getArguments();
  Value qx = args[0], sx = args[1], w = args[2], sw = args[3], bias = args[4],
        y = args[5], m = args[6];
  Type outTy = cfg.outF16 ? e.f16 : e.f32;
  Type swTy = cfg.weightScaleF16 ? e.f16 : e.f32;
  Value sx0 = cfg.perTokenAct ? Value() : e.loadF32(sx, e.f32, e.cst(0));
  Value sw0 = cfg.perTensorWeight ? e.loadF32(sw, swTy, e.cst(0)) : Value();
  // The mma.sync kernel's epilogue arithmetic: i32 -> f32 (exact below
  // 2^24; FP8 accumulates in f32), times the row's then the column's scale,
  // plus the bias.
  WgmmaOperands operands = cfg.fp8 ? WgmmaOperands::E4M3 : WgmmaOperands::S8;
  emitWgmmaGemm(
      e, f.smemName, f.barsName,
      WgmmaGemmSpec{cfg.n, cfg.k, operands, t, outTy, cfg.fp8Promote()}, qx, w,
      f.mapX, f.mapW, y, m, [&](Value acc, Value row, Value col) -> Value {
        Value v =
            cfg.fp8 ? acc : arith::SIToFPOp::create(b, e.f32, acc).getResult();
        Value rs = sx0 ? sx0 : e.loadF32(sx, e.f32, row);
        Value cs = sw0 ? sw0 : e.loadF32(sw, swTy, col);
        if (sx0 && sw0)
          v = arith::MulFOp::create(b, v, arith::MulFOp::create(b, rs, cs));
        else
          v = arith::MulFOp::create(b, arith::MulFOp::create(b, v, rs), cs);
        if (cfg.hasBias)
          v = arith::AddFOp::create(b, v, e.loadF32(bias, outTy, col));
        return v;
      });
  gpu::ReturnOp::create(b);
  return func;
}
