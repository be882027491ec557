#!/usr/bin/env python3
"""Perplexity of the numpy reference with weights fake-quantized in numpy
(RTN, docs/passes.md arithmetic), to check a compiled row of
eval_models.py independently of the compiler.

    PYTHONPATH=python python3 benchmarks/numpy_quant_check.py --bits 4 --group 64 \
        [--window 256 --windows 8] [--asym]
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
import quant  # noqa: E402
from quant import data, reference  # noqa: E402


def rtn(w, bits, group, sym=True):
    n, k = w.shape
    g = w.astype(np.float64).reshape(n, k // group, group)
    if sym:
        qmax = 2 ** (bits - 1) - 1
        s = (np.abs(g).max(-1, keepdims=True) / qmax).astype(np.float32).astype(np.float64)
        s[s == 0] = 1
        q = np.clip(np.rint(g / s), -qmax, qmax)
        out = q * s
    else:
        umax = 2 ** bits - 1
        lo = np.minimum(g.min(-1, keepdims=True), 0)
        hi = np.maximum(g.max(-1, keepdims=True), 0)
        s = ((hi - lo) / umax).astype(np.float32).astype(np.float64)
        s[s == 0] = 1
        z = np.clip(np.rint(-lo / s), 0, umax)
        q = np.clip(np.rint(g / s) + z, 0, umax)
        out = (q - z) * s
    return out.astype(np.float32).reshape(n, k)


p = argparse.ArgumentParser()
p.add_argument("--bits", type=int, default=4)
p.add_argument("--group", type=int, default=64)
p.add_argument("--asym", action="store_true")
p.add_argument("--window", type=int, default=256)
p.add_argument("--windows", type=int, default=8)
a = p.parse_args()
ck = quant.load_checkpoint(data.smollm2_gguf())
for name in list(ck.tensors):
    if name.startswith("blk.") and name.split(".")[-1] in (
            "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"):
        ck.tensors[name] = rtn(ck.tensors[name], a.bits, a.group, not a.asym)
ids = ck.tokenizer.encode(data.evaluation_text()).ids
ppl, n = quant.evaluate(ck, ids, window=a.window, max_windows=a.windows)
print(f"numpy W{a.bits} g{a.group} {'asym' if a.asym else 'sym'} RTN: perplexity {ppl:.3f} "
      f"over {n} tokens")
