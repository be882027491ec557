# Numeric test of qc.int8_matmul (bit-exact i32 accumulation, float epilogue)
# and of qc.wo_matmul with #qc.kernel<adaptive> on both sides of the
# threshold, against independent numpy references; M = 1, 3, 17, 64.
# UNSUPPORTED: asan
# RUN: rm -rf %t && mkdir -p %t && %python %s %t | FileCheck %s
# CHECK: ALL PASSED

import itertools
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Inputs"))
import qc_host_harness as h  # noqa: E402

N, K, TN, TK = 20, 96, 4, 32
rng = h.make_rng()
LAY = {"unpacked": "#qc.layout<unpacked>", "row_major": "#qc.layout<row_major>",
       "tiled": "#qc.layout<tiled, tile_n = %d, tile_k = %d>" % (TN, TK)}

configs = list(itertools.product(["per_channel", "per_tensor"],
                                 ["unpacked", "row_major", "tiled"],
                                 ["token", "tensor"], ["f32", "f16"]))
funcs = []
for i, (gran, layout, xs, out) in enumerate(configs):
    rows = 1 if gran == "per_tensor" else N
    dt = "tensor<%dx%dxi8>" % (N, K) if layout == "unpacked" else "tensor<%dxi8>" % (N * K)
    st = "tensor<%dx1xf32>" % rows
    sxt = "tensor<?xf32>" if xs == "token" else "tensor<1xf32>"
    pt = "!qc.packed<%dx%dxi8>" % (N, K)
    sch = "#qc.scheme<weight = i8, granularity = %s, act = dynamic_per_token>" % gran
    funcs.append(f"""
func.func @mm{i}(%q: tensor<?x{K}xi8>, %sx: {sxt}, %d: {dt}, %s: {st}, %b: tensor<{N}x{out}>) -> tensor<?x{N}x{out}> {{
  %pw = qc.packed_weight %d, %s {{layout = {LAY[layout]}, scheme = {sch}}} : {dt}, {st} -> {pt}
  %y = qc.int8_matmul %q, %sx, %pw, %b {{layer = "m{i}"}} : tensor<?x{K}xi8>, {sxt}, {pt}, tensor<{N}x{out}> -> tensor<?x{N}x{out}>
  return %y : tensor<?x{N}x{out}>
}}""")

# Bit-exact accumulation: unit scales, no bias, 3-D input -> y == sum q_x q_w.
funcs.append(f"""
func.func @exact(%q: tensor<?x?x{K}xi8>, %sx: tensor<?x?xf32>, %d: tensor<{N * K}xi8>, %s: tensor<{N}x1xf32>) -> tensor<?x?x{N}xf32> {{
  %pw = qc.packed_weight %d, %s {{layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>}} : tensor<{N * K}xi8>, tensor<{N}x1xf32> -> !qc.packed<{N}x{K}xi8>
  %y = qc.int8_matmul %q, %sx, %pw {{layer = "e"}} : tensor<?x?x{K}xi8>, tensor<?x?xf32>, !qc.packed<{N}x{K}xi8> -> tensor<?x?x{N}xf32>
  return %y : tensor<?x?x{N}xf32>
}}""")

# Adaptive: M < 8 weight-only, M >= 8 per-token INT8, same packed weight.
for layout in LAY:
    dt = "tensor<%dx%dxi8>" % (N, K) if layout == "unpacked" else "tensor<%dxi8>" % (N * K)
    funcs.append(f"""
func.func @ad_{layout}(%x: tensor<?x{K}xf32>, %d: {dt}, %s: tensor<{N}x1xf32>, %b: tensor<{N}xf32>) -> tensor<?x{N}xf32> {{
  %pw = qc.packed_weight %d, %s {{layout = {LAY[layout]}, scheme = #qc.scheme<weight = i8>}} : {dt}, tensor<{N}x1xf32> -> !qc.packed<{N}x{K}xi8>
  %y = qc.wo_matmul %x, %pw, %b {{layer = "ad", kernel = #qc.kernel<adaptive, threshold = 8>}} : tensor<?x{K}xf32>, !qc.packed<{N}x{K}xi8>, tensor<{N}xf32> -> tensor<?x{N}xf32>
  return %y : tensor<?x{N}xf32>
}}""")

lib = h.build("\n".join(funcs), workdir=sys.argv[1])
MS = [1, 3, 17, 64]

for i, (gran, layout, xs, out) in enumerate(configs):
    q, s, _ = h.random_quantized(rng, N, K, 8, gran, 1, True)
    data = h.pack_weight(q, 8, layout, TN, TK)
    odt = np.float32 if out == "f32" else np.float16
    b = rng.standard_normal(N).astype(odt)
    for m in MS:
        qx = rng.integers(-127, 128, size=(m, K)).astype(np.int8)
        sx = rng.uniform(0.001, 0.05, size=(m if xs == "token" else 1,)).astype(np.float32)
        y = h.call(lib, "mm%d" % i, [qx, sx, data, s, b], [(2, odt)])
        acc = qx.astype(np.int64) @ q.astype(np.int64).T  # exact integer sum
        sxm = sx[:, None] if xs == "token" else sx[0]
        ref = acc * sxm.astype(np.float64) * s.astype(np.float64).reshape(-1)[None, :] \
            if gran == "per_channel" else acc * sxm * np.float64(s[0, 0])
        ref = ref + b.astype(np.float64)
        tol = (1e-6, 1e-6) if out == "f32" else (2e-3, 2e-3)
        h.check_close("int8_matmul %s %s x-scales=%s out=%s M=%d" % (gran, layout, xs, out, m),
                      y, ref, *tol)

q, s, _ = h.random_quantized(rng, N, K, 8, "per_channel", 1, True)
ones = np.ones((N, 1), np.float32)
for m in MS:
    qx = rng.integers(-127, 128, size=(2, m, K)).astype(np.int8)
    y = h.call(lib, "exact", [qx, np.ones((2, m), np.float32), h.pack_weight(q, 8, "row_major"), ones],
               [(3, np.float32)])
    h.check_equal("int8_matmul i32 accumulation M=2x%d" % m, y,
                  (qx.astype(np.int64) @ q.astype(np.int64).T).astype(np.float32))

for layout in LAY:
    q, s, _ = h.random_quantized(rng, N, K, 8, "per_channel", 1, True)
    data = h.pack_weight(q, 8, layout, TN, TK)
    b = rng.standard_normal(N).astype(np.float32)
    w = h.dequant_reference(q, s, None, "per_channel", 1)
    for m in MS:
        x = rng.standard_normal((m, K)).astype(np.float32)
        if m == 17:
            x[5] = 0  # an all-zero token
        y = h.call(lib, "ad_" + layout, [x, data, s, b], [(2, np.float32)])
        if m < 8:
            ref = x.astype(np.float64) @ w.T + b
            absref = np.abs(x.astype(np.float64)) @ np.abs(w).T + np.abs(b)
            h.check_matmul("adaptive %s M=%d (weight-only path)" % (layout, m), y, ref, absref)
        else:
            qx, sx = h.quantize_per_token_reference(x)
            acc = qx.astype(np.int64) @ q.astype(np.int64).T
            ref = acc * sx.astype(np.float64)[:, None] * s.astype(np.float64).reshape(1, -1) + b
            h.check_close("adaptive %s M=%d (int8 path)" % (layout, m), y, ref, 1e-6, 1e-6)
            # The two paths differ by activation rounding: a wrong branch fails.
            wo = x.astype(np.float64) @ w.T + b
            assert not np.allclose(y, wo, rtol=1e-6, atol=1e-6), "took the weight-only path"

print("ALL PASSED")
