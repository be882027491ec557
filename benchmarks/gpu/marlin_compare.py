#!/usr/bin/env python3
"""cuBLAS fp16 and Marlin W4A16-g128 columns of the weight-only kernel table.

Runs on the GPU machine next to harness.cpp (qc column). Marlin is the
anchor's (../shared/anchors/marlin, built and driven by the anchor's
marlin_bench.py, which this script imports: build, correctness check and its
CUDA-graph timer); nothing of Marlin is copied here. Times x @ W^T (fp16,
cuBLAS through PyTorch) and marlin.mul at every (shape, M) of the small-batch
sweep, weights rotated over >= 256 MB, L launches captured in one CUDA graph
and replayed (harness.cpp's timeGraph: the same method).
Prints `MARLIN M N K fp16_graph_us marlin_graph_us` (nan for a column not
measured by this process).

One baseline per process (--which): a Marlin kernel that faults (an illegal
instruction poisons the CUDA context) must not take the cuBLAS column with it.
--which marlin runs Marlin's own check first and exits 2 without timing when
it fails, so that run_marlin.sh can try the next Marlin build.

  marlin_compare.py ANCHORS_DIR [--which fp16|marlin] [--shapes NxK,...]
                    [--ms 1,2,...]
"""
import argparse
import importlib.util
import os
import sys

import torch

SHAPES = "4096x4096,11008x4096,4096x11008,8192x8192,28672x8192,8192x28672"
MS = "1,2,4,8,16,32,64,128,256"


def load_anchor(anchors):
    path = os.path.join(anchors, "marlin_bench.py")
    spec = importlib.util.spec_from_file_location("marlin_bench", path)
    mb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mb)
    return mb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("anchors")
    ap.add_argument("--shapes", default=SHAPES)
    ap.add_argument("--ms", default=MS)
    ap.add_argument("--which", choices=["fp16", "marlin"], default="fp16")
    args = ap.parse_args()
    mb = load_anchor(args.anchors)
    marlin = mb.build() if args.which == "marlin" else None
    torch.manual_seed(0)
    print("device:", torch.cuda.get_device_name(), "| torch", torch.__version__,
          flush=True)
    # Measured read bandwidth (a sum over 1 GiB), the %-of-bandwidth base.
    big = torch.empty(1 << 29, dtype=torch.float16, device="cuda").normal_()
    us = mb.time_graph(lambda t: t.sum(), [big, big])
    print(f"READBW {2 * big.numel() / (us * 1e-6) / 1e12:.3f} TB/s", flush=True)
    del big
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    ms = [int(m) for m in args.ms.split(",")]
    mb.MS = [m for m in ms if m <= 256]
    if marlin is not None:
        for (n, k) in shapes[:2]:  # Marlin's own check (dequantized reference)
            worst = mb.safe(mb.check, marlin, n, k)
            if not worst < 2e-3:
                print(f"MARLIN_CHECK_FAILED N={n} K={k} worst rel_l2 {worst}",
                      flush=True)
                return 2
        time_marlin(mb, marlin, shapes, ms)
    else:
        time_fp16(mb, shapes, ms)
    return 0


def time_fp16(mb, shapes, ms):
    for (n, k) in shapes:
        fcopies = [torch.randn(n, k, device="cuda", dtype=torch.float16)
                   for _ in range(mb.n_copies(n * k * 2))]
        for m in ms:
            x = torch.randn(m, k, device="cuda", dtype=torch.float16)
            fg = mb.safe(mb.time_graph, lambda w: x @ w.t(), fcopies)
            print(f"MARLIN {m} {n} {k} {fg:.2f} nan", flush=True)
        del fcopies
        torch.cuda.empty_cache()


def time_marlin(mb, marlin, shapes, ms):
    for (n, k) in shapes:
        # Random packed INT4 words (every bit pattern is a valid code) and
        # positive scales: the timed work does not depend on the values.
        mcopies = [torch.randint(-2 ** 31, 2 ** 31 - 1, (k // 16, n * 16 // 8),
                                 dtype=torch.int, device="cuda")
                   for _ in range(mb.n_copies(n * k // 2))]
        s = (torch.rand(k // 128, n, device="cuda") * 0.01 + 0.001).half()
        ws = torch.zeros(n // 128 * 16, dtype=torch.int, device="cuda")
        for m in ms:
            x = torch.randn(m, k, device="cuda", dtype=torch.float16)
            c = torch.empty(m, n, device="cuda", dtype=torch.float16)
            mg = mb.safe(mb.time_graph,
                         lambda b: marlin.mul(x, b, c, s, ws, -1, -1, -1, 16),
                         mcopies)
            print(f"MARLIN {m} {n} {k} nan {mg:.2f}", flush=True)
        del mcopies
        torch.cuda.empty_cache()


if __name__ == "__main__":
    sys.exit(main())
