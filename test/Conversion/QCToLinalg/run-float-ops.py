# Numeric test of the float qc ops on the host against numpy float64:
# qc.linear (f32/f16/bf16 weights, with and without bias, f16 activations,
# rank-1/2/3 inputs with dynamic leading dims), rms_norm, layer_norm, smooth,
# quantize_act (static and dynamic, bit-exact q and s), dequantize_act,
# external_weight (global filled by the caller) and observe (runtime call).
# UNSUPPORTED: asan
# RUN: rm -rf %t && mkdir -p %t && %python %s %t | FileCheck %s
# CHECK: ALL PASSED

import ctypes
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Inputs"))
import qc_host_harness as h  # noqa: E402

rng = h.make_rng()
K, N, K2 = 40, 24, 64

MLIR = f"""
func.func @lin_f32(%x: tensor<?x?x{K}xf32>, %w: tensor<{N}x{K}xf32>, %b: tensor<{N}xf32>) -> tensor<?x?x{N}xf32> {{
  %y = qc.linear %x, %w, %b {{layer = "a"}} : (tensor<?x?x{K}xf32>, tensor<{N}x{K}xf32>, tensor<{N}xf32>) -> tensor<?x?x{N}xf32>
  return %y : tensor<?x?x{N}xf32>
}}
func.func @lin_f16w(%x: tensor<?x{K}xf32>, %w: tensor<{N}x{K}xf16>) -> tensor<?x{N}xf32> {{
  %y = qc.linear %x, %w {{layer = "b"}} : (tensor<?x{K}xf32>, tensor<{N}x{K}xf16>) -> tensor<?x{N}xf32>
  return %y : tensor<?x{N}xf32>
}}
func.func @lin_bf16w(%x: tensor<?x{K}xf32>, %w: tensor<{N}x{K}xbf16>, %b: tensor<{N}xbf16>) -> tensor<?x{N}xf32> {{
  %y = qc.linear %x, %w, %b {{layer = "c"}} : (tensor<?x{K}xf32>, tensor<{N}x{K}xbf16>, tensor<{N}xbf16>) -> tensor<?x{N}xf32>
  return %y : tensor<?x{N}xf32>
}}
func.func @lin_f16(%x: tensor<?x{K}xf16>, %w: tensor<{N}x{K}xf16>, %b: tensor<{N}xf16>) -> tensor<?x{N}xf16> {{
  %y = qc.linear %x, %w, %b {{layer = "d"}} : (tensor<?x{K}xf16>, tensor<{N}x{K}xf16>, tensor<{N}xf16>) -> tensor<?x{N}xf16>
  return %y : tensor<?x{N}xf16>
}}
func.func @lin_rank1(%x: tensor<{K}xf32>, %w: tensor<{N}x{K}xf32>) -> tensor<{N}xf32> {{
  %y = qc.linear %x, %w {{layer = "e"}} : (tensor<{K}xf32>, tensor<{N}x{K}xf32>) -> tensor<{N}xf32>
  return %y : tensor<{N}xf32>
}}
func.func @lin_wide(%x: tensor<?x36xf32>, %w: tensor<150x36xf32>) -> tensor<?x150xf32> {{
  %y = qc.linear %x, %w {{layer = "wide"}} : (tensor<?x36xf32>, tensor<150x36xf32>) -> tensor<?x150xf32>
  return %y : tensor<?x150xf32>
}}
func.func @lin_odd(%x: tensor<?x9xf32>, %w: tensor<7x9xf32>) -> tensor<?x7xf32> {{
  %y = qc.linear %x, %w {{layer = "odd"}} : (tensor<?x9xf32>, tensor<7x9xf32>) -> tensor<?x7xf32>
  return %y : tensor<?x7xf32>
}}
func.func @rms(%x: tensor<?x?x{K2}xf32>, %g: tensor<{K2}xf32>) -> tensor<?x?x{K2}xf32> {{
  %y = qc.rms_norm %x, %g {{epsilon = 1.0e-5 : f64}} : tensor<?x?x{K2}xf32>, tensor<{K2}xf32>
  return %y : tensor<?x?x{K2}xf32>
}}
func.func @rms_f16(%x: tensor<?x{K2}xf16>, %g: tensor<{K2}xf16>) -> tensor<?x{K2}xf16> {{
  %y = qc.rms_norm %x, %g {{epsilon = 1.0e-6 : f64}} : tensor<?x{K2}xf16>, tensor<{K2}xf16>
  return %y : tensor<?x{K2}xf16>
}}
func.func @ln(%x: tensor<?x{K2}xf32>, %g: tensor<{K2}xf32>, %b: tensor<{K2}xf32>) -> tensor<?x{K2}xf32> {{
  %y = qc.layer_norm %x, %g, %b {{epsilon = 1.0e-5 : f64}} : tensor<?x{K2}xf32>, tensor<{K2}xf32>, tensor<{K2}xf32>
  return %y : tensor<?x{K2}xf32>
}}
func.func @smooth(%x: tensor<?x?x{K2}xf16>, %s: tensor<{K2}xf32>) -> tensor<?x?x{K2}xf16> {{
  %y = qc.smooth %x, %s : tensor<?x?x{K2}xf16>, tensor<{K2}xf32>
  return %y : tensor<?x?x{K2}xf16>
}}
func.func @qdyn(%x: tensor<?x?x{K2}xf32>) -> (tensor<?x?x{K2}xi8>, tensor<?x?xf32>) {{
  %q, %s = qc.quantize_act %x dynamic_per_token : tensor<?x?x{K2}xf32> -> tensor<?x?x{K2}xi8>, tensor<?x?xf32>
  return %q, %s : tensor<?x?x{K2}xi8>, tensor<?x?xf32>
}}
func.func @qstat(%x: tensor<?x{K2}xf16>) -> (tensor<?x{K2}xi8>, tensor<1xf32>) {{
  %q, %s = qc.quantize_act %x static_per_tensor scale 0.03125 : tensor<?x{K2}xf16> -> tensor<?x{K2}xi8>, tensor<1xf32>
  return %q, %s : tensor<?x{K2}xi8>, tensor<1xf32>
}}
func.func @dq_tok(%q: tensor<?x?x{K2}xi8>, %s: tensor<?x?xf32>) -> tensor<?x?x{K2}xf32> {{
  %y = qc.dequantize_act %q, %s : tensor<?x?x{K2}xi8>, tensor<?x?xf32> -> tensor<?x?x{K2}xf32>
  return %y : tensor<?x?x{K2}xf32>
}}
func.func @dq_ten(%q: tensor<?x{K2}xi8>, %s: tensor<1xf32>) -> tensor<?x{K2}xf16> {{
  %y = qc.dequantize_act %q, %s : tensor<?x{K2}xi8>, tensor<1xf32> -> tensor<?x{K2}xf16>
  return %y : tensor<?x{K2}xf16>
}}
func.func @ext(%x: tensor<?x{K}xf32>) -> tensor<?x{N}xf32> {{
  %w = qc.external_weight "weights.bin" offset 128 : tensor<{N}x{K}xf16>
  %y = qc.linear %x, %w {{layer = "x"}} : (tensor<?x{K}xf32>, tensor<{N}x{K}xf16>) -> tensor<?x{N}xf32>
  return %y : tensor<?x{N}xf32>
}}
func.func @q_rank1(%x: tensor<{K2}xf32>) -> (tensor<{K2}xi8>, tensor<f32>) {{
  %q, %s = qc.quantize_act %x dynamic_per_token : tensor<{K2}xf32> -> tensor<{K2}xi8>, tensor<f32>
  return %q, %s : tensor<{K2}xi8>, tensor<f32>
}}
func.func @dq_rank1(%q: tensor<{K2}xi8>, %s: tensor<f32>) -> tensor<{K2}xf32> {{
  %y = qc.dequantize_act %q, %s : tensor<{K2}xi8>, tensor<f32> -> tensor<{K2}xf32>
  return %y : tensor<{K2}xf32>
}}
func.func @obs(%x: tensor<?x?x{K2}xf16>) {{
  qc.observe %x {{layer = "blk0.attn.q", percentile = 99.9 : f64, hessian}} : tensor<?x?x{K2}xf16>
  qc.observe %x {{layer = "plain"}} : tensor<?x?x{K2}xf16>
  return
}}
"""

# A stand-in for the runtime's observer: records the last two calls.
OBSERVER = r"""
#include <stdint.h>
#include <string.h>
char qct_layer[2][64]; float qct_data[2][4096];
int64_t qct_rows[2], qct_cols[2]; int32_t qct_hess[2]; double qct_pct[2];
int qct_calls;
void qcrt_observe(const char *layer, const float *data, int64_t rows,
                  int64_t cols, int32_t hessian, double percentile) {
  int i = qct_calls++ % 2;
  strncpy(qct_layer[i], layer, 63);
  memcpy(qct_data[i], data, sizeof(float) * rows * cols);
  qct_rows[i] = rows; qct_cols[i] = cols; qct_hess[i] = hessian;
  qct_pct[i] = percentile;
}
"""

lib = h.build(MLIR, extra_c=OBSERVER, workdir=sys.argv[1])
f64 = np.float64

for m in [1, 3, 17, 64]:
    # qc.linear
    x = rng.standard_normal((2, m, K)).astype(np.float32)
    w = rng.standard_normal((N, K)).astype(np.float32)
    b = rng.standard_normal(N).astype(np.float32)
    y = h.call(lib, "lin_f32", [x, w, b], [(3, np.float32)])
    h.check_matmul("linear f32 [2,%d,K] bias" % m, y, x.astype(f64) @ w.astype(f64).T + b,
                   np.abs(x.astype(f64)) @ np.abs(w.astype(f64)).T + np.abs(b))
    x2 = x[0]
    w16 = w.astype(np.float16)
    y = h.call(lib, "lin_f16w", [x2, w16], [(2, np.float32)])
    h.check_matmul("linear f16 weight M=%d" % m, y, x2.astype(f64) @ w16.astype(f64).T,
                   np.abs(x2.astype(f64)) @ np.abs(w16.astype(f64)).T)
    wb, wbv = h.to_bf16_bits(w)
    bb, bbv = h.to_bf16_bits(b)
    y = h.call(lib, "lin_bf16w", [x2, wb, bb], [(2, np.float32)])
    h.check_matmul("linear bf16 weight M=%d" % m, y, x2.astype(f64) @ wbv.astype(f64).T + bbv,
                   np.abs(x2.astype(f64)) @ np.abs(wbv.astype(f64)).T + np.abs(bbv))
    x16 = x2.astype(np.float16)
    b16 = b.astype(np.float16)
    y = h.call(lib, "lin_f16", [x16, w16, b16], [(2, np.float16)])
    # f32 accumulation, one rounding to f16 at the end.
    ref = x16.astype(f64) @ w16.astype(f64).T + b16
    h.check_matmul("linear f16 activations M=%d" % m, y, ref,
                   np.abs(x16.astype(f64)) @ np.abs(w16.astype(f64)).T + np.abs(b16) + np.abs(ref) * 100,
                   rel=1e-5)

    # N = 150 spans three 64-column panels (the last partial), K = 36 uses
    # 4-wide chunks; N = 7, K = 9 degenerate to 1 x 1 chunks.
    for fn, n_, k_ in [("lin_wide", 150, 36), ("lin_odd", 7, 9)]:
        xw = rng.standard_normal((m, k_)).astype(np.float32)
        ww = rng.standard_normal((n_, k_)).astype(np.float32)
        y = h.call(lib, fn, [xw, ww], [(2, np.float32)])
        h.check_matmul("linear N=%d K=%d M=%d" % (n_, k_, m), y, xw.astype(f64) @ ww.astype(f64).T,
                       np.abs(xw.astype(f64)) @ np.abs(ww.astype(f64)).T)

    # norms and smooth
    xn = (rng.standard_normal((3, m, K2)) * 2 + 0.5).astype(np.float32)
    g = rng.standard_normal(K2).astype(np.float32)
    y = h.call(lib, "rms", [xn, g], [(3, np.float32)])
    xd = xn.astype(f64)
    ref = xd / np.sqrt(np.mean(xd * xd, -1, keepdims=True) + 1e-5) * g
    h.check_close("rms_norm f32 [3,%d,K]" % m, y, ref, 1e-5, 1e-5)
    xh, gh = xn[0].astype(np.float16), g.astype(np.float16)
    y = h.call(lib, "rms_f16", [xh, gh], [(2, np.float16)])
    xd = xh.astype(f64)
    ref = xd / np.sqrt(np.mean(xd * xd, -1, keepdims=True) + 1e-6) * gh.astype(f64)
    h.check_close("rms_norm f16 M=%d" % m, y, ref, 2e-3, 2e-3)
    bn = rng.standard_normal(K2).astype(np.float32)
    y = h.call(lib, "ln", [xn[0], g, bn], [(2, np.float32)])
    xd = xn[0].astype(f64)
    mu = xd.mean(-1, keepdims=True)
    ref = (xd - mu) / np.sqrt(((xd - mu) ** 2).mean(-1, keepdims=True) + 1e-5) * g + bn
    h.check_close("layer_norm f32 M=%d" % m, y, ref, 1e-5, 1e-5)
    sm = rng.uniform(0.5, 4, K2).astype(np.float32)
    xs = xn.astype(np.float16)
    y = h.call(lib, "smooth", [xs, sm], [(3, np.float16)])
    h.check_close("smooth f16 M=%d" % m, y, xs.astype(f64) / sm, 1e-3, 1e-3)

    # quantize / dequantize (q and s bit-exact against the f32 definition)
    xq = (rng.standard_normal((2, m, K2)) * 3).astype(np.float32)
    xq[1, 0] = 0  # an all-zero token: s = 1, q = 0
    q, s = h.call(lib, "qdyn", [xq], [(3, np.int8), (2, np.float32)])
    qr, sr = h.quantize_per_token_reference(xq)
    h.check_equal("quantize_act dynamic q M=%d" % m, q, qr)
    h.check_equal("quantize_act dynamic s M=%d" % m, s, sr)
    xh = xq[0].astype(np.float16)
    q, s = h.call(lib, "qstat", [xh], [(2, np.int8), (1, np.float32)])
    qr = np.clip(np.rint(xh.astype(np.float32) / np.float32(0.03125)), -127, 127).astype(np.int8)
    h.check_equal("quantize_act static q M=%d" % m, q, qr)
    h.check_equal("quantize_act static s M=%d" % m, s, np.array([0.03125], np.float32))
    qi = rng.integers(-127, 128, size=(2, m, K2)).astype(np.int8)
    st = rng.uniform(0.01, 0.1, size=(2, m)).astype(np.float32)
    y = h.call(lib, "dq_tok", [qi, st], [(3, np.float32)])
    h.check_close("dequantize_act per-token M=%d" % m, y, qi * st.astype(f64)[..., None], 1e-6, 1e-7)
    y = h.call(lib, "dq_ten", [qi[0], st[0, :1].copy()], [(2, np.float16)])
    h.check_close("dequantize_act per-tensor f16 M=%d" % m, y, qi[0] * f64(st[0, 0]), 1e-3, 1e-3)

# rank-1 activations (a single token, scalar per-token scale)
x1 = rng.standard_normal(K2).astype(np.float32)
q, s = h.call(lib, "q_rank1", [x1], [(1, np.int8), (0, np.float32)])
qr, sr = h.quantize_per_token_reference(x1[None, :])
h.check_equal("quantize_act dynamic rank-1 q", q, qr[0])
h.check_equal("quantize_act dynamic rank-1 s", s, sr[0])
y = h.call(lib, "dq_rank1", [qr[0], np.array(sr[0], np.float32)], [(1, np.float32)])
h.check_close("dequantize_act rank-1", y, qr[0] * f64(sr[0]), 1e-6, 1e-7)

# external weight: the loader writes the file bytes into the public global.
wext = rng.standard_normal((N, K)).astype(np.float16)
glob = (ctypes.c_uint16 * (N * K)).in_dll(lib, "qc_external_0")
ctypes.memmove(glob, wext.ctypes.data, wext.nbytes)
for m in [1, 17]:
    x = rng.standard_normal((m, K)).astype(np.float32)
    y = h.call(lib, "ext", [x], [(2, np.float32)])
    h.check_matmul("external_weight linear M=%d" % m, y, x.astype(f64) @ wext.astype(f64).T,
                   np.abs(x.astype(f64)) @ np.abs(wext.astype(f64)).T)

# observe: both calls reach qcrt_observe with the flattened f32 rows.
for m in [1, 3]:
    x = rng.standard_normal((2, m, K2)).astype(np.float16)
    h.call(lib, "obs", [x], [])
    calls = ctypes.c_int.in_dll(lib, "qct_calls").value
    layers = (ctypes.c_char * 64 * 2).in_dll(lib, "qct_layer")
    rows = (ctypes.c_int64 * 2).in_dll(lib, "qct_rows")
    cols = (ctypes.c_int64 * 2).in_dll(lib, "qct_cols")
    hess = (ctypes.c_int32 * 2).in_dll(lib, "qct_hess")
    pct = (ctypes.c_double * 2).in_dll(lib, "qct_pct")
    data = np.ctypeslib.as_array((ctypes.c_float * 4096 * 2).in_dll(lib, "qct_data"))
    first, second = (calls - 2) % 2, (calls - 1) % 2
    assert layers[first].value == b"blk0.attn.q" and layers[second].value == b"plain"
    assert (rows[first], cols[first], hess[first], pct[first]) == (2 * m, K2, 1, 99.9)
    assert (rows[second], cols[second], hess[second], pct[second]) == (2 * m, K2, 0, 0.0)
    h.check_equal("observe data M=2x%d" % m, data[first][:2 * m * K2],
                  x.astype(np.float32).reshape(-1))
    h.check_equal("observe data (second call) M=2x%d" % m, data[second][:2 * m * K2],
                  x.astype(np.float32).reshape(-1))

print("ALL PASSED")
