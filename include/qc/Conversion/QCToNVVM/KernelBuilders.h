//===- KernelBuilders.h - Named GPU kernel builders -------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Every GPU kernel quant runs is built here, as gpu/llvm/nvvm dialect IR, by a
// named function whose config struct spells out the tiling, the memory path
// and the instruction choice. Tuning a kernel means changing a config, not
// rewriting a builder.
//
//===----------------------------------------------------------------------===//

#ifndef QC_CONVERSION_QCTONVVM_KERNELBUILDERS_H
#define QC_CONVERSION_QCTONVVM_KERNELBUILDERS_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

#include <array>
#include <string>

namespace qc {

/// Configuration of the weight-only GEMV kernel (small M).
///
/// Tiling: one warp owns `rowsPerWarp` output channels n; a block holds
/// `warpsPerBlock` warps; blockIdx.y walks the M rows in tiles of `mTile`
/// (every thread keeps mTile x rowsPerWarp fp32 accumulators).
/// Memory path: each lane streams its weight row(s) from global memory in
/// `vecBytes`-wide loads (16 bytes when the row and group sizes allow),
/// consecutive lanes reading consecutive chunks (fully coalesced); the
/// activation chunk for the same k range is loaded once per m row and reused
/// for all rows of the warp. No shared memory: activations are small and hit
/// L1/L2.
/// Instructions: integers are extracted with shifts (sign extension by an
/// arithmetic right shift for symmetric schemes), converted with cvt, the
/// zero point subtracted, and the group's partial dot product accumulated
/// with fp32 FMAs; the scale is applied once per group chunk. A butterfly
/// shuffle (shfl.sync.bfly) reduces the warp's partial sums; lane 0 adds the
/// bias and stores.
struct GemvKernelConfig {
  int64_t n = 0, k = 0;
  /// Weight bits: 4 or 8.
  unsigned bits = 4;
  /// Input channels per scale; k for per-channel.
  int64_t groupSize = 0;
  /// One scale (and zero point) for the whole tensor.
  bool perTensor = false;
  bool symmetric = true;
  bool hasBias = false;
  /// Activation/result element type: f16 or f32.
  bool actF16 = true;
  /// Scale element type: f16 or f32 (zero points are i8 bit patterns).
  bool scaleF16 = false;
  int64_t warpsPerBlock = 4;
  int64_t rowsPerWarp = 2;
  int64_t mTile = 4;
  /// Bytes per weight load; 0 picks the widest of 16/8/4/2/1 that divides the
  /// row and keeps a load inside one group.
  int64_t vecBytes = 0;

  /// Picks vecBytes when 0 and checks the shape; returns an error message or
  /// the empty string.
  std::string finalize();
  /// Grid size for M rows: {ceil(n / (warps * rowsPerWarp)), ceil(M / mTile)}.
  std::array<int64_t, 2> grid(int64_t m) const;
  int64_t blockSize() const { return 32 * warpsPerBlock; }
};

/// Builds `gpu.func @name(x, w, scales, zeros, bias, y: !llvm.ptr<1>, m: i32)`
/// computing y[m, n] = sum_k x[m, k] * (q[n, k] - z[n, g]) * s[n, g] (+ b[n])
/// over row_major packed weights (int4 two per byte, even k in the low
/// nibble). `zeros`/`bias` are ignored when the config has none.
mlir::gpu::GPUFuncOp buildWeightOnlyGemvKernel(mlir::OpBuilder &builder,
                                               mlir::Location loc,
                                               llvm::StringRef name,
                                               const GemvKernelConfig &cfg);

} // namespace qc

#endif // QC_CONVERSION_QCTONVVM_KERNELBUILDERS_H
