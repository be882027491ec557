#!/usr/bin/env python3
"""Compiles the GPU kernel case matrix with quant-opt (here, no GPU needed).

For every case writes <out>/<name>.ptx (from gpu-module-to-binary) and a line
of <out>/cases.json with the kernel's shape, scheme and launch geometry, which
benchmarks/gpu/harness.cpp reads on the GPU machine: qc.wo_matmul cases (gemv
and the weight-only mma kernel, same kernel arguments) in cases.txt, the
tensor-core W8A8 (quantize_act + int8_matmul) and fp16 (qc.linear) cases in
mma_cases.txt.

Examples:
  gen_cases.py --out .gpu-cases                      # everything
  gen_cases.py --out .gpu-cases --gemv check         # no GEMV decode timing
  gen_cases.py --out v1 --gemv none --mma time --tag s4_ \
      --opts "mma-stages=4 mma-block-k-bytes=32"     # a tiling variant
      (--opts: qc-select-matmul tiling options, as quant-compile takes)
  gen_cases.py --out sm --small-m all --mma none     # M = 1..256 sweep
  gen_cases.py --out sm --small-m gemv,mma --mma none \
      --small-m-tags t8,m16n64k128s2 --small-m-shapes 8192x8192
"""
import argparse
import json
import os
import re
import subprocess
import sys

# The tiling (and, for weight-only cases, the kernel kind) comes from
# qc-select-matmul's options, as in quant-compile; outlining only builds.
PIPELINE = ("builtin.module(qc-select-matmul{{target={chip} {kind}{opts}}},"
            "qc-outline-gpu-kernels,"
            "gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm,qc-gpu-tensor-map-params),"
            "reconcile-unrealized-casts,gpu-module-to-binary{{format=isa}})")

# A kernel's typed launch record (#qc.launch, the kernel family registry's).
LAUNCH = re.compile(r"qc\.launch = #qc\.launch<@\w+::@(\w+), block = (\d+)"
                    r"(?:, tile_n = (\d+), tile_m = (\d+))?"
                    r"(?:, m_tiles = \[([\d, ]+)\])?"
                    r"(?:, residual = \w+)?(?:, split_k = (\d+))?")


def launches(text):
    """Every #qc.launch in quant-opt output: (kernel, block, tile_n, tile_m,
    m_tiles, split_k) with m_tiles as "1,2,4,8" ("" when none)."""
    return [(m.group(1), int(m.group(2)), int(m.group(3) or 0),
             int(m.group(4) or 0), (m.group(5) or "").replace(" ", ""),
             int(m.group(6) or 1))
            for m in LAUNCH.finditer(text)]


def kernel_args(quant_compile):
    """Kernel argument lists by family (quant-compile --list-kernels=json):
    the harness binds buffers by these names. Each entry: the family's
    listing (args, and under "extra" its further kernels' arguments)."""
    res = subprocess.run([quant_compile, "--list-kernels=json"],
                         capture_output=True, text=True, check=True)
    return {f["name"]: f for f in json.loads(res.stdout)}


def scheme_text(bits, group, sym, per_tensor):
    gran = "per_tensor" if per_tensor else ("per_group" if group else "per_channel")
    s = f"weight = i{bits}, granularity = {gran}"
    if group:
        s += f", group_size = {group}"
    if not sym:
        s += ", symmetric = false"
    return f"#qc.scheme<{s}>"


def case_ir(c):
    n, k, bits = c["n"], c["k"], c["bits"]
    groups = 1 if not c["group"] else k // c["group"]
    srows = 1 if c["per_tensor"] else n
    act = "f16" if c["act_f16"] else "f32"
    sty = "f16" if c["scale_f16"] else "f32"
    nbytes = n * k * bits // 8
    args = [f"%x: tensor<?x{k}x{act}>", f"%d: tensor<{nbytes}xi8>",
            f"%s: tensor<{srows}x{groups}x{sty}>"]
    ops = "%d, %s"
    types = f"tensor<{nbytes}xi8>, tensor<{srows}x{groups}x{sty}>"
    if not c["sym"]:
        args.append(f"%z: tensor<{srows}x{groups}xi8>")
        ops += ", %z"
        types += f", tensor<{srows}x{groups}xi8>"
    bias, btype = "", ""
    if c["bias"]:
        args.append(f"%b: tensor<{n}x{act}>")
        bias, btype = ", %b", f", tensor<{n}x{act}>"
    sch = scheme_text(bits, c["group"], c["sym"], c["per_tensor"])
    # The frag kernel reads mma_frag bytes (the harness packs them); its
    # wgmma variant ("frag_wgmma", sm_90a) too.
    kind = c.get("kernel_kind", "gemv")
    layout = "mma_frag" if kind in ("frag", "frag_wgmma") else "row_major"
    kind = "frag" if kind == "frag_wgmma" else kind
    return f"""func.func @f({", ".join(args)}) -> tensor<?x{n}x{act}> {{
  %pw = qc.packed_weight {ops} {{layout = #qc.layout<{layout}>, scheme = {sch}}} : {types} -> !qc.packed<{n}x{k}xi{bits}>
  %y = qc.wo_matmul %x, %pw{bias} {{layer = "{c['name']}", kernel = #qc.kernel<{kind}, target = "{c['chip']}">}} : tensor<?x{k}x{act}>, !qc.packed<{n}x{k}xi{bits}>{btype} -> tensor<?x{n}x{act}>
  return %y : tensor<?x{n}x{act}>
}}
"""


def selected_kernel(quant_opt, c):
    """What qc-select-matmul (default options, the case's chip) picks for the
    case's weight: (kind, threshold); for gemv_mma the GEMV runs M <
    threshold and the default-tiled mma kernel the rest."""
    ir = re.sub(r", kernel = #qc.kernel<[^>]*>", "", case_ir(c))
    res = subprocess.run(
        [quant_opt, "--pass-pipeline=builtin.module(qc-select-matmul{target="
         + c["chip"] + "})"], input=ir, capture_output=True, text=True)
    m = re.search(r"#qc.kernel<(\w+), target = \"\w+\"(?:, threshold = (\d+))?",
                  res.stdout)
    if res.returncode != 0 or not m:
        sys.exit(f"qc-select-matmul failed for {c['name']}:\n{res.stderr}")
    return m.group(1), int(m.group(2) or 0)


def mma_case_ir(c):
    """IR of a tensor-core case: `int8` is quantize_act + int8_matmul (W8A8),
    `fp8` the same on E4M3 activations and weights (sm_90a), `fp16` an
    unquantized qc.linear with a fp16_mma kernel."""
    n, k = c["n"], c["k"]
    out = "f16" if c["out_f16"] else "f32"
    kind = "int8" if c["op"] == "fp8" else c["op"]
    kern = f'#qc.kernel<{kind}_mma, target = "{c["chip"]}">'
    bias_arg = f", %b: tensor<{n}x{out}>" if c["bias"] else ""
    bias, btype = (", %b", f", tensor<{n}x{out}>") if c["bias"] else ("", "")
    if c["op"] == "fp16":
        return f"""func.func @f(%x: tensor<?x{k}xf16>, %w: tensor<{n}x{k}xf16>{bias_arg}) -> tensor<?x{n}xf16> {{
  %y = qc.linear %x, %w{bias} {{layer = "{c['name']}", kernel = {kern}}} : (tensor<?x{k}xf16>, tensor<{n}x{k}xf16>{btype}) -> tensor<?x{n}xf16>
  return %y : tensor<?x{n}xf16>
}}
"""
    act = "f16" if c["act_f16"] else "f32"
    srows = 1 if c["per_tensor_w"] else n
    sty = "f16" if c["scale_f16"] else "f32"
    gran = "per_tensor" if c["per_tensor_w"] else "per_channel"
    if c["per_token"]:
        mode, sxt = "dynamic_per_token", "tensor<?xf32>"
    else:
        mode, sxt = f"static_per_tensor scale {c['static_scale']!r}", "tensor<1xf32>"
    amode = "dynamic_per_token" if c["per_token"] else "static_per_tensor"
    q = "f8E4M3FN" if c["op"] == "fp8" else "i8"
    return f"""func.func @f(%x: tensor<?x{k}x{act}>, %d: tensor<{n * k}xi8>, %s: tensor<{srows}x1x{sty}>{bias_arg}) -> tensor<?x{n}x{out}> {{
  %q, %sx = qc.quantize_act %x {mode} : tensor<?x{k}x{act}> -> tensor<?x{k}x{q}>, {sxt}
  %pw = qc.packed_weight %d, %s {{layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = {q}, granularity = {gran}, act = {amode}>}} : tensor<{n * k}xi8>, tensor<{srows}x1x{sty}> -> !qc.packed<{n}x{k}x{q}>
  %y = qc.int8_matmul %q, %sx, %pw{bias} {{layer = "{c['name']}", kernel = {kern}}} : tensor<?x{k}x{q}>, {sxt}, !qc.packed<{n}x{k}x{q}>{btype} -> tensor<?x{n}x{out}>
  return %y : tensor<?x{n}x{out}>
}}
"""


def compile_mma_case(quant_opt, c, out_dir, opts, args):
    res = subprocess.run([quant_opt, "--pass-pipeline=" + PIPELINE.format(
        chip=c["chip"], kind="", opts=opts)],
                         input=mma_case_ir(c), capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"quant-opt failed for {c['name']}:\n{res.stderr}")
    m = re.search(r'assembly = "((?:[^"\\]|\\.)*)"', res.stdout)
    suffix = "fp16_mma" if c["op"] == "fp16" else "int8_mma"
    gemm = [l for l in launches(res.stdout) if l[0].endswith(suffix)]
    act = [l for l in launches(res.stdout) if l[0].endswith("_act_quant")]
    if not (m and gemm) or (c["op"] != "fp16" and not act):
        sys.exit(f"could not find the kernels in quant-opt output for {c['name']}")
    with open(os.path.join(out_dir, c["name"] + ".ptx"), "w") as f:
        f.write(unescape_mlir(m.group(1)))
    kernel, block, tile_n, tile_m, _, _ = gemm[0]
    # Dynamic shared memory (the wgmma fp16 GEMM's stages on sm_90a).
    smem = re.search(r"@" + kernel + r", [^>]*shared_bytes = (\d+)", res.stdout)
    # The TMA pipeline (wgmma-tma): two tensor-map arguments more.
    tma = re.search(r"@" + kernel + r", [^>]*tma = true", res.stdout)
    # The persistent tile scheduler (wgmma-persistent): a grid of `ctas`
    # CTAs (the SM count), not one per tile.
    ctas = re.search(r"@" + kernel + r", [^>]*ctas = (\d+)", res.stdout)
    family = args[("int8" if c["op"] == "fp8" else c["op"]) + "_mma"]
    return dict(c, kernel=kernel, block=block, block_m=tile_m, block_n=tile_n,
                act_kernel=act[0][0] if act else "-",
                act_block=act[0][1] if act else 0,
                args=",".join(family["extra"]["tma_args"] if tma
                              else family["args"]),
                smem=int(smem.group(1)) if smem else 0,
                ctas=int(ctas.group(1)) if ctas else 0)


def mma_cases(fp8=False):
    """Correctness matrix (odd N, K not a multiple of the block K, every
    scale/bias/output variant) and the Llama timing shapes."""
    cases = []
    base = dict(bias=False, out_f16=True, act_f16=True, per_token=True,
                per_tensor_w=False, scale_f16=False, static_scale=0.0)
    for op in ("int8", "fp16"):
        for (n, k) in [(300, 448), (77, 200), (256, 4096), (1000, 1040)]:
            if op == "int8" and k % 16:
                continue
            cases.append(dict(base, op=op, n=n, k=k, bias=(n % 2 == 0),
                              kind="check"))
        # qc.linear keeps the input type: f32 results only on the INT8 path.
        cases.append(dict(base, op=op, n=129, k=96, bias=True,
                          out_f16=(op == "fp16"), kind="check"))
    for extra in (dict(per_tensor_w=True, scale_f16=True, out_f16=False),
                  dict(act_f16=False, bias=True),
                  dict(per_token=False, static_scale=0.0078125, bias=True),
                  dict(per_token=False, static_scale=0.004, per_tensor_w=True,
                       act_f16=False, out_f16=False)):
        cases.append(dict(base, op="int8", n=200, k=272, kind="check", **extra))
    # FP8 E4M3 (wgmma only: sm_90a chips).
    if fp8:
        for (n, k) in [(300, 448), (77, 208), (1000, 1040)]:
            cases.append(dict(base, op="fp8", n=n, k=k, bias=(n % 2 == 0),
                              kind="check"))
        cases.append(dict(base, op="fp8", n=200, k=272, kind="check",
                          per_token=False, static_scale=0.004,
                          per_tensor_w=True, act_f16=False, out_f16=False))
    for (n, k) in [(4096, 4096), (11008, 4096), (8192, 8192), (28672, 8192)]:
        for op in ("int8", "fp16") + (("fp8",) if fp8 else ()):
            cases.append(dict(base, op=op, n=n, k=k, kind="time"))
    return cases


def unescape_mlir(s):
    out = bytearray()
    i = 0
    while i < len(s):
        if s[i] == "\\":
            nxt = s[i + 1]
            if nxt in "\\\"":
                out.append(ord(nxt))
                i += 2
            else:
                out.append(int(s[i + 1:i + 3], 16))
                i += 3
        else:
            out.extend(s[i].encode())
            i += 1
    return out.decode()


# The frag family's wgmma variant (sm_90a), recorded as qc.mma_launch.
WGMMA_LAUNCH = re.compile(r"qc\.mma_launch = #qc\.launch<@\w+::@(\w+), "
                          r"block = (\d+), tile_n = (\d+), tile_m = (\d+)"
                          r"(?:, shared_bytes = (\d+))?")


def compile_case(quant_opt, c, out_dir, opts, args):
    opts = c.get("opts", opts)
    kind = c.get("kernel_kind", "gemv")
    wgmma = kind == "frag_wgmma"
    if wgmma:
        c = dict(c, chip="sm_90a")
    res = subprocess.run([quant_opt, "--pass-pipeline=" + PIPELINE.format(
        chip=c["chip"], kind=f"weight-only-kernel={'frag' if wgmma else kind} ",
        opts=opts)], input=case_ir(c), capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"quant-opt failed for {c['name']}:\n{res.stderr}")
    m = re.search(r'assembly = "((?:[^"\\]|\\.)*)"', res.stdout)
    found = launches(res.stdout)
    if wgmma:
        # One kernel (grid M tile = tile_m) with the mma family's arguments;
        # the harness packs mma_frag bytes for kernels named *_frag*.
        w = WGMMA_LAUNCH.search(res.stdout)
        if not (m and w):
            sys.exit(f"no wgmma variant in quant-opt output for {c['name']}")
        with open(os.path.join(out_dir, c["name"] + ".ptx"), "w") as f:
            f.write(unescape_mlir(m.group(1)))
        return dict(c, kernel=w.group(1), block=int(w.group(2)),
                    rows_per_block=int(w.group(3)), m_tiles=w.group(4),
                    args=",".join(args["mma"]["args"]), split_k=1,
                    reduce_args="-", reduce_block=0, reduce_tile_n=0,
                    smem=int(w.group(5) or 0))
    if not (m and found):
        sys.exit(f"could not find the kernel in quant-opt output for {c['name']}")
    kernel, block, tile_n, tile_m, m_tiles, split_k = found[0]
    ptx = unescape_mlir(m.group(1))
    with open(os.path.join(out_dir, c["name"] + ".ptx"), "w") as f:
        f.write(ptx)
    # The mma kernel is one variant (grid M tile = tile_m); a GEMV or frag
    # family one per M tile (grid M tile = the variant's tile). A frag family
    # with split_k > 1 also has <kernel>_reduce (for M <= its largest tile).
    extra = args[kind].get("extra", {})
    return dict(c, kernel=kernel, block=block, rows_per_block=tile_n,
                m_tiles=m_tiles or str(tile_m), args=",".join(args[kind]["args"]),
                split_k=split_k,
                reduce_args=",".join(extra.get("reduce_args", [])) or "-",
                reduce_block=extra.get("reduce_block", 0),
                reduce_tile_n=extra.get("reduce_tile_n", 0))


# Small-batch (M = 1..256) weight-only variants: GEMV M-tile sets and small-M
# tilings of the weight-only mma kernel (qc-outline-gpu-kernels options).
SMALL_M_GEMV = {
    "t4": "gemv-rows-per-warp=2 gemv-m-tiles=1,2,4",
    "t8": "gemv-rows-per-warp=2 gemv-m-tiles=1,2,4,8",
    "t16": "gemv-rows-per-warp=2 gemv-m-tiles=1,2,4,8,16",
    "r1t16": "gemv-rows-per-warp=1 gemv-m-tiles=1,2,4,8,16",
    "t8u2": "gemv-rows-per-warp=2 gemv-chunks=2 gemv-m-tiles=1,2,4,8",
    "r4t8": "gemv-rows-per-warp=4 gemv-m-tiles=1,2,4,8",
    "r1t8": "gemv-rows-per-warp=1 gemv-m-tiles=1,2,4,8",
    # Bytes in flight and grid size at M = 1 (run 5: the 7B down / o
    # projections reach 1.1 TB/s with 512 CTAs of 8 rows).
    "r1u2t8": "gemv-rows-per-warp=1 gemv-chunks=2 gemv-m-tiles=1,2,4,8",
    "r1u4t8": "gemv-rows-per-warp=1 gemv-chunks=4 gemv-m-tiles=1,2,4,8",
    "r2u4t8": "gemv-rows-per-warp=2 gemv-chunks=4 gemv-m-tiles=1,2,4,8",
    "w2r2t8": "gemv-warps=2 gemv-rows-per-warp=2 gemv-m-tiles=1,2,4,8",
    "w8r1u2t8": "gemv-warps=8 gemv-rows-per-warp=1 gemv-chunks=2 gemv-m-tiles=1,2,4,8",
}
SMALL_M_MMA = {
    # tag: (block M, block N, block K (f16 elements), warps M, warps N, stages)
    "mma128": (128, 128, 32, 2, 4, 2),
    "m16n64k64s3": (16, 64, 64, 1, 4, 3),
    "m16n128k64s4": (16, 128, 64, 1, 4, 4),
    "m16n64k128s3": (16, 64, 128, 1, 4, 3),
    "m16n32k128s4": (16, 32, 128, 1, 2, 4),
    "m16n32k256s2": (16, 32, 256, 1, 2, 2),
    "m32n64k64s3": (32, 64, 64, 2, 2, 3),
    "m64n64k64s3": (64, 64, 64, 2, 2, 3),
    "m16n64k128s2": (16, 64, 128, 1, 4, 2),
    "m16n64k64s4": (16, 64, 64, 1, 4, 4),
    "m32n64k128s2": (32, 64, 128, 2, 2, 2),
    "m16n32k64s4": (16, 32, 64, 1, 2, 4),
}
# Tilings of the frag family (qc-select-matmul frag-* options; default: 4
# warps along K, 4 channel blocks, M tiles 16/32, split_k from the SM count).
SMALL_M_FRAG = {
    "fd": "",
    "fs1": "frag-split-k=1",
    "fn2": "frag-n-blocks=2",
    "fm64": "frag-m-tiles=16,32,64 frag-warps-k=2",
    "fw8": "frag-warps-k=8 frag-m-tiles=16",
    "fw2": "frag-warps-k=2",
    "fp2": "frag-prefetch=2",
    "fp3": "frag-prefetch=3",
    "fw2p2": "frag-warps-k=2 frag-prefetch=2",
    # (fp3, and fu2 / fp2u2 with 4 channel blocks, spill a few bytes at M
    # tile 32: ptxas -v.)
    "fu2": "frag-warps-k=2 frag-step-units=2 frag-n-blocks=2",
    "fp2u2": "frag-warps-k=2 frag-prefetch=2 frag-step-units=2 frag-n-blocks=2",
    # Tensor cores only (the default before the dot path).
    "fm16": "frag-m-tiles=16,32",
    # The dot path (M tiles below 16: CUDA cores on the same bytes).
    "f1": "frag-m-tiles=1,2,4,16,32",
    "f1p2": "frag-m-tiles=1,2,4,16,32 frag-prefetch=2",
    "f1w8": "frag-m-tiles=1,2,4,16 frag-warps-k=8",
    "f1n2": "frag-m-tiles=1,2,4,16,32 frag-n-blocks=2 frag-prefetch=2",
    "f1u2": "frag-m-tiles=1,2,4,16,32 frag-step-units=2 frag-prefetch=2",
}
# What --small-m builds (run 1 of 2026-11-26 also timed t16, r1t16 and
# W8A16 t16: slower than t8 at every M, see the results NOTES).
SMALL_M_GEMV_SWEEP = ("t4", "t8")


# Tilings of the frag family's wgmma variant (qc-select-matmul wgmma-*
# options; "fw": the default, 128 tokens x 128 channels, 4 stages with one
# wgmma group in flight).
WGMMA_TILINGS = {
    "fw": "",
    "fw3": "wgmma-stages=3",
    "fw6": "wgmma-stages=6",
    "fwc64": "wgmma-channels=64",
    "fwt256": "wgmma-tokens=256",
    "fwt64": "wgmma-tokens=64 wgmma-stages=6",
}


def mma_opts(t):
    bm, bn, bk, wm, wn, st = t
    return (f"mma-block-m={bm} mma-block-n={bn} mma-block-k-bytes={bk * 2} "
            f"mma-warps-m={wm} mma-warps-n={wn} mma-stages={st}")


def small_m_cases(which, tags="", shapes=""):
    """M = 1..256 (harness "times"). `which`: comma-separated subset of gemv,
    gemv8, mma, frag (W4A16 g128), frag8 (W8A16 per channel), fragw / fragw8
    (their wgmma variant, sm_90a) (or all); `tags`:
    the variants to build (default: SMALL_M_GEMV_SWEEP and every mma tiling);
    `shapes`: NxK,NxK,... or NxKgG for W4 groups of G (default: the Llama
    7B and 70B linears, groups of 128)."""
    sel = set(which.split(","))
    if "all" in sel:
        sel = {"gemv", "gemv8", "mma", "frag", "frag8"}
    frag_tags = [t for t in tags.split(",") if t in SMALL_M_FRAG] if tags \
        else list(SMALL_M_FRAG)
    gemv_tags = [t for t in tags.split(",") if t in SMALL_M_GEMV] if tags \
        else list(SMALL_M_GEMV_SWEEP)
    mma_tags = [t for t in tags.split(",") if t in SMALL_M_MMA] if tags \
        else list(SMALL_M_MMA)
    shape_list = [(8192, 8192), (28672, 8192), (8192, 28672), (4096, 4096),
                  (11008, 4096), (4096, 11008)]
    if shapes:
        shape_list = [tuple(int(v) for v in sh.split("g")[0].split("x"))
                      for sh in shapes.split(",")]
        # NxKgG: W4 groups of G (default 128).
        groups = [int(sh.split("g")[1]) if "g" in sh else 128
                  for sh in shapes.split(",")]
    else:
        groups = [128] * len(shape_list)
    cases = []
    base = dict(sym=True, per_tensor=False, bias=False, act_f16=True,
                scale_f16=True, kind="times")
    for (n, k), g4 in zip(shape_list, groups):
        if "gemv" in sel:
            for tag in gemv_tags:
                opts = SMALL_M_GEMV[tag]
                cases.append(dict(base, n=n, k=k, bits=4, group=g4, opts=opts,
                                  tag=tag))
        if "gemv8" in sel:
            for tag in gemv_tags:
                cases.append(dict(base, n=n, k=k, bits=8, group=0,
                                  opts=SMALL_M_GEMV[tag], tag=tag))
        for fsel, bits, group in (("frag", 4, g4), ("frag8", 8, 0)):
            if fsel in sel:
                for tag in frag_tags:
                    cases.append(dict(base, n=n, k=k, bits=bits, group=group,
                                      opts=SMALL_M_FRAG[tag], tag=tag,
                                      kernel_kind="frag"))
        # The frag family's wgmma variant (sm_90a: what `auto` takes on
        # Hopper from M = 33), default tiling.
        for fsel, bits, group in (("fragw", 4, g4), ("fragw8", 8, 0)):
            if fsel in sel:
                cases.append(dict(base, n=n, k=k, bits=bits, group=group, opts="",
                                  tag="fw", kernel_kind="frag_wgmma"))
        if "mma" in sel:
            for tag in mma_tags:
                t = SMALL_M_MMA[tag]
                cases.append(dict(base, n=n, k=k, bits=4, group=128,
                                  opts=mma_opts(t), tag=tag, kernel_kind="mma"))
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quant-opt", default="build/bin/quant-opt")
    ap.add_argument("--out", default=".gpu-cases")
    ap.add_argument("--chip", default="sm_90")
    ap.add_argument("--quant-compile", default="build/bin/quant-compile")
    ap.add_argument("--opts", default="",
                    help="qc-select-matmul tiling options (gemv-*, mma-*)")
    ap.add_argument("--gemv", choices=["all", "check", "none"], default="all",
                    help="which wo_matmul (GEMV and weight-only mma) cases to build")
    ap.add_argument("--small-m", default="",
                    help="only the small-batch sweep (M = 1..256): gemv, gemv8, frag, frag8, "
                         "mma or all, comma-separated")
    ap.add_argument("--small-m-tags", default="",
                    help="variants of the small-batch sweep (SMALL_M_GEMV / "
                         "SMALL_M_MMA keys, comma-separated)")
    ap.add_argument("--small-m-shapes", default="",
                    help="shapes of the small-batch sweep: NxK,NxK,...")
    ap.add_argument("--tag", default="",
                    help="prefix of the tensor-core case names (tiling variants)")
    ap.add_argument("--mma", choices=["all", "check", "time", "none"], default="all",
                    help="which tensor-core GEMM cases to build")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    kargs = kernel_args(args.quant_compile)
    cases = []
    # Correctness matrix: every scheme the gemv kernel takes, odd shapes too.
    shapes = [(300, 448), (1000, 1024), (96, 200)]
    for bits in (4, 8):
        for (n, k) in shapes:
            for group in (0, 32, 64, 128, 8):
                if group and k % group:
                    continue
                for sym in (True, False):
                    cases.append(dict(n=n, k=k, bits=bits, group=group, sym=sym,
                                      per_tensor=False, bias=(n % 3 == 0),
                                      act_f16=True, scale_f16=False, kind="check"))
    cases.append(dict(n=300, k=448, bits=8, group=0, sym=True, per_tensor=True,
                      bias=True, act_f16=True, scale_f16=True, kind="check"))
    cases.append(dict(n=300, k=448, bits=4, group=64, sym=False, per_tensor=False,
                      bias=True, act_f16=False, scale_f16=False, kind="check"))
    # Weight-only tensor-core kernel (kernel kind `mma`): the same schemes at
    # shapes it takes (K * bits / 8 % 16 == 0, group % 8 == 0).
    for bits in (4, 8):
        for (n, k, group, sym) in [(300, 448, 64, False), (1000, 1024, 128, True),
                                   (77, 512, 0, True), (96, 256, 32, False)]:
            cases.append(dict(n=n, k=k, bits=bits, group=group, sym=sym,
                              per_tensor=False, bias=(n % 2 == 0), act_f16=True,
                              scale_f16=(bits == 4), kind="check", kernel_kind="mma"))
    cases.append(dict(n=200, k=512, bits=8, group=0, sym=True, per_tensor=True,
                      bias=True, act_f16=True, scale_f16=True, kind="check",
                      kernel_kind="mma"))
    # The frag kernel (mma_frag weights; N % 16, K % 64 (i4) / 32 (i8), group
    # % 16, f16 scales): every scheme, split-K on and off, M tiles 16/32 and
    # 16/32/64 (M = 1, 3, 16 take the split path, 64 and 333 the slabs).
    frag_shapes = [(304, 448, 64, False), (1024, 1024, 128, True),
                   (160, 512, 0, True), (96, 256, 32, False),
                   (112, 320, 16, True)]
    for bits in (4, 8):
        for (n, k, group, sym) in frag_shapes:
            if k % (256 // bits):
                continue
            for tag, opts in (("fd", ""), ("fs1", "frag-split-k=1"),
                              ("fs3", "frag-split-k=3"),
                              ("fp3", "frag-prefetch=3 frag-split-k=2"),
                              ("fu2", "frag-warps-k=2 frag-step-units=2 frag-prefetch=2 "
                                      "frag-n-blocks=2"),
                              ("fm64", "frag-m-tiles=16,32,64 frag-warps-k=2 frag-split-k=2"),
                              # The dot path: M = 1 (tile 1), 3 (tile 4, a
                              # masked row), split and unsplit.
                              ("f1", "frag-m-tiles=1,2,4,16,32 frag-split-k=2"),
                              ("f1s1", "frag-m-tiles=1,4,16 frag-split-k=1 frag-prefetch=2"),
                              ("f1u2", "frag-m-tiles=1,8,16 frag-warps-k=2 frag-step-units=2 "
                                       "frag-prefetch=2 frag-n-blocks=2")):
                if "frag-n-blocks=2" in opts and n % 32:
                    continue  # 2 channel blocks need N % 32 == 0
                cases.append(dict(n=n, k=k, bits=bits, group=group, sym=sym,
                                  per_tensor=False, bias=(n % 32 == 0),
                                  act_f16=True, scale_f16=True, kind="check",
                                  kernel_kind="frag", opts=opts, tag=tag))
    cases.append(dict(n=208, k=512, bits=8, group=0, sym=True, per_tensor=True,
                      bias=True, act_f16=True, scale_f16=True, kind="check",
                      kernel_kind="frag", opts="", tag="fd"))
    # The frag family's wgmma variant (sm_90a; N % 64): every scheme it
    # takes, one and two warpgroups, M tails and K tails (INT8 K % 64 = 32).
    for bits in (4, 8):
        for (n, k, group, sym) in [(320, 448, 64, False), (1024, 1024, 128, True),
                                   (192, 512, 0, True), (128, 256, 32, False),
                                   (64, 320, 16, True), (256, 96, 32, True)]:
            if k % (256 // bits):
                continue
            cases.append(dict(n=n, k=k, bits=bits, group=group, sym=sym,
                              per_tensor=False, bias=(n % 128 == 0),
                              act_f16=True, scale_f16=True, kind="check",
                              kernel_kind="frag_wgmma", tag="fw"))
    cases.append(dict(n=192, k=512, bits=8, group=0, sym=True, per_tensor=True,
                      bias=True, act_f16=True, scale_f16=True, kind="check",
                      kernel_kind="frag_wgmma", tag="fw"))
    for (n, k) in [(4096, 4096), (11008, 4096), (8192, 8192), (28672, 8192)]:
        cases.append(dict(n=n, k=k, bits=4, group=128, sym=True, per_tensor=False,
                          bias=False, act_f16=True, scale_f16=True, kind="timep",
                          kernel_kind="mma"))
        for tag, opts in WGMMA_TILINGS.items():
            cases.append(dict(n=n, k=k, bits=4, group=128, sym=True, per_tensor=False,
                              bias=False, act_f16=True, scale_f16=True, kind="timep",
                              kernel_kind="frag_wgmma", tag=tag, opts=opts))
        cases.append(dict(n=n, k=k, bits=4, group=128, sym=True, per_tensor=False,
                          bias=False, act_f16=True, scale_f16=True, kind="timep",
                          kernel_kind="frag", opts="frag-m-tiles=16,32", tag="f32"))
    # Timing shapes (Llama 7B / 70B linears), W4A16 g128 and W8A16.
    for (n, k) in [(4096, 4096), (11008, 4096), (4096, 11008), (8192, 8192),
                   (28672, 8192), (8192, 28672)]:
        for rows, chunks in ((2, 1), (2, 2), (2, 4), (1, 4)):
            opts = f"gemv-rows-per-warp={rows} gemv-chunks={chunks}"
            cases.append(dict(n=n, k=k, bits=4, group=128, sym=True, per_tensor=False,
                              bias=False, act_f16=True, scale_f16=True, kind="time",
                              opts=opts, tag=f"r{rows}u{chunks}"))
            cases.append(dict(n=n, k=k, bits=8, group=0, sym=True, per_tensor=False,
                              bias=False, act_f16=True, scale_f16=True, kind="time",
                              opts=opts, tag=f"r{rows}u{chunks}"))
    if args.small_m:
        cases = small_m_cases(args.small_m, args.small_m_tags,
                              args.small_m_shapes)
    elif args.gemv != "all":
        # "check": every correctness case plus the weight-only mma prefill
        # timings, without the GEMV decode timings.
        cases = [c for c in cases if args.gemv == "check" and c["kind"] != "time"]
    out = []
    for i, c in enumerate(cases):
        mma = "_womma" if c.get("kernel_kind") == "mma" else ""
        c["name"] = (f"c{i}{mma}_w{c['bits']}_g{c['group']}_{'s' if c['sym'] else 'a'}"
                     f"_{c['n']}x{c['k']}{'_' + c['tag'] if 'tag' in c else ''}")
        c["chip"] = args.chip
        if c["kind"] == "times":
            c["select_kind"], c["select_threshold"] = selected_kernel(
                args.quant_opt, c)
        out.append(compile_case(args.quant_opt, c, args.out, args.opts,
                                kargs))
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump(out, f, indent=1)
    # The same, as plain text for the C++ harness (one case per line).
    fields = ["name", "kernel", "kind", "n", "k", "bits", "group", "sym",
              "per_tensor", "bias", "act_f16", "scale_f16", "block",
              "rows_per_block", "m_tiles", "args", "split_k", "reduce_args",
              "reduce_block", "reduce_tile_n", "smem"]
    with open(os.path.join(args.out, "cases.txt"), "w") as f:
        for c in out:
            f.write(" ".join(str(int(c.get(k, 0)) if isinstance(c.get(k, 0), bool)
                                 else c.get(k, 0))
                             for k in fields) + "\n")
    # Tensor-core cases, in their own list (harness.cpp, second part).
    # FP8 runs on wgmma: its cases only for chips with wgmma (sm_90a).
    mcases = [c for c in mma_cases(fp8=args.chip.endswith("a"))
              if args.mma == "all" or args.mma == c["kind"]]
    mout = []
    for i, c in enumerate(mcases):
        q = "pt" if c["op"] != "fp16" and not c["per_token"] else ""
        c["name"] = f"{args.tag}m{i}_{c['op']}{q}_{c['n']}x{c['k']}"
        c["chip"] = args.chip
        mout.append(compile_mma_case(args.quant_opt, c, args.out, args.opts,
                                     kargs))
    json.dump(out + mout, open(os.path.join(args.out, "cases.json"), "w"), indent=1)
    mfields = ["name", "kernel", "act_kernel", "kind", "op", "n", "k", "per_token",
               "static_scale", "per_tensor_w", "scale_f16", "bias", "act_f16",
               "out_f16", "block", "block_m", "block_n", "act_block", "args", "smem",
               "ctas"]
    with open(os.path.join(args.out, "mma_cases.txt"), "w") as f:
        for c in mout:
            f.write(" ".join(repr(c[k]) if isinstance(c[k], float) else
                             str(int(c[k]) if isinstance(c[k], bool) else c[k])
                             for k in mfields) + "\n")
    print(f"wrote {len(out)} gemv and {len(mout)} tensor-core cases to {args.out}")


if __name__ == "__main__":
    main()
