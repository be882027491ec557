"""BERT (sentence-transformers MiniLM) importer: config.json +
model.safetensors + tokenizer.json.

Tensor names are the checkpoint's, without the ".weight"/".bias" suffix for
linears (e.g. `encoder.layer.0.attention.self.query`), which become the
`layer` attribute of each `qc.linear`.

Emission: see `emit_bert` (entry points `@forward` and `@embed`).
"""

import json
from pathlib import Path

import numpy as np

from ..errors import ModelImportError
from . import Checkpoint

SUPPORTED_ARCHS = ("bert",)

LAYER_LINEARS = ("attention.self.query", "attention.self.key",
                 "attention.self.value", "attention.output.dense",
                 "intermediate.dense", "output.dense")
LAYER_NORMS = ("attention.output.LayerNorm", "output.LayerNorm")


def load_bert(directory, layers=None) -> Checkpoint:
    d = Path(directory)
    cfg_path = d / "config.json"
    if not cfg_path.exists():
        raise ModelImportError(f"{d}: no config.json")
    try:
        raw = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as e:
        raise ModelImportError(f"{cfg_path}: not valid JSON ({e})") from e
    arch = raw.get("model_type")
    if arch not in SUPPORTED_ARCHS:
        raise ModelImportError(f"{cfg_path}: unknown architecture '{arch}' "
                               f"(supported: {', '.join(SUPPORTED_ARCHS)})")
    if raw.get("hidden_act", "gelu") != "gelu":
        raise ModelImportError(f"{cfg_path}: unsupported hidden_act '{raw['hidden_act']}'")
    if raw.get("position_embedding_type", "absolute") != "absolute":
        raise ModelImportError(f"{cfg_path}: unsupported position_embedding_type "
                               f"'{raw['position_embedding_type']}'")
    try:
        cfg = {
            "n_layers": int(raw["num_hidden_layers"]),
            "dim": int(raw["hidden_size"]),
            "ffn_dim": int(raw["intermediate_size"]),
            "n_heads": int(raw["num_attention_heads"]),
            "vocab_size": int(raw["vocab_size"]),
            "max_positions": int(raw["max_position_embeddings"]),
            "type_vocab_size": int(raw.get("type_vocab_size", 2)),
            "ln_eps": float(raw.get("layer_norm_eps", 1e-12)),
        }
    except KeyError as e:
        raise ModelImportError(f"{cfg_path}: missing key {e}") from e
    cfg["head_dim"] = cfg["dim"] // cfg["n_heads"]
    cfg["total_layers"] = cfg["n_layers"]
    if layers is not None:
        if not 1 <= layers <= cfg["n_layers"]:
            raise ModelImportError(f"{d}: --layers {layers} out of range 1..{cfg['n_layers']}")
        cfg["n_layers"] = layers
    pooling = d / "1_Pooling" / "config.json"
    cfg["pooling"] = "mean"
    if pooling.exists():
        pc = json.loads(pooling.read_text())
        if not pc.get("pooling_mode_mean_tokens", False):
            raise ModelImportError(f"{pooling}: only mean pooling is supported")

    st = d / "model.safetensors"
    if not st.exists():
        raise ModelImportError(f"{d}: no model.safetensors")
    from safetensors import safe_open
    try:
        f = safe_open(str(st), framework="numpy")
        keys = set(f.keys())
    except Exception as e:
        raise ModelImportError(f"{st}: not a readable safetensors file ({e})") from e
    prefix = ""
    if "embeddings.word_embeddings.weight" not in keys and \
            "bert.embeddings.word_embeddings.weight" in keys:
        prefix = "bert."

    def get(name):
        if prefix + name not in keys:
            raise ModelImportError(f"{st}: missing tensor '{name}'")
        return np.ascontiguousarray(f.get_tensor(prefix + name), dtype=np.float32)

    E, F = cfg["dim"], cfg["ffn_dim"]
    t = {}
    t["embeddings.word_embeddings"] = get("embeddings.word_embeddings.weight")
    t["embeddings.position_embeddings"] = get("embeddings.position_embeddings.weight")
    t["embeddings.token_type_embeddings"] = get("embeddings.token_type_embeddings.weight")
    t["embeddings.LayerNorm.weight"] = get("embeddings.LayerNorm.weight")
    t["embeddings.LayerNorm.bias"] = get("embeddings.LayerNorm.bias")
    expect = {"embeddings.word_embeddings": (cfg["vocab_size"], E),
              "embeddings.position_embeddings": (cfg["max_positions"], E),
              "embeddings.token_type_embeddings": (cfg["type_vocab_size"], E)}
    for i in range(cfg["n_layers"]):
        b = f"encoder.layer.{i}."
        for n in LAYER_LINEARS + LAYER_NORMS:
            t[b + n + ".weight"] = get(b + n + ".weight")
            t[b + n + ".bias"] = get(b + n + ".bias")
        for n in LAYER_LINEARS[:4]:
            expect[b + n + ".weight"] = (E, E)
        expect[b + "intermediate.dense.weight"] = (F, E)
        expect[b + "output.dense.weight"] = (E, F)
    for n, s in expect.items():
        if t[n].shape != s:
            raise ModelImportError(f"{st}: tensor '{n}' has shape {t[n].shape}, expected {s}")

    tj = d / "tokenizer.json"
    if not tj.exists():
        raise ModelImportError(f"{d}: no tokenizer.json")
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(tj))
    tok.no_padding()
    tok.enable_truncation(cfg["max_positions"])
    if tok.get_vocab_size() != cfg["vocab_size"]:
        raise ModelImportError(
            f"{tj}: tokenizer has {tok.get_vocab_size()} tokens but "
            f"embeddings.word_embeddings has {cfg['vocab_size']} rows")
    return Checkpoint("bert", cfg, t, tok, d, {"name": raw.get("_name_or_path", d.name)})


def linear_layers(ck: Checkpoint):
    return [f"encoder.layer.{i}.{n}" for i in range(ck.config["n_layers"])
            for n in LAYER_LINEARS]
