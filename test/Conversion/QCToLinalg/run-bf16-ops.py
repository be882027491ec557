# bf16 activations on the host (qc-lower-to-host, qc-host-lower-bf16)
# against an independent numpy reference that emulates bf16 with ml_dtypes:
# qc.linear (bf16 x bf16 / f32 weights), qc.wo_matmul (int4 packed, bias, rank 1-3,
# dynamic leading dims), rms_norm, layer_norm, smooth, quantize_act
# (dynamic and static, q and s bit-exact), dequantize_act to bf16
# (bit-exact), and the f32 -> bf16 conversion itself on special values
# (ties to even, subnormals, overflow to inf, NaN; bit-exact).
# Semantics (PyTorch's): bf16 storage, f32 arithmetic and accumulation, one
# round-to-nearest-even on every bf16 store. Tolerances: the float64
# reference is rounded to bf16 once with ml_dtypes; a result may differ
# from it by one bf16 ulp where the f32 accumulation lands on the other
# side of a rounding boundary (|err| <= 2^-8 |ref| + 1e-5 sum|x w|), and
# at least 95% of the elements must be exactly the rounded reference.
# UNSUPPORTED: asan
# RUN: rm -rf %t && mkdir -p %t && %python %s %t | FileCheck %s
# CHECK: PASS truncf f32->bf16 special values (exact)
# CHECK: PASS linear bf16 x bf16 + bias M=17
# CHECK: PASS quantize_act dynamic bf16 q M=17 (exact)
# CHECK: ALL PASSED

import os
import sys

import ml_dtypes
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Inputs"))
import qc_host_harness as h  # noqa: E402

BF16 = ml_dtypes.bfloat16
rng = h.make_rng()
K, N, K2 = 40, 24, 64
f64 = np.float64

MLIR = f"""
#id1 = affine_map<(d0) -> (d0)>
func.func @to_bf16(%x: tensor<?xf32>) -> tensor<?xbf16> {{
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?xf32>
  %e = tensor.empty(%n) : tensor<?xbf16>
  %y = linalg.generic {{indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}}
      ins(%x : tensor<?xf32>) outs(%e : tensor<?xbf16>) {{
  ^bb0(%a: f32, %o: bf16):
    %t = arith.truncf %a : f32 to bf16
    linalg.yield %t : bf16
  }} -> tensor<?xbf16>
  return %y : tensor<?xbf16>
}}
func.func @bf_arith(%a: tensor<?xbf16>, %b: tensor<?xbf16>) -> tensor<?xbf16> {{
  %c0 = arith.constant 0 : index
  %n = tensor.dim %a, %c0 : tensor<?xbf16>
  %e = tensor.empty(%n) : tensor<?xbf16>
  %y = linalg.generic {{indexing_maps = [#id1, #id1, #id1], iterator_types = ["parallel"]}}
      ins(%a, %b : tensor<?xbf16>, tensor<?xbf16>) outs(%e : tensor<?xbf16>) {{
  ^bb0(%u: bf16, %v: bf16, %o: bf16):
    %s = arith.addf %u, %v : bf16
    %m = arith.mulf %s, %v : bf16
    linalg.yield %m : bf16
  }} -> tensor<?xbf16>
  return %y : tensor<?xbf16>
}}
func.func @lin_bf16(%x: tensor<?x?x{K}xbf16>, %w: tensor<{N}x{K}xbf16>, %b: tensor<{N}xbf16>) -> tensor<?x?x{N}xbf16> {{
  %y = qc.linear %x, %w, %b {{layer = "a"}} : (tensor<?x?x{K}xbf16>, tensor<{N}x{K}xbf16>, tensor<{N}xbf16>) -> tensor<?x?x{N}xbf16>
  return %y : tensor<?x?x{N}xbf16>
}}
func.func @lin_f32w(%x: tensor<?x{K}xbf16>, %w: tensor<{N}x{K}xf32>) -> tensor<?x{N}xbf16> {{
  %y = qc.linear %x, %w {{layer = "b"}} : (tensor<?x{K}xbf16>, tensor<{N}x{K}xf32>) -> tensor<?x{N}xbf16>
  return %y : tensor<?x{N}xbf16>
}}
func.func @lin_rank1(%x: tensor<{K}xbf16>, %w: tensor<{N}x{K}xbf16>) -> tensor<{N}xbf16> {{
  %y = qc.linear %x, %w {{layer = "c"}} : (tensor<{K}xbf16>, tensor<{N}x{K}xbf16>) -> tensor<{N}xbf16>
  return %y : tensor<{N}xbf16>
}}
func.func @lin_w4(%x: tensor<?x{K2}xbf16>, %d: tensor<{N * K2 // 2}xi8>, %s: tensor<{N}x2xf16>, %b: tensor<{N}xbf16>) -> tensor<?x{N}xbf16> {{
  %w = qc.packed_weight %d, %s {{layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32>}} : tensor<{N * K2 // 2}xi8>, tensor<{N}x2xf16> -> !qc.packed<{N}x{K2}xi4>
  %y = qc.wo_matmul %x, %w, %b {{layer = "d"}} : tensor<?x{K2}xbf16>, !qc.packed<{N}x{K2}xi4>, tensor<{N}xbf16> -> tensor<?x{N}xbf16>
  return %y : tensor<?x{N}xbf16>
}}
func.func @rms(%x: tensor<?x{K2}xbf16>, %g: tensor<{K2}xbf16>) -> tensor<?x{K2}xbf16> {{
  %y = qc.rms_norm %x, %g {{epsilon = 1.0e-5 : f64}} : tensor<?x{K2}xbf16>, tensor<{K2}xbf16>
  return %y : tensor<?x{K2}xbf16>
}}
func.func @ln(%x: tensor<?x{K2}xbf16>, %g: tensor<{K2}xbf16>, %b: tensor<{K2}xbf16>) -> tensor<?x{K2}xbf16> {{
  %y = qc.layer_norm %x, %g, %b {{epsilon = 1.0e-5 : f64}} : tensor<?x{K2}xbf16>, tensor<{K2}xbf16>, tensor<{K2}xbf16>
  return %y : tensor<?x{K2}xbf16>
}}
func.func @smooth(%x: tensor<?x?x{K2}xbf16>, %s: tensor<{K2}xf32>) -> tensor<?x?x{K2}xbf16> {{
  %y = qc.smooth %x, %s : tensor<?x?x{K2}xbf16>, tensor<{K2}xf32>
  return %y : tensor<?x?x{K2}xbf16>
}}
func.func @qdyn(%x: tensor<?x?x{K2}xbf16>) -> (tensor<?x?x{K2}xi8>, tensor<?x?xf32>) {{
  %q, %s = qc.quantize_act %x dynamic_per_token : tensor<?x?x{K2}xbf16> -> tensor<?x?x{K2}xi8>, tensor<?x?xf32>
  return %q, %s : tensor<?x?x{K2}xi8>, tensor<?x?xf32>
}}
func.func @qstat(%x: tensor<?x{K2}xbf16>) -> (tensor<?x{K2}xi8>, tensor<1xf32>) {{
  %q, %s = qc.quantize_act %x static_per_tensor scale 0.03125 : tensor<?x{K2}xbf16> -> tensor<?x{K2}xi8>, tensor<1xf32>
  return %q, %s : tensor<?x{K2}xi8>, tensor<1xf32>
}}
func.func @dq_tok(%q: tensor<?x?x{K2}xi8>, %s: tensor<?x?xf32>) -> tensor<?x?x{K2}xbf16> {{
  %y = qc.dequantize_act %q, %s : tensor<?x?x{K2}xi8>, tensor<?x?xf32> -> tensor<?x?x{K2}xbf16>
  return %y : tensor<?x?x{K2}xbf16>
}}
"""

lib = h.build(MLIR, workdir=sys.argv[1])


def bf(a):
    """float values -> ml_dtypes bfloat16 (round to nearest even)."""
    return np.asarray(a, np.float64).astype(np.float32).astype(BF16)


def bits(a):
    return np.ascontiguousarray(a, dtype=BF16).view(np.uint16)


def call(name, args, results):
    """h.call with bf16 arrays passed and returned as their bit patterns."""
    args = [bits(a) if isinstance(a, np.ndarray) and a.dtype == BF16 else a for a in args]
    res = [(r, np.uint16 if t == BF16 else t) for r, t in results]
    out = h.call(lib, name, args, res)
    outs = out if len(results) > 1 else [out]
    outs = [o.view(BF16) if t == BF16 else o for o, (_, t) in zip(outs, results)]
    return outs if len(results) > 1 else outs[0]


def check_bf16(name, got, ref, absref=None):
    """got (bf16) against the float64 `ref` rounded once to bf16."""
    assert got.dtype == BF16, got.dtype
    g = got.astype(f64)
    want = bf(ref).astype(f64)
    bound = 2.0 ** -8 * np.abs(ref) + (1e-5 * absref if absref is not None else 1e-30)
    err = np.abs(g - ref)
    if g.shape != ref.shape or (err > bound).any():
        raise AssertionError(f"{name}: off by more than one bf16 ulp (max err/bound "
                             f"{(err / bound).max():.3g})")
    exact = float(np.mean(g == want))
    if exact < 0.95:
        raise AssertionError(f"{name}: only {exact:.1%} equal to the rounded reference")
    print(f"PASS {name} (rounded reference hit {exact:.1%})")


# f32 -> bf16 conversion: ties to even, carries into the exponent,
# subnormals, overflow, infinities and NaN, plus random bit patterns.
special = np.array([0x3F808000, 0x3F818000, 0x3F80FFFF, 0x3F807FFF, 0x3FFFFFFF,
                    0x7F7FFFFF, 0x7F7F8000, 0x7F7F7FFF, 0x7F800000, 0xFF800000,
                    0x00000001, 0x00008000, 0x00018000, 0x807FFFFF, 0x80000000,
                    0x00000000], np.uint32).view(np.float32)
xs = np.concatenate([special, rng.integers(0, 2 ** 32, 4093, dtype=np.uint64)
                     .astype(np.uint32).view(np.float32)])
finite = ~np.isnan(xs)
y = call("to_bf16", [xs], [(1, BF16)])
h.check_equal("truncf f32->bf16 special values", bits(y)[finite], bits(xs[finite].astype(BF16)))
nan = call("to_bf16", [np.array([np.nan, -np.nan], np.float32)], [(1, BF16)])
assert np.isnan(nan.astype(np.float32)).all(), nan
print("PASS truncf NaN stays NaN")

# bf16 arithmetic computes in f32; a chain of ops in one loop body keeps
# its intermediates in f32 and rounds once, when the result is stored
# (bit-exact).
a = bf(rng.standard_normal(1000) * 8)
b = bf(rng.standard_normal(1000))
y = call("bf_arith", [a, b], [(1, BF16)])
a32, b32 = a.astype(np.float32), b.astype(np.float32)
h.check_equal("bf16 addf/mulf in f32", bits(y), bits(((a32 + b32) * b32).astype(BF16)))

for m in [1, 3, 17, 64]:
    x = bf(rng.standard_normal((2, m, K)))
    w = bf(rng.standard_normal((N, K)))
    bias = bf(rng.standard_normal(N))
    xd, wd = x.astype(f64), w.astype(f64)
    y = call("lin_bf16", [x, w, bias], [(3, BF16)])
    check_bf16("linear bf16 x bf16 + bias M=%d" % m, y, xd @ wd.T + bias.astype(f64),
               np.abs(xd) @ np.abs(wd).T + np.abs(bias.astype(f64)))
    w32 = rng.standard_normal((N, K)).astype(np.float32)
    y = call("lin_f32w", [x[0], w32], [(2, BF16)])
    check_bf16("linear bf16 x f32 weight M=%d" % m, y, xd[0] @ w32.astype(f64).T,
               np.abs(xd[0]) @ np.abs(w32.astype(f64)).T)
    # int4 per-group packed weight (f16 scales): dequantized in f32, f32
    # accumulation, one rounding of the bf16 result.
    q = rng.integers(-8, 8, (N, K2)).astype(np.int8)
    sc = rng.uniform(0.001, 0.02, (N, 2)).astype(np.float16)
    b4 = bf(rng.standard_normal(N) * 0.1)
    x4 = bf(rng.standard_normal((m, K2)))
    packed = h.pack_weight(q, 4, "row_major")
    wq = q.astype(f64) * np.repeat(sc.astype(f64), 32, axis=1)
    y = call("lin_w4", [x4, packed, sc, b4], [(2, BF16)])
    check_bf16("wo_matmul bf16 x packed i4 M=%d" % m, y,
               x4.astype(f64) @ wq.T + b4.astype(f64),
               np.abs(x4.astype(f64)) @ np.abs(wq).T + np.abs(b4.astype(f64)))

    # norms: f32 reductions, one rounding of the result.
    xn = bf(rng.standard_normal((m, K2)) * 2 + 0.5)
    g = bf(rng.standard_normal(K2))
    xd, gd = xn.astype(f64), g.astype(f64)
    y = call("rms", [xn, g], [(2, BF16)])
    check_bf16("rms_norm bf16 M=%d" % m, y,
               xd / np.sqrt(np.mean(xd * xd, -1, keepdims=True) + 1e-5) * gd,
               np.abs(xd / np.sqrt(np.mean(xd * xd, -1, keepdims=True) + 1e-5) * gd))
    bn = bf(rng.standard_normal(K2))
    y = call("ln", [xn, g, bn], [(2, BF16)])
    mu = xd.mean(-1, keepdims=True)
    nrm = (xd - mu) / np.sqrt(((xd - mu) ** 2).mean(-1, keepdims=True) + 1e-5)
    check_bf16("layer_norm bf16 M=%d" % m, y, nrm * gd + bn.astype(f64),
               np.abs(nrm * gd) + np.abs(bn.astype(f64)))
    sm = rng.uniform(0.5, 4, K2).astype(np.float32)
    xs3 = bf(rng.standard_normal((2, m, K2)))
    y = call("smooth", [xs3, sm], [(3, BF16)])
    check_bf16("smooth bf16 M=%d" % m, y, xs3.astype(f64) / sm.astype(f64))

    # act quantization: a bf16 value is exact in f32, so q and s are the
    # f32 definition's, bit for bit.
    xq = bf(rng.standard_normal((2, m, K2)) * 3)
    xq[1, 0] = 0
    q, s = call("qdyn", [xq], [(3, np.int8), (2, np.float32)])
    qr, sr = h.quantize_per_token_reference(xq.astype(np.float32))
    h.check_equal("quantize_act dynamic bf16 q M=%d" % m, q, qr)
    h.check_equal("quantize_act dynamic bf16 s M=%d" % m, s, sr)
    q, s = call("qstat", [xq[0]], [(2, np.int8), (1, np.float32)])
    qr = np.clip(np.rint(xq[0].astype(np.float32) / np.float32(0.03125)), -127, 127)
    h.check_equal("quantize_act static bf16 q M=%d" % m, q, qr.astype(np.int8))
    qi = rng.integers(-127, 128, size=(2, m, K2)).astype(np.int8)
    st = rng.uniform(0.01, 0.1, size=(2, m)).astype(np.float32)
    y = call("dq_tok", [qi, st], [(3, BF16)])
    h.check_equal("dequantize_act to bf16 M=%d" % m, bits(y),
                  bits((qi.astype(np.float32) * st[..., None]).astype(BF16)))

x1 = bf(rng.standard_normal(K))
w1 = bf(rng.standard_normal((N, K)))
y = call("lin_rank1", [x1, w1], [(1, BF16)])
check_bf16("linear bf16 rank 1", y, w1.astype(f64) @ x1.astype(f64),
           np.abs(w1.astype(f64)) @ np.abs(x1.astype(f64)))
print("ALL PASSED")
