"""Llama-family GGUF importer (SmolLM2, Llama 2/3 layout).

Loading: F32, F16 and BF16 tensors are read as stored, each through its
own read-only memory map of the file (the import copies them into the
weight blob without widening; the reader's map of the whole file is not
touched, so pages read stay out of the process once a tensor is written);
quantized tensors (Q8_0/Q4_0/Q4_1/K-quants: whatever `gguf.quants`
supports) are dequantized to float32 one at a time, also when emitted,
unless the import keeps them (`--quantized keep`: the block linears of a
type gguf_quants.py maps onto a qc grid become packed weights).

RoPE convention: llama.cpp's converter permutes the rows of attn_q/attn_k so
that its "normal" RoPE rotates adjacent pairs (x[2i], x[2i+1]). The loader
undoes that permutation, so the returned weights are in the Hugging Face
layout and use the rotate-half convention (pairs (x[i], x[i + D/2])), the
convention the emitted MLIR and `reference.py` use by default.
`reference.py` can also run the raw GGUF layout with the interleaved rotation
(`permuted_qk=True`); a test checks both agree.

The graph (`@forward`, `@decode`) is the Llama family's, shared with the
Hugging Face importer: `llama_graph.emit`.
"""

from pathlib import Path

import numpy as np

from ..errors import ModelImportError
from . import Checkpoint
from .gguf_quants import KEPT_TYPES, to_packed
from .llama_graph import BLOCK_LINEARS, BLOCK_NORMS, LlamaConfig

SUPPORTED_ARCHS = ("llama",)


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


def _rows(p, transform):
    """A `Packed` weight with a row permutation `transform` applied to its
    codes, scales and zero points (rows stay whole in row_major bytes)."""
    from ..mlir_emit import Packed
    n = p.shape[0]
    return Packed(np.ascontiguousarray(transform(p.data.reshape(n, -1))).reshape(-1),
                  np.ascontiguousarray(transform(p.scales)),
                  None if p.zeros is None else np.ascontiguousarray(transform(p.zeros)),
                  p.scheme, p.shape, p.bits)


def load_gguf(path, layers=None, keep_gguf_qk=False, keep_quantized=False) -> Checkpoint:
    """Reads a Llama-family GGUF. With `keep_quantized`, the block linears
    stored in a type of gguf_quants.KEPT_TYPES come as `mlir_emit.Packed`
    (their exact grid) from `Checkpoint.stored`; `Checkpoint.tensor`
    dequantizes as always."""
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
    from ..mlir_emit import Stored
    T = gguf.GGMLQuantizationType
    #: GGML types kept as stored -> their element type.
    plain = {T.F32: "f32", T.F16: "f16", T.BF16: "bf16"}

    def mapped(t):
        """The tensor's bytes as its own read-only memory map, of the dtype
        and shape of `t.data` (one map per tensor: unmapped when dropped)."""
        if t.n_bytes == 0:
            return np.zeros(t.data.shape, t.data.dtype)
        return np.memmap(path, dtype=t.data.dtype, mode="r", offset=t.data_offset,
                         shape=t.data.shape)

    def raw(name, transform=None, keep=False):
        """The tensor as stored (F32/F16/BF16; BF16 as uint16 bits), with
        `keep` a quantized one in its grid (`Packed`), else dequantized to
        f32, then `transform`ed (a row permutation: exact in any type)."""
        t = byname[name]
        if keep and t.tensor_type.name in KEPT_TYPES:
            p = to_packed(mapped(t), t.tensor_type.name,
                          tuple(int(d) for d in reversed(t.shape)))
            if p is not None:
                return p if transform is None else _rows(p, transform)
        if t.tensor_type not in plain:
            s = Stored(get(name), "f32")
        else:
            a = mapped(t)
            if t.tensor_type == T.BF16:  # the reader gives BF16 as bytes
                a = a.view("<u2")
            s = Stored(a.reshape(tuple(int(d) for d in reversed(t.shape))),
                       plain[t.tensor_type])
        return s if transform is None else Stored(transform(s.data), s.dtype)

    def get(name):
        t = byname.get(name)
        if t is None:
            raise ModelImportError(f"{path}: missing tensor '{name}'")
        try:
            w = gguf.quants.dequantize(mapped(t), t.tensor_type)
        except NotImplementedError as e:
            raise ModelImportError(
                f"{path}: tensor '{name}' has unsupported type {t.tensor_type.name}") from e
        shape = tuple(int(s) for s in reversed(t.shape))
        return np.ascontiguousarray(w.reshape(shape), dtype=np.float32)

    def shape_of(name):
        t = byname.get(name)
        if t is None:
            raise ModelImportError(f"{path}: missing tensor '{name}'")
        try:  # the type's dequantizer on the first row: errors now, not at emit
            gguf.quants.dequantize(t.data[:1], t.tensor_type)
        except NotImplementedError as e:
            raise ModelImportError(
                f"{path}: tensor '{name}' has unsupported type {t.tensor_type.name}") from e
        return tuple(int(s) for s in reversed(t.shape))

    # Read when emitted, one tensor at a time: `loaders` dequantized to
    # f32, `raws` as stored (the q/k row permutation applies to both).
    loaders, shapes, raws = {}, {}, {}

    def add(canon, name, transform=None, keep=False):
        shapes[canon] = shape_of(name)
        loaders[canon] = (lambda: get(name)) if transform is None else \
            (lambda: transform(get(name)))
        raws[canon] = (lambda: raw(name, transform, keep))

    add("token_embd", "token_embd.weight")
    add("output_norm", "output_norm.weight")
    cfg["tied_embeddings"] = "output.weight" not in byname
    if not cfg["tied_embeddings"]:
        add("output", "output.weight")
    for i in range(cfg["n_layers"]):
        for n in BLOCK_LINEARS + BLOCK_NORMS:
            fix = None
            if not keep_gguf_qk and n in ("attn_q", "attn_k"):
                heads = n_head if n == "attn_q" else n_kv
                fix = (lambda w, h=heads: unpermute_qk(w, h))
            add(f"blk.{i}.{n}", f"blk.{i}.{n}.weight", fix,
                keep=keep_quantized and n in BLOCK_LINEARS)
    from . import LazyTensors
    tensors = LazyTensors(loaders, shapes, raws)

    vocab_rows = tensors.shapes["token_embd"][0]
    cfg["vocab_size"] = vocab_rows
    try:
        lc = LlamaConfig.from_dict(cfg)
    except ModelImportError as e:
        raise ModelImportError(f"{path}: {e}") from e
    # Shape checks: a file whose tensors disagree with its metadata.
    for n, s in lc.expected_shapes().items():
        if tensors.shapes[n] != s:
            raise ModelImportError(f"{path}: tensor '{n}' has shape {tensors.shapes[n]}, "
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
    return Checkpoint("llama", lc.to_dict(), tensors, tok, path, meta)
