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
struct WgmmaAtom {
  Emitter &e;
  int64_t n;

  WgmmaAtom(Emitter &e, int64_t n) : e(e), n(n) {}

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

} // namespace

gpu::GPUFuncOp
qc::buildWeightOnlyWgmmaKernel(OpBuilder &builder, Location loc, StringRef name,
                               const WeightOnlyWgmmaKernelConfig &cfg) {
  // Static stages (1024-byte aligned), or an external zero-length array for
  // the dynamic ones (aligned at run time).
  std::string smemName = qc::detail::declareSharedArray(
      builder, loc, (name + "_smem").str(), builder.getI8Type(),
      cfg.dynamicShared() ? 0 : cfg.sharedBytes(), /*align=*/1024,
      cfg.dynamicShared() ? LLVM::Linkage::External : LLVM::Linkage::Internal);
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

  Value smem = LLVM::AddressOfOp::create(b, e.ptr3, smemName);
  Value smemAddr = arith::TruncIOp::create(
      b, e.i32, LLVM::PtrToIntOp::create(b, e.i64, smem));
  if (cfg.dynamicShared()) {
    // The 128-byte swizzle repeats every 1024 bytes: round the base up.
    Value aligned =
        arith::AndIOp::create(b, e.add(smemAddr, 1023), e.cst(~int64_t(1023)));
    smem = e.byteGep(smem, arith::SubIOp::create(b, aligned, smemAddr));
    smemAddr = aligned;
  }
  Value tid = e.toI32(gpu::ThreadIdOp::create(b, gpu::Dimension::x));
  Value lane = arith::AndIOp::create(b, tid, e.cst(31));
  Value warp = arith::ShRUIOp::create(b, tid, e.cst(5));
  Value bx = e.toI32(gpu::BlockIdOp::create(b, gpu::Dimension::x));
  Value m0 = e.mul(e.toI32(gpu::BlockIdOp::create(b, gpu::Dimension::y)), T);
  // Warp w's channel block: rows [16 w, 16 w + 16) of the CTA's channels.
  Value block = e.add(e.mul(bx, 4 * cfg.warpgroups), warp);
  Value n0 = e.mul(block, 16);
  FragWeightStream wts(e, wcfg, w, scales, zeros, lane, block, n0,
                       /*warpFirst=*/e.cst(0));

  WgmmaAtom atom(e, T);
  const int64_t steps = cfg.steps();
  // Steps of activations in flight ahead of the one multiplied: a stage is
  // refilled once the wgmmas reading it are done, which with `pending`
  // groups left in flight is one step later.
  const int64_t pending = cfg.pendingGroups();
  const int64_t ahead = cfg.stages - 1 - pending;
  Value nSteps = e.cst(steps);
  auto loadX = [&](Value c, Value stage) {
    copySwizzledTile(e, tid, threads, x, cfg.k * 2, T, m0, m, e.mul(c, 128),
                     cfg.k * 2,
                     e.byteGep(smem, e.mul(stage, cfg.stageBytes())));
  };
  // Prologue: `ahead` activation steps in flight (empty groups keep the
  // count cp.async.wait_group relies on).
  for (int64_t st = 0; st < ahead; ++st) {
    if (st < steps)
      loadX(e.cst(st), e.cst(st));
    NVVM::CpAsyncCommitGroupOp::create(b);
  }
  SmallVector<Value> init(
      atom.numAcc(), arith::ConstantOp::create(b, e.f32, b.getF32FloatAttr(0)));
  SmallVector<Value> first = wts.prologue();
  init.append(first.begin(), first.end());
  auto loop = scf::ForOp::create(b, e.cst(0), nSteps, e.cst(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value c = loop.getInductionVar();
    SmallVector<Value> acc(loop.getRegionIterArgs().take_front(atom.numAcc()));
    SmallVector<Value> inFlight(
        loop.getRegionIterArgs().drop_front(atom.numAcc()));
    NVVM::CpAsyncWaitGroupOp::create(b, ahead - 1);
    NVVM::Barrier0Op::create(b);
    Value next = e.add(c, ahead);
    auto ifLoad = scf::IfOp::create(b, e.ult(next, nSteps), false);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(ifLoad.thenBlock());
      loadX(next, e.urem(next, cfg.stages));
    }
    NVVM::CpAsyncCommitGroupOp::create(b);
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
    Value stageAddr =
        e.add(smemAddr, e.mul(e.urem(c, cfg.stages), cfg.stageBytes()));
    for (int64_t s = 0; s < 4; ++s)
      atom.mma(acc, ArrayRef<Value>(a).slice(4 * s, 4),
               atom.descriptor(e.add(stageAddr, 32 * s)));
    atom.commit();
    atom.wait(acc, pending);
    wts.advance(acc, inFlight, aheadW);
    scf::YieldOp::create(b, acc);
  }
  SmallVector<Value> acc(loop.getResults().take_front(atom.numAcc()));
  if (pending)
    atom.wait(acc, 0);
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
