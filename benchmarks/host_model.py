#!/usr/bin/env python3
"""Times a compiled host module (quant-compile prefix of an imported Llama
model, e.g. the chat cache's $QUANT_CACHE/chat/modules/<key>/model):
@decode tokens/s (greedy-decode shaped: one token per call, KV caches of
max_seq, positions 0..n-1) and @forward at T tokens (best of R runs), once
per thread count (QCRT_NUM_THREADS, one subprocess each, since the runtime
reads it once). Results go to docs/performance.md by hand.

  QUANT_BUILD_DIR=build PYTHONPATH=python python3 benchmarks/host_model.py \\
      ~/.cache/quant/chat/modules/<key>/model --threads 1 2 --decode 48 --tokens 256
"""

import argparse
import json
import os
import subprocess
import sys
import time


def measure(prefix, n_decode, tokens, repeats):
    import numpy as np
    import quant
    m = quant.load(prefix)
    c = m.ir.config
    out = {}
    if n_decode:
        step = m._decoder(1)  # caches updated in place by @decode
        # One warm-up call (first touch of the weights), then n_decode timed.
        step(np.array([[1]], np.int64), 0)
        t0 = time.perf_counter()
        for pos in range(1, n_decode + 1):
            step(np.array([[pos]], np.int64), pos)
        out["decode_tok_s"] = n_decode / (time.perf_counter() - t0)
    if tokens and "forward" in m.module.functions():
        ids = (np.arange(tokens, dtype=np.int64) % 1000) + 1
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            m.module.run("forward", ids)
            best = min(best, time.perf_counter() - t0)
        out["forward_s"] = best
        out["forward_tok_s"] = tokens / best
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("prefix")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    ap.add_argument("--decode", type=int, default=48, help="decode calls (0: skip)")
    ap.add_argument("--tokens", type=int, default=256, help="@forward length (0: skip)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(measure(a.prefix, a.decode, a.tokens, a.repeats)))
        return 0
    for t in a.threads:
        env = dict(os.environ, QCRT_NUM_THREADS=str(t))
        r = subprocess.run([sys.executable, __file__, a.prefix, "--child",
                            "--decode", str(a.decode), "--tokens", str(a.tokens),
                            "--repeats", str(a.repeats)],
                           env=env, check=True, capture_output=True, text=True)
        res = json.loads(r.stdout.strip().splitlines()[-1])
        parts = [f"threads {t}"]
        if "decode_tok_s" in res:
            parts.append(f"decode {res['decode_tok_s']:.1f} tok/s")
        if "forward_s" in res:
            parts.append(f"forward {a.tokens} tokens {res['forward_s']:.3f} s "
                         f"({res['forward_tok_s']:.0f} tok/s)")
        print(" | ".join(parts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
