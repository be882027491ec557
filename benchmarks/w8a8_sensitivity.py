#!/usr/bin/env python3
"""How sensitive is a W8A8 (dynamic per-token INT8 activations) model to
rounding-level differences in its float glue? (A benchmark/experiment, not
a test.)

Runs all-MiniLM-L6-v2 as an independent numpy fake-quantized W8A8 model
(i8 symmetric per-channel weights, per-token i8 activations, round half to
even) once in float32 and once in float64 arithmetic, on sentences of
*Pride and Prejudice*, and prints the cosine between the two sentence
embeddings and each one's cosine to the unquantized float64 model.

The two runs differ only by float rounding, yet a single int8 value that
rounds the other way moves the next layer's input by a whole quantization
step, which flips more values there: over six layers the two W8A8 results
decorrelate to the level of the quantization noise itself while being
equally accurate. This is why the GPU-vs-host check of W8A8 rows
(benchmarks/gpu/model_run.py) compares accuracy, not bits.

    PYTHONPATH=python python3 benchmarks/w8a8_sensitivity.py [--sentences 16]
"""
import argparse
import math
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from quant import data, reference  # noqa: E402
from quant.importers import load_checkpoint  # noqa: E402


def quant_weight(w):
    """i8 symmetric per output channel, dequantized (float64)."""
    s = np.abs(w).max(1, keepdims=True) / 127
    s[s == 0] = 1
    return np.clip(np.rint(w / s), -127, 127) * s


def quant_act(x, dt):
    """Dynamic per-token i8 (scale = max|x| / 127 per row), dequantized."""
    s = (np.abs(x).max(-1, keepdims=True) / dt(127)).astype(dt)
    s[s == 0] = 1
    return (np.clip(np.rint(x / s), -127, 127) * s).astype(dt)


def embed(ck, wq, tokens, dt, quant):
    """Sentence embedding (mean pool, L2-normalized) in arithmetic `dt`."""
    c = ck.config
    W = lambda n: ck.tensors[n].astype(dt)
    T = len(tokens)
    x = (W("embeddings.word_embeddings")[tokens] + W("embeddings.position_embeddings")[:T]
         + W("embeddings.token_type_embeddings")[np.zeros(T, np.int64)])
    ln = lambda x, p: reference.layer_norm(x, W(p + ".weight"), W(p + ".bias"),
                                           c["ln_eps"]).astype(dt)
    x = ln(x, "embeddings.LayerNorm")
    H, D = c["n_heads"], c["head_dim"]

    def lin(h, n):
        w = wq[n + ".weight"].astype(dt) if quant else W(n + ".weight")
        return ((quant_act(h, dt) if quant else h) @ w.T + W(n + ".bias")).astype(dt)

    for i in range(c["n_layers"]):
        b = f"encoder.layer.{i}."
        heads = lambda n: lin(x, b + n).reshape(T, H, D).transpose(1, 0, 2)
        q, k, v = heads("attention.self.query"), heads("attention.self.key"), \
            heads("attention.self.value")
        s = q @ k.transpose(0, 2, 1) / dt(math.sqrt(D))
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        o = (p @ v).transpose(1, 0, 2).reshape(T, H * D)
        x = ln(x + lin(o, b + "attention.output.dense"), b + "attention.output.LayerNorm")
        m = reference.gelu(lin(x, b + "intermediate.dense")).astype(dt)
        x = ln(x + lin(m, b + "output.dense"), b + "output.LayerNorm")
    e = x.mean(0).astype(np.float64)
    return e / np.linalg.norm(e)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=16)
    a = ap.parse_args()
    ck = load_checkpoint(data.minilm_dir())
    wq = {n: quant_weight(t.astype(np.float64)) for n, t in ck.tensors.items()
          if n.endswith(".weight") and t.ndim == 2 and "embeddings" not in n}
    text = data.evaluation_text()
    sents = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text[20000:60000])
             if 40 < len(s.strip()) < 300][:a.sentences]
    rows = []
    for s in sents:
        t = ck.tokenizer.encode(s).ids
        ref = embed(ck, wq, t, np.float64, quant=False)
        q32 = embed(ck, wq, t, np.float32, quant=True)
        q64 = embed(ck, wq, t, np.float64, quant=True)
        rows.append((q32 @ q64, q32 @ ref, q64 @ ref))
    r = np.array(rows)
    print(f"MiniLM W8A8 (numpy), {len(sents)} sentences of Pride and Prejudice")
    print(f"cos(W8A8 in f32, W8A8 in f64): mean {r[:, 0].mean():.5f}  min {r[:, 0].min():.5f}")
    print(f"cos(W8A8 in f32, fp64 model):  mean {r[:, 1].mean():.5f}  min {r[:, 1].min():.5f}")
    print(f"cos(W8A8 in f64, fp64 model):  mean {r[:, 2].mean():.5f}  min {r[:, 2].min():.5f}")


if __name__ == "__main__":
    main()
