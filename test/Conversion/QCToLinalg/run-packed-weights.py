# Numeric test of qc.wo_matmul and qc.dequantize_weight on the host: every
# int4/int8 x per-tensor/per-channel/per-group x sym/asym x layout, f32 and
# f16 scales, against a float64 numpy reference; M = 1, 3, 17, 64. The
# mma_frag layout (whole 16 x 64 / 16 x 32 units: N = 32) too.
# UNSUPPORTED: asan
# RUN: rm -rf %t && mkdir -p %t && %python %s %t | FileCheck %s
# CHECK: ALL PASSED

import itertools
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Inputs"))
import qc_host_harness as h  # noqa: E402

N, K, GROUP, TN, TK = 30, 64, 16, 6, 32
rng = h.make_rng()

configs = []
for bits, gran, sym, layout in itertools.product(
        [4, 8], ["per_tensor", "per_channel", "per_group"], [True, False],
        ["unpacked", "row_major", "tiled", "mma_frag"]):
    configs.append(dict(bits=bits, gran=gran, sym=sym, layout=layout,
                        sdt="f16" if len(configs) % 3 == 2 else "f32",
                        n=32 if layout == "mma_frag" else N))

funcs = []
for i, c in enumerate(configs):
    N = c["n"]
    rows = 1 if c["gran"] == "per_tensor" else N
    g = K // GROUP if c["gran"] == "per_group" else 1
    nbytes = N * K * c["bits"] // 8
    dtype = "tensor<%dx%dxi8>" % (N, K) if c["layout"] == "unpacked" else "tensor<%dxi8>" % nbytes
    lay = {"unpacked": "#qc.layout<unpacked>", "row_major": "#qc.layout<row_major>",
           "mma_frag": "#qc.layout<mma_frag>", "tiled": "#qc.layout<tiled, tile_n = %d, tile_k = %d>" % (TN, TK)}[c["layout"]]
    scheme = "#qc.scheme<weight = i%d, granularity = %s%s%s>" % (
        c["bits"], c["gran"], ", group_size = %d" % GROUP if c["gran"] == "per_group" else "",
        "" if c["sym"] else ", symmetric = false")
    st = "tensor<%dx%dx%s>" % (rows, g, c["sdt"])
    zt = "tensor<%dx%dxi8>" % (rows, g)
    zarg = "" if c["sym"] else ", %%z: %s" % zt
    zuse = "" if c["sym"] else ", %z"
    ztype = "" if c["sym"] else ", " + zt
    pt = "!qc.packed<%dx%dxi%d>" % (N, K, c["bits"])
    funcs.append(f"""
func.func @wo{i}(%x: tensor<?x{K}xf32>, %d: {dtype}, %s: {st}{zarg}, %b: tensor<{N}xf32>) -> tensor<?x{N}xf32> {{
  %pw = qc.packed_weight %d, %s{zuse} {{layout = {lay}, scheme = {scheme}}} : {dtype}, {st}{ztype} -> {pt}
  %y = qc.wo_matmul %x, %pw, %b {{layer = "l{i}"}} : tensor<?x{K}xf32>, {pt}, tensor<{N}xf32> -> tensor<?x{N}xf32>
  return %y : tensor<?x{N}xf32>
}}
func.func @dq{i}(%d: {dtype}, %s: {st}{zarg}) -> tensor<{N}x{K}xf32> {{
  %pw = qc.packed_weight %d, %s{zuse} {{layout = {lay}, scheme = {scheme}}} : {dtype}, {st}{ztype} -> {pt}
  %w = qc.dequantize_weight %pw : {pt} -> tensor<{N}x{K}xf32>
  return %w : tensor<{N}x{K}xf32>
}}""")

# f16 activations, bias and result (f32 accumulation, one rounding).
N = 30
funcs.append(f"""
func.func @wo_f16(%x: tensor<?x?x{K}xf16>, %d: tensor<{N * K // 2}xi8>, %s: tensor<{N}x{K // GROUP}xf16>, %b: tensor<{N}xf16>) -> tensor<?x?x{N}xf16> {{
  %pw = qc.packed_weight %d, %s {{layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = {GROUP}>}} : tensor<{N * K // 2}xi8>, tensor<{N}x{K // GROUP}xf16> -> !qc.packed<{N}x{K}xi4>
  %y = qc.wo_matmul %x, %pw, %b {{layer = "h"}} : tensor<?x?x{K}xf16>, !qc.packed<{N}x{K}xi4>, tensor<{N}xf16> -> tensor<?x?x{N}xf16>
  return %y : tensor<?x?x{N}xf16>
}}""")

lib = h.build("\n".join(funcs), workdir=sys.argv[1])

for i, c in enumerate(configs):
    N = c["n"]
    q, s, z = h.random_quantized(rng, N, K, c["bits"], c["gran"], GROUP, c["sym"])
    if c["sdt"] == "f16":
        s = s.astype(np.float16)
    data = h.pack_weight(q, c["bits"], c["layout"], TN, TK)
    wargs = [data, s] + ([] if c["sym"] else [z.astype(np.uint8).view(np.int8)])
    wref = h.dequant_reference(q, s.astype(np.float32), z, c["gran"], GROUP)
    tag = "i%d %s %s %s scales=%s" % (c["bits"], c["gran"], "sym" if c["sym"] else "asym",
                                      c["layout"], c["sdt"])
    w = h.call(lib, "dq%d" % i, wargs, [(2, np.float32)])
    h.check_close("dequantize_weight " + tag, w, wref, rtol=1e-6, atol=1e-7)
    b = rng.standard_normal(N).astype(np.float32)
    for m in [1, 3, 17, 64]:
        x = rng.standard_normal((m, K)).astype(np.float32)
        y = h.call(lib, "wo%d" % i, [x] + wargs + [b], [(2, np.float32)])
        ref = x.astype(np.float64) @ wref.T + b
        absref = np.abs(x.astype(np.float64)) @ np.abs(wref).T + np.abs(b)
        h.check_matmul("wo_matmul %s M=%d" % (tag, m), y, ref, absref)

N = 30
q, s, _ = h.random_quantized(rng, N, K, 4, "per_group", GROUP, True)
s = s.astype(np.float16)
wref = h.dequant_reference(q, s.astype(np.float32), None, "per_group", GROUP)
b = rng.standard_normal(N).astype(np.float16)
for m in [1, 3, 17, 64]:
    x = rng.standard_normal((2, m, K)).astype(np.float16)
    y = h.call(lib, "wo_f16", [x, h.pack_weight(q, 4, "row_major"), s, b], [(3, np.float16)])
    ref = x.astype(np.float64) @ wref.T + b
    # f32 accumulation bound plus one f16 rounding (half ulp <= 2^-11 |y|).
    absref = np.abs(x.astype(np.float64)) @ np.abs(wref).T + np.abs(b) + 100 * np.abs(ref)
    h.check_matmul("wo_matmul i4 f16 activations [2,%d,K]" % m, y, ref, absref)

print("ALL PASSED")
