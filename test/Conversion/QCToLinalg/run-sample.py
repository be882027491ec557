# qc.sample lowered by qc-lower-to-host against an independent numpy
# implementation of the op's documented recipe (QCOps.td: ordered keys,
# k-th largest, splitmix64 noise, Gumbel-max): the same token for every
# (row, seed) whose two best scores are apart by more than 1e-4 (closer ones
# may flip on the last ulp of log(); at most 1% of draws); greedy settings
# (temperature 0, -1, NaN) equal numpy's argmax bit for bit; top-k keeps
# exactly the k largest (and every tie of the k-th); the draw frequencies
# over 4000 seeds follow softmax(l / T) within 5 sigma (and, with top-k, the
# renormalized top k); different positions and rows draw different noise;
# f16 logits.
# UNSUPPORTED: asan
# RUN: rm -rf %t && mkdir -p %t && %python %s %t | FileCheck %s
# CHECK: ALL PASSED

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Inputs"))
import qc_host_harness as h  # noqa: E402

SIG = "tensor<f32>, tensor<i64>, tensor<i64>, tensor<?xi64>"
MLIR = "\n".join(f"""
func.func @sample_{n}(%l: tensor<?x{v}x{t}>, %t: tensor<f32>, %k: tensor<i64>, %s: tensor<i64>, %p: tensor<?xi64>) -> tensor<?x1xi64> {{
  %0 = qc.sample %l, %t, %k, %s, %p : tensor<?x{v}x{t}>, {SIG} -> tensor<?x1xi64>
  return %0 : tensor<?x1xi64>
}}""" for n, v, t in (("v1000", 1000, "f32"), ("v16", 16, "f32"), ("f16", 96, "f16")))

lib = h.build(MLIR, workdir=sys.argv[1])
rng = h.make_rng()
U64 = np.uint64


def mix(z):
    with np.errstate(over="ignore"):
        z = z + U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
        return z ^ (z >> U64(31))


def keys(l):
    b = l.astype(np.float32).view(np.uint32)
    return np.where(b >> 31, ~b, b | np.uint32(0x80000000))


def kept_mask(l, k):
    v = l.shape[1]
    ke = keys(l)
    kk = k if 0 < k < v else v
    tau = -np.sort(-ke.astype(np.int64), axis=1)[:, kk - 1:kk]
    return ke.astype(np.int64) >= tau


def scores(l, t, k, seed, pos):
    """The op's scores in float64 (log in float64: the reference for
    deciding which draws are clear-cut)."""
    m, v = l.shape
    r = mix(mix(U64(seed)) ^ ((np.arange(m, dtype=U64) << U64(32)) | pos.astype(U64)))
    hh = mix(r[:, None] ^ np.arange(v, dtype=U64)[None, :])
    u = ((hh >> U64(41)).astype(np.float32) + np.float32(0.5)) * np.float32(2.0 ** -23)
    g = -np.log(-np.log(u.astype(np.float64)))
    s = l.astype(np.float32).astype(np.float64) / np.float64(np.float32(t)) + g
    return np.where(kept_mask(l, k), s, -np.inf)


def run(fn, l, t, k, seed, pos):
    return h.call(lib, fn, [l, np.array(t, np.float32), np.array(k, np.int64),
                            np.array(seed, np.int64), pos.astype(np.int64)],
                  [(2, np.int64)])[:, 0]


# Greedy settings: numpy's argmax, bit for bit.
l = rng.standard_normal((5, 1000)).astype(np.float32)
pos = np.arange(5) + 3
for t in (0.0, -1.0, np.nan):
    h.check_equal(f"greedy t={t}", run("sample_v1000", l, t, 7, 1, pos), np.argmax(l, 1))

# The documented recipe: same tokens where the draw is clear-cut.
clear = same = 0
for seed in range(40):
    for t, k in ((1.0, 0), (0.7, 50), (2.0, 5), (1.0, 1000), (1.3, -4)):
        pos = rng.integers(0, 500, 5)
        s = scores(l, t, k, seed, pos)
        got = run("sample_v1000", l, t, k, seed, pos)
        top2 = np.sort(s, axis=1)[:, -2:]
        decisive = (top2[:, 1] - top2[:, 0]) > 1e-4
        want = np.argmax(s, 1)
        assert np.all(got[decisive] == want[decisive]), (seed, t, k, got, want)
        clear += decisive.sum()
        same += (got == want).sum()
assert clear >= 0.99 * 40 * 5 * 5, clear
print(f"recipe: {same} of {40 * 25} draws equal the reference ({clear} clear-cut)")

# Top-k keeps exactly the k largest; ties of the k-th all stay.
lt = np.clip(rng.standard_normal((3, 1000)), -3, 3).astype(np.float32)
lt[:, [10, 20, 30]] = 5.0          # three-way tie at the top (the rest < 4)
lt[:, 40] = 4.0
seen = set()
for seed in range(300):
    got = run("sample_v1000", lt, 1e6, 2, seed, np.zeros(3))
    assert set(got.tolist()) <= {10, 20, 30}, got
    seen |= set(got.tolist())
assert seen == {10, 20, 30}, seen
for seed in range(300):
    got = run("sample_v1000", lt, 1e6, 4, seed, np.zeros(3))
    assert set(got.tolist()) <= {10, 20, 30, 40}, got
print("top-k: the k largest and every tie of the k-th")


# Frequencies: softmax(l / T), and the renormalized top k.
def freq_check(name, l16, t, k, n=4000):
    counts = np.zeros(16)
    for seed in range(n // 8):
        got = run("sample_v16", np.repeat(l16[None], 8, 0), t, k, seed, np.arange(8) * 97)
        np.add.at(counts, got, 1)
    z = l16.astype(np.float64) / t
    z = np.where(kept_mask(l16[None], k)[0], z, -np.inf)
    p = np.exp(z - z.max())
    p /= p.sum()
    sigma = np.sqrt(n * p * (1 - p)) + 1e-9
    dev = np.abs(counts - n * p) / sigma
    assert np.all(dev < 5) and np.all(counts[p == 0] == 0), (name, counts, n * p)
    print(f"{name}: max deviation {dev.max():.2f} sigma")


l16 = rng.standard_normal(16).astype(np.float32)
freq_check("softmax T=1", l16, 1.0, 0)
freq_check("softmax T=0.5", l16, 0.5, 0)
freq_check("top-5 T=1.5", l16, 1.5, 5)

# Noise differs by position and by row: the same logits give different
# tokens across positions / rows (uniform draws over 16 equal logits).
flat = np.zeros((8, 16), np.float32)
a = run("sample_v16", flat, 1.0, 0, 5, np.zeros(8))
b = run("sample_v16", flat, 1.0, 0, 5, np.ones(8))
assert len(set(a.tolist())) > 2 and not np.array_equal(a, b), (a, b)
print("noise: per row and per position")

# f16 logits: the recipe on their f32 values.
l16h = (rng.standard_normal((4, 96)) * 3).astype(np.float16)
for seed in range(20):
    pos = rng.integers(0, 100, 4)
    s = scores(l16h.astype(np.float32), 0.8, 10, seed, pos)
    got = run("sample_f16", l16h, 0.8, 10, seed, pos)
    top2 = np.sort(s, axis=1)[:, -2:]
    ok = (top2[:, 1] - top2[:, 0]) <= 1e-4
    assert np.all(ok | (got == np.argmax(s, 1))), (got, np.argmax(s, 1))
print("f16 logits ok")
print("ALL PASSED")
