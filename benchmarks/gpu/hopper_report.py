#!/usr/bin/env python3
"""Issue-11 table: the harness's tensor-core timings (MMATIME lines of
`run_wgmma.sh`'s mma.log) against the PyTorch baselines of the same run
(BASE lines of baseline.log), all CUDA-graph timed.

  hopper_report.py MMA_LOG BASELINE_LOG [--peak-fp16 989e12]

Per (op, M, N, K): qc us (W8A8: the activation quantization kernel + the
GEMM), TFLOP/s and % of the tensor-core peak (dense: fp16 989, INT8 / FP8
1979 TFLOP/s on an H100 SXM; H200 the same), and the ratios the issue's
goals name: fp16 vs cuBLAS fp16; INT8 vs cuBLAS fp16 and vs torch._int_mm +
its separate per-token quantization; FP8 vs torch._scaled_mm and cuBLAS
fp16. A ratio > 1 means qc is faster.
"""
import argparse
import math


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mma_log")
    ap.add_argument("baseline_log")
    ap.add_argument("--peak-fp16", type=float, default=989e12)
    a = ap.parse_args()
    base = {}
    for line in open(a.baseline_log):
        p = line.split()
        if p and p[0] == "BASE":
            m, n, k = map(int, p[1:4])
            vals = [float(v) for v in p[4:]] + [math.nan] * 5
            base[(m, n, k)] = dict(fp16=vals[0], int8=vals[1], fp8=vals[3],
                                   quant=vals[4])
    rows = []
    for line in open(a.mma_log):
        p = line.split()
        if not p or p[0] != "MMATIME":
            continue
        _, name, op, m, n, k, us, act = p
        m, n, k, us, act = int(m), int(n), int(k), float(us), float(act)
        rows.append((op, m, n, k, us + act, us, name))
    print("| op | M | N x K | qc us (GEMM) | TFLOP/s | % peak | vs cuBLAS fp16 | vs torch |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for op, m, n, k, us, gemm, name in sorted(rows):
        b = base.get((m, n, k), {})
        tflops = 2.0 * m * n * k / (us * 1e-6) / 1e12
        peak = a.peak_fp16 * (1 if op == "fp16" else 2) / 1e12
        vs16 = b.get("fp16", math.nan) / us
        if op == "int8":
            torch_us = b.get("int8", math.nan) + b.get("quant", math.nan)
            other = f"{torch_us / us:.2f}x _int_mm+quant"
        elif op == "fp8":
            other = (f"{b.get('fp8', math.nan) / us:.2f}x _scaled_mm "
                     f"(GEMM alone {b.get('fp8', math.nan) / gemm:.2f}x)")
        else:
            other = "-"
        print(f"| {op} | {m} | {n} x {k} | {us:.1f} ({gemm:.1f}) | {tflops:.0f} | "
              f"{100 * tflops / peak:.0f}% | {vs16:.2f}x | {other} |")


if __name__ == "__main__":
    main()
