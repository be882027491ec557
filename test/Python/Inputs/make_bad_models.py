"""Writes small synthetic checkpoints for the error tests into argv[1]:
good.gguf (a valid 1-block Llama), gpt2.gguf (unknown architecture),
missing.gguf (no blk.0.ffn_up), vocab.gguf (tokenizer/embedding mismatch),
bert-roberta/ (unknown model_type), bert-missing/ (no query weight),
policy-bad-layer.yaml, policy-broken.yaml, policy-ok.yaml."""

import json
import os
import sys

import numpy as np
import gguf
from safetensors.numpy import save_file

out = sys.argv[1]
rng = np.random.default_rng(0)
D, H, KV, F, V = 8, 2, 1, 16, 12


def write_gguf(name, arch="llama", n_tokens=V, drop=None):
    w = gguf.GGUFWriter(os.path.join(out, name), arch)
    w.add_block_count(1)
    w.add_context_length(64)
    w.add_embedding_length(D)
    w.add_feed_forward_length(F)
    w.add_head_count(H)
    w.add_head_count_kv(KV)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("gpt2")
    toks = ["a", "b", "ab"] + [chr(ord("c") + i) for i in range(n_tokens - 3)]
    w.add_token_list(toks)
    w.add_token_types([1] * n_tokens)
    w.add_token_merges(["a b"])
    hd = D // H
    shapes = {"token_embd.weight": (V, D), "output_norm.weight": (D,),
              "blk.0.attn_norm.weight": (D,), "blk.0.ffn_norm.weight": (D,),
              "blk.0.attn_q.weight": (H * hd, D), "blk.0.attn_k.weight": (KV * hd, D),
              "blk.0.attn_v.weight": (KV * hd, D), "blk.0.attn_output.weight": (D, H * hd),
              "blk.0.ffn_gate.weight": (F, D), "blk.0.ffn_up.weight": (F, D),
              "blk.0.ffn_down.weight": (D, F)}
    for n, s in shapes.items():
        if n != drop:
            w.add_tensor(n, rng.normal(size=s).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


write_gguf("good.gguf")
write_gguf("gpt2.gguf", arch="gpt2")
write_gguf("missing.gguf", drop="blk.0.ffn_up.weight")
write_gguf("vocab.gguf", n_tokens=V - 2)


def write_bert(name, model_type="bert", drop=None):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    cfg = {"model_type": model_type, "num_hidden_layers": 1, "hidden_size": D,
           "intermediate_size": F, "num_attention_heads": H, "vocab_size": V,
           "max_position_embeddings": 16, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
           "hidden_act": "gelu"}
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
    t = {"embeddings.word_embeddings.weight": (V, D),
         "embeddings.position_embeddings.weight": (16, D),
         "embeddings.token_type_embeddings.weight": (2, D),
         "embeddings.LayerNorm.weight": (D,), "embeddings.LayerNorm.bias": (D,)}
    b = "encoder.layer.0."
    for n, s in (("attention.self.query", (D, D)), ("attention.self.key", (D, D)),
                 ("attention.self.value", (D, D)), ("attention.output.dense", (D, D)),
                 ("intermediate.dense", (F, D)), ("output.dense", (D, F))):
        t[b + n + ".weight"], t[b + n + ".bias"] = s, (s[0],)
    for n in ("attention.output.LayerNorm", "output.LayerNorm"):
        t[b + n + ".weight"], t[b + n + ".bias"] = (D,), (D,)
    arrays = {n: rng.normal(size=s).astype(np.float32) for n, s in t.items() if n != drop}
    save_file(arrays, os.path.join(d, "model.safetensors"))


write_bert("bert-roberta", model_type="roberta")
write_bert("bert-missing", drop="encoder.layer.0.attention.self.query.weight")

open(os.path.join(out, "policy-bad-layer.yaml"), "w").write(
    "format: qc-policy\nversion: 1\ndefault: {weight: i8, granularity: per_channel}\n"
    "rules:\n  - match: \"blk.*.attn_q\"\n    scheme: {weight: i4, granularity: per_group, group_size: 4}\n"
    "  - match: \"model.layers.*.self_attn.q_proj\"\n    scheme: none\n")
open(os.path.join(out, "policy-broken.yaml"), "w").write("format: qc-policy\nversion: 1\nrules: [\n")
open(os.path.join(out, "policy-ok.yaml"), "w").write(
    "format: qc-policy\nversion: 1\nrules:\n  - regex: \"blk\\\\.0\\\\.ffn_.*\"\n    scheme: {weight: i8}\n")
