"""Small random Hugging Face causal-LM checkpoints (config.json, safetensors
weights, tokenizer.json, tokenizer_config.json), written the way
transformers' save_pretrained lays them out, for the importer tests
(test/Python/import_hf*.py, chat-hf.py) and the transformers comparison on
the GPU machine (benchmarks/gpu/hf_check.py). Needs numpy and tokenizers;
F32/F16 files are written with the `safetensors` package when it is there
(an independent writer), BF16 files by hand (numpy has no bfloat16).

    python hf_models.py OUT_DIR [VARIANT ...]     # default: every variant

`make(variant, out)` returns (config dict, {hf name: float64 array}) with the
values exactly as stored (rounded to the file's dtype), and
`reference_checkpoint` turns them into a quant.reference checkpoint by this
file's own name mapping (not the importer's).
"""

import json
import os
import struct
import sys
from pathlib import Path

import numpy as np

VOCAB = 320  # embedding rows (> the tokenizer's 256 bytes + merges + specials)

_BASE = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
         "num_attention_heads": 4, "hidden_act": "silu", "max_position_embeddings": 256,
         "rms_norm_eps": 1e-5, "vocab_size": VOCAB, "bos_token_id": 1, "eos_token_id": 2,
         "initializer_range": 0.02, "use_cache": True}

#: variant -> (config.json, storage dtype, number of shards, tokenizer style)
VARIANTS = {
    # Llama 2: multi-head attention, untied head.
    "llama2": (dict(_BASE, model_type="llama", architectures=["LlamaForCausalLM"],
                    num_key_value_heads=4, rope_theta=10000.0, tie_word_embeddings=False),
               "F32", 1, "llama"),
    # Llama 3: GQA, rope_theta 500000, Llama-3 frequency scaling (with an
    # original context of 64, D = 16 has frequencies in all three bands:
    # kept, blended, divided), untied head; stored in bf16 like the real ones.
    "llama3": (dict(_BASE, model_type="llama", architectures=["LlamaForCausalLM"],
                    num_key_value_heads=2, rope_theta=500000.0, tie_word_embeddings=False,
                    rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                  "high_freq_factor": 4.0,
                                  "original_max_position_embeddings": 64}),
               "BF16", 1, "llama"),
    # A small Llama with tied embeddings (no lm_head.weight), fp16.
    "tied": (dict(_BASE, model_type="llama", architectures=["LlamaForCausalLM"],
                  num_key_value_heads=1, rope_theta=10000.0, tie_word_embeddings=True),
             "F16", 1, "llama"),
    # Mistral: GQA, an explicit head_dim (8, not hidden / heads = 16, as
    # Mistral-Nemo), a sliding window longer than every sequence used; two
    # shards + model.safetensors.index.json.
    "mistral": (dict(_BASE, model_type="mistral", architectures=["MistralForCausalLM"],
                     num_key_value_heads=2, head_dim=8, rope_theta=10000.0,
                     tie_word_embeddings=False, sliding_window=64),
                "F32", 2, "llama"),
    # Qwen2: q/k/v biases, tied embeddings, rope_theta 1e6, ChatML template.
    "qwen2": (dict(_BASE, model_type="qwen2", architectures=["Qwen2ForCausalLM"],
                   num_key_value_heads=2, rope_theta=1000000.0, tie_word_embeddings=True,
                   use_sliding_window=False, sliding_window=4096, max_window_layers=2,
                   bos_token_id=None, eos_token_id=262),
              "F32", 1, "chatml"),
}

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
          "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def hf_tensors(cfg, rng, dtype):
    """Random weights under Hugging Face names, rounded to `dtype`; float64."""
    E, F, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = cfg.get("head_dim") or E // H

    def w(n, k):
        return rng.normal(size=(n, k)) / np.sqrt(k)

    t = {"model.embed_tokens.weight": rng.normal(size=(V, E)),
         "model.norm.weight": 1.0 + 0.1 * rng.normal(size=E)}
    if not cfg["tie_word_embeddings"]:
        t["lm_head.weight"] = w(V, E)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = 1.0 + 0.1 * rng.normal(size=E)
        t[p + "post_attention_layernorm.weight"] = 1.0 + 0.1 * rng.normal(size=E)
        t[p + "self_attn.q_proj.weight"] = w(H * D, E)
        t[p + "self_attn.k_proj.weight"] = w(KV * D, E)
        t[p + "self_attn.v_proj.weight"] = w(KV * D, E)
        t[p + "self_attn.o_proj.weight"] = w(E, H * D)
        if cfg["model_type"] == "qwen2":
            for n, rows in (("q", H * D), ("k", KV * D), ("v", KV * D)):
                t[p + f"self_attn.{n}_proj.bias"] = 0.5 * rng.normal(size=rows)
        t[p + "mlp.gate_proj.weight"] = w(F, E)
        t[p + "mlp.up_proj.weight"] = w(F, E)
        t[p + "mlp.down_proj.weight"] = w(E, F)
    return {k: round_to(v, dtype) for k, v in t.items()}


def f32_to_bf16_bits(a):
    """Round-to-nearest-even float32 -> bfloat16 bit patterns (uint16)."""
    u = np.ascontiguousarray(a, np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def round_to(a, dtype):
    """The float64 values of `a` stored as dtype."""
    if dtype == "F32":
        return a.astype(np.float32).astype(np.float64)
    if dtype == "F16":
        return a.astype(np.float16).astype(np.float64)
    assert dtype == "BF16", dtype
    bits = f32_to_bf16_bits(a.astype(np.float32)).astype(np.uint32) << 16
    return bits.view(np.float32).astype(np.float64)


_RAW = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I8": "i1", "I32": "<i4"}


def write_safetensors(path, tensors, dtype="F32", metadata=None):
    """Writes a safetensors file by hand ({name: array}); dtype F32, F16,
    BF16 (rounded to nearest even), or I8/I32/F64 for error tests."""
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        if dtype == "BF16":
            raw = f32_to_bf16_bits(a).tobytes()
        else:
            raw = np.ascontiguousarray(a, dtype=_RAW[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(np.shape(a)),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = metadata or {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def _save(path, tensors, dtype):
    np_dtype = {"F32": np.float32, "F16": np.float16}.get(dtype)
    try:
        from safetensors.numpy import save_file
    except ImportError:
        save_file = None
    if np_dtype is not None and save_file is not None:
        save_file({k: np.ascontiguousarray(v, np_dtype) for k, v in tensors.items()}, str(path),
                  metadata={"format": "pt"})
    else:
        write_safetensors(path, tensors, dtype)


def write_weights(d, tensors, dtype, shards=1):
    """model.safetensors, or `shards` files + model.safetensors.index.json."""
    d = Path(d)
    if shards == 1:
        _save(d / "model.safetensors", tensors, dtype)
        return
    names = list(tensors)
    parts = [names[i::shards] for i in range(shards)]
    wm = {}
    for j, part in enumerate(parts):
        fn = f"model-{j + 1:05d}-of-{shards:05d}.safetensors"
        _save(d / fn, {n: tensors[n] for n in part}, dtype)
        wm.update({n: fn for n in part})
    width = {"F32": 4}.get(dtype, 2)
    total = sum(int(np.prod(v.shape)) * width for v in tensors.values())
    (d / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {"total_size": total}, "weight_map": dict(sorted(wm.items()))}, indent=2))


def write_tokenizer(d, style):
    """A byte-level BPE tokenizer.json (256 byte tokens, a few merges, the
    special tokens of the style) + tokenizer_config.json."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    if style == "llama":
        specials = ["<unk>", "<s>", "</s>"]
    else:
        specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    vocab = {}
    for s in (specials if style == "llama" else []) + alphabet:
        vocab[s] = len(vocab)
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("e", "r")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    if style != "llama":
        for s in specials:
            vocab[s] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if style == "llama":  # Llama 2/3 tokenizers put BOS first
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", vocab["<s>"])])
        conf = {"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": True,
                "tokenizer_class": "PreTrainedTokenizerFast"}
    else:
        conf = {"bos_token": None, "eos_token": "<|im_end|>", "chat_template": CHATML,
                "tokenizer_class": "PreTrainedTokenizerFast"}
    tok.save(str(Path(d) / "tokenizer.json"))
    (Path(d) / "tokenizer_config.json").write_text(json.dumps(conf, indent=2))
    assert tok.get_vocab_size() <= VOCAB
    return tok


def make(variant, out, seed=0):
    """Writes the checkpoint directory `out`; returns (config, tensors)."""
    cfg, dtype, shards, style = VARIANTS[variant]
    cfg = json.loads(json.dumps(cfg))
    cfg["torch_dtype"] = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tensors = hf_tensors(cfg, np.random.default_rng(seed), dtype)
    (out / "config.json").write_text(json.dumps(cfg, indent=2))
    write_weights(out, tensors, dtype, shards)
    write_tokenizer(out, style)
    return cfg, tensors


def reference_checkpoint(cfg, tensors, tokenizer=None):
    """A quant.reference Checkpoint of the HF config + weights, mapped by
    this file (independently of the importer); max_positions = the sliding
    window of Mistral (the reference then refuses longer sequences)."""
    from quant.importers import Checkpoint
    E, H = cfg["hidden_size"], cfg["num_attention_heads"]
    rs = cfg.get("rope_scaling")
    c = {"n_layers": cfg["num_hidden_layers"], "dim": E, "ffn_dim": cfg["intermediate_size"],
         "n_heads": H, "n_kv_heads": cfg["num_key_value_heads"],
         "head_dim": cfg.get("head_dim") or E // H,
         "vocab_size": cfg["vocab_size"], "rms_eps": cfg["rms_norm_eps"],
         "rope_theta": cfg["rope_theta"], "tied_embeddings": cfg["tie_word_embeddings"],
         "rope_scaling": dict(rs) if rs else None,
         "max_positions": cfg.get("sliding_window") if cfg["model_type"] == "mistral" else None}
    names = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
             "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    t = {}
    for k, v in tensors.items():
        if k == "model.embed_tokens.weight":
            t["token_embd"] = v
        elif k == "model.norm.weight":
            t["output_norm"] = v
        elif k == "lm_head.weight":
            t["output"] = v
        else:
            _, _, i, rest = k.split(".", 3)
            mod, kind = rest.rsplit(".", 1)
            t[f"blk.{i}.{names[mod]}" + ("" if kind == "weight" else ".bias")] = v
    return Checkpoint("llama", c, t, tokenizer, Path("reference"), {"qk_layout": "hf"})


if __name__ == "__main__":
    out = Path(sys.argv[1])
    for v in sys.argv[2:] or list(VARIANTS):
        make(v, out / v)
        print("wrote", out / v)
