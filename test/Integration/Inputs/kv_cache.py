#!/usr/bin/env python3
"""The KV-cache ops (qc.cache_write, qc.cache_attention) and the in-place
ABI: generates a one-layer attention step program, and runs a compiled
module for two steps against an independent numpy float64 reference.

    kv_cache.py gen OUT.mlir           the program (f32; GQA H/KV = 3)
    kv_cache.py run PREFIX [--seed N]  prefill T=5 at pos=[0, 3], then T=1

The program (layer 1 of an L=2 cache; B and T dynamic):

    @step(q: B x T x H x D, k: B x T x KV x D, v: B x T x KV x D,
          k_cache, v_cache: L x B x KV x S x D, pos: B x i64) -> out
    k_cache and v_cache are updated in place (module info "inplace": [3, 4]).
"""

import argparse
import json
import sys

import numpy as np

L, LAYER, KV, G, D, S = 2, 1, 2, 3, 8, 16
H = KV * G
SCALE = 0.35


def gen(path):
    q = f"tensor<?x?x{H}x{D}xf32>"
    r = f"tensor<?x?x{KV}x{D}xf32>"
    c = f"tensor<{L}x?x{KV}x{S}x{D}xf32>"
    text = f"""
func.func @step(%q: {q}, %k: {r}, %v: {r}, %k_cache: {c}, %v_cache: {c},
                %pos: tensor<?xi64>) -> ({c}, {c}, {q}) {{
  %kc = qc.cache_write %k into %k_cache at %pos {{layer = {LAYER} : i64}}
      : {r}, tensor<?xi64> -> {c}
  %vc = qc.cache_write %v into %v_cache at %pos {{layer = {LAYER} : i64}}
      : {r}, tensor<?xi64> -> {c}
  %o = qc.cache_attention %q, %kc, %vc, %pos {{layer = {LAYER} : i64, scale = {SCALE} : f32}}
      : {q}, {c}, {c}, tensor<?xi64> -> {q}
  return %kc, %vc, %o : {c}, {c}, {q}
}}
"""
    with open(path, "w") as f:
        f.write(text)


def step_inputs(rng, B=2, T=5):
    """Fresh random f32 q, k, v (B x T tokens), K/V caches and the positions
    [0, 3] of a B = 2 step (the DLPack checks' inputs)."""
    q = rng.uniform(-1, 1, (B, T, H, D)).astype(np.float32)
    k = rng.uniform(-1, 1, (B, T, KV, D)).astype(np.float32)
    v = rng.uniform(-1, 1, (B, T, KV, D)).astype(np.float32)
    kc = rng.uniform(-1, 1, (L, B, KV, S, D)).astype(np.float32)
    vc = rng.uniform(-1, 1, (L, B, KV, S, D)).astype(np.float32)
    return q, k, v, kc, vc, np.array([0, 3], np.int64)


def reference(q, k_cache, v_cache, pos):
    """out[b, t, h] for the (already updated) caches, float64."""
    B, T = q.shape[:2]
    out = np.zeros(q.shape, np.float64)
    for b in range(B):
        for t in range(T):
            p = int(pos[b]) + t
            n = min(p, S - 1) + 1
            for h in range(H):
                kk = k_cache[LAYER, b, h // G, :n].astype(np.float64)
                vv = v_cache[LAYER, b, h // G, :n].astype(np.float64)
                s = SCALE * (kk @ q[b, t, h].astype(np.float64))
                w = np.exp(s - s.max())
                out[b, t, h] = (w / w.sum()) @ vv
    return out


def run(prefix, seed):
    from quant.runtime import Module, RuntimeError_

    rng = np.random.default_rng(seed)
    m = Module(prefix)
    info = json.loads(m.info())
    fn = next(f for f in info["functions"] if f["name"] == "step")
    print("inplace", fn["inplace"], "outputs", len(fn["outputs"]))
    assert m.inplace("step") == {3, 4}

    B = 2
    k_cache = rng.standard_normal((L, B, KV, S, D)).astype(np.float32)
    v_cache = rng.standard_normal((L, B, KV, S, D)).astype(np.float32)
    ref_k, ref_v = k_cache.astype(np.float64), v_cache.astype(np.float64)
    k_ptr, v_ptr = k_cache.ctypes.data, v_cache.ctypes.data
    pos = np.array([0, 3], np.int64)
    for step, T in enumerate((5, 1)):
        q = rng.standard_normal((B, T, H, D)).astype(np.float32)
        k = rng.standard_normal((B, T, KV, D)).astype(np.float32)
        v = rng.standard_normal((B, T, KV, D)).astype(np.float32)
        for b in range(B):
            for t in range(T):
                ref_k[LAYER, b, :, pos[b] + t] = k[b, t]
                ref_v[LAYER, b, :, pos[b] + t] = v[b, t]
        (out,) = m.run("step", q, k, v, k_cache, v_cache, pos)
        # In place: the caller's arrays (same buffers) hold the new rows, and
        # every other row (the other layer, positions not written) is kept.
        assert k_cache.ctypes.data == k_ptr and v_cache.ctypes.data == v_ptr
        for name, got, want in (("k_cache", k_cache, ref_k), ("v_cache", v_cache, ref_v)):
            if not np.array_equal(got.astype(np.float64), want):
                bad = np.argwhere(got.astype(np.float64) != want)
                sys.exit(f"step {step}: {name} differs at {bad[:5].tolist()}")
        ref = reference(q, ref_k, ref_v, pos)
        err = np.abs(out - ref) / (1e-6 + np.abs(ref))
        # Tolerance: |out - ref| <= 1e-5 |ref| + 1e-6 (f32 accumulation).
        if not (np.abs(out - ref) <= 1e-5 * np.abs(ref) + 1e-6).all():
            i = np.unravel_index(np.argmax(err), err.shape)
            sys.exit(f"step {step}: output {i} = {out[i]} vs reference {ref[i]}")
        print(f"step {step} T={T} pos={pos.tolist()} OK shape={'x'.join(map(str, out.shape))}")
        pos = pos + T

    # An in-place argument the runtime would have to copy is refused.
    q = np.zeros((B, 1, H, D), np.float32)
    k = np.zeros((B, 1, KV, D), np.float32)
    for bad, why in ((k_cache[:, :, :, ::-1], "not C-contiguous"),
                     (k_cache.astype(np.float64), "dtype float64"),
                     (k_cache.tolist(), "not a numpy array")):
        try:
            m.run("step", q, k, k, bad, v_cache, pos)
        except RuntimeError_ as e:
            assert why in str(e) and "argument 3 is updated in place" in str(e), str(e)
            print("refused:", why)
        else:
            sys.exit(f"an in-place argument that is {why} was accepted")
    ro = k_cache.copy()
    ro.flags.writeable = False
    try:
        m.run("step", q, k, k, ro, v_cache, pos)
        sys.exit("a read-only in-place argument was accepted")
    except RuntimeError_ as e:
        assert "not writable" in str(e), str(e)
        print("refused: not writable")
    # The same buffer as both caches (in-place buffers overlap no other
    # argument): refused by qcrt_run, the caches untouched.
    before = k_cache.copy()
    try:
        m.run("step", q, k, k, k_cache, k_cache, pos)
        sys.exit("overlapping in-place arguments were accepted")
    except RuntimeError_ as e:
        assert "input 3 is updated in place and must not overlap input 4" in str(e), str(e)
        assert (k_cache == before).all()
        print("refused: overlapping")
    # The asynchronous copy takes CUDA tensors only; synchronize() without
    # enqueued device work (or without CUDA) returns at once.
    import ctypes
    from quant import runtime as rt
    a, b = np.zeros(4, np.float32), np.zeros(4, np.float32)
    st = rt.lib().qcrt_tensor_copy_async(ctypes.byref(rt._describe(a)), ctypes.byref(rt._describe(b)))
    try:
        rt._check(st)
        sys.exit("an asynchronous copy of host tensors was accepted")
    except RuntimeError_ as e:
        assert "copies between CUDA tensors only" in str(e), str(e)
        print("refused: async host copy")
    rt.synchronize()
    print("synchronize ok")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("out")
    r = sub.add_parser("run")
    r.add_argument("prefix")
    r.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    if a.cmd == "gen":
        gen(a.out)
    else:
        seed = a.seed if a.seed is not None else int.from_bytes(np.random.bytes(4), "little")
        print("seed", seed, file=sys.stderr)
        run(a.prefix, seed)


if __name__ == "__main__":
    main()
