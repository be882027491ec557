#!/usr/bin/env python3
"""cuBLAS fp16 (torch.matmul) and torch._int_mm baselines for the timing cases.

Times y = x @ W^T for the (M, N, K) of every timing case with CUDA events,
weights rotated over enough copies that L2 cannot serve them, median of
repetitions of 20 launches. Prints `BASE M N K fp16_us int8_us int8_nn_us fp8_us quant_us` (GEMV cases at
M = 1, 16, 64; tensor-core cases at M = 1024, 4096). torch._int_mm computes
the i32 product only (no scales, no activation quantization);
torch._scaled_mm (fp8_us) the E4M3 product with per-tensor scales and an
f16 result (nan where the GPU or torch has no FP8 GEMM); quant_us the eager
per-token INT8 quantization of x a user runs before torch._int_mm.
Tensor-core shapes are timed as CUDA graphs (time_graph, as the harness's
GEMMs), GEMV shapes as event-timed launch loops.
"""
import json
import os
import sys

import torch


def time_graph(fn, copies, launches=20, reps=7):
    """Device time of one call: L calls (L >= `launches`, a multiple of the
    number of weight copies, each call on the next copy) captured into one
    CUDA graph, replayed `reps` times, the first 2 dropped, median / L: the
    harness's timeGraph, so every column is timed the same way."""
    n = len(copies)
    calls = n * ((launches + n - 1) // n)
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for i in range(3):
            fn(copies[i % n])
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for i in range(calls):
            fn(copies[i % n])
    e0 = torch.cuda.Event(enable_timing=True)
    e1 = torch.cuda.Event(enable_timing=True)
    samples = []
    for rep in range(reps):
        e0.record()
        g.replay()
        e1.record()
        torch.cuda.synchronize()
        if rep > 1:
            samples.append(e0.elapsed_time(e1) * 1000 / calls)
    del g
    samples.sort()
    return samples[len(samples) // 2]


def quantize_per_token(x):
    """What a PyTorch user runs before torch._int_mm: per-token symmetric INT8
    (max|x| / 127, round, clamp), as eager ops."""
    s = x.abs().amax(dim=1, keepdim=True).float().clamp_min(1e-12) / 127
    return torch.clamp(torch.round(x.float() / s), -127, 127).to(torch.int8), s


def time_it(fn, copies, launches=20, reps=7):
    e0 = torch.cuda.Event(enable_timing=True)
    e1 = torch.cuda.Event(enable_timing=True)
    samples = []
    for rep in range(reps):
        e0.record()
        for i in range(launches):
            fn(copies[(rep * launches + i) % len(copies)])
        e1.record()
        torch.cuda.synchronize()
        if rep > 1:
            samples.append(e0.elapsed_time(e1) * 1000 / launches)
    samples.sort()
    return samples[len(samples) // 2]


def main():
    cases = json.load(open(sys.argv[1] + "/cases.json"))
    seen = set()
    print("device:", torch.cuda.get_device_name())
    for c in cases:
        if c["kind"] not in ("time", "timep", "times"):
            continue
        # Tensor-core cases (field "op") are timed at prefill sizes, "times"
        # cases at small batch.
        if "op" in c or c["kind"] == "timep":
            # QC_MMA_MS: the harness's list of timing rows.
            ms = tuple(int(v) for v in os.environ.get("QC_MMA_MS", "1024,4096").split(","))
        elif c["kind"] == "times":
            ms = (1, 4, 16, 32, 64)
        else:
            ms = (1, 16, 64)
        for m in ms:
            key = (m, c["n"], c["k"])
            if key in seen:
                continue
            seen.add(key)
            n, k = c["n"], c["k"]
            nbytes = n * k * 2
            copies = [torch.randn(n, k, device="cuda", dtype=torch.float16)
                      for _ in range(max(2, 240_000_000 // nbytes + 1))]
            x = torch.randn(m, k, device="cuda", dtype=torch.float16)
            # Tensor-core shapes: CUDA graphs (the harness times its GEMMs
            # the same way); GEMV shapes keep event-timed launch loops.
            timer = time_graph if "op" in c else time_it
            fp16 = timer(lambda w: x @ w.t(), copies)
            del copies
            int8 = int8_nn = fp8 = quant = float("nan")
            if m >= 17:  # _int_mm needs M > 16
                # TN: weights stored N x K (as quant stores them), passed as
                # the transposed view: cuBLASLt's fast INT8 layout.
                wq = [torch.randint(-128, 127, (n, k), device="cuda", dtype=torch.int8)
                      for _ in range(max(2, 240_000_000 // (n * k) + 1))]
                xq = torch.randint(-128, 127, (m, k), device="cuda", dtype=torch.int8)
                int8 = timer(lambda w: torch._int_mm(xq, w.t()), wq)
                # NN: a contiguous K x N weight (the earlier baseline).
                int8_nn = timer(lambda w: torch._int_mm(xq, w.view(k, n)), wq)
                del wq
                # The separate per-token quantization a user runs first.
                quant = timer(quantize_per_token, [x])
                try:
                    f8 = torch.float8_e4m3fn
                    wf8 = [torch.randn(n, k, device="cuda").to(f8)
                           for _ in range(max(2, 240_000_000 // (n * k) + 1))]
                    xf8 = torch.randn(m, k, device="cuda").to(f8)
                    one = torch.ones((), device="cuda")
                    fp8 = timer(lambda w: torch._scaled_mm(
                        xf8, w.t(), scale_a=one, scale_b=one,
                        out_dtype=torch.float16), wf8)
                    del wf8
                except Exception as e:  # no FP8 GEMM on this GPU / torch
                    print(f"# _scaled_mm unavailable: {e}", flush=True)
            print(f"BASE {m} {n} {k} {fp16:.2f} {int8:.2f} {int8_nn:.2f} {fp8:.2f} "
                  f"{quant:.2f}", flush=True)

if __name__ == "__main__":
    main()
