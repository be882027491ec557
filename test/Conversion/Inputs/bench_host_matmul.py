"""Benchmark (not a test): GFLOP/s of the host matmul kernels for M = 64 and
K = N in {576, 1536}: qc.linear (f32 weight), qc.wo_matmul (int8
per-channel and int4 per-group-32, dequantized inside the loop),
qc.int8_matmul, and the glue path (a plain linalg.matmul through the same
pipeline: scalar loops with the reduction moved outside the column loop).
Single thread, or with --parallel the kernels of qc-lower-to-host{parallel}
on QCRT_NUM_THREADS threads of build/lib/libqcrt.so. --m sets M.

Usage: PATH=build/bin:/usr/lib/llvm-22/bin:$PATH \
       python3 test/Conversion/Inputs/bench_host_matmul.py [--parallel] [--m M] [workdir]
"""

import argparse
import ctypes
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import qc_host_harness as h  # noqa: E402

M = 64
SIZES = [576, 1536]


def module(k, n):
    g = k // 32
    return f"""
func.func @lin_{k}(%x: tensor<?x{k}xf32>, %w: tensor<{n}x{k}xf32>) -> tensor<?x{n}xf32> {{
  %y = qc.linear %x, %w {{layer = "l"}} : (tensor<?x{k}xf32>, tensor<{n}x{k}xf32>) -> tensor<?x{n}xf32>
  return %y : tensor<?x{n}xf32>
}}
func.func @wo8_{k}(%x: tensor<?x{k}xf32>, %d: tensor<{n * k}xi8>, %s: tensor<{n}x1xf32>) -> tensor<?x{n}xf32> {{
  %pw = qc.packed_weight %d, %s {{layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8>}} : tensor<{n * k}xi8>, tensor<{n}x1xf32> -> !qc.packed<{n}x{k}xi8>
  %y = qc.wo_matmul %x, %pw {{layer = "w8"}} : tensor<?x{k}xf32>, !qc.packed<{n}x{k}xi8> -> tensor<?x{n}xf32>
  return %y : tensor<?x{n}xf32>
}}
func.func @wo4_{k}(%x: tensor<?x{k}xf32>, %d: tensor<{n * k // 2}xi8>, %s: tensor<{n}x{g}xf16>) -> tensor<?x{n}xf32> {{
  %pw = qc.packed_weight %d, %s {{layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32>}} : tensor<{n * k // 2}xi8>, tensor<{n}x{g}xf16> -> !qc.packed<{n}x{k}xi4>
  %y = qc.wo_matmul %x, %pw {{layer = "w4"}} : tensor<?x{k}xf32>, !qc.packed<{n}x{k}xi4> -> tensor<?x{n}xf32>
  return %y : tensor<?x{n}xf32>
}}
func.func @i8_{k}(%q: tensor<?x{k}xi8>, %sx: tensor<?xf32>, %d: tensor<{n * k}xi8>, %s: tensor<{n}x1xf32>) -> tensor<?x{n}xf32> {{
  %pw = qc.packed_weight %d, %s {{layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>}} : tensor<{n * k}xi8>, tensor<{n}x1xf32> -> !qc.packed<{n}x{k}xi8>
  %y = qc.int8_matmul %q, %sx, %pw {{layer = "i8"}} : tensor<?x{k}xi8>, tensor<?xf32>, !qc.packed<{n}x{k}xi8> -> tensor<?x{n}xf32>
  return %y : tensor<?x{n}xf32>
}}
func.func @naive_{k}(%x: tensor<?x{k}xf32>, %w: tensor<{k}x{n}xf32>) -> tensor<?x{n}xf32> {{
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x{k}xf32>
  %e = tensor.empty(%m) : tensor<?x{n}xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<?x{n}xf32>) -> tensor<?x{n}xf32>
  %y = linalg.matmul ins(%x, %w : tensor<?x{k}xf32>, tensor<{k}x{n}xf32>) outs(%f : tensor<?x{n}xf32>) -> tensor<?x{n}xf32>
  return %y : tensor<?x{n}xf32>
}}
"""


def bench(lib, name, args, reps):
    h.call(lib, name, args, [(2, np.float32)])
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        h.call(lib, name, args, [(2, np.float32)])
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    global M
    ap = argparse.ArgumentParser()
    ap.add_argument("workdir", nargs="?")
    ap.add_argument("--parallel", action="store_true")
    ap.add_argument("--m", type=int, default=M)
    a = ap.parse_args()
    M = a.m
    wd = a.workdir or tempfile.mkdtemp()
    os.makedirs(wd, exist_ok=True)
    text = "\n".join(module(k, k) for k in SIZES)
    if a.parallel:
        libdir = os.path.join(os.path.dirname(__file__), "..", "..", "..", "build", "lib")
        libdir = os.environ.get("QCRT_LIBDIR", os.path.abspath(libdir))
        qcrt = ctypes.CDLL(os.path.join(libdir, "libqcrt.so"), mode=ctypes.RTLD_GLOBAL)
        lib = h.build(text, workdir=wd, pipeline="--qc-lower-to-host=parallel=true",
                      link=["-L" + libdir, "-lqcrt", "-Wl,-rpath," + libdir])
        threads = "%d threads" % qcrt.qcrt_num_threads()
    else:
        lib = h.build(text, workdir=wd)
        threads = "single thread"
    rng = np.random.default_rng(0)
    print("M=%d, %s, best of N runs" % (M, threads))
    for k in SIZES:
        n = k
        flops = 2.0 * M * n * k
        x = rng.standard_normal((M, k)).astype(np.float32)
        w = rng.standard_normal((n, k)).astype(np.float32)
        d8 = rng.integers(-127, 128, n * k).astype(np.int8)
        d4 = rng.integers(-128, 128, n * k // 2).astype(np.int8)
        s1 = rng.uniform(0.01, 0.1, (n, 1)).astype(np.float32)
        sg = rng.uniform(0.01, 0.1, (n, k // 32)).astype(np.float16)
        qx = rng.integers(-127, 128, (M, k)).astype(np.int8)
        sx = rng.uniform(0.01, 0.1, M).astype(np.float32)
        runs = [("linear f32", "lin_%d" % k, [x, w], 20),
                ("wo_matmul int8 per-channel", "wo8_%d" % k, [x, d8, s1], 20),
                ("wo_matmul int4 per-group 32", "wo4_%d" % k, [x, d4, sg], 20),
                ("int8_matmul", "i8_%d" % k, [qx, sx, d8, s1], 20),
                ("glue linalg.matmul (loops)", "naive_%d" % k, [x, np.ascontiguousarray(w.T)], 3)]
        for label, fn, args, reps in runs:
            t = bench(lib, fn, args, reps)
            print("K=N=%-5d %-30s %8.3f ms %7.2f GFLOP/s" % (k, label, t * 1e3, flops / t / 1e9))


if __name__ == "__main__":
    main()
