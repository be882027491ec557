"""BERT (sentence-transformers MiniLM) importer: config.json +
model.safetensors (or a sharded index; F32/F16/BF16, read by
safetensors_io) + tokenizer.json.

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
from .safetensors_io import INDEX_NAME, SafetensorsCheckpoint

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
    if not st.exists() and not (d / INDEX_NAME).exists():
        raise ModelImportError(f"{d}: no model.safetensors")
    f = SafetensorsCheckpoint(d)
    st = f.source
    keys = set(f.keys())
    prefix = ""
    if "embeddings.word_embeddings.weight" not in keys and \
            "bert.embeddings.word_embeddings.weight" in keys:
        prefix = "bert."

    def get(name):
        if prefix + name not in keys:
            raise ModelImportError(f"{st}: missing tensor '{name}'")
        return f.get(prefix + name)

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


# --- MLIR emission -----------------------------------------------------------

def _gelu(fb, x):
    half, one, rs2 = fb.cf32(0.5), fb.cf32(1.0), fb.cf32(0.7071067811865476)

    def body(i, o):
        s = fb.op(f"arith.mulf {i[0]}, {rs2} : f32")
        e = fb.op(f"math.erf {s} : f32")
        a = fb.op(f"arith.addf {e}, {one} : f32")
        h = fb.op(f"arith.mulf {i[0]}, {half} : f32")
        return fb.op(f"arith.mulf {h}, {a} : f32")

    return fb.elementwise([x], body, "gelu")


def _encoder(fb, ck, toks):
    from ..mlir_emit import tensor_type
    import math
    c = ck.config
    E, H, D = c["dim"], c["n_heads"], c["head_dim"]
    T = toks.shape[0]
    eps = c["ln_eps"]
    words = fb.embedding_lookup("embeddings.word_embeddings", toks)
    pe = fb.weight("embeddings.position_embeddings")
    pos = fb.op(f"tensor.extract_slice {pe.name}[0, 0] [{T}, {E}] [1, 1] : {pe.type} to "
                f"{tensor_type((T, E))}", "pos")
    te = fb.weight("embeddings.token_type_embeddings")
    typ = fb.op(f"tensor.extract_slice {te.name}[0, 0] [1, {E}] [1, 1] : {te.type} to "
                f"{tensor_type((E,))}", "type")
    from ..mlir_emit import Val
    pos, typ = Val(pos, (T, E)), Val(typ, (E,))

    def add3(i, o):
        a = fb.op(f"arith.addf {i[0]}, {i[1]} : f32")
        return fb.op(f"arith.addf {a}, {i[2]} : f32")

    m2 = "(d0, d1) -> (d0, d1)"
    x = fb.generic([words, pos, typ], [m2, m2, "(d0, d1) -> (d1)", m2], fb.empty((T, E)),
                   ["parallel"] * 2, add3, "embsum")
    x = fb.layer_norm(x, fb.weight("embeddings.LayerNorm.weight"),
                      fb.weight("embeddings.LayerNorm.bias"), eps)

    def lin(h, name):
        return fb.linear(h, fb.weight(name + ".weight"), name, fb.weight(name + ".bias"))

    for i in range(c["n_layers"]):
        b = f"encoder.layer.{i}."
        q = fb.to_heads(lin(x, b + "attention.self.query"), H, D)
        k = fb.to_heads(lin(x, b + "attention.self.key"), H, D)
        v = fb.to_heads(lin(x, b + "attention.self.value"), H, D)
        o = fb.from_heads(fb.attention(q, k, v, 1.0 / math.sqrt(D)))
        a = lin(o, b + "attention.output.dense")
        x = fb.layer_norm(fb.add(x, a), fb.weight(b + "attention.output.LayerNorm.weight"),
                          fb.weight(b + "attention.output.LayerNorm.bias"), eps)
        m = _gelu(fb, lin(x, b + "intermediate.dense"))
        x = fb.layer_norm(fb.add(x, lin(m, b + "output.dense")),
                          fb.weight(b + "output.LayerNorm.weight"),
                          fb.weight(b + "output.LayerNorm.bias"), eps)
    return x


def _pool(fb, x):
    """Mean over tokens, then L2 normalization: [T, E] -> [E]."""
    T, E = x.shape
    s = fb.generic([x], ["(d0, d1) -> (d0, d1)", "(d0, d1) -> (d1)"], fb.fill((E,), 0.0),
                   ["reduction", "parallel"],
                   lambda i, o: fb.op(f"arith.addf {i[0]}, {o} : f32"), "pool")
    n64 = fb.op(f"arith.index_cast {T} : index to i64")
    nf = fb.op(f"arith.sitofp {n64} : i64 to f32")
    mean = fb.elementwise([s], lambda i, o: fb.op(f"arith.divf {i[0]}, {nf} : f32"), "mean")
    from ..mlir_emit import Val

    def sq(i, o):
        m = fb.op(f"arith.mulf {i[0]}, {i[0]} : f32")
        return fb.op(f"arith.addf {m}, {o} : f32")

    ss = fb.generic([mean], ["(d0) -> (d0)", "(d0) -> ()"], fb.fill((), 0.0), ["reduction"],
                    sq, "sumsq")

    def norm(i, o):
        r = fb.op(f"math.sqrt {i[1]} : f32")
        return fb.op(f"arith.divf {i[0]}, {r} : f32")

    return fb.generic([mean, ss], ["(d0) -> (d0)", "(d0) -> ()", "(d0) -> (d0)"],
                      fb.empty((E,)), ["parallel"], norm, "l2")


def emit_bert(ck: Checkpoint, blob, blob_ref: str, max_seq: int = 0, upstream=False,
              embedding="f32"):
    """Builds @forward (last hidden states) and @embed (pooled sentence
    embedding)."""
    from ..mlir_emit import FuncBuilder, Val
    funcs = []
    for name in ("forward", "embed"):
        fb = FuncBuilder(name, [("%tokens", "tensor<?xi64>")], blob, blob_ref, ck.tensor, upstream,
                         embedding)
        T = fb.op(f"tensor.dim %tokens, {fb.cidx(0)} : tensor<?xi64>", "T")
        x = _encoder(fb, ck, Val("%tokens", (T,), "i64"))
        fb.ret([x if name == "forward" else _pool(fb, x)])
        funcs.append(fb)
    return funcs
