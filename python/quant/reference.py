"""Independent numpy reference forward passes (float64 by default).

Written from the architectures' definitions, not from the MLIR emitter: the
compiled modules are checked against these functions.

- Llama family: RMSNorm, RoPE (checkpoint theta, Llama-3 or linear
  frequency scaling; rotate-half convention on HF-layout q/k, or the
  interleaved convention on GGUF-layout q/k), grouped query attention,
  optional projection biases (Qwen2), SwiGLU MLP, tied or untied output
  embedding; a model with a position limit (Mistral's sliding window) refuses
  longer sequences.
- BERT: word + absolute position + token type embeddings, post-LN encoder
  layers, exact (erf) GELU, mean pooling + L2 normalization (sentence
  embeddings of all-MiniLM-L6-v2).
"""

import math

import numpy as np

from .importers import Checkpoint


# --- Llama ------------------------------------------------------------------

def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def scaled_frequency(freq, scaling):
    """One RoPE frequency under the checkpoint's `rope_scaling`: Meta's
    `apply_scaling` of Llama 3.1 (high frequencies kept, low ones divided by
    the factor, a linear blend in between), or linear scaling."""
    if not scaling:
        return freq
    factor = scaling["factor"]
    if scaling["rope_type"] == "linear":
        return freq / factor
    assert scaling["rope_type"] == "llama3", scaling
    old = scaling["original_max_position_embeddings"]
    low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
    wavelen = 2 * math.pi / freq
    if wavelen < old / high:
        return freq
    if wavelen > old / low:
        return freq / factor
    smooth = (old / wavelen - low) / (high - low)
    return (1 - smooth) * freq / factor + smooth * freq


def rope_angles(positions, head_dim, theta, dtype=np.float64, scaling=None):
    inv_freq = np.array([scaled_frequency(theta ** (-2.0 * i / head_dim), scaling)
                         for i in range(head_dim // 2)], dtype=np.float64)
    return (np.asarray(positions, dtype=np.float64)[:, None] * inv_freq[None, :]).astype(dtype)


def apply_rope(x, ang, interleaved=False):
    """x: [T, H, D]; ang: [T, D/2]. Rotates pairs (i, i+D/2) (rotate-half,
    HF layout) or (2i, 2i+1) (interleaved, GGUF layout)."""
    c = np.cos(ang)[:, None, :]
    s = np.sin(ang)[:, None, :]
    if interleaved:
        x1, x2 = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = x1 * c - x2 * s
        out[..., 1::2] = x2 * c + x1 * s
        return out
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)


def silu(x):
    return x / (1.0 + np.exp(-x))


class KVCache:
    """Per-layer keys/values [KV, S, D] of the tokens seen so far."""

    def __init__(self, n_layers):
        self.k = [None] * n_layers
        self.v = [None] * n_layers

    @property
    def length(self):
        return 0 if self.k[0] is None else self.k[0].shape[1]


def llama_forward(ck: Checkpoint, tokens, dtype=np.float64, permuted_qk=None,
                  cache: KVCache = None, taps=None):
    """Logits [T, vocab] for `tokens` (positions continue after `cache`).

    `permuted_qk`: the checkpoint's q/k rows are in llama.cpp's layout (use
    the interleaved rotation); defaults to the checkpoint's own layout.
    `taps`: optional dict that receives intermediate activations by name.
    """
    c = ck.config
    tokens = np.asarray(tokens, dtype=np.int64)
    if tokens.ndim != 1 or tokens.size == 0:
        raise ValueError("tokens must be a non-empty 1-D sequence")
    if tokens.min() < 0 or tokens.max() >= c["vocab_size"]:
        raise ValueError(f"token id out of range 0..{c['vocab_size'] - 1}")
    if permuted_qk is None:
        permuted_qk = ck.meta.get("qk_layout") == "gguf"
    W = lambda n: ck.tensors[n].astype(dtype, copy=False)
    H, KV, D = c["n_heads"], c["n_kv_heads"], c["head_dim"]
    G = H // KV
    eps = c["rms_eps"]
    T = tokens.size
    start = cache.length if cache is not None else 0
    limit = c.get("max_positions")
    if limit is not None and start + T > limit:
        raise ValueError(f"{start + T} positions exceed the model's limit of {limit}")
    ang = rope_angles(np.arange(start, start + T), D, c["rope_theta"], dtype,
                      c.get("rope_scaling"))
    x = W("token_embd")[tokens]

    def lin(h, name):
        y = h @ W(name).T
        return y + W(name + ".bias") if name + ".bias" in ck.tensors else y

    for i in range(c["n_layers"]):
        b = f"blk.{i}."
        h = rms_norm(x, W(b + "attn_norm"), eps)
        q = lin(h, b + "attn_q").reshape(T, H, D)
        k = lin(h, b + "attn_k").reshape(T, KV, D)
        v = lin(h, b + "attn_v").reshape(T, KV, D)
        q = apply_rope(q, ang, interleaved=permuted_qk)
        k = apply_rope(k, ang, interleaved=permuted_qk)
        # (GGUF layout: q and k rows share one permutation per head, which
        # leaves q.k unchanged; v and the outputs are not permuted.)
        k = k.transpose(1, 0, 2)  # [KV, T, D]
        v = v.transpose(1, 0, 2)
        if cache is not None:
            if cache.k[i] is not None:
                k = np.concatenate([cache.k[i], k], axis=1)
                v = np.concatenate([cache.v[i], v], axis=1)
            cache.k[i], cache.v[i] = k, v
        S = k.shape[1]
        qh = q.transpose(1, 0, 2).reshape(KV, G, T, D)
        scores = np.einsum("kgtd,ksd->kgts", qh, k) / math.sqrt(D)
        # Query t (absolute position start + t) sees keys 0..start + t.
        mask = np.arange(S)[None, :] > (start + np.arange(T))[:, None]
        scores = np.where(mask, -np.inf, scores)
        scores = scores - scores.max(axis=-1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=-1, keepdims=True)
        o = np.einsum("kgts,ksd->kgtd", p, v).reshape(H, T, D).transpose(1, 0, 2)
        o = o.reshape(T, H * D)
        x = x + lin(o, b + "attn_output")
        h = rms_norm(x, W(b + "ffn_norm"), eps)
        m = silu(lin(h, b + "ffn_gate")) * lin(h, b + "ffn_up")
        x = x + lin(m, b + "ffn_down")
        if taps is not None:
            taps[f"blk.{i}"] = x
    x = rms_norm(x, W("output_norm"), eps)
    out_w = W("token_embd") if c["tied_embeddings"] else W("output")
    return x @ out_w.T


def log_softmax(logits):
    m = logits.max(axis=-1, keepdims=True)
    return logits - m - np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))


def nll(logits, tokens):
    """Summed negative log-likelihood of tokens[1:] given logits[:-1]."""
    lp = log_softmax(np.asarray(logits, dtype=np.float64))
    return -float(lp[np.arange(len(tokens) - 1), np.asarray(tokens[1:])].sum())


def perplexity(forward, token_ids, window, max_windows=None, progress=False):
    """exp(mean NLL) over non-overlapping windows of `window` tokens.

    `forward(tokens) -> logits [T, vocab]`; every window predicts its tokens
    1..window-1 from the preceding ones in the window.
    """
    ids = np.asarray(token_ids, dtype=np.int64)
    n = len(ids) // window
    if max_windows is not None:
        n = min(n, max_windows)
    if n == 0:
        raise ValueError(f"text has {len(ids)} tokens, fewer than one window of {window}")
    it = range(n)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="perplexity", unit="window")
    total, count = 0.0, 0
    for w in it:
        seq = ids[w * window:(w + 1) * window]
        total += nll(forward(seq), seq)
        count += len(seq) - 1
    return math.exp(total / count), count


def greedy_generate(ck: Checkpoint, prompt_ids, n_new, dtype=np.float32, stop=None):
    """Greedy decoding with a KV cache; returns the new token ids."""
    cache = KVCache(ck.config["n_layers"])
    logits = llama_forward(ck, prompt_ids, dtype=dtype, cache=cache)
    out = []
    for _ in range(n_new):
        t = int(np.argmax(logits[-1]))
        out.append(t)
        if stop is not None and t in stop:
            break
        logits = llama_forward(ck, [t], dtype=dtype, cache=cache)
    return out


# --- BERT -------------------------------------------------------------------

def layer_norm(x, w, b, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu(x):
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return 0.5 * x * (1.0 + erf(np.asarray(x, dtype=np.float64) / math.sqrt(2.0))).astype(x.dtype)


def bert_forward(ck: Checkpoint, tokens, dtype=np.float64, token_types=None):
    """Last hidden states [T, hidden] of one unpadded sequence."""
    c = ck.config
    tokens = np.asarray(tokens, dtype=np.int64)
    T = tokens.size
    if T == 0 or T > c["max_positions"]:
        raise ValueError(f"sequence length {T} out of range 1..{c['max_positions']}")
    if tokens.min() < 0 or tokens.max() >= c["vocab_size"]:
        raise ValueError(f"token id out of range 0..{c['vocab_size'] - 1}")
    W = lambda n: ck.tensors[n].astype(dtype, copy=False)
    tt = np.zeros(T, np.int64) if token_types is None else np.asarray(token_types)
    x = (W("embeddings.word_embeddings")[tokens] + W("embeddings.position_embeddings")[:T]
         + W("embeddings.token_type_embeddings")[tt])
    eps = c["ln_eps"]
    x = layer_norm(x, W("embeddings.LayerNorm.weight"), W("embeddings.LayerNorm.bias"), eps)
    H, D = c["n_heads"], c["head_dim"]

    def lin(h, n):
        return h @ W(n + ".weight").T + W(n + ".bias")

    for i in range(c["n_layers"]):
        b = f"encoder.layer.{i}."
        q = lin(x, b + "attention.self.query").reshape(T, H, D).transpose(1, 0, 2)
        k = lin(x, b + "attention.self.key").reshape(T, H, D).transpose(1, 0, 2)
        v = lin(x, b + "attention.self.value").reshape(T, H, D).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(D)
        s = s - s.max(axis=-1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=-1, keepdims=True)
        o = (p @ v).transpose(1, 0, 2).reshape(T, H * D)
        x = layer_norm(x + lin(o, b + "attention.output.dense"),
                       W(b + "attention.output.LayerNorm.weight"),
                       W(b + "attention.output.LayerNorm.bias"), eps)
        m = gelu(lin(x, b + "intermediate.dense"))
        x = layer_norm(x + lin(m, b + "output.dense"), W(b + "output.LayerNorm.weight"),
                       W(b + "output.LayerNorm.bias"), eps)
    return x


def bert_embed(ck: Checkpoint, tokens, dtype=np.float64):
    """Sentence embedding: mean over tokens, L2-normalized."""
    h = bert_forward(ck, tokens, dtype=dtype)
    e = h.mean(axis=0)
    return e / np.linalg.norm(e)


def embed_text(ck: Checkpoint, text, dtype=np.float64):
    return bert_embed(ck, ck.tokenizer.encode(text).ids, dtype=dtype)


# --- Sampling (qc.sample's documented recipe, QCOps.td) ----------------------

_U64 = np.uint64


def _mix(z):
    """splitmix64 on uint64 arrays (wrapping)."""
    with np.errstate(over="ignore"):
        z = z + _U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        return z ^ (z >> _U64(31))


def ordered_keys(logits):
    """uint32 keys whose order is the IEEE total order of the f32 values."""
    b = np.ascontiguousarray(logits, dtype=np.float32).view(np.uint32)
    return np.where(b >> 31, ~b, b | np.uint32(0x80000000))


def sample_scores(logits, temperature, top_k, seed, pos):
    """The scores qc.sample maximizes, in float64: l / T + Gumbel noise on
    the top-k (every tie of the k-th kept), -inf elsewhere. `logits` [B, V],
    `pos` [B]."""
    lg = np.asarray(logits, dtype=np.float32)
    B, V = lg.shape
    keys = ordered_keys(lg).astype(np.int64)
    k = top_k if 0 < top_k < V else V
    tau = -np.sort(-keys, axis=1)[:, k - 1:k]
    r = _mix(_mix(_U64(seed)) ^ ((np.arange(B, dtype=_U64) << _U64(32)) |
                                  np.asarray(pos, dtype=np.int64).astype(_U64)))
    h = _mix(r[:, None] ^ np.arange(V, dtype=_U64)[None, :])
    u = ((h >> _U64(41)).astype(np.float32) + np.float32(0.5)) * np.float32(2.0 ** -23)
    g = -np.log(-np.log(u.astype(np.float64)))
    s = lg.astype(np.float64) / np.float64(np.float32(temperature)) + g
    return np.where(keys >= tau, s, -np.inf)


def sample_tokens(logits, temperature, top_k, seed, pos):
    """qc.sample in numpy: [B] token ids (greedy argmax when temperature is
    not > 0)."""
    lg = np.asarray(logits, dtype=np.float32)
    if not temperature > 0:
        return np.argmax(lg, axis=1)
    return np.argmax(sample_scores(lg, temperature, top_k, seed, pos), axis=1)


def sample_generate(ck, prompt_ids, n_new, temperature, top_k, seed, dtype=np.float64):
    """Sampled generation with qc.sample's recipe: the token at position p
    is sample_tokens(logits of the tokens before it, ..., pos=p)."""
    ids, out = list(prompt_ids), []
    for _ in range(n_new):
        lg = llama_forward(ck, ids, dtype=dtype)[-1:]
        t = int(sample_tokens(lg, temperature, top_k, seed, [len(ids)])[0])
        out.append(t)
        ids.append(t)
    return out
