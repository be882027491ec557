"""Hugging Face causal-LM importer: a directory with config.json, the weights
(model.safetensors, or model.safetensors.index.json + shards; F32, F16 or
BF16: linear weights and the embedding table are imported in that type,
memory-mapped and copied one tensor at a time; norms and biases are widened
to float32) and tokenizer.json.

Supported (`model_type` / `architectures` of config.json):

- llama / LlamaForCausalLM: Llama 2 and 3 (grouped-query attention via
  num_key_value_heads, rope_theta, Llama-3 `rope_scaling` {rope_type llama3,
  factor, low_freq_factor, high_freq_factor, original_max_position_embeddings}
  or linear scaling, tied or untied LM head, attention_bias / mlp_bias);
- mistral / MistralForCausalLM: the same graph; a `sliding_window` W makes the
  model exact only up to W positions, so the KV cache (--max-seq) and
  @forward's sequences are limited to W (a longer --max-seq is an error);
- qwen2 / Qwen2ForCausalLM: biases on the q/k/v projections (a
  `use_sliding_window` config is limited like Mistral's).

Both the transformers 4.x config keys (`rope_theta` + `rope_scaling`) and
5.x's `rope_parameters` are read. The weights get the Llama family's
canonical names (`llama_graph`: `model.layers.0.self_attn.q_proj.weight` ->
`blk.0.attn_q`, `lm_head.weight` -> `output`, ...), so the graph, the layer
names and the policies are those of the GGUF importer; error messages name
the checkpoint's own tensor names. HF keeps q/k in the rotate-half layout
the graph uses: no permutation.

Quantized checkpoints (GPTQ, AWQ: hf_quantized.py) store a linear `P` as
`P.qweight`, `P.qzeros`, `P.scales` (and GPTQ's `P.g_idx`) instead of
`P.weight`; such a linear is read as its exact qc grid with `quantized`
"keep", else dequantized to float32. Linears the quantizer skipped
(`lm_head`, AWQ's `modules_to_not_convert`) stay float.
"""

import json
from pathlib import Path

from ..errors import ModelImportError
from . import Checkpoint
from . import hf_quantized
from .llama_graph import BLOCK_LINEARS, ROPE_TYPES, LlamaConfig
from .safetensors_io import SafetensorsCheckpoint

#: model_type -> the architecture class its config must name.
ARCHITECTURES = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                 "qwen2": "Qwen2ForCausalLM"}

#: Canonical block tensor -> Hugging Face name (without "model.layers.N.").
HF_BLOCK = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
            "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
            "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
            "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}


def hf_name(canonical: str) -> str:
    """The Hugging Face tensor name of a canonical weight name."""
    top = {"token_embd": "model.embed_tokens.weight", "output_norm": "model.norm.weight",
           "output": "lm_head.weight"}
    if canonical in top:
        return top[canonical]
    _, i, rest = canonical.split(".", 2)
    kind, _, bias = rest.partition(".")
    return f"model.layers.{i}.{HF_BLOCK[kind]}.{bias or 'weight'}"


def read_config(directory) -> dict:
    """config.json as a dict (errors: missing, not JSON)."""
    d = Path(directory)
    p = d / "config.json"
    if not p.exists():
        raise ModelImportError(f"{d}: no config.json")
    try:
        raw = json.loads(p.read_text())
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
    except ValueError as e:
        raise ModelImportError(f"{p}: not valid JSON ({e})") from e
    return raw


def _rope(raw, where):
    """(rope_theta, rope_scaling or None) from the 4.x or the 5.x keys."""
    rp = raw.get("rope_parameters")
    if isinstance(rp, dict) and "rope_theta" in rp:  # transformers 5.x
        theta, scaling = rp["rope_theta"], dict(rp)
    else:
        theta, scaling = raw.get("rope_theta", 10000.0), raw.get("rope_scaling")
        scaling = dict(scaling) if scaling else None
    if scaling is not None:
        kind = scaling.pop("rope_type", scaling.pop("type", "default"))
        scaling.pop("rope_theta", None)
        if kind not in ROPE_TYPES:
            raise ModelImportError(f"{where}: unsupported rope_scaling type '{kind}' "
                                   f"(supported: {', '.join(ROPE_TYPES)})")
        need = {"linear": ("factor",),
                "llama3": ("factor", "low_freq_factor", "high_freq_factor",
                           "original_max_position_embeddings")}.get(kind, ())
        missing = [k for k in need if k not in scaling]
        if missing:
            raise ModelImportError(f"{where}: rope_scaling '{kind}' has no "
                                   f"{', '.join(missing)}")
        scaling = None if kind == "default" else \
            {"rope_type": kind, **{k: float(scaling[k]) for k in need}}
    return float(theta), scaling


def parse_config(raw: dict, where, layers=None):
    """(LlamaConfig, model_type, sliding_window or None) of a config.json."""
    mt = raw.get("model_type")
    if mt not in ARCHITECTURES:
        raise ModelImportError(f"{where}: unknown architecture '{mt}' (supported: "
                               f"{', '.join(ARCHITECTURES)})")
    archs = raw.get("architectures") or [ARCHITECTURES[mt]]
    for a in archs:
        if a != ARCHITECTURES[mt]:
            raise ModelImportError(
                f"{where}: unsupported architecture '{a}' for model_type '{mt}' (supported: "
                f"{', '.join(ARCHITECTURES.values())})")
    act = raw.get("hidden_act", "silu")
    if act != "silu":
        raise ModelImportError(f"{where}: unsupported hidden_act '{act}' (supported: silu)")
    if float(raw.get("partial_rotary_factor", 1.0)) != 1.0:
        raise ModelImportError(f"{where}: partial RoPE (partial_rotary_factor "
                               f"{raw['partial_rotary_factor']}) is not supported")
    try:
        dim, n_heads = int(raw["hidden_size"]), int(raw["num_attention_heads"])
        n_layers = int(raw["num_hidden_layers"])
        n_kv = int(raw.get("num_key_value_heads") or n_heads)
        head_dim = int(raw.get("head_dim") or dim // n_heads)
        ffn, vocab = int(raw["intermediate_size"]), int(raw["vocab_size"])
    except KeyError as e:
        raise ModelImportError(f"{where}: missing key {e}") from e
    except (TypeError, ValueError) as e:
        raise ModelImportError(f"{where}: malformed value ({e})") from e
    theta, scaling = _rope(raw, where)
    biases = []
    if mt == "qwen2":
        biases = ["attn_q", "attn_k", "attn_v"]
    elif mt == "llama":
        if raw.get("attention_bias"):
            biases += ["attn_q", "attn_k", "attn_v", "attn_output"]
        if raw.get("mlp_bias"):
            biases += ["ffn_gate", "ffn_up", "ffn_down"]
    # MistralConfig's default window is 4096 (an explicit null: none).
    window = raw.get("sliding_window", 4096 if mt == "mistral" else None)
    if mt == "llama" or (mt == "qwen2" and not raw.get("use_sliding_window", False)):
        window = None
    if layers is not None:
        if not 1 <= layers <= n_layers:
            raise ModelImportError(f"{where}: --layers {layers} out of range 1..{n_layers}")
    try:
        cfg = LlamaConfig(
            n_layers=layers or n_layers, dim=dim, ffn_dim=ffn, n_heads=n_heads,
            n_kv_heads=n_kv, head_dim=head_dim, vocab_size=vocab,
            rms_eps=float(raw.get("rms_norm_eps", 1e-6)), rope_theta=theta,
            tied_embeddings=bool(raw.get("tie_word_embeddings", False)),
            rope_scaling=scaling, biases=tuple(biases),
            context_length=int(raw.get("max_position_embeddings", 2048)),
            total_layers=n_layers, max_positions=int(window) if window else None)
    except ModelImportError as e:
        raise ModelImportError(f"{where}: {e}") from e
    return cfg, mt, (int(window) if window else None)


def _token_text(t):
    """tokenizer_config.json's special tokens are strings or AddedToken dicts."""
    if isinstance(t, dict):
        return t.get("content")
    return t


def load_tokenizer(directory):
    """(tokenizers.Tokenizer from tokenizer.json, chat metadata): the chat
    template, BOS/EOS texts and the EOS ids (config.json,
    generation_config.json, tokenizer_config.json's eos_token)."""
    d = Path(directory)
    tj = d / "tokenizer.json"
    if not tj.exists():
        raise ModelImportError(f"{d}: no tokenizer.json (a sentencepiece tokenizer.model "
                               "alone is not supported)")
    from tokenizers import Tokenizer
    try:
        tok = Tokenizer.from_file(str(tj))
    except Exception as e:
        raise ModelImportError(f"{tj}: not a readable tokenizer ({str(e).splitlines()[0]})") \
            from e
    meta = {"chat_template": None, "bos_token": None, "eos_token": None, "eos_token_ids": []}
    tc = d / "tokenizer_config.json"
    if tc.exists():
        try:
            t = json.loads(tc.read_text())
        except ValueError as e:
            raise ModelImportError(f"{tc}: not valid JSON ({e})") from e
        tmpl = t.get("chat_template")
        if isinstance(tmpl, list):  # [{"name": "default", "template": ...}, ...]
            named = {x.get("name"): x.get("template") for x in tmpl if isinstance(x, dict)}
            tmpl = named.get("default")
        meta["chat_template"] = tmpl if isinstance(tmpl, str) else None
        meta["bos_token"] = _token_text(t.get("bos_token"))
        meta["eos_token"] = _token_text(t.get("eos_token"))
    jt = d / "chat_template.jinja"  # newer checkpoints keep it in a file
    if meta["chat_template"] is None and jt.exists():
        meta["chat_template"] = jt.read_text()
    ids = []
    for name in ("generation_config.json", "config.json"):
        p = d / name
        if p.exists():
            try:
                e = json.loads(p.read_text()).get("eos_token_id")
            except (ValueError, AttributeError):
                e = None
            ids += e if isinstance(e, list) else [e] if isinstance(e, int) else []
    if meta["eos_token"] is not None and tok.token_to_id(meta["eos_token"]) is not None:
        ids.append(tok.token_to_id(meta["eos_token"]))
    meta["eos_token_ids"] = sorted(set(int(i) for i in ids))
    return tok, meta


def _quantized_linear(st, base, shape, qcfg, keep):
    """(shape, float32 loader, raw loader) of the packed linear `base` (its
    HF name without ".weight"): its exact grid (`Packed`) when `keep`, else
    dequantized."""
    from ..mlir_emit import Stored
    n, k = shape
    hf_quantized.check_linear(st, base, n, k, qcfg)  # headers only, now

    def dequantized():
        return hf_quantized.dequantize_linear(st, base, n, k, qcfg)

    def raw():
        if keep:
            return hf_quantized.load_linear(st, base, n, k, qcfg)
        return Stored(dequantized(), "f32")

    return shape, dequantized, raw


def load_hf(directory, layers=None, quantized: str = "dequantize") -> Checkpoint:
    """Reads a Hugging Face Llama-family directory; `quantized`
    (importers.QUANTIZED) says what becomes of GPTQ / AWQ linears."""
    d = Path(directory)
    raw = read_config(d)
    cfg, model_type, window = parse_config(raw, d / "config.json", layers)
    qcfg = hf_quantized.read_quant_config(d, raw)
    st = SafetensorsCheckpoint(d)
    # Shapes from the headers first: a mismatch is reported before any data
    # is read.
    expect = cfg.expected_shapes()
    linears = {f"blk.{i}.{n}" for i in range(cfg.n_layers) for n in BLOCK_LINEARS}
    linears.add("output")
    packed = {}
    for name, shape in expect.items():
        hn = hf_name(name)
        base = hn[:-len(".weight")]
        if name in linears and hf_quantized.is_quantized(st, base):
            if qcfg is None:
                raise ModelImportError(
                    f"{st.where[base + '.qweight'].path}: tensor '{base}.qweight' is a "
                    f"quantized linear but {d / 'config.json'} has no quantization_config "
                    "(nor is there a quantize_config.json or quant_config.json)")
            packed[name] = _quantized_linear(st, base, shape, qcfg, quantized == "keep")
            continue
        if hn not in st:
            raise ModelImportError(f"{st.source}: missing tensor '{hn}'")
        if tuple(st.shape(hn)) != shape:
            raise ModelImportError(
                f"{st.where[hn].path}: tensor '{hn}' has shape {list(st.shape(hn))}, expected "
                f"{list(shape)} from config.json")
    tok, meta = load_tokenizer(d)  # before the weights: its errors come at once
    n_tok = tok.get_vocab_size(with_added_tokens=True)
    if n_tok > cfg.vocab_size:
        raise ModelImportError(f"{d / 'tokenizer.json'}: tokenizer has {n_tok} tokens but "
                               f"model.embed_tokens has {cfg.vocab_size} rows")
    # Read when emitted (one tensor at a time), checked now.
    tensors = st.lazy({name: hf_name(name) for name in expect if name not in packed}, packed)
    meta.update({"name": raw.get("_name_or_path") or d.name, "format": "hf",
                 "model_type": model_type, "qk_layout": "hf", "dtype": sorted(
                     {st.where[hf_name(n)].dtype(hf_name(n)) for n in expect
                      if n not in packed})})
    if packed:
        meta["quantization"] = f"{qcfg.describe()} ({len(packed)} linears)"
    if window is not None:
        meta["max_positions_why"] = ("config.json sliding_window: attention beyond the window "
                                     "is not implemented")
    return Checkpoint("llama", cfg.to_dict(), tensors, tok, d, meta)
