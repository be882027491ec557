# qc.argmax lowered by qc-lower-to-host (two row reductions) against numpy's
# argmax, bit for bit: random rows (f32, f16, bf16 inputs), rows with ties
# (the first index wins), NaNs (the first NaN wins), only -inf (0), rank 3
# with dynamic leading dims, and a 32000-wide vocabulary row.
# UNSUPPORTED: asan
# RUN: rm -rf %t && mkdir -p %t && %python %s %t | FileCheck %s
# CHECK: ALL PASSED

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Inputs"))
import qc_host_harness as h  # noqa: E402

MLIR = r"""
func.func @argmax_f32(%x: tensor<?x1000xf32>) -> tensor<?x1xi64> {
  %0 = qc.argmax %x : tensor<?x1000xf32> -> tensor<?x1xi64>
  return %0 : tensor<?x1xi64>
}
func.func @argmax_vocab(%x: tensor<?x32000xf32>) -> tensor<?x1xi64> {
  %0 = qc.argmax %x : tensor<?x32000xf32> -> tensor<?x1xi64>
  return %0 : tensor<?x1xi64>
}
func.func @argmax_rank3(%x: tensor<?x?x77xf32>) -> tensor<?x?x1xi64> {
  %0 = qc.argmax %x : tensor<?x?x77xf32> -> tensor<?x?x1xi64>
  return %0 : tensor<?x?x1xi64>
}
func.func @argmax_f16(%x: tensor<?x64xf16>) -> tensor<?x1xi64> {
  %0 = qc.argmax %x : tensor<?x64xf16> -> tensor<?x1xi64>
  return %0 : tensor<?x1xi64>
}
func.func @argmax_bf16(%x: tensor<?x64xbf16>) -> tensor<?x1xi64> {
  %0 = qc.argmax %x : tensor<?x64xbf16> -> tensor<?x1xi64>
  return %0 : tensor<?x1xi64>
}
"""

lib = h.build(MLIR, workdir=sys.argv[1])
rng = h.make_rng()


def check(name, fn, x, rank=2, xin=None):
    got = h.call(lib, fn, [x if xin is None else xin], [(rank, np.int64)])
    h.check_equal(name, got, np.argmax(x.astype(np.float64) if x.dtype != np.float32 else x,
                                       axis=-1, keepdims=True).astype(np.int64))


for m in (1, 3, 8):
    x = rng.standard_normal((m, 1000)).astype(np.float32)
    check(f"random M={m}", "argmax_f32", x)
# Ties: the maximum repeated at several places of each row.
x = rng.integers(-3, 4, size=(6, 1000)).astype(np.float32)
check("ties (first index)", "argmax_f32", x)
# NaN: the first NaN wins over every number and over later NaNs.
x = rng.standard_normal((4, 1000)).astype(np.float32)
x[0, 500] = np.nan
x[1, [7, 900]] = np.nan
x[2, 999] = np.nan
x[3, 0] = np.inf
check("NaN and +inf", "argmax_f32", x)
x = np.full((2, 1000), -np.inf, np.float32)
x[1, 321] = -1e30
check("only -inf / one finite", "argmax_f32", x)
x = rng.standard_normal((3, 32000)).astype(np.float32) * 10
check("vocabulary 32000", "argmax_vocab", x)
x = rng.standard_normal((2, 5, 77)).astype(np.float32)
check("rank 3 [2, 5, 77]", "argmax_rank3", x, rank=3)
x = rng.standard_normal((5, 64)).astype(np.float16)
check("f16", "argmax_f16", x)
xb = rng.standard_normal((5, 64)).astype(np.float32)
bits, xbf = h.to_bf16_bits(xb)
got = h.call(lib, "argmax_bf16", [bits], [(2, np.int64)])
h.check_equal("bf16", got, np.argmax(xbf, axis=-1, keepdims=True).astype(np.int64))
print("ALL PASSED")
