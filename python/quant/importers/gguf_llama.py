"""Llama-family GGUF importer (SmolLM2, Llama 2/3 layout).

Loading: every tensor is dequantized to float32 with the `gguf` package
(F32/F16/Q8_0/Q4_0/Q4_1/K-quants: whatever `gguf.quants` supports).

RoPE convention: llama.cpp's converter permutes the rows of attn_q/attn_k so
that its "normal" RoPE rotates adjacent pairs (x[2i], x[2i+1]). The loader
undoes that permutation, so the returned weights are in the Hugging Face
layout and use the rotate-half convention (pairs (x[i], x[i + D/2])), the
convention the emitted MLIR and `reference.py` use by default.
`reference.py` can also run the raw GGUF layout with the interleaved rotation
(`permuted_qk=True`); a test checks both agree.

Emission: see `emit_llama` (entry points `@forward` and `@decode`).
"""

from pathlib import Path

import numpy as np

from ..errors import ModelImportError
from . import Checkpoint

SUPPORTED_ARCHS = ("llama",)

#: Per-block tensors (GGUF names without the "blk.N." prefix / ".weight").
BLOCK_LINEARS = ("attn_q", "attn_k", "attn_v", "attn_output",
                 "ffn_gate", "ffn_up", "ffn_down")
BLOCK_NORMS = ("attn_norm", "ffn_norm")


def unpermute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """Inverse of llama.cpp's convert_hf_to_gguf `permute` on q/k rows."""
    rows = w.shape[0]
    return (w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def permute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's permutation (HF layout -> GGUF layout)."""
    rows = w.shape[0]
    return (w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def _field(reader, key, path, default=None, required=True):
    f = reader.fields.get(key)
    if f is None:
        if required and default is None:
            raise ModelImportError(f"{path}: GGUF metadata has no '{key}'")
        return default
    return f.contents()


def build_tokenizer(tokens, merges, token_types, path):
    """A `tokenizers` byte-level BPE from the GGUF vocabulary and merges."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    vocab = {t: i for i, t in enumerate(tokens)}
    if len(vocab) != len(tokens):
        raise ModelImportError(f"{path}: tokenizer vocabulary has duplicate tokens")
    pairs = []
    for m in merges:
        parts = m.split(" ")
        if len(parts) != 2:
            raise ModelImportError(f"{path}: malformed tokenizer merge '{m}'")
        if parts[0] not in vocab or parts[1] not in vocab or parts[0] + parts[1] not in vocab:
            raise ModelImportError(f"{path}: tokenizer merge '{m}' uses or makes a token "
                                   "that is not in the vocabulary")
        pairs.append((parts[0], parts[1]))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs, fuse_unk=False))
    # llama.cpp pre-tokenizer "smollm" (as the HF tokenizer.json): split
    # digits one by one, then GPT-2's byte-level regex.
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    # Control tokens (type 3) such as <|im_start|> are matched whole.
    special = [tokens[i] for i, ty in enumerate(token_types) if ty == 3]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False)
                            for s in special])
    return tok


_READERS = {}


def _open_reader(path: Path):
    """GGUFReader, cached per file: parsing a 49k-token vocabulary takes
    seconds, and tests load the same file several times."""
    import gguf
    try:
        key = (str(path.resolve()), path.stat().st_mtime_ns)
        if key not in _READERS:
            _READERS.clear()
            _READERS[key] = gguf.GGUFReader(str(path))
        return _READERS[key]
    except Exception as e:
        raise ModelImportError(f"{path}: not a readable GGUF file ({e})") from e


def load_gguf(path, layers=None, keep_gguf_qk=False) -> Checkpoint:
    try:
        import gguf
    except ImportError as e:  # pragma: no cover
        raise ModelImportError("the 'gguf' package is needed to read GGUF files "
                               "(pip install gguf)") from e
    path = Path(path)
    reader = _open_reader(path)

    arch = _field(reader, "general.architecture", path)
    if arch not in SUPPORTED_ARCHS:
        raise ModelImportError(
            f"{path}: unknown architecture '{arch}' (supported: "
            f"{', '.join(SUPPORTED_ARCHS)})")
    a = arch
    n_layers = int(_field(reader, f"{a}.block_count", path))
    dim = int(_field(reader, f"{a}.embedding_length", path))
    n_head = int(_field(reader, f"{a}.attention.head_count", path))
    n_kv = int(_field(reader, f"{a}.attention.head_count_kv", path, default=n_head))
    cfg = {
        "n_layers": n_layers,
        "dim": dim,
        "ffn_dim": int(_field(reader, f"{a}.feed_forward_length", path)),
        "n_heads": n_head,
        "n_kv_heads": n_kv,
        "head_dim": dim // n_head,
        "rope_theta": float(_field(reader, f"{a}.rope.freq_base", path, default=10000.0)),
        "rms_eps": float(_field(reader, f"{a}.attention.layer_norm_rms_epsilon", path)),
        "context_length": int(_field(reader, f"{a}.context_length", path, default=2048)),
    }
    rope_dims = _field(reader, f"{a}.rope.dimension_count", path, required=False)
    if rope_dims is not None and int(rope_dims) != cfg["head_dim"]:
        raise ModelImportError(
            f"{path}: partial RoPE ({rope_dims} of {cfg['head_dim']} dims) is not supported")
    if dim % n_head or n_head % n_kv:
        raise ModelImportError(f"{path}: inconsistent head counts ({n_head} heads, "
                               f"{n_kv} kv heads, dim {dim})")
    if layers is not None:
        if not 1 <= layers <= n_layers:
            raise ModelImportError(f"{path}: --layers {layers} out of range 1..{n_layers}")
        cfg["n_layers"] = layers
    cfg["total_layers"] = n_layers

    byname = {t.name: t for t in reader.tensors}

    def get(name):
        t = byname.get(name)
        if t is None:
            raise ModelImportError(f"{path}: missing tensor '{name}'")
        try:
            w = gguf.quants.dequantize(t.data, t.tensor_type)
        except NotImplementedError as e:
            raise ModelImportError(
                f"{path}: tensor '{name}' has unsupported type {t.tensor_type.name}") from e
        shape = tuple(int(s) for s in reversed(t.shape))
        return np.ascontiguousarray(w.reshape(shape), dtype=np.float32)

    tensors = {"token_embd": get("token_embd.weight"),
               "output_norm": get("output_norm.weight")}
    cfg["tied_embeddings"] = "output.weight" not in byname
    if not cfg["tied_embeddings"]:
        tensors["output"] = get("output.weight")
    for i in range(cfg["n_layers"]):
        for n in BLOCK_LINEARS + BLOCK_NORMS:
            tensors[f"blk.{i}.{n}"] = get(f"blk.{i}.{n}.weight")
        if not keep_gguf_qk:
            tensors[f"blk.{i}.attn_q"] = unpermute_qk(tensors[f"blk.{i}.attn_q"], n_head)
            tensors[f"blk.{i}.attn_k"] = unpermute_qk(tensors[f"blk.{i}.attn_k"], n_kv)

    vocab_rows = tensors["token_embd"].shape[0]
    cfg["vocab_size"] = vocab_rows
    # Shape checks: a file whose tensors disagree with its metadata.
    hd = cfg["head_dim"]
    expect = {"token_embd": (vocab_rows, dim), "output_norm": (dim,)}
    for i in range(cfg["n_layers"]):
        b = f"blk.{i}."
        expect.update({b + "attn_q": (n_head * hd, dim), b + "attn_k": (n_kv * hd, dim),
                       b + "attn_v": (n_kv * hd, dim), b + "attn_output": (dim, n_head * hd),
                       b + "ffn_gate": (cfg["ffn_dim"], dim), b + "ffn_up": (cfg["ffn_dim"], dim),
                       b + "ffn_down": (dim, cfg["ffn_dim"]), b + "attn_norm": (dim,),
                       b + "ffn_norm": (dim,)})
    for n, s in expect.items():
        if tensors[n].shape != s:
            raise ModelImportError(f"{path}: tensor '{n}' has shape {tensors[n].shape}, "
                                   f"expected {s}")

    tok_model = _field(reader, "tokenizer.ggml.model", path)
    if tok_model != "gpt2":
        raise ModelImportError(f"{path}: unsupported tokenizer model '{tok_model}' "
                               "(only byte-level BPE 'gpt2')")
    tokens = _field(reader, "tokenizer.ggml.tokens", path)
    merges = _field(reader, "tokenizer.ggml.merges", path)
    types = _field(reader, "tokenizer.ggml.token_type", path, default=[1] * len(tokens))
    if len(tokens) != vocab_rows:
        raise ModelImportError(
            f"{path}: tokenizer has {len(tokens)} tokens but token_embd has "
            f"{vocab_rows} rows")
    tok = build_tokenizer(tokens, merges, types, path)
    meta = {
        "bos_token_id": _field(reader, "tokenizer.ggml.bos_token_id", path, required=False),
        "eos_token_id": _field(reader, "tokenizer.ggml.eos_token_id", path, required=False),
        "chat_template": _field(reader, "tokenizer.chat_template", path, required=False),
        "name": _field(reader, "general.name", path, required=False),
        "qk_layout": "gguf" if keep_gguf_qk else "hf",
    }
    return Checkpoint("llama", cfg, tensors, tok, path, meta)


def linear_layers(ck: Checkpoint):
    names = [f"blk.{i}.{n}" for i in range(ck.config["n_layers"]) for n in BLOCK_LINEARS]
    return names + ["output"]


# --- MLIR emission -----------------------------------------------------------

def _rope(fb, x3, inv_freq, start, hd):
    """[T, nh, D] -> [nh, T, D] with rotate-half RoPE at positions start + t."""
    T, nh, _ = x3.shape
    half = hd // 2
    out = fb.empty((nh, T, hd))
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
        xc = fb.op(f"arith.mulf {i[0]}, {c} : f32")
        xs = fb.op(f"arith.mulf {xp}, {s} : f32")
        xs2 = fb.op(f"arith.mulf {xs}, {sgn} : f32")
        return fb.op(f"arith.addf {xc}, {xs2} : f32")

    return fb.generic([x3], ["(d0, d1, d2) -> (d1, d0, d2)", "(d0, d1, d2) -> (d0, d1, d2)"],
                      out, ["parallel"] * 3, body, "rope")


def _rope_at(fb, x4, inv_freq, pos, hd):
    """[B, T, nh, D] -> [B, T, nh, D], rotate-half RoPE at positions
    pos[b] + t; `pos` (tensor<?xi64>) is read inside the loop body, so the
    host never needs its value (device-resident decode, CUDA graphs)."""
    half = hd // 2
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
        xc = fb.op(f"arith.mulf {i[0]}, {c} : f32")
        xs = fb.op(f"arith.mulf {xp}, {s_} : f32")
        xs2 = fb.op(f"arith.mulf {xs}, {sgn} : f32")
        return fb.op(f"arith.addf {xc}, {xs2} : f32")

    m = fb.ident_map(4)
    return fb.generic([x4], [m, m], fb.empty(x4.shape), ["parallel"] * 4, body, "rope")


def _cached_block(fb, ck, x, i, B, T, pos, kc, vc):
    """One decoder block of @decode: x [B*T, d]; the new keys/values go into
    the caches (qc.cache_write) and attention reads them back
    (qc.cache_attention). Returns (x, kc, vc)."""
    import math
    c = ck.config
    H, KV, D = c["n_heads"], c["n_kv_heads"], c["head_dim"]
    b = f"blk.{i}."
    h = fb.rms_norm(x, fb.weight(b + "attn_norm"), c["rms_eps"])
    q = fb.linear(h, fb.weight(b + "attn_q"), b + "attn_q")
    k = fb.linear(h, fb.weight(b + "attn_k"), b + "attn_k")
    v = fb.linear(h, fb.weight(b + "attn_v"), b + "attn_v")
    inv = fb.weight("rope.inv_freq")
    q4 = _rope_at(fb, fb.expand(q, "[[0, 1], [2, 3]]", (B, T, H, D)), inv, pos, D)
    k4 = _rope_at(fb, fb.expand(k, "[[0, 1], [2, 3]]", (B, T, KV, D)), inv, pos, D)
    v4 = fb.expand(v, "[[0, 1], [2, 3]]", (B, T, KV, D))
    kc = fb.cache_write(k4, kc, pos, i)
    vc = fb.cache_write(v4, vc, pos, i)
    o = fb.cache_attention(q4, kc, vc, pos, i, 1.0 / math.sqrt(D))
    o2 = fb.collapse(o, [[0, 1], [2, 3]])
    x = fb.add(x, fb.linear(o2, fb.weight(b + "attn_output"), b + "attn_output"))
    h = fb.rms_norm(x, fb.weight(b + "ffn_norm"), c["rms_eps"])
    g = fb.linear(h, fb.weight(b + "ffn_gate"), b + "ffn_gate")
    u = fb.linear(h, fb.weight(b + "ffn_up"), b + "ffn_up")
    x = fb.add(x, fb.linear(_swiglu(fb, g, u), fb.weight(b + "ffn_down"), b + "ffn_down"))
    return x, kc, vc


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

    return fb.generic([], ["(d0, d1) -> (d0, d1)"], fb.empty((B, d)), ["parallel"] * 2, body,
                      "last")


def _swiglu(fb, g, u):
    one = fb.cf32(1.0)

    def body(i, o):
        n = fb.op(f"arith.negf {i[0]} : f32")
        e = fb.op(f"math.exp {n} : f32")
        d = fb.op(f"arith.addf {e}, {one} : f32")
        s = fb.op(f"arith.divf {i[0]}, {d} : f32")
        return fb.op(f"arith.mulf {s}, {i[1]} : f32")

    return fb.elementwise([g, u], body, "swiglu")


def _block(fb, ck, x, i, start, cache=None):
    """One decoder block; `cache` = (k_cache, v_cache, pos, S) for decode.
    Returns (x, cache)."""
    c = ck.config
    H, KV, D = c["n_heads"], c["n_kv_heads"], c["head_dim"]
    b = f"blk.{i}."
    T = x.shape[0]
    h = fb.rms_norm(x, fb.weight(b + "attn_norm"), c["rms_eps"])
    q = fb.linear(h, fb.weight(b + "attn_q"), b + "attn_q")
    k = fb.linear(h, fb.weight(b + "attn_k"), b + "attn_k")
    v = fb.linear(h, fb.weight(b + "attn_v"), b + "attn_v")
    inv = fb.weight("rope.inv_freq")
    qr = _rope(fb, fb.expand(q, "[[0], [1, 2]]", (T, H, D)), inv, start, D)
    kr = _rope(fb, fb.expand(k, "[[0], [1, 2]]", (T, KV, D)), inv, start, D)
    vt = fb.to_heads(v, KV, D)
    if cache is None:
        kk, vv = kr, vt
    else:
        # Keys/values of positions 0..pos-1 come from the caller's caches
        # (read only); this token's are appended. The caches are never
        # written: @decode returns the new rows and the caller stores them.
        kc, vc, pos, S, rows = cache
        from ..mlir_emit import Val
        # Written as linalg.generic with tensor.extract rather than
        # extract_slice/insert_slice: strided slice copies would bufferize
        # to memref.copy calls (a runtime library dependency).
        full = []
        for new, cc in ((kr, kc), (vt, vc)):
            def asm(ins, o, new=new, cc=cc):
                k = fb.op("linalg.index 0 : index")
                j = fb.op("linalg.index 1 : index")
                d = fb.op("linalg.index 2 : index")
                old = fb.op(f"tensor.extract {cc.name}[{fb.cidx(i)}, {k}, {j}, {d}] : {cc.type}")
                cur = fb.op(f"tensor.extract {new.name}[{k}, {fb.cidx(0)}, {d}] : {new.type}")
                past = fb.op(f"arith.cmpi ult, {j}, {pos} : index")
                return fb.op(f"arith.select {past}, {old}, {cur} : f32")
            full.append(fb.generic([], ["(d0, d1, d2) -> (d0, d1, d2)"], fb.empty((KV, S, D)),
                                   ["parallel"] * 3, asm, "kv"))
        kk, vv = full
        newrows = []
        m4 = "(d0, d1, d2, d3) -> (d0, d1, d2, d3)"
        for new, acc in ((kr, rows[0]), (vt, rows[1])):
            def put(ins, o, new=new):
                layer = fb.op("linalg.index 0 : index")
                k = fb.op("linalg.index 1 : index")
                d = fb.op("linalg.index 3 : index")
                cur = fb.op(f"tensor.extract {new.name}[{k}, {fb.cidx(0)}, {d}] : {new.type}")
                here = fb.op(f"arith.cmpi eq, {layer}, {fb.cidx(i)} : index")
                return fb.op(f"arith.select {here}, {cur}, {ins[0]} : f32")
            newrows.append(fb.generic([acc], [m4, m4], fb.empty(acc.shape), ["parallel"] * 4,
                                      put, "rows"))
        cache = (kc, vc, pos, S, newrows)
    import math
    o = fb.attention(qr, kk, vv, 1.0 / math.sqrt(D), causal_start=start)
    o2 = fb.from_heads(o)
    x = fb.add(x, fb.linear(o2, fb.weight(b + "attn_output"), b + "attn_output"))
    h = fb.rms_norm(x, fb.weight(b + "ffn_norm"), c["rms_eps"])
    g = fb.linear(h, fb.weight(b + "ffn_gate"), b + "ffn_gate")
    u = fb.linear(h, fb.weight(b + "ffn_up"), b + "ffn_up")
    x = fb.add(x, fb.linear(_swiglu(fb, g, u), fb.weight(b + "ffn_down"), b + "ffn_down"))
    return x, cache


def _head(fb, ck, x):
    c = ck.config
    x = fb.rms_norm(x, fb.weight("output_norm"), c["rms_eps"])
    w = fb.weight("token_embd" if c["tied_embeddings"] else "output")
    return fb.linear(x, w, "output")


def emit_llama(ck: Checkpoint, blob, blob_ref: str, max_seq: int = 512, upstream=False,
               embedding="f32"):
    """Builds @forward, @decode and @greedy (qc.argmax of @decode's logits;
    not in upstream mode); returns the list of FuncBuilders."""
    from ..mlir_emit import FuncBuilder, Val, greedy_function, tensor_type

    c = ck.config
    D = c["head_dim"]
    inv = (1.0 / (c["rope_theta"] ** (np.arange(0, D, 2, dtype=np.float64) / D))).astype(np.float32)

    def weights(key):
        return inv if key == "rope.inv_freq" else ck.tensor(key)

    V = c["vocab_size"]
    fwd = FuncBuilder("forward", [("%tokens", "tensor<?xi64>")], blob, blob_ref, weights, upstream,
                      embedding)
    T = fwd.op(f"tensor.dim %tokens, {fwd.cidx(0)} : tensor<?xi64>", "T")
    toks = Val("%tokens", (T,), "i64")
    x = fwd.embedding_lookup("token_embd", toks)
    for i in range(c["n_layers"]):
        x, _ = _block(fwd, ck, x, i, fwd.cidx(0))
    fwd.ret([_head(fwd, ck, x)])

    # @decode(tokens [B, T], pos [B], k_cache, v_cache) -> logits [B, V]:
    # B sequences, T new tokens each (T = 1 to decode, the prompt length to
    # prefill), sequence b's tokens at positions pos[b] .. pos[b] + T - 1.
    # The caches [L, B, KV, max_seq, D] are updated in place (the module
    # ABI drops the equivalent results: docs/module-format.md); nothing the
    # host runs depends on pos, so a step can be captured as a CUDA graph.
    L, KV = c["n_layers"], c["n_kv_heads"]
    cshape = (L, "?", KV, max_seq, D)
    ctype = tensor_type(cshape)
    dec = FuncBuilder("decode", [("%tokens", "tensor<?x?xi64>"), ("%pos", "tensor<?xi64>"),
                                 ("%k_cache", ctype), ("%v_cache", ctype)],
                      blob, blob_ref, weights, upstream, embedding)
    B = dec.op(f"tensor.dim %tokens, {dec.cidx(0)} : tensor<?x?xi64>", "B")
    T = dec.op(f"tensor.dim %tokens, {dec.cidx(1)} : tensor<?x?xi64>", "T")
    toks = dec.collapse(Val("%tokens", (B, T), "i64"), [[0, 1]])
    x = dec.embedding_lookup("token_embd", toks)
    pos = Val("%pos", (B,), "i64")
    kc, vc = Val("%k_cache", (L, B, KV, max_seq, D)), Val("%v_cache", (L, B, KV, max_seq, D))
    for i in range(L):
        x, kc, vc = _cached_block(dec, ck, x, i, B, T, pos, kc, vc)
    dec.ret([_head(dec, ck, _last_rows(dec, x, B, T)), kc, vc])
    if upstream:
        return [fwd, dec]
    return [fwd, dec, greedy_function(V, blob, blob_ref)]
