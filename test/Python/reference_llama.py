# The numpy reference forward pass of SmolLM2-135M (real GGUF weights):
# block 0 against a plain-loop computation from the raw GGUF layout (no
# un-permutation, llama.cpp's adjacent-pair RoPE), both RoPE conventions
# agreeing on the full model, and greedy text that makes sense.
# REQUIRES: quant-py, models
# RUN: %python %s | FileCheck %s
# CHECK: block0 loop ok
# CHECK: rope layouts agree
# CHECK: greedy: Paris

import math

import numpy as np

from quant import data, reference
from quant.importers.gguf_llama import load_gguf

path = data.smollm2_gguf()
hf = load_gguf(path, layers=1)
raw = load_gguf(path, layers=1, keep_gguf_qk=True)
c = hf.config
ids = hf.tokenizer.encode("Emma Woodhouse, handsome").ids[:4]
T, E, H, KV, D = len(ids), c["dim"], c["n_heads"], c["n_kv_heads"], c["head_dim"]

# Plain loops, float64, on the GGUF layout.
W = {k: v.astype(np.float64) for k, v in raw.tensors.items()}
x = [[W["token_embd"][t][e] for e in range(E)] for t in ids]


def rmsnorm(row, w):
    ms = sum(v * v for v in row) / len(row)
    return [row[i] / math.sqrt(ms + c["rms_eps"]) * w[i] for i in range(len(row))]


def matvec(w, v):
    return list(np.asarray(w) @ np.asarray(v))  # one dot product per output row


hs = [rmsnorm(r, W["blk.0.attn_norm"]) for r in x]
q = [matvec(W["blk.0.attn_q"], h) for h in hs]
k = [matvec(W["blk.0.attn_k"], h) for h in hs]
v = [matvec(W["blk.0.attn_v"], h) for h in hs]


def rope(vec, heads, pos):
    out = list(vec)
    for h in range(heads):
        for i in range(D // 2):
            theta = pos * c["rope_theta"] ** (-2.0 * i / D)
            a, b = vec[h * D + 2 * i], vec[h * D + 2 * i + 1]
            out[h * D + 2 * i] = a * math.cos(theta) - b * math.sin(theta)
            out[h * D + 2 * i + 1] = b * math.cos(theta) + a * math.sin(theta)
    return out


q = [rope(q[t], H, t) for t in range(T)]
k = [rope(k[t], KV, t) for t in range(T)]
attn = [[0.0] * (H * D) for _ in range(T)]
for t in range(T):
    for h in range(H):
        g = h // (H // KV)
        sc = [sum(q[t][h * D + d] * k[s][g * D + d] for d in range(D)) / math.sqrt(D)
              for s in range(t + 1)]
        m = max(sc)
        p = [math.exp(s_ - m) for s_ in sc]
        z = sum(p)
        for d in range(D):
            attn[t][h * D + d] = sum(p[s] / z * v[s][g * D + d] for s in range(t + 1))
x = [[x[t][e] + o for e, o in enumerate(matvec(W["blk.0.attn_output"], attn[t]))]
     for t in range(T)]
hs = [rmsnorm(r, W["blk.0.ffn_norm"]) for r in x]
for t in range(T):
    g = matvec(W["blk.0.ffn_gate"], hs[t])
    u = matvec(W["blk.0.ffn_up"], hs[t])
    mm = [gi / (1 + math.exp(-gi)) * ui for gi, ui in zip(g, u)]
    x[t] = [a + b for a, b in zip(x[t], matvec(W["blk.0.ffn_down"], mm))]
loop = np.array(x)

taps = {}
reference.llama_forward(hf, ids, taps=taps)
err = np.abs(taps["blk.0"] - loop).max() / np.abs(loop).max()
assert err < 1e-9, err
print("block0 loop ok")

two = load_gguf(path, layers=2)
two_raw = load_gguf(path, layers=2, keep_gguf_qk=True)
ids = two.tokenizer.encode("It is a truth universally acknowledged").ids
a = reference.llama_forward(two, ids)
b = reference.llama_forward(two_raw, ids)
assert np.abs(a - b).max() / np.abs(a).max() < 1e-9
print("rope layouts agree")

full = load_gguf(path)
prompt = full.tokenizer.encode("The capital of France is").ids
out = full.tokenizer.decode(reference.greedy_generate(full, prompt, 2))
print("greedy:", out.strip())
