# The non-qc glue an importer emits lowers through qc-lower-to-host with
# dynamic dims: linalg.generic elementwise (silu, gelu via math.erf and
# math.tanh), linalg.softmax, tensor.expand_shape/collapse_shape (including
# two dynamic dims in one group), linalg.transpose, linalg.batch_matmul,
# tensor.extract_slice/insert_slice. Checked against numpy float64.
# UNSUPPORTED: asan
# RUN: rm -rf %t && mkdir -p %t && %python %s %t | FileCheck %s
# CHECK: ALL PASSED

import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Inputs"))
import qc_host_harness as h  # noqa: E402

MLIR = r"""
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @silu(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %d0 = tensor.dim %x, %c0 : tensor<?x?x64xf32>
  %d1 = tensor.dim %x, %c1 : tensor<?x?x64xf32>
  %e = tensor.empty(%d0, %d1) : tensor<?x?x64xf32>
  %y = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x?x64xf32>) outs(%e : tensor<?x?x64xf32>) {
  ^bb0(%a: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %n = arith.negf %a : f32
    %ex = math.exp %n : f32
    %den = arith.addf %one, %ex : f32
    %r = arith.divf %a, %den : f32
    linalg.yield %r : f32
  } -> tensor<?x?x64xf32>
  return %y : tensor<?x?x64xf32>
}
func.func @gelu(%x: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %d0 = tensor.dim %x, %c0 : tensor<?x?x64xf32>
  %d1 = tensor.dim %x, %c1 : tensor<?x?x64xf32>
  %e = tensor.empty(%d0, %d1) : tensor<?x?x64xf32>
  %y = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x?x64xf32>) outs(%e : tensor<?x?x64xf32>) {
  ^bb0(%a: f32, %o: f32):
    %half = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %rs2 = arith.constant 0.70710678118654752 : f32
    %t = arith.mulf %a, %rs2 : f32
    %er = math.erf %t : f32
    %p = arith.addf %one, %er : f32
    %h = arith.mulf %a, %half : f32
    %r = arith.mulf %h, %p : f32
    linalg.yield %r : f32
  } -> tensor<?x?x64xf32>
  %z = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x?x64xf32>) outs(%e : tensor<?x?x64xf32>) {
  ^bb0(%a: f32, %o: f32):
    %half = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %c = arith.constant 0.7978845608028654 : f32
    %k = arith.constant 0.044715 : f32
    %a3 = arith.mulf %a, %a : f32
    %a4 = arith.mulf %a3, %a : f32
    %ka = arith.mulf %a4, %k : f32
    %s = arith.addf %a, %ka : f32
    %u = arith.mulf %s, %c : f32
    %th = math.tanh %u : f32
    %p = arith.addf %one, %th : f32
    %h = arith.mulf %a, %half : f32
    %r = arith.mulf %h, %p : f32
    linalg.yield %r : f32
  } -> tensor<?x?x64xf32>
  return %y, %z : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}
// Multi-head attention core on [T, 64] with 4 heads of 16.
func.func @attention(%q: tensor<?x64xf32>, %k: tensor<?x64xf32>, %v: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %q, %c0 : tensor<?x64xf32>
  %qh = tensor.expand_shape %q [[0], [1, 2]] output_shape [%t, 4, 16] : tensor<?x64xf32> into tensor<?x4x16xf32>
  %kh = tensor.expand_shape %k [[0], [1, 2]] output_shape [%t, 4, 16] : tensor<?x64xf32> into tensor<?x4x16xf32>
  %vh = tensor.expand_shape %v [[0], [1, 2]] output_shape [%t, 4, 16] : tensor<?x64xf32> into tensor<?x4x16xf32>
  %e1 = tensor.empty(%t) : tensor<4x?x16xf32>
  %qt = linalg.transpose ins(%qh : tensor<?x4x16xf32>) outs(%e1 : tensor<4x?x16xf32>) permutation = [1, 0, 2]
  %vt = linalg.transpose ins(%vh : tensor<?x4x16xf32>) outs(%e1 : tensor<4x?x16xf32>) permutation = [1, 0, 2]
  %e2 = tensor.empty(%t) : tensor<4x16x?xf32>
  %kt = linalg.transpose ins(%kh : tensor<?x4x16xf32>) outs(%e2 : tensor<4x16x?xf32>) permutation = [1, 2, 0]
  %zero = arith.constant 0.0 : f32
  %e3 = tensor.empty(%t, %t) : tensor<4x?x?xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<4x?x?xf32>) -> tensor<4x?x?xf32>
  %s = linalg.batch_matmul ins(%qt, %kt : tensor<4x?x16xf32>, tensor<4x16x?xf32>) outs(%f3 : tensor<4x?x?xf32>) -> tensor<4x?x?xf32>
  %e4 = tensor.empty(%t, %t) : tensor<4x?x?xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<4x?x?xf32>) outs(%e4 : tensor<4x?x?xf32>) -> tensor<4x?x?xf32>
  %f5 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4x?x16xf32>) -> tensor<4x?x16xf32>
  %o = linalg.batch_matmul ins(%p, %vt : tensor<4x?x?xf32>, tensor<4x?x16xf32>) outs(%f5 : tensor<4x?x16xf32>) -> tensor<4x?x16xf32>
  %e6 = tensor.empty(%t) : tensor<?x4x16xf32>
  %ot = linalg.transpose ins(%o : tensor<4x?x16xf32>) outs(%e6 : tensor<?x4x16xf32>) permutation = [1, 0, 2]
  %r = tensor.collapse_shape %ot [[0], [1, 2]] : tensor<?x4x16xf32> into tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}
// [B*T, C] -> [B, T, C] with two dynamic dims in one group, then slices:
// out[b, t, 32:64] = x[b, t, 0:32] * 2, out[..., 0:32] = 0.
func.func @reshape_slices(%x: tensor<?x64xf32>, %bsz: index) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x64xf32>
  %t = arith.divui %n, %bsz : index
  %x3 = tensor.expand_shape %x [[0, 1], [2]] output_shape [%bsz, %t, 64] : tensor<?x64xf32> into tensor<?x?x64xf32>
  %lo = tensor.extract_slice %x3[0, 0, 0] [%bsz, %t, 32] [1, 1, 1] : tensor<?x?x64xf32> to tensor<?x?x32xf32>
  %e = tensor.empty(%bsz, %t) : tensor<?x?x32xf32>
  %two = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%lo : tensor<?x?x32xf32>) outs(%e : tensor<?x?x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %a : f32
    linalg.yield %r : f32
  } -> tensor<?x?x32xf32>
  %zero = arith.constant 0.0 : f32
  %eo = tensor.empty(%bsz, %t) : tensor<?x?x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%eo : tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %r = tensor.insert_slice %two into %z[0, 0, 32] [%bsz, %t, 32] [1, 1, 1] : tensor<?x?x32xf32> into tensor<?x?x64xf32>
  return %r : tensor<?x?x64xf32>
}
// A result aliasing an argument is cloned: the caller still owns (and frees)
// every result, and the argument stays untouched.
func.func @ret_arg(%x: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  return %x, %x : tensor<?x4xf32>, tensor<?x4xf32>
}
"""

lib = h.build(MLIR, workdir=sys.argv[1])
rng = h.make_rng()
erf = np.vectorize(math.erf)

for t in [1, 3, 17, 64]:
    x = rng.standard_normal((2, t, 64)).astype(np.float32)
    xd = x.astype(np.float64)
    y = h.call(lib, "silu", [x], [(3, np.float32)])
    h.check_close("silu T=%d" % t, y, xd / (1 + np.exp(-xd)), 1e-5, 1e-6)
    ge, gt = h.call(lib, "gelu", [x], [(3, np.float32), (3, np.float32)])
    h.check_close("gelu(erf) T=%d" % t, ge, 0.5 * xd * (1 + erf(xd / math.sqrt(2))), 1e-5, 1e-6)
    h.check_close("gelu(tanh) T=%d" % t, gt,
                  0.5 * xd * (1 + np.tanh(math.sqrt(2 / math.pi) * (xd + 0.044715 * xd ** 3))),
                  1e-5, 1e-6)
    q, k, v = (rng.standard_normal((t, 64)).astype(np.float32) for _ in range(3))
    y = h.call(lib, "attention", [q, k, v], [(2, np.float32)])
    qh, kh, vh = (a.astype(np.float64).reshape(t, 4, 16).transpose(1, 0, 2) for a in (q, k, v))
    s = qh @ kh.transpose(0, 2, 1)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    ref = (p @ vh).transpose(1, 0, 2).reshape(t, 64)
    h.check_close("attention (batch_matmul, softmax, transpose, reshapes) T=%d" % t, y, ref, 1e-5, 1e-5)
    b = 3
    xs = rng.standard_normal((b * t, 64)).astype(np.float32)
    y = h.call(lib, "reshape_slices", [xs, b], [(3, np.float32)])
    ref = np.zeros((b, t, 64))
    ref[..., 32:] = 2 * xs.astype(np.float64).reshape(b, t, 64)[..., :32]
    h.check_close("expand_shape [B*T]->[B,T], extract/insert_slice T=%d" % t, y, ref, 0, 0)
xa = rng.standard_normal((5, 4)).astype(np.float32)
keep = xa.copy()
r1, r2 = h.call(lib, "ret_arg", [xa], [(2, np.float32), (2, np.float32)])
h.check_equal("returned argument (cloned, freed by caller)", r1, keep)
h.check_equal("returned argument, second result", r2, keep)
h.check_equal("argument unchanged", xa, keep)
print("ALL PASSED")
