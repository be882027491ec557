# Numeric test of float-minimum schemes (#qc.scheme minimum = f16 | f32,
# w = q * s + m) on the host: qc.dequantize_weight bit for bit against numpy's
# f32 recipe (q * s rounded to f32, then + m rounded to f32), and qc.wo_matmul
# (f32 and f16 activations) against float64 numpy, for int4/int8 x
# per_tensor/per_channel/per_group x every layout x f16/f32 scales and
# minima, on fresh random codes, scales and minima of both signs.
# UNSUPPORTED: asan
# RUN: rm -rf %t && mkdir -p %t && %python %s %t | FileCheck %s
# CHECK: ALL PASSED

import itertools
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Inputs"))
import qc_host_harness as h  # noqa: E402

K, GROUP, TN, TK = 64, 16, 6, 32
rng = h.make_rng()
NP = {"f16": np.float16, "f32": np.float32}

configs = []
for bits, gran, layout in itertools.product(
        [4, 8], ["per_tensor", "per_channel", "per_group"],
        ["unpacked", "row_major", "tiled", "mma_frag"]):
    i = len(configs)
    configs.append(dict(bits=bits, gran=gran, layout=layout,
                        sdt="f16" if i % 2 else "f32",
                        mdt="f16" if i % 3 else "f32",
                        n=32 if layout == "mma_frag" else 30))

funcs = []
for i, c in enumerate(configs):
    N = c["n"]
    rows = 1 if c["gran"] == "per_tensor" else N
    g = K // GROUP if c["gran"] == "per_group" else 1
    nbytes = N * K * c["bits"] // 8
    dtype = "tensor<%dx%dxi8>" % (N, K) if c["layout"] == "unpacked" else "tensor<%dxi8>" % nbytes
    lay = {"unpacked": "#qc.layout<unpacked>", "row_major": "#qc.layout<row_major>",
           "mma_frag": "#qc.layout<mma_frag>",
           "tiled": "#qc.layout<tiled, tile_n = %d, tile_k = %d>" % (TN, TK)}[c["layout"]]
    scheme = "#qc.scheme<weight = i%d, granularity = %s%s, symmetric = false, minimum = %s>" % (
        c["bits"], c["gran"], ", group_size = %d" % GROUP if c["gran"] == "per_group" else "",
        c["mdt"])
    st = "tensor<%dx%dx%s>" % (rows, g, c["sdt"])
    mt = "tensor<%dx%dx%s>" % (rows, g, c["mdt"])
    pt = "!qc.packed<%dx%dxi%d>" % (N, K, c["bits"])
    for act in ["f32", "f16"]:
        funcs.append(f"""
func.func @wo{i}_{act}(%x: tensor<?x{K}x{act}>, %d: {dtype}, %s: {st}, %m: {mt}) -> tensor<?x{N}x{act}> {{
  %pw = qc.packed_weight %d, %s, %m {{layout = {lay}, scheme = {scheme}}} : {dtype}, {st}, {mt} -> {pt}
  %y = qc.wo_matmul %x, %pw {{layer = "l{i}"}} : tensor<?x{K}x{act}>, {pt} -> tensor<?x{N}x{act}>
  return %y : tensor<?x{N}x{act}>
}}""")
    funcs.append(f"""
func.func @dq{i}(%d: {dtype}, %s: {st}, %m: {mt}) -> tensor<{N}x{K}xf32> {{
  %pw = qc.packed_weight %d, %s, %m {{layout = {lay}, scheme = {scheme}}} : {dtype}, {st}, {mt} -> {pt}
  %w = qc.dequantize_weight %pw : {pt} -> tensor<{N}x{K}xf32>
  return %w : tensor<{N}x{K}xf32>
}}""")

lib = h.build("\n".join(funcs), workdir=sys.argv[1])


def expand(p, gran, n):
    if gran == "per_tensor":
        return np.full((n, K), p[0, 0])
    if gran == "per_channel":
        return np.repeat(p, K, axis=1)
    return np.repeat(p, GROUP, axis=1)


for i, c in enumerate(configs):
    N = c["n"]
    q, s, _ = h.random_quantized(rng, N, K, c["bits"], c["gran"], GROUP, False)
    s = s.astype(NP[c["sdt"]])
    m = rng.uniform(-0.8, 0.3, size=s.shape).astype(NP[c["mdt"]])
    data = h.pack_weight(q, c["bits"], c["layout"], TN, TK)
    wargs = [data, s, m]
    # The f32 recipe: one rounding for q * s, one for + m (no FMA).
    qs = q.astype(np.float32) * expand(s.astype(np.float32), c["gran"], N)
    wref = (qs + expand(m.astype(np.float32), c["gran"], N)).astype(np.float32)
    tag = "i%d %s %s scales=%s minimum=%s" % (c["bits"], c["gran"], c["layout"], c["sdt"], c["mdt"])
    w = h.call(lib, "dq%d" % i, wargs, [(2, np.float32)])
    h.check_equal("dequantize_weight " + tag, w.view(np.uint32), wref.view(np.uint32))
    w64 = wref.astype(np.float64)
    for mrows in [1, 3, 17, 64]:
        x = rng.standard_normal((mrows, K)).astype(np.float32)
        y = h.call(lib, "wo%d_f32" % i, [x] + wargs, [(2, np.float32)])
        ref = x.astype(np.float64) @ w64.T
        absref = np.abs(x.astype(np.float64)) @ np.abs(w64).T
        h.check_matmul("wo_matmul %s M=%d" % (tag, mrows), y, ref, absref)
        x16 = x.astype(np.float16)
        y16 = h.call(lib, "wo%d_f16" % i, [x16] + wargs, [(2, np.float16)])
        ref = x16.astype(np.float64) @ w64.T
        # f32 accumulation plus one f16 rounding of the result.
        absref = np.abs(x16.astype(np.float64)) @ np.abs(w64).T + 100 * np.abs(ref)
        h.check_matmul("wo_matmul f16 %s M=%d" % (tag, mrows), y16, ref, absref)

print("ALL PASSED")
