# The numpy reference of all-MiniLM-L6-v2 (real weights): layer-0 pieces
# against plain loops, and sentence embeddings that behave: paraphrases
# close, unrelated sentences far.
# REQUIRES: quant-py, models
# RUN: %python %s | FileCheck %s
# CHECK: embeddings layernorm loop ok
# CHECK: gelu ok
# CHECK: paraphrase {{0\.[6-9]}}
# CHECK: similarity ok

import math

import numpy as np

from quant import data, reference
from quant.importers import load_checkpoint

ck = load_checkpoint(data.minilm_dir())
ids = ck.tokenizer.encode("Emma Woodhouse, handsome, clever, and rich").ids
assert ids[0] == 101 and ids[-1] == 102  # [CLS] ... [SEP]
t = ck.tensors
rows = []
for p, i in enumerate(ids):
    row = [float(t["embeddings.word_embeddings"][i][e]) + float(t["embeddings.position_embeddings"][p][e])
           + float(t["embeddings.token_type_embeddings"][0][e]) for e in range(384)]
    mu = sum(row) / 384
    var = sum((r - mu) ** 2 for r in row) / 384
    rows.append([(r - mu) / math.sqrt(var + 1e-12) * float(t["embeddings.LayerNorm.weight"][e])
                 + float(t["embeddings.LayerNorm.bias"][e]) for e, r in enumerate(row)])
one = load_checkpoint(data.minilm_dir(), layers=1)
one.config["n_layers"] = 0  # embeddings only
emb = reference.bert_forward(one, ids)
assert np.abs(emb - np.array(rows)).max() < 1e-9
print("embeddings layernorm loop ok")

xs = np.random.default_rng(1).normal(size=64) * 3
g = reference.gelu(xs)
assert all(abs(g[i] - 0.5 * x * (1 + math.erf(x / math.sqrt(2)))) < 1e-12 for i, x in enumerate(xs))
print("gelu ok")

s = ["A man is playing a guitar.", "Someone is strumming a guitar.",
     "The stock market fell sharply today.", "Stock prices dropped steeply today."]
e = np.array([reference.embed_text(ck, x) for x in s])
sim = e @ e.T
print(f"paraphrase {sim[0, 1]:.3f}")
assert sim[0, 1] > 0.6 and sim[2, 3] > 0.6
assert max(sim[0, 2], sim[0, 3], sim[1, 2], sim[1, 3]) < 0.2
print("similarity ok")
