"""Small random GPTQ and AWQ Hugging Face checkpoints for the tests of
`import --quantized keep` (test/Python/import_hf_quantized*.py).

The linears are packed by this file's own writer, following the public
formats, not quant's importer:

- GPTQ (AutoGPTQ / GPTQModel `QuantLinear.pack`): qweight int32 [K*b/32, N],
  row r holding k = r*32/b + j in bits [b*j, b*j + b); qzeros int32
  [G, N*b/32] the same along N, storing z - 1 (checkpoint_format "gptq") or
  z ("gptq_v2"); scales f16 [G, N]; g_idx int32 [K] (act-order: the group
  of column perm[j] is j / group_size for a random permutation perm).
- AWQ GEMM (AutoAWQ `WQLinear_GEMM.from_linear`): qweight int32 [K, N/8],
  word c holding column 8c + [0, 2, 4, 6, 1, 3, 5, 7][i] in bits
  [4i, 4i + 4); qzeros [G, N/8] the same; scales f16 [G, N].

`make(variant, out)` returns (config, float64 tensors under HF names with
every linear dequantized as (q - z) * s: the reference model's weights,
linears: {HF linear name: (q, z, s, g_idx)} the grid written).
"""

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

import hf_models

E, F, H, KV, L = 256, 512, 4, 2, 1
D = E // H
LINEARS = {"self_attn.q_proj": (H * D, E), "self_attn.k_proj": (KV * D, E),
           "self_attn.v_proj": (KV * D, E), "self_attn.o_proj": (E, H * D),
           "mlp.gate_proj": (F, E), "mlp.up_proj": (F, E), "mlp.down_proj": (E, F)}

#: variant -> (method, bits, group_size, sym, desc_act, checkpoint_format,
#: where the config lives, lm_head quantized, g_idx written)
VARIANTS = {
    "gptq4_sym_g128": ("gptq", 4, 128, True, False, "gptq", "quantize_config.json", False, True),
    "gptq4_asym_g32": ("gptq", 4, 32, False, False, "gptq", "config.json", False, True),
    "gptq8_sym_g64": ("gptq", 8, 64, True, False, "gptq", "config.json", False, False),
    "gptq8_asym_chan": ("gptq", 8, -1, False, False, "gptq_v2", "config.json", False, True),
    "gptq4_act_g64": ("gptq", 4, 64, False, True, "gptq", "config.json", True, True),
    "gptq8_act_g128": ("gptq", 8, 128, True, True, "gptq_v2", "config.json", False, True),
    "awq_g128": ("awq", 4, 128, False, False, "gemm", "config.json", False, False),
    "awq_g64": ("awq", 4, 64, False, False, "gemm", "quant_config.json", False, False),
}

AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]


def _words(fields, bits, axis_order):
    """int32 words from uint fields: word w packs fields[..., w*p + j] (j
    = 0..p-1, p = 32/bits) at bit bits*j, along the last axis, field j
    taken from column axis_order[j] of each run of p."""
    p = 32 // bits
    f = fields.astype(np.uint64)
    out = np.zeros(f.shape[:-1] + (f.shape[-1] // p,), np.uint64)
    for j in range(p):
        out |= f[..., axis_order[j]::p] << np.uint64(bits * j)
    return out.astype(np.uint32).view(np.int32)


def quant_config(variant):
    method, bits, group, sym, desc_act, fmt, _, lm_head, _ = VARIANTS[variant]
    if method == "gptq":
        c = {"bits": bits, "group_size": group, "desc_act": desc_act, "sym": sym,
             "damp_percent": 0.01, "static_groups": False, "true_sequential": True,
             "quant_method": "gptq", "checkpoint_format": fmt}
        if lm_head:
            c["lm_head"] = True
        return c
    return {"quant_method": "awq", "bits": bits, "group_size": group, "zero_point": True,
            "version": fmt, "modules_to_not_convert": None}


def make(variant, out, seed=0):
    method, bits, group, sym, desc_act, fmt, cfg_file, lm_head, write_gidx = VARIANTS[variant]
    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = dict(hf_models._BASE, hidden_size=E, intermediate_size=F, num_hidden_layers=L,
               num_attention_heads=H, num_key_value_heads=KV, model_type="llama",
               architectures=["LlamaForCausalLM"], rope_theta=10000.0,
               tie_word_embeddings=False, torch_dtype="float16")
    qc = quant_config(variant)
    if cfg_file == "config.json":
        cfg["quantization_config"] = qc
    elif cfg_file == "quantize_config.json":
        (out / cfg_file).write_text(json.dumps({k: v for k, v in qc.items()
                                                if k != "quant_method"}, indent=2))
    else:  # AutoAWQ's quant_config.json
        (out / cfg_file).write_text(json.dumps({"zero_point": True, "q_group_size": group,
                                                "w_bit": bits, "version": "GEMM"}))
    (out / "config.json").write_text(json.dumps(cfg, indent=2))
    hf_models.write_tokenizer(out, "llama")

    V = cfg["vocab_size"]
    stored, ref, linears = {}, {}, {}

    def f16(name, a):
        a = np.asarray(a, np.float16)
        stored[name], ref[name] = a, a.astype(np.float64)

    f16("model.embed_tokens.weight", rng.normal(size=(V, E)))
    f16("model.norm.weight", 1 + 0.1 * rng.normal(size=E))
    f16("model.layers.0.input_layernorm.weight", 1 + 0.1 * rng.normal(size=E))
    f16("model.layers.0.post_attention_layernorm.weight", 1 + 0.1 * rng.normal(size=E))
    shapes = {f"model.layers.0.{n}": s for n, s in LINEARS.items()}
    if lm_head:
        shapes["lm_head"] = (V, E)
    else:
        f16("lm_head.weight", rng.normal(size=(V, E)) / np.sqrt(E))
    half, top = 1 << (bits - 1), 1 << bits
    orders = {}
    for base, (n, k) in shapes.items():
        gs = k if group == -1 else group
        G = k // gs
        q = rng.integers(0, top, (n, k))
        z = np.full((n, G), half) if sym else rng.integers(0, top, (n, G))
        s = (rng.uniform(0.5, 1.5, (n, G)) / (half * np.sqrt(k))).astype(np.float16)
        g = np.arange(k) // gs
        if desc_act:
            # gptq8_act_g128: one order per input, as GPTQ computes it from
            # the input's Hessian (q/k/v and gate/up share theirs).
            inputs = {"q_proj": "qkv", "k_proj": "qkv", "v_proj": "qkv", "gate_proj": "gu",
                      "up_proj": "gu"}
            key = inputs.get(base.rsplit(".", 1)[1], base) \
                if variant == "gptq8_act_g128" else base
            if key not in orders:
                orders[key] = rng.permutation(k)
            perm = orders[key]
            g = np.empty(k, np.int64)
            g[perm] = np.arange(k) // gs
        w = (q - z[:, g]) * s.astype(np.float64)[:, g]
        ref[base + ".weight"] = w
        linears[base] = (q, z, s, g)
        if method == "gptq":
            zs = (z - 1) % top if fmt == "gptq" else z
            order = list(range(32 // bits))
            stored[base + ".qweight"] = np.ascontiguousarray(_words(q, bits, order).T)
            stored[base + ".qzeros"] = _words(zs.T, bits, order)
            if write_gidx:
                stored[base + ".g_idx"] = g.astype(np.int32)
        else:
            stored[base + ".qweight"] = _words(q.T, bits, AWQ_ORDER)
            stored[base + ".qzeros"] = _words(z.T, bits, AWQ_ORDER)
        stored[base + ".scales"] = np.ascontiguousarray(s.T)
    save_file({k: np.ascontiguousarray(v) for k, v in stored.items()},
              str(out / "model.safetensors"), metadata={"format": "pt"})
    return cfg, ref, linears
