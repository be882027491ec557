//===- KernelBuilders.h - Named GPU kernel builders -------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Every GPU kernel quant runs is built here, as gpu/llvm/nvvm dialect IR, by a
// named function whose config struct (qc/Kernels/KernelConfigs.h) spells out
// the tiling, the memory path and the instruction choice. Tuning a kernel
// means changing a config, not rewriting a builder.
//
//===----------------------------------------------------------------------===//

#ifndef QC_CONVERSION_QCTONVVM_KERNELBUILDERS_H
#define QC_CONVERSION_QCTONVVM_KERNELBUILDERS_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

#include "qc/Kernels/KernelConfigs.h"

#include <array>
#include <string>

namespace qc {

/// Marks the top-level operation of a kernel's entry block after which
/// qc-gpu-dependent-launch waits for the previous kernel (instead of at the
/// kernel's first operation): what precedes it touches only memory no
/// earlier kernel writes (the weight prefetch of
/// WeightOnlyWeightConfig::l2Prefetch).
inline constexpr llvm::StringLiteral kWaitAfterAttrName =
    "qc.dependent_wait_after";

/// Builds `gpu.func @name(x, w, scales, zeros, bias, y: !llvm.ptr<1>, m: i32
/// [, residual: !llvm.ptr<1>])` computing y[m, n] = sum_k x[m, k] *
/// (q[n, k] - z[n, g]) * s[n, g] (+ b[n]) (+ r[m, n]) over row_major packed
/// weights (int4 two per byte, even k in the low nibble). `zeros`/`bias` are
/// ignored when the config has none; `residual` exists with hasResidual.
mlir::gpu::GPUFuncOp buildWeightOnlyGemvKernel(mlir::OpBuilder &builder,
                                               mlir::Location loc,
                                               llvm::StringRef name,
                                               const GemvKernelConfig &cfg);

/// Builds `gpu.func @name(qx, sx, w, sw, bias, y: !llvm.ptr<1>, m: i32)` for
/// `cfg` (see Int8GemmKernelConfig). `bias` is ignored without one. Also
/// declares the kernel's shared-memory buffer (an addrspace(3) llvm global)
/// next to it. Launch: grid cfg.tile.grid(n, M), block cfg.tile.blockSize(),
/// no dynamic shared memory; M must be positive.
mlir::gpu::GPUFuncOp buildInt8GemmKernel(mlir::OpBuilder &builder,
                                         mlir::Location loc,
                                         llvm::StringRef name,
                                         const Int8GemmKernelConfig &cfg);

/// Builds `gpu.func @name(x, w, bias, y: !llvm.ptr<1>, m: i32)`; launch as
/// for buildInt8GemmKernel.
mlir::gpu::GPUFuncOp buildFp16GemmKernel(mlir::OpBuilder &builder,
                                         mlir::Location loc,
                                         llvm::StringRef name,
                                         const Fp16GemmKernelConfig &cfg);

/// Builds `gpu.func @name(x, q, scales: !llvm.ptr<1>, m: i32)`; launch with
/// grid {M} and block {cfg.threads}.
mlir::gpu::GPUFuncOp buildActQuantKernel(mlir::OpBuilder &builder,
                                         mlir::Location loc,
                                         llvm::StringRef name,
                                         const ActQuantKernelConfig &cfg);

/// Builds `gpu.func @name(x, w, scales, zeros, bias, y: !llvm.ptr<1>, m: i32
/// [, r: !llvm.ptr<1>])` (the GEMV kernel's arguments); launch as for
/// buildInt8GemmKernel.
mlir::gpu::GPUFuncOp
buildWeightOnlyMmaKernel(mlir::OpBuilder &builder, mlir::Location loc,
                         llvm::StringRef name,
                         const WeightOnlyMmaKernelConfig &cfg);

/// Builds `gpu.func @name(x, w, scales, zeros, bias, y: !llvm.ptr<1>, m:
/// i32, ws: !llvm.ptr<1> [, r: !llvm.ptr<1>])`: the frag family
/// (WeightOnlyFragKernelConfig). Grid (channel tiles x S, ceil(M / mTile)),
/// block 32 x warpsK; with S > 1 it writes ws [S, M, N] f32 instead of y.
mlir::gpu::GPUFuncOp
buildWeightOnlyFragKernel(mlir::OpBuilder &builder, mlir::Location loc,
                          llvm::StringRef name,
                          const WeightOnlyFragKernelConfig &cfg);

/// Builds `gpu.func @name(x, w, scales, zeros, bias, y: !llvm.ptr<1>, m: i32
/// [, r: !llvm.ptr<1>])` (the GEMV kernel's arguments): the frag family's
/// large-M variant on Hopper, wgmma with the weights as the register A
/// operand (WeightOnlyWgmmaKernelConfig, sm_90a only). Grid (N / (64 x
/// warpgroups), ceil(M / tokens)), block 128 x warpgroups.
mlir::gpu::GPUFuncOp
buildWeightOnlyWgmmaKernel(mlir::OpBuilder &builder, mlir::Location loc,
                           llvm::StringRef name,
                           const WeightOnlyWgmmaKernelConfig &cfg);

/// Builds `gpu.func @name(ws, bias, y: !llvm.ptr<1>, m: i32 [, r:
/// !llvm.ptr<1>])`: the frag family's split-K reduction
/// (FragReduceKernelConfig).
mlir::gpu::GPUFuncOp buildFragReduceKernel(mlir::OpBuilder &builder,
                                           mlir::Location loc,
                                           llvm::StringRef name,
                                           const FragReduceKernelConfig &cfg);

/// The MLIR element type of `e`.
inline mlir::Type kernelElemType(mlir::Builder &b, KernelElem e) {
  switch (e) {
  case KernelElem::F16:
    return b.getF16Type();
  case KernelElem::BF16:
    return b.getBF16Type();
  case KernelElem::F32:
    break;
  }
  return b.getF32Type();
}

/// Builds `gpu.func @name(x, w, b, y: !llvm.ptr<1>, m: i32)` for `cfg`
/// (`b` is ignored for RMSNorm) and, with more than one warp, its
/// shared-memory buffer (an addrspace(3) llvm global) next to it. Launch:
/// grid {M}, block {cfg.threads}; M must be positive.
mlir::gpu::GPUFuncOp buildRowNormKernel(mlir::OpBuilder &builder,
                                        mlir::Location loc,
                                        llvm::StringRef name,
                                        const RowNormKernelConfig &cfg);

/// Builds `gpu.func @name(x, out: !llvm.ptr<1>, m: i32)` for `cfg` and, with
/// more than one warp, its shared-memory buffers (addrspace(3) llvm
/// globals). Launch: grid {M}, block {cfg.threads}.
mlir::gpu::GPUFuncOp buildRowArgmaxKernel(mlir::OpBuilder &builder,
                                          mlir::Location loc,
                                          llvm::StringRef name,
                                          const RowArgmaxKernelConfig &cfg);

/// The GPU form of qc.sample (one CTA per row of K = V logits, the same
/// config as the argmax): `gpu.func @name(x, temperature (f32), top_k (i64),
/// seed (i64), pos (i64 [M]), out (i64 [M]): !llvm.ptr<1>, m: i32)`. With
/// temperature > 0 and 0 < top_k < V it first finds the ordered key of the
/// k-th largest logit by an 8-bit radix select (4 passes over the row, each
/// a 256-bin shared-memory histogram of the keys matching the digits chosen
/// so far, atomically counted, then thread 0 picks the next digit); then the
/// argmax kernel's pass and reduction run over the scores l / temperature +
/// Gumbel noise (-inf below tau), or over the logits themselves when
/// temperature <= 0 (greedy). The arithmetic is qc/Dialect/QC/Utils/
/// Sampling.h's, the host lowering's. Launch: grid {M}, block {cfg.threads}.
mlir::gpu::GPUFuncOp buildRowSampleKernel(mlir::OpBuilder &builder,
                                          mlir::Location loc,
                                          llvm::StringRef name,
                                          const RowArgmaxKernelConfig &cfg);

/// Builds `gpu.func @<name>_partial(q, kc, vc, pos, ws: !llvm.ptr<1>, t: i32,
/// cache_b: i32)` and `gpu.func @<name>_combine(ws, pos, out: !llvm.ptr<1>,
/// t: i32)` for `cfg` (see CacheAttentionKernelConfig). Launch: partial with
/// grid (numChunks * KV, T, B), block 32; then combine with grid (H, T, B),
/// block D; none when B * T = 0. The workspace holds B * T * H * chunks
/// records, chunks = numChunks for T <= maxSplitT, else 1.
void buildCacheAttentionKernels(mlir::OpBuilder &builder, mlir::Location loc,
                                llvm::StringRef name,
                                const CacheAttentionKernelConfig &cfg);

/// Builds `gpu.func @name(q, kc, vc, pos, out: !llvm.ptr<1>, t: i32,
/// cache_b: i32)`, the causal prefill attention of qc.cache_attention on
/// tensor cores (FlashAttention-2 forward over the cache) for `cfg` when
/// cfg.usesPrefillKernel() (16-bit queries and caches of one type, D in
/// {64, 128}), and its static shared memory (an addrspace(3) llvm global,
/// cfg.prefillSharedBytes(): 34 KiB for D = 128) next to it. The same
/// semantics and output layout (B x T x H x D, the query type) as
/// buildCacheAttentionKernels; no workspace.
///
/// Tiling: CTA (kv head, query tile, b) of 4 warps owns 64 query rows, the
/// (t, g) pairs (t-major) of TQ = cfg.prefillTokens() = floor(64 / G)
/// consecutive tokens x the G query heads of its KV head, so one K / V tile
/// serves the G heads; warp w owns rows 16w .. 16w + 15 (rows past TQ x G
/// or T idle). Query tiles are walked from the last (most keys) down.
/// Memory path: the warp's Q fragments are loaded once from global memory
/// into registers (A operands of every k16 step); key tiles of 64 keys x D
/// of K and V are staged into one shared K tile and one shared V tile
/// (rows padded by 16 bytes: conflict-free ldmatrix) with 16-byte
/// cp.async.cg copies, K tile j + 1 in flight during P V of tile j and V
/// tile j during Q K^T of tile j (single-buffered each: fits 48 KiB of
/// static shared memory for D = 128); keys past the CTA's last visible key
/// are zero-filled. Instructions: S = Q K^T and O += P V with mma.sync
/// m16n8k16 (f16 or bf16 in, f32 accumulate), K through ldmatrix.x4 and V
/// through ldmatrix.x4.trans; S scaled by scale * log2(e) in f32, online
/// softmax in registers (row max / sum over the quad with shuffles,
/// ex2.approx), P rounded to 16 bits in registers as the A operand of
/// P V. Causal: query (b, t) at p = pos[b] + t sees keys 0 .. min(p, S -
/// 1); tiles past the CTA's last visible key are not visited, tiles past
/// its first token's keys are masked element-wise. Output o / l (0 for a
/// query with no key). Launch: grid (KV, ceil(T / TQ), B), block 128;
/// none when B * T = 0.
mlir::gpu::GPUFuncOp
buildPrefillAttentionKernel(mlir::OpBuilder &builder, mlir::Location loc,
                            llvm::StringRef name,
                            const CacheAttentionKernelConfig &cfg);
} // namespace qc

#endif // QC_CONVERSION_QCTONVVM_KERNELBUILDERS_H
