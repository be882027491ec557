//===- FragLayout.h - The mma_frag packed weight layout ---------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The one definition of `#qc.layout<mma_frag>` (QCAttrs.td,
// docs/weight-layouts.md): where element (n, k) of an N x K INT4/INT8 weight
// lives. qc-pack-weights evaluates it on integers, the host lowering emits it
// as arith ops, and the `frag` kernel (buildWeightOnlyFragKernel) consumes
// the bytes in exactly this order.
//
// The weight is cut into units of 16 output channels x kUnit input channels
// (kUnit = 64 for INT4, 32 for INT8): 512 bytes, stored unit row by unit row
// (all K units of channels 0-15, then 16-31, ...). Inside a unit, lane l of
// a warp (g = l / 4, t = l % 4) owns the 16 bytes at 16 l: four 32-bit words
// that are its mma.sync m16n8k16 B fragments (rows k, column n of the
// col-major B = W^T) for the unit:
//   register r (0: k = 2t, 2t+1; 1: k = 2t+8, 2t+9) of n8 tile `tile`
//   (n = 16 * nt + 8 * tile + g) of K step s (k16 steps of the unit).
// INT4: word s holds K step s; its f16x2 pair j = 2 * tile + r sits in
// nibbles j (low half, even k) and j + 4 (high half, odd k), so that
// (word >> 4j) & 0x000F000F yields both values of one register.
// INT8: word 2 s + tile holds K step s of n8 tile `tile`; its pair r sits in
// bytes r (even k) and r + 2 (odd k): (word >> 8r) & 0x00FF00FF.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_IR_FRAGLAYOUT_H
#define QC_DIALECT_QC_IR_FRAGLAYOUT_H

#include <cstdint>

namespace mlir::qc {

/// Output channels per mma_frag unit.
inline constexpr int64_t kFragUnitN = 16;
/// Bytes per mma_frag unit (32 lanes x 16 bytes).
inline constexpr int64_t kFragUnitBytes = 512;

/// Input channels per mma_frag unit for `bits`-bit weights (64 or 32).
inline constexpr int64_t fragUnitK(unsigned bits) {
  return kFragUnitBytes * 8 / (kFragUnitN * bits);
}

/// Whether an N x K weight of `bits` bits can be stored mma_frag.
inline bool fragLayoutFits(int64_t n, int64_t k, unsigned bits) {
  return (bits == 4 || bits == 8) && n > 0 && k > 0 && n % kFragUnitN == 0 &&
         k % fragUnitK(bits) == 0;
}

/// Where element (row, col) of a `bits`-bit weight with `k` input channels
/// lives: byte offset `byte`, its value in bits [shift, shift + bits).
template <typename V> struct FragPosition { V byte, shift; };

/// The mma_frag position of (row, col), written once for any integer-like
/// value: `ops` supplies div(V, c), rem(V, c), mul(V, c) and add(V, V) for
/// non-negative V and positive constants c (plain integers for packing, arith
/// ops for the host lowering).
template <typename V, typename Ops>
FragPosition<V> fragPosition(Ops &ops, unsigned bits, int64_t k, V row, V col) {
  int64_t unitK = fragUnitK(bits);
  V nt = ops.div(row, kFragUnitN), nr = ops.rem(row, kFragUnitN);
  V tile = ops.div(nr, 8), g = ops.rem(nr, 8);
  V ku = ops.div(col, unitK), kr = ops.rem(col, unitK);
  V s = ops.div(kr, 16), kk = ops.rem(kr, 16);
  V reg = ops.div(kk, 8), t = ops.div(ops.rem(kk, 8), 2), h = ops.rem(kk, 2);
  V lane = ops.add(ops.mul(g, 4), t);
  V unit = ops.add(ops.mul(nt, k / unitK), ku);
  V base = ops.mul(ops.add(ops.mul(unit, 32), lane), 16);
  if (bits == 4) {
    // Nibble p = 2 * tile + reg + 4 h of word s: byte 4 s + tile + 2 h,
    // shift 4 reg.
    V inWord = ops.add(tile, ops.mul(h, 2));
    return {ops.add(base, ops.add(ops.mul(s, 4), inWord)), ops.mul(reg, 4)};
  }
  // Byte reg + 2 h of word 2 s + tile.
  V word = ops.add(ops.mul(s, 2), tile);
  V inWord = ops.add(reg, ops.mul(h, 2));
  return {ops.add(base, ops.add(ops.mul(word, 4), inWord)), ops.mul(reg, 0)};
}

/// fragPosition's operations on plain integers.
struct FragIntOps {
  int64_t div(int64_t a, int64_t c) { return a / c; }
  int64_t rem(int64_t a, int64_t c) { return a % c; }
  int64_t mul(int64_t a, int64_t c) { return a * c; }
  int64_t add(int64_t a, int64_t b) { return a + b; }
};

} // namespace mlir::qc

#endif // QC_DIALECT_QC_IR_FRAGLAYOUT_H
