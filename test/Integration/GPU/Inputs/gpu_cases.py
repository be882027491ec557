#!/usr/bin/env python3
"""GPU module test programs and the GPU correctness matrix.

  gen-program OUT.mlir --k K --n N --scheme S [--dtype f32|f16] [--rank 2|3]
      [--seed S]   writes a two-layer block: rms_norm -> linear(up, scheme)
      -> silu -> linear(down, scheme) -> residual add (weights random
      constants; the scheme applies to both layers).
  gen-stats OUT.json --k K --n N [--dtype D] [--seed S] [--tokens T]
      writes qc-stats calibration statistics (per-channel absmax of the
      inputs of `up` and `down`) of the gen-program block with the same
      K, N, dtype and seed on T random standard-normal tokens (numpy, f64).
  gen-block OUT.mlir   writes the multi-layer example (scheme `multi`
      below) flattened to rank 2; compile it with MULTI_FLAGS.
  gen-matrix DIR [--programs REGEX] [--no-attention]   writes the
      correctness matrix (the matmul programs, then the glue kernel programs:
      NORM_MATRIX, ATTN_MATRIX): DIR/cases.txt (one line
      per case: program variant M dtype tolerance seed), per program
      DIR/<program>.mlir, DIR/<program>.flags (quant-compile flags for both
      the host and the GPU module: --stats for W8A8) and, for W8A8,
      DIR/<program>.stats.json. Inputs are not stored: both machines run
      `quant-run --random-inputs --seed <seed> --dim <M>` (splitmix64,
      uniform [-1, 1): the same numbers everywhere).
  compare REF.npy GOT.npy [--tol T]   prints max relative error (max
      |got-ref| / max |ref|), the count of non-finite values, the count of
      elements off by more than 1e-4 of max |ref| and, with --tol, PASS or
      FAIL.
  extract-ptx IN.mlir DIR   writes DIR/<binary>.ptx for every gpu.binary
      serialized with format=isa.

Schemes: w4g128 / w4g64 / w4g32 (int4, per-group, symmetric), w4g32a
(asymmetric), w8 (int8 per-channel), w8t (int8 per-tensor), w8a8d (W8A8:
int8 per-channel weights, dynamic per-token activations, SmoothQuant alpha
0.5), w8a8s (W8A8 with a static per-tensor activation scale), fp8d / fp8s
(FP8 E4M3 W8A8: per-channel weights with dynamic per-token activations and
SmoothQuant, per-tensor weights with a static activation scale), ad8
(batch-adaptive INT8: int8 per-channel weight-only below the threshold
ADAPTIVE_THRESHOLD, W8A8 from it), fp16 (unquantized f16 layers), w4g32m /
w8g32m (float minima, f16 / f32: MINIMUM_MATRIX); multi:
the multi-layer example test/Dialect/QC/Inputs/block.mlir (q/k/v int4 g16
asymmetric, o W8A8 static, gate/up W8A8 dynamic sharing one activation
quantization, down batch-adaptive with threshold 16; its policy and
statistics files), rows flattened to rank 2.
"""
import argparse
import json
import os
import re
import sys

import numpy as np

SCHEMES = {
    "w4g128": "#qc.scheme<weight = i4, granularity = per_group, group_size = 128>",
    "w4g32": "#qc.scheme<weight = i4, granularity = per_group, group_size = 32>",
    "w4g32a": "#qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false>",
    "w4g64": "#qc.scheme<weight = i4, granularity = per_group, group_size = 64>",
    "w8": "#qc.scheme<weight = i8, granularity = per_channel>",
    "w8t": "#qc.scheme<weight = i8, granularity = per_tensor>",
    "w8a8d": "#qc.scheme<weight = i8, granularity = per_channel, act = dynamic_per_token, alpha = 0.5>",
    "w8a8s": "#qc.scheme<weight = i8, granularity = per_channel, act = static_per_tensor, alpha = 0.5>",
    "ad8": "#qc.scheme<weight = i8, granularity = per_channel>",
    "fp8d": "#qc.scheme<weight = f8E4M3FN, granularity = per_channel, act = dynamic_per_token, alpha = 0.5>",
    "fp8s": "#qc.scheme<weight = f8E4M3FN, granularity = per_tensor, act = static_per_tensor>",
    "fp16": None,
    # Float minima (w = q * s + m): GGUF Q4_1's grid (f16 minima) and an
    # int8 one with f32 minima; only the GEMV family reads them.
    "w4g32m": "#qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false, minimum = f16>",
    "w8g32m": "#qc.scheme<weight = i8, granularity = per_group, group_size = 32, symmetric = false, minimum = f32>",
}
# W8A8 schemes need calibration statistics (SmoothQuant, static scale).
NEEDS_STATS = {"w8a8d", "w8a8s", "fp8d", "fp8s"}
# ad8: M < threshold runs the weight-only GEMV, M >= threshold the W8A8
# path (act quant + INT8 GEMM): M in {1, 3} vs M >= 16 below.
ADAPTIVE_THRESHOLD = 8

# Expected max relative error against the host module, per path:
#  f32 activations, weight-only gemv: float32 rounding (summation order);
#  f16 gemv: the f16 partial sums of the HFMA2 path plus one f16 ulp of the
#   output (2^-11 relative of the largest value ~ 4.9e-4);
#  f16 mma: weights dequantized to f16 before the mma (the host keeps f32),
#   plus the output ulp;
#  fp16_mma: f32 accumulation like the host, the output ulp;
#  W8A8 / adaptive: host and GPU quantize activations identically (same
#   IEEE division and round-half-even), so with bit-identical inputs only
#   f32 rounding of the epilogue and glue remains (plus one f16 ulp for f16
#   programs). But the quantized activations come from glue kernels (norm,
#   silu) whose outputs may differ from the host's by an ulp; where that
#   moves x / s across a rounding boundary one int8 value changes by 1, and
#   the output by up to s_x * max|w| (~ amax / 127 * max|w|, a few 1e-3
#   of max|y| for these shapes). compare's n_gt_1e-4 counts such elements.
TOL = {
    ("f32", "gemv"): 1e-5,
    ("f16", "gemv"): 2e-3,
    ("f16", "mma"): 4e-3,
    ("f16", "frag"): 4e-3,
    ("f16", "fp16"): 2e-3,
    ("f32", "w8a8"): 1e-2,
    ("f16", "w8a8"): 1e-2,
    # FP8: the codes match the host's except where a glue ulp crosses a
    # rounding boundary, and one E4M3 step is 1/16 to 1/8 of the value (an
    # INT8 step 1/127 of the row maximum), so one flipped code moves a row's
    # outputs by up to s_x * |x| / 8 * max|w|: 2.07e-2 measured on fp8d f32
    # at M = 333 (run 7); wgmma's FP8 accumulation adds about 3e-4 relative.
    ("f32", "fp8"): 3e-2,
    ("f16", "fp8"): 3e-2,
}

# name, K, N, scheme, dtype, GPU variants (quant-compile
# --weight-only-kernel: the forced weight-only kernel; "<kind>_np" adds
# --gemv-norm-prologue (the up GEMV normalizes its input), "<kind>_sw"
# --gemv-swiglu-epilogue (names ending in "_gated": a gated MLP), "<kind>_90a"
# compiles for sm_90a (frag: its wgmma variant serves M >= the
# threshold), "<kind>_tma_90a" for sm_90a with --wgmma-tma (the wgmma GEMMs'
# TMA warp-specialized pipeline), "<kind>_nq" with --fuse-norm-quant (the
# input norm writes the W8A8 activation codes), "gemv_mma" compiled
# with --max-batch 16 so that M = 1, 3 take the GEMV family and M >= 16 the
# tensor-core kernel, both with the residual epilogue; "auto" for W8A8,
# fp16 and adaptive programs). K and N are not powers of two where the
# kernels allow it (int4 g128 needs multiples of 128 for both layers' K;
# int8 mma, int8_mma and adaptive need K % 16 == 0 on both layers; int4 mma
# K % 32 == 0; fp16_mma K % 8 == 0).
MATRIX = [
    ("w4g128_k128_n384", 128, 384, "w4g128", "f32", ["gemv"]),
    ("w4g32_k96_n160", 96, 160, "w4g32", "f32", ["gemv"]),
    ("w4g32a_k160_n96", 160, 96, "w4g32a", "f32", ["gemv"]),
    ("w8_k200_n136", 200, 136, "w8", "f32", ["gemv", "gemv_np"]),
    ("w8t_k72_n40", 72, 40, "w8t", "f32", ["gemv"]),
    ("w4g128_k128_n384_f16", 128, 384, "w4g128", "f16",
     ["gemv", "mma", "gemv_mma", "gemv_mma_np"]),
    ("w4g32_k96_n160_f16", 96, 160, "w4g32", "f16", ["gemv", "mma"]),
    ("w4g32a_k160_n96_f16", 160, 96, "w4g32a", "f16", ["gemv", "mma", "gemv_np"]),
    ("w8_k208_n144_f16", 208, 144, "w8", "f16", ["gemv", "mma", "gemv_mma"]),
    ("w8t_k80_n48_f16", 80, 48, "w8t", "f16", ["gemv", "mma"]),
    ("w8a8d_k112_n176", 112, 176, "w8a8d", "f32",
     ["auto", "auto_90a", "auto_tma_90a", "auto_nq"]),
    ("w8a8d_k112_n176_f16", 112, 176, "w8a8d", "f16",
     ["auto", "auto_90a", "auto_tma_90a", "auto_nq", "auto_nq_90a"]),
    ("w8a8s_k96_n80", 96, 80, "w8a8s", "f32", ["auto", "auto_90a"]),
    ("w8a8s_k96_n80_f16", 96, 80, "w8a8s", "f16",
     ["auto", "auto_90a", "auto_tma_90a", "auto_nq"]),
    ("w8a8d_k1024_n1536_f16", 1024, 1536, "w8a8d", "f16",
     ["auto_90a", "auto_tma_90a"]),
    ("fp16_k72_n200_f16", 72, 200, "fp16", "f16",
     ["auto", "auto_90a", "auto_tma_90a"]),
    # FP8 E4M3 W8A8 runs on wgmma only: sm_90a modules.
    ("fp8d_k112_n176", 112, 176, "fp8d", "f32", ["auto_90a"]),
    ("fp8d_k112_n176_f16", 112, 176, "fp8d", "f16",
     ["auto_90a", "auto_tma_90a", "auto_nq_90a"]),
    ("fp8s_k96_n80_f16", 96, 80, "fp8s", "f16", ["auto_90a", "auto_tma_90a"]),
    ("fp8d_k1024_n1536_f16", 1024, 1536, "fp8d", "f16",
     ["auto_90a", "auto_tma_90a"]),
    ("ad8_k80_n208", 80, 208, "ad8", "f32", ["auto", "auto_90a"]),
    ("ad8_k80_n208_f16", 80, 208, "ad8", "f16", ["auto", "auto_90a"]),
    ("multi_block_k32", 32, 64, "multi", "f32", ["auto"]),
    # The frag kernel (mma_frag weights repacked after selection, scales
    # rounded to f16; split-K for M <= 32, M tiles above): shapes of whole
    # 16 x 64 (INT4) / 16 x 32 (INT8) units for both layers, and one whose
    # down layer (K = 48) falls back to the selector's kind.
    ("w4g128_k128_n384_f16_frag", 128, 384, "w4g128", "f16", ["frag", "frag_90a"]),
    ("w4g32a_k192_n320_f16", 192, 320, "w4g32a", "f16", ["frag", "frag_90a"]),
    ("w8_k224_n96_f16", 224, 96, "w8", "f16", ["frag"]),
    ("w8t_k64_n48_f16", 64, 48, "w8t", "f16", ["frag"]),
    # K walks of at most 8 steps per CTA (fragSplitK: no split): K = 1024
    # INT4 (4 steps), K = 1024 INT8 (8 steps).
    ("w4g32_k1024_n160_f16", 1024, 160, "w4g32", "f16", ["frag", "frag_90a"]),
    ("w8_k96_n1024_f16", 96, 1024, "w8", "f16", ["frag", "frag_90a"]),
    # Gated MLPs (gate and up fused into one 2N-channel matmul): "_sw"
    # compiles with --gemv-swiglu-epilogue (the GEMV writes silu(gate) *
    # up; gemv_mma: the tensor-core side keeps the glue), next to the plain
    # kinds.
    ("w4g32_k256_n192_f16_gated", 256, 192, "w4g32", "f16",
     ["gemv", "gemv_sw", "gemv_mma", "gemv_mma_sw", "gemv_np_sw"]),
    ("w8_k96_n160_gated", 96, 160, "w8", "f32", ["gemv", "gemv_sw"]),
    # Split-K (M <= 32; sm_90: one thread-block cluster of 8 per channel
    # tile, the sums added in distributed shared memory): the down layers
    # (K = N = 4096 INT4 g128, 2048 INT8 per channel) with the residual in
    # the split's epilogue. (A narrow model width keeps the references of
    # M = 4096 small.)
    ("w4g128_k256_n4096_f16_fragsplit", 256, 4096, "w4g128", "f16", ["frag", "frag_90a"]),
    ("w8_k128_n2048_f16_fragsplit", 128, 2048, "w8", "f16", ["frag", "frag_90a"]),
]

# Float-minimum programs (issue 13): name, K, N, scheme, dtype, variants as
# in MATRIX; only the GEMV and frag families read float minima (frag: its
# mma.sync kernels, also on sm_90a), so "auto" takes one of those. Their
# indices (seeds) come after the glue programs, so MATRIX's and the glue's
# cases are unchanged.
MINIMUM_MATRIX = [
    ("w4g32m_k160_n96", 160, 96, "w4g32m", "f32", ["gemv", "auto"]),
    ("w4g32m_k192_n320_f16", 192, 320, "w4g32m", "f16",
     ["gemv", "gemv_np", "auto", "auto_90a", "frag", "frag_90a"]),
    ("w8g32m_k224_n96_f16", 224, 96, "w8g32m", "f16", ["gemv", "auto", "frag"]),
    ("w4g32m_k1024_n1536_f16", 1024, 1536, "w4g32m", "f16", ["auto", "frag"]),
    ("w4g32m_k256_n192_f16_gated", 256, 192, "w4g32m", "f16",
     ["gemv", "gemv_sw", "gemv_np_sw"]),
]

# Glue kernels: name, kind (rms | ln), K, dtype; every norm program runs M
# in NORM_MS. One rms_norm / layer_norm (random weight and bias constants):
# the row normalization kernel (one CTA per row; 16-byte loads for K 576 /
# 4096, scalar for the odd K).
NORM_MATRIX = [
    (f"{kind}_k{k}{'_f16' if dt == 'f16' else ''}", kind, k, dt)
    for kind in ("rms", "ln") for k in (576, 4096, 4097) for dt in ("f32", "f16")
]
NORM_MS = [1, 3, 64, 333]
# Decode attention over a KV cache: name, T, H, KV, D, dtype (query and
# caches); S = ATTN_S, layer 1 of 2; M = B in ATTN_MS; pos[b] from
# ATTN_POS (0, mid, near S: p = pos + t passes S - 1 for T = 7, which
# clamps to the last key). T = 20 > maxSplitT (16) takes the one-chunk path.
ATTN_MATRIX = [
    ("attn_t1_h9kv3_d64", 1, 9, 3, 64, "f32"),
    ("attn_t7_h9kv3_d64", 7, 9, 3, 64, "f32"),
    ("attn_t1_h8kv2_d128", 1, 8, 2, 128, "f32"),
    ("attn_t7_h8kv2_d128", 7, 8, 2, 128, "f32"),
    ("attn_t20_h9kv3_d64", 20, 9, 3, 64, "f32"),
    ("attn_t1_h9kv3_d64_f16", 1, 9, 3, 64, "f16"),
    ("attn_t7_h9kv3_d64_f16", 7, 9, 3, 64, "f16"),
    ("attn_t1_h8kv2_d128_f16", 1, 8, 2, 128, "f16"),
    ("attn_t7_h8kv2_d128_f16", 7, 8, 2, 128, "f16"),
]
ATTN_S = 512
ATTN_POS = [300, 0, 509]
ATTN_MS = [1, 3]
# Prefill (T > maxSplitT, f16: the tensor-core prefill kernel): name, T,
# H, KV, D, dtype for T in 17 / 64 / 100 / 256 (one partial query tile of
# 21 / 16 / 64 tokens, whole tiles, a partial last tile), GQA (G = 3: rows
# past 21 x 3 idle; G = 4) and MHA; B = 2 with pos[b] from
# ATTN_PREFILL_POS (diagonal tiles not key-tile aligned; 300 + t passes
# S - 1 for T = 256, which clamps to the last key).
ATTN_PREFILL_MATRIX = [
    (f"attn_prefill_t{t}_h{h}kv{kv}_d{d}_f16", t, h, kv, d, "f16")
    for (h, kv, d) in ((9, 3, 64), (8, 2, 128), (4, 4, 128))
    for t in (17, 64, 100, 256)
]
ATTN_PREFILL_POS = [77, 300]
ATTN_PREFILL_MS = [2]
# f32: summation order and ex2.approx (2 ulp) in the softmax; f16: one
# output ulp (the math is f32 on both sides). The prefill cases are checked
# per output row (module_correctness.sh: compare --per-row): one f16 ulp of
# the row plus P rounded to f16 for the P V product on tensor cores.
GLUE_TOL = {"f32": 1e-4, "f16": 2e-3}


def norm_program(kind, k, dtype, seed):
    rng = np.random.default_rng(seed)
    npt = np.float32 if dtype == "f32" else np.float16
    g = (1.0 + 0.1 * rng.standard_normal(k)).astype(npt)
    b = (0.1 * rng.standard_normal(k)).astype(npt)
    xt, vt = f"tensor<?x{k}x{dtype}>", f"tensor<{k}x{dtype}>"
    if kind == "rms":
        op = (f"%y = qc.rms_norm %x, %g {{epsilon = 1.0e-5 : f64}} : {xt}, {vt}")
    else:
        op = (f"%b = arith.constant {dense(b)} : {vt}\n    "
              f"%y = qc.layer_norm %x, %g, %b {{epsilon = 1.0e-5 : f64}} : "
              f"{xt}, {vt}, {vt}")
    return f"""// Generated by gpu_cases.py: {kind} K={k} {dtype}
module {{
  func.func @block(%x: {xt}) -> {xt} {{
    %g = arith.constant {dense(g)} : {vt}
    {op}
    return %y : {xt}
  }}
}}
"""


def attn_program(t, h, kv, d, dtype, positions=ATTN_POS):
    qt = f"tensor<?x{t}x{h}x{d}x{dtype}>"
    ct = f"tensor<2x?x{kv}x{ATTN_S}x{d}x{dtype}>"
    table = ", ".join(str(p) for p in positions)
    return f"""// Generated by gpu_cases.py: cache_attention T={t} H={h} KV={kv} D={d} S={ATTN_S} {dtype}
module {{
  func.func @attn(%q: {qt}, %kc: {ct}, %vc: {ct}) -> {qt} {{
    %c0 = arith.constant 0 : index
    %nb = tensor.dim %q, %c0 : {qt}
    %table = arith.constant dense<[{table}]> : tensor<{len(positions)}xi64>
    %pos = tensor.extract_slice %table[0] [%nb] [1] : tensor<{len(positions)}xi64> to tensor<?xi64>
    %o = qc.cache_attention %q, %kc, %vc, %pos {{layer = 1 : i64, scale = {1.0 / np.sqrt(d):.6f} : f32}} : {qt}, {ct}, {ct}, tensor<?xi64> -> {qt}
    return %o : {qt}
  }}
}}
"""


# The multi-layer example and its policy and statistics.
QC_INPUTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                         "..", "..", "Dialect", "QC", "Inputs")
MULTI_FLAGS = "--policy {0}/policy/block.yaml --stats {0}/block-stats.json"
MS = [1, 3, 16, 64, 333, 4096]


def tolerance(scheme, dtype, variant):
    if scheme in ("w8a8d", "w8a8s", "ad8", "multi"):
        return TOL[(dtype, "w8a8")]
    if scheme in ("fp8d", "fp8s"):
        return TOL[(dtype, "fp8")]
    if scheme == "fp16":
        return TOL[(dtype, "fp16")]
    if dtype == "f32":
        return TOL[("f32", "gemv")]
    # <kind>_np / <kind>_sw: the kind with the GEMV's fused RMSNorm
    # prologue / SiLU * mul epilogue.
    while variant.endswith(("_np", "_sw")):
        variant = variant[:-3]
    # <kind>_90a: compiled for sm_90a (the frag family's wgmma variant from
    # its threshold on).
    variant = variant.removesuffix("_90a").removesuffix("_tma")
    variant = variant.removesuffix("_nq")
    return TOL[(dtype, "mma" if variant == "gemv_mma" else variant)]


def dense(a):
    return 'dense<"0x%s">' % a.tobytes().hex().upper()


def weights(k, n, dtype, seed):
    rng = np.random.default_rng(seed)
    npt = np.float32 if dtype == "f32" else np.float16
    g = (1.0 + 0.1 * rng.standard_normal(k)).astype(npt)
    w1 = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(npt)
    b1 = (0.1 * rng.standard_normal(n)).astype(npt)
    w2 = (rng.standard_normal((k, n)) / np.sqrt(n)).astype(npt)
    return g, w1, b1, w2


def layer_attrs(scheme):
    if SCHEMES[scheme] is None:
        return ""
    attrs = f", scheme = {SCHEMES[scheme]}"
    if scheme == "ad8":
        attrs += f", qc.batch_threshold = {ADAPTIVE_THRESHOLD} : i64"
    return attrs


def gated_program(k, n, scheme, dtype, seed):
    """A Llama MLP block on rows (rank 2): RMSNorm, gate and up projections
    of the same input (qc-fuse-sibling-matmuls makes them one 2N-channel
    matmul), the SiLU * mul glue as the importers emit it (f32 inside for
    f16 activations), down, residual add."""
    g, wg, _, w2 = weights(k, n, dtype, seed)
    wu = weights(k, n, dtype, seed + 1000)[1]
    xt, ut = f"tensor<?x{k}x{dtype}>", f"tensor<?x{n}x{dtype}>"
    s = layer_attrs(scheme)
    if dtype == "f16":
        silu_mul = """      %gf = arith.extf %a : f16 to f32
      %ng = arith.negf %gf : f32
      %ex = math.exp %ng : f32
      %den = arith.addf %ex, %one : f32
      %sg = arith.divf %gf, %den : f32
      %uf = arith.extf %b : f16 to f32
      %pr = arith.mulf %sg, %uf : f32
      %h16 = arith.truncf %pr : f32 to f16
      linalg.yield %h16 : f16"""
    else:
        silu_mul = """      %ng = arith.negf %a : f32
      %ex = math.exp %ng : f32
      %den = arith.addf %ex, %one : f32
      %sg = arith.divf %a, %den : f32
      %pr = arith.mulf %sg, %b : f32
      linalg.yield %pr : f32"""
    return f"""// Generated by gpu_cases.py: gated MLP K={k} N={n} scheme={scheme} {dtype}
#map = affine_map<(d0, d1) -> (d0, d1)>
module {{
  func.func @block(%x: {xt}) -> {xt} {{
    %c0 = arith.constant 0 : index
    %one = arith.constant 1.0 : f32
    %d0 = tensor.dim %x, %c0 : {xt}
    %g = arith.constant {dense(g)} : tensor<{k}x{dtype}>
    %h = qc.rms_norm %x, %g {{epsilon = 1.0e-5 : f64}} : {xt}, tensor<{k}x{dtype}>
    %wg = arith.constant {dense(wg)} : tensor<{n}x{k}x{dtype}>
    %wu = arith.constant {dense(wu)} : tensor<{n}x{k}x{dtype}>
    %gt = qc.linear %h, %wg {{layer = "gate"{s}}} : ({xt}, tensor<{n}x{k}x{dtype}>) -> {ut}
    %up = qc.linear %h, %wu {{layer = "up"{s}}} : ({xt}, tensor<{n}x{k}x{dtype}>) -> {ut}
    %e = tensor.empty(%d0) : {ut}
    %act = linalg.generic {{indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}} ins(%gt, %up : {ut}, {ut}) outs(%e : {ut}) {{
    ^bb0(%a: {dtype}, %b: {dtype}, %o: {dtype}):
{silu_mul}
    }} -> {ut}
    %w2 = arith.constant {dense(w2)} : tensor<{k}x{n}x{dtype}>
    %y = qc.linear %act, %w2 {{layer = "down"{s}}} : ({ut}, tensor<{k}x{n}x{dtype}>) -> {xt}
    %e2 = tensor.empty(%d0) : {xt}
    %r = linalg.generic {{indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}} ins(%x, %y : {xt}, {xt}) outs(%e2 : {xt}) {{
    ^bb0(%p: {dtype}, %q: {dtype}, %o: {dtype}):
      %t = arith.addf %p, %q : {dtype}
      linalg.yield %t : {dtype}
    }} -> {xt}
    return %r : {xt}
  }}
}}
"""


def program(k, n, scheme, dtype, rank, seed):
    g, w1, b1, w2 = weights(k, n, dtype, seed)
    lead = "?x" if rank == 2 else "?x?x"
    xt = f"tensor<{lead}{k}x{dtype}>"
    ut = f"tensor<{lead}{n}x{dtype}>"
    idx = "d0, d1" if rank == 2 else "d0, d1, d2"
    par = ", ".join(['"parallel"'] * rank)
    dims = "".join(
        f"    %d{i} = tensor.dim %x, %c{i} : {xt}\n" for i in range(rank - 1))
    consts = "".join(f"    %c{i} = arith.constant {i} : index\n"
                     for i in range(rank - 1))
    dimargs = ", ".join(f"%d{i}" for i in range(rank - 1))
    s = layer_attrs(scheme)
    return f"""// Generated by gpu_cases.py: K={k} N={n} scheme={scheme} {dtype} rank {rank}
#map = affine_map<({idx}) -> ({idx})>
module {{
  func.func @block(%x: {xt}) -> {xt} {{
{consts}{dims}    %g = arith.constant {dense(g)} : tensor<{k}x{dtype}>
    %h = qc.rms_norm %x, %g {{epsilon = 1.0e-5 : f64}} : {xt}, tensor<{k}x{dtype}>
    %w1 = arith.constant {dense(w1)} : tensor<{n}x{k}x{dtype}>
    %b1 = arith.constant {dense(b1)} : tensor<{n}x{dtype}>
    %u = qc.linear %h, %w1, %b1 {{layer = "up"{s}}} : ({xt}, tensor<{n}x{k}x{dtype}>, tensor<{n}x{dtype}>) -> {ut}
    %e = tensor.empty({dimargs}) : {ut}
    %a = linalg.generic {{indexing_maps = [#map, #map], iterator_types = [{par}]}} ins(%u : {ut}) outs(%e : {ut}) {{
    ^bb0(%v: {dtype}, %o: {dtype}):
      %nv = arith.negf %v : {dtype}
      %ex = math.exp %nv : {dtype}
      %one = arith.constant 1.0 : {dtype}
      %den = arith.addf %one, %ex : {dtype}
      %sv = arith.divf %v, %den : {dtype}
      linalg.yield %sv : {dtype}
    }} -> {ut}
    %w2 = arith.constant {dense(w2)} : tensor<{k}x{n}x{dtype}>
    %y = qc.linear %a, %w2 {{layer = "down"{s}}} : ({ut}, tensor<{k}x{n}x{dtype}>) -> {xt}
    %e2 = tensor.empty({dimargs}) : {xt}
    %r = linalg.generic {{indexing_maps = [#map, #map, #map], iterator_types = [{par}]}} ins(%x, %y : {xt}, {xt}) outs(%e2 : {xt}) {{
    ^bb0(%p: {dtype}, %q: {dtype}, %o: {dtype}):
      %t = arith.addf %p, %q : {dtype}
      linalg.yield %t : {dtype}
    }} -> {xt}
    return %r : {xt}
  }}
}}
"""


def multi_block():
    """The multi-layer example with batch x seq flattened into rows; its
    tensor-level elementwise ops become linalg.generic (quant-compile
    lowers qc ops and linalg, not elementwise arith on tensors)."""
    text = open(os.path.join(QC_INPUTS, "block.mlir")).read()
    text = text.replace("?x?x", "?x")
    text = text.replace(
        "func.func @block(%x: tensor<?x32xf32>) -> tensor<?x32xf32> {\n",
        "func.func @block(%x: tensor<?x32xf32>) -> tensor<?x32xf32> {\n"
        "  %ew_c0 = arith.constant 0 : index\n"
        "  %ew_m = tensor.dim %x, %ew_c0 : tensor<?x32xf32>\n")
    pat = re.compile(r"^  %(\w+) = arith\.(mulf|addf) %(\w+), %(\w+) : "
                     r"(tensor<\?x(\d+)xf32>)$", re.M)

    def generic(m):
        res, op, a, b, t = m.group(1), m.group(2), m.group(3), m.group(4), m.group(5)
        return (f"  %{res}_e = tensor.empty(%ew_m) : {t}\n"
                f"  %{res} = linalg.generic {{indexing_maps = [#ew, #ew, #ew], "
                f"iterator_types = [\"parallel\", \"parallel\"]}} "
                f"ins(%{a}, %{b} : {t}, {t}) outs(%{res}_e : {t}) {{\n"
                f"  ^bb0(%ew_a: f32, %ew_b: f32, %ew_o: f32):\n"
                f"    %ew_r = arith.{op} %ew_a, %ew_b : f32\n"
                f"    linalg.yield %ew_r : f32\n"
                f"  }} -> {t}")
    text, count = pat.subn(generic, text)
    assert count == 5, "block.mlir changed: update multi_block()"
    return "#ew = affine_map<(d0, d1) -> (d0, d1)>\n" + text


def stats(k, n, dtype, seed, tokens):
    """qc-stats of the block's two layers on random tokens (f64)."""
    g, w1, b1, w2 = (a.astype(np.float64) for a in weights(k, n, dtype, seed))
    x = np.random.default_rng(seed + 1000).standard_normal((tokens, k))
    h = x / np.sqrt((x * x).mean(axis=1, keepdims=True) + 1e-5) * g
    u = h @ w1.T + b1
    a = u / (1 + np.exp(-u))

    def layer(v):
        return {"channels": int(v.shape[1]), "tokens": int(v.shape[0]),
                "absmax": [float(t) for t in np.abs(v).max(axis=0)]}
    return {"format": "qc-stats", "version": 1,
            "layers": {"up": layer(h), "down": layer(a)}}


def gen_program(args):
    with open(args.out, "w") as f:
        f.write(program(args.k, args.n, args.scheme, args.dtype, args.rank,
                        args.seed))


def gen_block(args):
    with open(args.out, "w") as f:
        f.write(multi_block())


def gen_stats(args):
    with open(args.out, "w") as f:
        json.dump(stats(args.k, args.n, args.dtype, args.seed, args.tokens), f)


def gen_matrix(args):
    os.makedirs(args.dir, exist_ok=True)
    directory = os.path.abspath(args.dir)
    keep = re.compile(args.programs or "")
    with open(os.path.join(directory, "cases.txt"), "w") as cases:
        for i, (name, k, n, scheme, dtype, variants) in enumerate(MATRIX):
            if not keep.search(name):
                continue
            seed = 100 + i
            with open(os.path.join(directory, name + ".mlir"), "w") as f:
                f.write(multi_block() if scheme == "multi" else
                        gated_program(k, n, scheme, dtype, seed)
                        if name.endswith("_gated") else
                        program(k, n, scheme, dtype, 2, seed))
            flags = ""
            if scheme == "multi":
                flags = MULTI_FLAGS.format(os.path.abspath(QC_INPUTS))
            elif scheme in NEEDS_STATS:
                path = os.path.join(directory, name + ".stats.json")
                with open(path, "w") as f:
                    json.dump(stats(k, n, dtype, seed, 512), f)
                flags = f"--stats {path}"
            with open(os.path.join(directory, name + ".flags"), "w") as f:
                f.write(flags + "\n")
            for variant in variants:
                tol = tolerance(scheme, dtype, variant)
                for j, m in enumerate(MS):
                    cases.write(f"{name} {variant} {m} {dtype} {tol:g} "
                                f"{1000 * i + j}\n")
        # Glue kernel programs: indices after MATRIX (its seeds unchanged).
        glue = [(name, norm_program(kind, k, dt, 100 + len(MATRIX) + i), dt,
                 NORM_MS) for i, (name, kind, k, dt) in enumerate(NORM_MATRIX)]
        glue += [(name, attn_program(t, h, kv, d, dt), dt, ATTN_MS)
                 for (name, t, h, kv, d, dt) in ATTN_MATRIX
                 if not args.no_attention]
        glue += [(name, attn_program(t, h, kv, d, dt, ATTN_PREFILL_POS), dt,
                  ATTN_PREFILL_MS)
                 for (name, t, h, kv, d, dt) in ATTN_PREFILL_MATRIX
                 if not args.no_attention]
        for i, (name, text, dtype, ms) in enumerate(glue, start=len(MATRIX)):
            if not keep.search(name):
                continue
            with open(os.path.join(directory, name + ".mlir"), "w") as f:
                f.write(text)
            with open(os.path.join(directory, name + ".flags"), "w") as f:
                f.write("\n")
            for j, m in enumerate(ms):
                cases.write(f"{name} auto {m} {dtype} {GLUE_TOL[dtype]:g} "
                            f"{1000 * i + j}\n")
        # Float-minimum programs: weight-only; the GEMV's tolerances, the
        # frag's where frag may run (f16 frag and auto variants).
        for i, (name, k, n, scheme, dtype, variants) in enumerate(
                MINIMUM_MATRIX, start=len(MATRIX) + len(glue)):
            if not keep.search(name):
                continue
            seed = 100 + i
            with open(os.path.join(directory, name + ".mlir"), "w") as f:
                f.write(gated_program(k, n, scheme, dtype, seed)
                        if name.endswith("_gated") else
                        program(k, n, scheme, dtype, 2, seed))
            with open(os.path.join(directory, name + ".flags"), "w") as f:
                f.write("\n")
            for variant in variants:
                kind = "gemv" if dtype == "f32" or variant.startswith("gemv") else "frag"
                tol = TOL[(dtype, kind)]
                for j, m in enumerate(MS):
                    cases.write(f"{name} {variant} {m} {dtype} {tol:g} "
                                f"{1000 * i + j}\n")


def compare(args):
    ref = np.load(args.ref).astype(np.float64)
    got = np.load(args.got).astype(np.float64)
    if ref.shape != got.shape:
        print(f"shape mismatch ref={ref.shape} got={got.shape}")
        return 1
    bad = int((~np.isfinite(got)).sum())
    if args.per_row and ref.ndim >= 1 and ref.size:
        # Relative to each row's (last axis) largest |ref|: attention rows
        # over many keys are small next to rows over few.
        scale = np.maximum(np.abs(ref).max(axis=-1, keepdims=True), 1e-30)
    else:
        scale = max(np.abs(ref).max(), 1e-30) if ref.size else 1.0
    rel = np.abs(got - ref) / scale
    err = float(rel.max()) if ref.size else 0.0
    off = int((rel > 1e-4).sum())
    verdict = ""
    if args.tol is not None:
        verdict = " PASS" if bad == 0 and err <= args.tol else " FAIL"
    print(f"max_rel_err={err:.3e} nonfinite={bad} n_gt_1e-4={off} "
          f"shape={'x'.join(map(str, ref.shape))}{verdict}")
    return 0


def unescape_mlir(text):
    """Decodes an MLIR string literal body (\\XX hex escapes, \\\\, \\")."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            nxt = text[i + 1]
            if nxt in "\\\"":
                out.append(ord(nxt))
                i += 2
                continue
            out.append(int(text[i + 1:i + 3], 16))
            i += 3
            continue
        out.extend(c.encode())
        i += 1
    return bytes(out)


def extract_ptx(args):
    """Writes the PTX of every gpu.binary (format=isa) in an MLIR file."""
    import re
    text = open(args.mlir).read()
    pat = re.compile(r'gpu\.binary @(\w+)\s*\[#gpu\.object<.*?assembly = "((?:[^"\\]|\\.)*)"')
    n = 0
    for m in pat.finditer(text):
        with open(os.path.join(args.dir, m.group(1) + ".ptx"), "wb") as f:
            f.write(unescape_mlir(m.group(2)))
        print(m.group(1) + ".ptx")
        n += 1
    if n == 0:
        print("no PTX found")
        return 1
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen-program")
    g.add_argument("out")
    g.add_argument("--k", type=int, required=True)
    g.add_argument("--n", type=int, required=True)
    g.add_argument("--scheme", choices=sorted(SCHEMES), required=True)
    g.add_argument("--dtype", choices=["f32", "f16"], default="f32")
    g.add_argument("--rank", type=int, choices=[2, 3], default=2)
    g.add_argument("--seed", type=int, default=0)
    st = sub.add_parser("gen-stats")
    st.add_argument("out")
    st.add_argument("--k", type=int, required=True)
    st.add_argument("--n", type=int, required=True)
    st.add_argument("--dtype", choices=["f32", "f16"], default="f32")
    st.add_argument("--seed", type=int, default=0)
    st.add_argument("--tokens", type=int, default=256)
    gb = sub.add_parser("gen-block")
    gb.add_argument("out")
    m = sub.add_parser("gen-matrix")
    m.add_argument("--programs", default="",
                   help="regex: only the programs whose name matches")
    m.add_argument("--no-attention", action="store_true",
                   help="leave out the qc.cache_attention programs")
    m.add_argument("dir")
    c = sub.add_parser("compare")
    c.add_argument("ref")
    c.add_argument("got")
    c.add_argument("--tol", type=float)
    c.add_argument("--per-row", action="store_true",
                   help="errors relative to each row's max |ref| (last "
                        "axis) instead of the whole output's")
    x = sub.add_parser("extract-ptx")
    x.add_argument("mlir")
    x.add_argument("dir")
    args = p.parse_args()
    return {"gen-program": gen_program, "gen-stats": gen_stats,
            "gen-block": gen_block,
            "gen-matrix": gen_matrix,
            "compare": compare, "extract-ptx": extract_ptx}[args.cmd](args) or 0


if __name__ == "__main__":
    sys.exit(main())
