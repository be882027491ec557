"""The Llama-family graph: one builder for every importer of the family
(GGUF Llama, Hugging Face Llama 2/3, Mistral, Qwen2).

An importer turns its checkpoint into a `LlamaConfig` plus float32 weights
under the canonical names below (the GGUF names, HF layout: q/k rows for the
rotate-half RoPE) and `emit` writes the entry points `@forward` and
`@decode` (docs/models.md, "Entry points"), so every model of the family has
the same functions, ABI and layer names: the same policies, `python -m quant
chat`, `LoadedModel.generate` and quant-compile work on all of them.

Canonical weights: `token_embd` [V, E], `output_norm` [E], `output` [V, E]
(absent when tied: the head reads `token_embd`), and per block i
`blk.i.{attn_norm, ffn_norm}` [E], `blk.i.{attn_q, attn_k, attn_v}`
[H*D | KV*D, E], `blk.i.attn_output` [E, H*D], `blk.i.{ffn_gate, ffn_up}`
[F, E], `blk.i.ffn_down` [E, F]; a linear listed in `LlamaConfig.biases`
also has `blk.i.<linear>.bias` [N] (Qwen2: q/k/v).
"""

import math
from dataclasses import asdict, dataclass, fields
from typing import Optional, Tuple

import numpy as np

from ..errors import ModelImportError

#: Per-block linears and norms (canonical names without the "blk.N." prefix).
BLOCK_LINEARS = ("attn_q", "attn_k", "attn_v", "attn_output",
                 "ffn_gate", "ffn_up", "ffn_down")
BLOCK_NORMS = ("attn_norm", "ffn_norm")

#: RoPE frequency scalings `rope_inv_freq` applies (Hugging Face rope_type).
ROPE_TYPES = ("default", "linear", "llama3")


@dataclass
class LlamaConfig:
    """Hyper-parameters of a Llama-family decoder. Stored in checkpoints and
    model-IR metadata as the plain dict `to_dict()` gives."""

    n_layers: int
    dim: int
    ffn_dim: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    vocab_size: int
    rms_eps: float
    rope_theta: float
    tied_embeddings: bool
    #: None, or {"rope_type": "linear", "factor"} / {"rope_type": "llama3",
    #: "factor", "low_freq_factor", "high_freq_factor",
    #: "original_max_position_embeddings"} (Hugging Face's keys).
    rope_scaling: Optional[dict] = None
    #: Linears (BLOCK_LINEARS names) that have a bias.
    biases: Tuple[str, ...] = ()
    context_length: int = 2048
    #: Blocks in the checkpoint (n_layers may keep fewer).
    total_layers: Optional[int] = None
    #: Sequences longer than this are refused (Mistral's sliding window:
    #: attention is full attention up to here); None = no limit.
    max_positions: Optional[int] = None

    def __post_init__(self):
        self.biases = tuple(self.biases)
        if self.total_layers is None:
            self.total_layers = self.n_layers
        bad = [b for b in self.biases if b not in BLOCK_LINEARS]
        if bad:
            raise ModelImportError(f"unknown biased linear(s) {', '.join(bad)}")
        if self.n_heads % self.n_kv_heads:
            raise ModelImportError(f"{self.n_heads} attention heads are not a multiple of "
                                   f"{self.n_kv_heads} key/value heads")
        if self.head_dim % 2:
            raise ModelImportError(f"head dimension {self.head_dim} is odd (RoPE rotates pairs)")

    @classmethod
    def from_dict(cls, d: dict) -> "LlamaConfig":
        """From a checkpoint's or model IR's config (extra keys such as
        `max_seq` are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_dict(self) -> dict:
        d = asdict(self)
        d["biases"] = list(self.biases)
        return d

    def expected_shapes(self) -> dict:
        """Canonical name -> shape of every weight `emit` reads."""
        E, F, V = self.dim, self.ffn_dim, self.vocab_size
        H, KV, D = self.n_heads, self.n_kv_heads, self.head_dim
        out = {"token_embd": (V, E), "output_norm": (E,)}
        if not self.tied_embeddings:
            out["output"] = (V, E)
        rows = {"attn_q": H * D, "attn_k": KV * D, "attn_v": KV * D, "attn_output": E,
                "ffn_gate": F, "ffn_up": F, "ffn_down": E}
        for i in range(self.n_layers):
            b = f"blk.{i}."
            out.update({b + "attn_norm": (E,), b + "ffn_norm": (E,),
                        b + "attn_q": (H * D, E), b + "attn_k": (KV * D, E),
                        b + "attn_v": (KV * D, E), b + "attn_output": (E, H * D),
                        b + "ffn_gate": (F, E), b + "ffn_up": (F, E), b + "ffn_down": (E, F)})
            for n in self.biases:
                out[b + n + ".bias"] = (rows[n],)
        return out


def linear_layers(cfg: LlamaConfig):
    """The `layer` names of every qc.linear, in order."""
    return [f"blk.{i}.{n}" for i in range(cfg.n_layers) for n in BLOCK_LINEARS] + ["output"]


def rope_inv_freq(cfg: LlamaConfig) -> np.ndarray:
    """RoPE inverse frequencies [D/2] (float32): theta^(-2i/D), then the
    checkpoint's frequency scaling as transformers' `ROPE_INIT_FUNCTIONS`
    compute it: 'linear' divides them by `factor`; 'llama3' divides the low
    frequencies (wavelength > original_max_position_embeddings /
    low_freq_factor) by `factor`, keeps the high ones (wavelength <
    original / high_freq_factor) and interpolates between the two."""
    D = cfg.head_dim
    inv = 1.0 / (cfg.rope_theta ** (np.arange(0, D, 2, dtype=np.float64) / D))
    rs = cfg.rope_scaling or {}
    kind = rs.get("rope_type", "default")
    if kind == "linear":
        inv = inv / float(rs["factor"])
    elif kind == "llama3":
        factor = float(rs["factor"])
        low, high = float(rs["low_freq_factor"]), float(rs["high_freq_factor"])
        old = float(rs["original_max_position_embeddings"])
        wavelen = 2 * math.pi / inv
        scaled = np.where(wavelen > old / low, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old / high) & ~(wavelen > old / low)
        inv = np.where(medium, smoothed, scaled)
    elif kind != "default":
        raise ModelImportError(f"unsupported RoPE scaling '{kind}' (supported: "
                               f"{', '.join(ROPE_TYPES)})")
    return inv.astype(np.float32)


# --- MLIR emission -----------------------------------------------------------

def _rope(fb, x3, inv_freq, start, hd):
    """[T, nh, D] -> [nh, T, D] with rotate-half RoPE at positions start + t."""
    T, nh, _ = x3.shape
    half = hd // 2
    dt = x3.dtype
    out = fb.empty((nh, T, hd), dt)
    c_half, c_d = fb.cidx(half), fb.cidx(hd)
    m1, p1 = fb.cf32(-1.0), fb.cf32(1.0)

    def body(i, o):
        h = fb.op("linalg.index 0 : index")
        t = fb.op("linalg.index 1 : index")
        d = fb.op("linalg.index 2 : index")
        dsh = fb.op(f"arith.addi {d}, {c_half} : index")
        dp = fb.op(f"arith.remui {dsh}, {c_d} : index")
        xp = fb.op(f"tensor.extract {x3.name}[{t}, {h}, {dp}] : {x3.type}")
        fi = fb.op(f"arith.remui {d}, {c_half} : index")
        f = fb.op(f"tensor.extract {inv_freq.name}[{fi}] : {inv_freq.type}")
        pos = fb.op(f"arith.addi {t}, {start} : index")
        p64 = fb.op(f"arith.index_cast {pos} : index to i64")
        pf = fb.op(f"arith.sitofp {p64} : i64 to f32")
        ang = fb.op(f"arith.mulf {pf}, {f} : f32")
        c = fb.op(f"math.cos {ang} : f32")
        s = fb.op(f"math.sin {ang} : f32")
        lo = fb.op(f"arith.cmpi ult, {d}, {c_half} : index")
        sgn = fb.op(f"arith.select {lo}, {m1}, {p1} : f32")
        xc = fb.op(f"arith.mulf {fb.to_f32(i[0], dt)}, {c} : f32")
        xs = fb.op(f"arith.mulf {fb.to_f32(xp, dt)}, {s} : f32")
        xs2 = fb.op(f"arith.mulf {xs}, {sgn} : f32")
        return fb.from_f32(fb.op(f"arith.addf {xc}, {xs2} : f32"), dt)

    return fb.generic([x3], ["(d0, d1, d2) -> (d1, d0, d2)", "(d0, d1, d2) -> (d0, d1, d2)"],
                      out, ["parallel"] * 3, body, "rope")


def _rope_at(fb, x4, inv_freq, pos, hd):
    """[B, T, nh, D] -> [B, T, nh, D], rotate-half RoPE at positions
    pos[b] + t; `pos` (tensor<?xi64>) is read inside the loop body, so the
    host never needs its value (device-resident decode, CUDA graphs)."""
    half = hd // 2
    dt = x4.dtype
    c_half, c_d = fb.cidx(half), fb.cidx(hd)
    m1, p1 = fb.cf32(-1.0), fb.cf32(1.0)

    def body(i, o):
        b = fb.op("linalg.index 0 : index")
        t = fb.op("linalg.index 1 : index")
        h = fb.op("linalg.index 2 : index")
        d = fb.op("linalg.index 3 : index")
        dsh = fb.op(f"arith.addi {d}, {c_half} : index")
        dp = fb.op(f"arith.remui {dsh}, {c_d} : index")
        xp = fb.op(f"tensor.extract {x4.name}[{b}, {t}, {h}, {dp}] : {x4.type}")
        fi = fb.op(f"arith.remui {d}, {c_half} : index")
        f = fb.op(f"tensor.extract {inv_freq.name}[{fi}] : {inv_freq.type}")
        start = fb.op(f"tensor.extract {pos.name}[{b}] : {pos.type}")
        t64 = fb.op(f"arith.index_cast {t} : index to i64")
        p64 = fb.op(f"arith.addi {start}, {t64} : i64")
        pf = fb.op(f"arith.sitofp {p64} : i64 to f32")
        ang = fb.op(f"arith.mulf {pf}, {f} : f32")
        c = fb.op(f"math.cos {ang} : f32")
        s_ = fb.op(f"math.sin {ang} : f32")
        lo = fb.op(f"arith.cmpi ult, {d}, {c_half} : index")
        sgn = fb.op(f"arith.select {lo}, {m1}, {p1} : f32")
        xc = fb.op(f"arith.mulf {fb.to_f32(i[0], dt)}, {c} : f32")
        xs = fb.op(f"arith.mulf {fb.to_f32(xp, dt)}, {s_} : f32")
        xs2 = fb.op(f"arith.mulf {xs}, {sgn} : f32")
        return fb.from_f32(fb.op(f"arith.addf {xc}, {xs2} : f32"), dt)

    m = fb.ident_map(4)
    return fb.generic([x4], [m, m], fb.empty(x4.shape, dt), ["parallel"] * 4, body, "rope")


def _swiglu(fb, g, u):
    """silu(g) * u, computed in f32."""
    one = fb.cf32(1.0)
    dt = g.dtype

    def body(i, o):
        x = fb.to_f32(i[0], dt)
        n = fb.op(f"arith.negf {x} : f32")
        e = fb.op(f"math.exp {n} : f32")
        d = fb.op(f"arith.addf {e}, {one} : f32")
        s = fb.op(f"arith.divf {x}, {d} : f32")
        return fb.from_f32(fb.op(f"arith.mulf {s}, {fb.to_f32(i[1], dt)} : f32"), dt)

    return fb.elementwise([g, u], body, "swiglu")


def _linear(fb, cfg, h, i, name):
    """qc.linear `blk.i.name` (with its bias when the config has one)."""
    key = f"blk.{i}.{name}"
    b = fb.weight(key + ".bias") if name in cfg.biases else None
    return fb.linear(h, fb.weight(key, None), key, b)


def _mlp(fb, cfg, x, i):
    """x + ffn_down(silu(ffn_gate(h)) * ffn_up(h)), h = RMSNorm(x)."""
    h = fb.rms_norm(x, fb.weight(f"blk.{i}.ffn_norm"), cfg.rms_eps)
    g = _linear(fb, cfg, h, i, "ffn_gate")
    u = _linear(fb, cfg, h, i, "ffn_up")
    return fb.add(x, _linear(fb, cfg, _swiglu(fb, g, u), i, "ffn_down"))


def _block(fb, cfg, x, i, start):
    """One decoder block of @forward: x [T, E], positions start + t."""
    H, KV, D = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
    T = x.shape[0]
    h = fb.rms_norm(x, fb.weight(f"blk.{i}.attn_norm"), cfg.rms_eps)
    q = _linear(fb, cfg, h, i, "attn_q")
    k = _linear(fb, cfg, h, i, "attn_k")
    v = _linear(fb, cfg, h, i, "attn_v")
    inv = fb.weight("rope.inv_freq")
    qr = _rope(fb, fb.expand(q, "[[0], [1, 2]]", (T, H, D)), inv, start, D)
    kr = _rope(fb, fb.expand(k, "[[0], [1, 2]]", (T, KV, D)), inv, start, D)
    vt = fb.to_heads(v, KV, D)
    o = fb.attention(qr, kr, vt, 1.0 / math.sqrt(D), causal_start=start)
    x = fb.add(x, _linear(fb, cfg, fb.from_heads(o), i, "attn_output"))
    return _mlp(fb, cfg, x, i)


def _cached_block(fb, cfg, x, i, B, T, pos, kc, vc):
    """One decoder block of @decode: x [B*T, E]; the new keys/values go into
    the caches (qc.cache_write) and attention reads them back
    (qc.cache_attention). Returns (x, kc, vc)."""
    H, KV, D = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
    h = fb.rms_norm(x, fb.weight(f"blk.{i}.attn_norm"), cfg.rms_eps)
    q = _linear(fb, cfg, h, i, "attn_q")
    k = _linear(fb, cfg, h, i, "attn_k")
    v = _linear(fb, cfg, h, i, "attn_v")
    inv = fb.weight("rope.inv_freq")
    q4 = _rope_at(fb, fb.expand(q, "[[0, 1], [2, 3]]", (B, T, H, D)), inv, pos, D)
    k4 = _rope_at(fb, fb.expand(k, "[[0, 1], [2, 3]]", (B, T, KV, D)), inv, pos, D)
    v4 = fb.expand(v, "[[0, 1], [2, 3]]", (B, T, KV, D))
    kc = fb.cache_write(k4, kc, pos, i)
    vc = fb.cache_write(v4, vc, pos, i)
    o = fb.cache_attention(q4, kc, vc, pos, i, 1.0 / math.sqrt(D))
    o2 = fb.collapse(o, [[0, 1], [2, 3]])
    x = fb.add(x, _linear(fb, cfg, o2, i, "attn_output"))
    return _mlp(fb, cfg, x, i), kc, vc


def _last_rows(fb, x, B, T):
    """x [B*T, d] -> [B, d]: each sequence's last token (row b*T + T-1),
    gathered in a loop body so that only B rows reach the head."""
    d = x.shape[1]
    one = fb.cidx(1)

    def body(i, o):
        bb = fb.op("linalg.index 0 : index")
        j = fb.op("linalg.index 1 : index")
        bt = fb.op(f"arith.muli {bb}, {T} : index")
        e = fb.op(f"arith.addi {bt}, {T} : index")
        row = fb.op(f"arith.subi {e}, {one} : index")
        return fb.op(f"tensor.extract {x.name}[{row}, {j}] : {x.type}")

    return fb.generic([], ["(d0, d1) -> (d0, d1)"], fb.empty((B, d), x.dtype), ["parallel"] * 2,
                      body, "last")


def _head(fb, cfg, x):
    """Final norm and the LM head; logits in f32 whatever the activations."""
    x = fb.rms_norm(x, fb.weight("output_norm"), cfg.rms_eps)
    w = fb.weight("token_embd" if cfg.tied_embeddings else "output", None)
    return fb.cast(fb.linear(x, w, "output"), "f32")


def emit(cfg: LlamaConfig, weights, blob, blob_ref: str, max_seq: int = 512, upstream=False,
         embedding="f32", activations="f32"):
    """Builds @forward, @decode, @greedy (qc.argmax of @decode's logits) and
    @sample (qc.sample: temperature / top-k; both not in upstream mode);
    returns the list of FuncBuilders. `activations`
    (mlir_emit.ACTIVATIONS) is the element type of the residual stream, the
    matmul inputs and the KV caches; logits are f32.
    `weights(name)` returns the float32 array of a canonical weight name, or
    a `mlir_emit.Stored` (the checkpoint's f16/bf16 data): linear weights
    and the embedding table are written in that type, the rest widened to
    f32."""
    from ..mlir_emit import FuncBuilder, Val, greedy_function, sample_function, tensor_type

    D = cfg.head_dim
    inv = rope_inv_freq(cfg)

    def get(key):
        return inv if key == "rope.inv_freq" else weights(key)

    fwd = FuncBuilder("forward", [("%tokens", "tensor<?xi64>")], blob, blob_ref, get, upstream,
                      embedding, activations)
    T = fwd.op(f"tensor.dim %tokens, {fwd.cidx(0)} : tensor<?xi64>", "T")
    x = fwd.embedding_lookup("token_embd", Val("%tokens", (T,), "i64"))
    for i in range(cfg.n_layers):
        x = _block(fwd, cfg, x, i, fwd.cidx(0))
    fwd.ret([_head(fwd, cfg, x)])

    # @decode(tokens [B, T], pos [B], k_cache, v_cache) -> logits [B, V]:
    # B sequences, T new tokens each (T = 1 to decode, the prompt length to
    # prefill), sequence b's tokens at positions pos[b] .. pos[b] + T - 1.
    # The caches [L, B, KV, max_seq, D] are updated in place (the module
    # ABI drops the equivalent results: docs/module-format.md); nothing the
    # host runs depends on pos, so a step can be captured as a CUDA graph.
    L, KV = cfg.n_layers, cfg.n_kv_heads
    ctype = tensor_type((L, "?", KV, max_seq, D), activations)
    dec = FuncBuilder("decode", [("%tokens", "tensor<?x?xi64>"), ("%pos", "tensor<?xi64>"),
                                 ("%k_cache", ctype), ("%v_cache", ctype)],
                      blob, blob_ref, get, upstream, embedding, activations)
    B = dec.op(f"tensor.dim %tokens, {dec.cidx(0)} : tensor<?x?xi64>", "B")
    T = dec.op(f"tensor.dim %tokens, {dec.cidx(1)} : tensor<?x?xi64>", "T")
    x = dec.embedding_lookup("token_embd", dec.collapse(Val("%tokens", (B, T), "i64"), [[0, 1]]))
    pos = Val("%pos", (B,), "i64")
    kc = Val("%k_cache", (L, B, KV, max_seq, D), activations)
    vc = Val("%v_cache", (L, B, KV, max_seq, D), activations)
    for i in range(L):
        x, kc, vc = _cached_block(dec, cfg, x, i, B, T, pos, kc, vc)
    dec.ret([_head(dec, cfg, _last_rows(dec, x, B, T)), kc, vc])
    if upstream:
        return [fwd, dec]
    return [fwd, dec, greedy_function(cfg.vocab_size, blob, blob_ref),
            sample_function(cfg.vocab_size, blob, blob_ref)]


def emit_checkpoint(ck, blob, blob_ref: str, max_seq: int = 512, upstream=False,
                    embedding="f32", activations="f32"):
    """`emit` for a Llama-family Checkpoint (config dict + canonical
    tensors)."""
    cfg = LlamaConfig.from_dict(ck.config)
    if cfg.max_positions is not None and max_seq > cfg.max_positions:
        raise ModelImportError(
            f"{ck.source}: --max-seq {max_seq} is longer than the model's limit of "
            f"{cfg.max_positions} positions ({ck.meta.get('max_positions_why', 'config')}); "
            f"use --max-seq {cfg.max_positions} or less")
    return emit(cfg, ck.stored, blob, blob_ref, max_seq, upstream, embedding, activations)
