"""Textual MLIR emission for imported models.

`FuncBuilder` writes one func.func from a small vocabulary of ops: the qc
model ops (qc.linear, qc.rms_norm, qc.layer_norm, qc.external_weight) and the
upstream glue the host lowering handles (linalg.generic, linalg.fill,
linalg.batch_matmul, linalg.transpose, tensor.empty/dim/extract/
extract_slice/insert_slice/expand_shape/collapse_shape, arith, math).
`WeightBlob` writes every weight, little-endian, into ONE binary file at
64-byte aligned offsets, one tensor at a time (a memory-mapped checkpoint
tensor is copied without being loaded whole); the IR references it with
`qc.external_weight "<file>" offset <o> : tensor<...x(f32|f16|bf16|i8)>`.
Linear weights and embedding tables are written in the checkpoint's own
float type (`Stored`: f16 and bf16 stay 2 bytes a weight); the other
weights (norms, biases, RoPE tables) are f32.

Values are `Val(name, shape, dtype)`; a dimension is an int (static) or the
SSA name of an `index` value holding it (dynamic, printed as `?`).
"""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np

ALIGN = 64
Dim = Union[int, str]


@dataclass
class Val:
    name: str
    shape: Tuple[Dim, ...]
    dtype: str = "f32"

    @property
    def type(self) -> str:
        return tensor_type(self.shape, self.dtype)


def tensor_type(shape, dtype="f32") -> str:
    dims = "x".join(str(d) if isinstance(d, int) else "?" for d in shape)
    return f"tensor<{dims}x{dtype}>" if dims else f"tensor<{dtype}>"


def fmt_float(v: float) -> str:
    """A float literal MLIR parses back exactly (always has a '.')."""
    s = repr(float(v))
    if "e" in s and "." not in s.split("e")[0]:
        m, e = s.split("e")
        s = f"{m}.0e{e}"
    elif "." not in s and "e" not in s:
        s += ".0"
    return s


def fmt_f32(v: float) -> str:
    if v == float("-inf"):
        return "0xFF800000"
    return fmt_float(float(np.float32(v)))


EMBEDDINGS = ("f32", "int8")
#: Activation element types a model can be emitted with: "f32", "f16" or
#: "bf16" (the residual stream, the norms' and matmuls' inputs and outputs
#: and the KV caches in the 16-bit type, every store rounded to nearest
#: even; RoPE, SiLU, softmax and the norms' reductions compute in f32, the
#: matmuls accumulate in f32; the logits are returned in f32). 16-bit
#: activations are what the GPU's tensor-core kernels take (W4A16, W8A16,
#: fp16/bf16 GEMM); bf16 keeps f32's exponent range (no overflow on large
#: residuals) at 8 bits of mantissa.
ACTIVATIONS = ("f32", "f16", "bf16")
_NP_FLOAT = {"f32": "<f4", "f16": "<f2"}
#: Blob element type -> numpy dtype of its little-endian bytes (bf16 as
#: its uint16 bit patterns: numpy has no bfloat16).
RAW_DTYPES = {"f32": "<f4", "f16": "<f2", "bf16": "<u2", "i8": "i1", "i32": "<i4"}
#: Bytes per write() when copying a tensor into the blob.
_CHUNK = 64 << 20


@dataclass
class Stored:
    """A tensor as its checkpoint stores it: `data` (numpy, possibly a
    read-only memory map of the checkpoint file; bf16 as uint16 bit
    patterns) and its element type `dtype` ("f32", "f16" or "bf16")."""

    data: np.ndarray
    dtype: str

    @property
    def shape(self):
        return self.data.shape


@dataclass
class Packed:
    """A linear weight kept in the checkpoint's quantized grid (import
    `--quantized keep`, importers/gguf_quants.py): the operands of its
    `qc.packed_weight` in the `row_major` layout. `data`: int8 bytes (int4:
    two codes a byte, even k in the low nibble); `scales` [N, G] f16 or
    f32; `zeros` [N, G] i8 zero points, f16/f32 float minima, or None;
    `scheme`: the `#qc.scheme` text; `shape` (N, K); `bits` 4 or 8.
    `perm` (None, or K int32 column indices): the grid is that of the
    weight's columns in this order (grid column j is column perm[j] of the
    weight: a GPTQ act-order checkpoint, importers/hf_quantized.py), so the
    linear reads its input's columns in the same order: y = x[:, perm]
    G^T for the grid G."""

    data: np.ndarray
    scales: np.ndarray
    zeros: Optional[np.ndarray]
    scheme: str
    shape: Tuple[int, int]
    bits: int
    perm: Optional[np.ndarray] = None

    @property
    def bits_per_weight(self) -> float:
        n, k = self.shape
        extra = self.scales.nbytes + (0 if self.zeros is None else self.zeros.nbytes)
        return (self.data.nbytes + extra) * 8 / (n * k)

    def dequantize(self) -> np.ndarray:
        """The f32 weight, as every qc consumer computes it (docs/dialect.md):
        (q - z) * s, or q * s + m (two f32 roundings), its columns in the
        weight's order (`perm` undone)."""
        w = self.dequantize_grid()
        if self.perm is None:
            return w
        out = np.empty_like(w)
        out[:, self.perm] = w
        return out

    def dequantize_grid(self) -> np.ndarray:
        """The f32 weight of the grid, columns in grid order (`perm`)."""
        n, k = self.shape
        u = self.data.view(np.uint8)
        if self.bits == 4:
            u = np.stack([u & 0x0F, u >> 4], -1)
        u = u.reshape(n, k)
        g = k // self.scales.shape[1]
        s = np.repeat(self.scales.astype(np.float32), g, axis=1)
        if self.zeros is None:
            q = u.view(np.int8) if self.bits == 8 else np.where(u >= 8, u.astype(np.int16) - 16, u)
            return q.astype(np.float32) * s
        z = np.repeat(self.zeros, g, axis=1)
        if z.dtype == np.int8:
            return (u.astype(np.float32) - z.view(np.uint8).astype(np.float32)) * s
        return u.astype(np.float32) * s + z.astype(np.float32)


def as_stored(x) -> Stored:
    """A weight getter's result as a `Stored`: a Stored as is, a float16
    array as f16, a `Packed` dequantized to f32, anything else as f32."""
    if isinstance(x, Stored):
        return x
    if isinstance(x, Packed):
        return Stored(x.dequantize(), "f32")
    a = np.asarray(x)
    if a.dtype == np.float16:
        return Stored(a, "f16")
    return Stored(np.asarray(a, dtype=np.float32), "f32")


def bf16_bits_to_f32(bits: np.ndarray) -> np.ndarray:
    """uint16 bfloat16 bit patterns -> the float32 values (exact)."""
    return (np.asarray(bits, dtype=np.uint32) << 16).view(np.float32)


def f32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 values -> uint16 bfloat16 bit patterns, rounded to nearest
    even (as PyTorch's `.to(torch.bfloat16)` and arith.truncf); NaN stays a
    quiet NaN."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    r = ((u + np.uint32(0x7FFF) + ((u >> 16) & np.uint32(1))) >> 16).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        r = np.where(nan, ((u >> 16) | np.uint32(0x40)).astype(np.uint16), r)
    return r


def widen(s: Stored) -> np.ndarray:
    """The float32 values of a stored tensor (exact for f16 and bf16)."""
    if s.dtype == "bf16":
        return bf16_bits_to_f32(s.data)
    return np.asarray(s.data, dtype=np.float32)


def convert(s: Stored, dtype: str) -> np.ndarray:
    """`s` as the raw array of blob type `dtype`: the stored data itself when
    the types agree (no copy of a memory map), else converted through f32
    (f16 and bf16 from f32 round to nearest even, as numpy's astype and
    PyTorch's `.to(torch.bfloat16)`)."""
    if s.dtype == dtype:
        return s.data
    if dtype == "bf16":
        return f32_to_bf16_bits(widen(s))
    return np.asarray(widen(s), dtype=_NP_FLOAT[dtype])


def quantize_rows_int8(w: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-row symmetric int8: (q [V, E] int8, s [V] f32) with
    w ~= q * s[:, None]; s = max|row| / 127 (1 for an all-zero row)."""
    w = np.asarray(w, dtype=np.float64)
    s = (np.abs(w).max(axis=1) / 127).astype(np.float32)
    s[s == 0] = 1.0
    # The arithmetic of qc-quantize-weights' per-channel RTN (docs/passes.md).
    q = np.clip(np.rint(w / s[:, None].astype(np.float64)), -127, 127).astype(np.int8)
    return q, s


class WeightBlob:
    """One binary file holding every weight, 64-byte aligned.

    `offsets[key]` = (offset, shape) of what was written under `key`;
    `source_dtype[name]` = the checkpoint's element type of weight `name`,
    once it has been read (so that a later function finds its as-stored
    copy without reading the checkpoint again)."""

    def __init__(self, path):
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + ".part")
        self.f = open(self.tmp, "wb")
        self.offsets = {}
        self.source_dtype = {}
        #: name -> (scheme, (N, K), bits, {part: dtype}) of a `Packed`
        #: weight written as its parts `name#data`, `#scales`, `#zeros`.
        self.packed = {}
        #: name -> blob key of the i32 column permutation of a `Packed`
        #: weight with `perm` (one copy of each distinct permutation).
        self.perm_key = {}
        self.size = 0

    def add(self, key: str, array: np.ndarray, dtype: str = None) -> int:
        """Appends `array` (its elements of blob type `dtype`: "f32", "f16",
        "bf16" as uint16 bits, "i8"; by default from the array's dtype) and
        returns its offset. The bytes are copied in chunks straight from
        the array (a memory map is read, never loaded whole)."""
        if key in self.offsets:
            return self.offsets[key][0]
        if dtype is None:
            dtype = "i8" if array.dtype == np.int8 else \
                "f16" if array.dtype == np.float16 else "f32"
        a = np.ascontiguousarray(array, dtype=RAW_DTYPES[dtype])
        pad = (-self.size) % ALIGN
        if pad:
            self.f.write(b"\0" * pad)
            self.size += pad
        off = self.size
        flat = a.reshape(-1).view(np.uint8)
        for begin in range(0, flat.size, _CHUNK):
            self.f.write(memoryview(flat[begin:begin + _CHUNK]))
        self.size += a.nbytes
        self.offsets[key] = (off, a.shape)
        return off

    @property
    def dtypes(self):
        """The float types the checkpoint's tensors were found in."""
        return set(self.source_dtype.values())

    def close(self):
        self.f.close()
        os.replace(self.tmp, self.path)

    def abort(self):
        self.f.close()
        if self.tmp.exists():
            self.tmp.unlink()


class FuncBuilder:
    def __init__(self, name: str, args: List[Tuple[str, str]], blob: WeightBlob,
                 blob_ref: str, weights, upstream: bool = False, embedding: str = "f32",
                 activations: str = "f32"):
        self.upstream = upstream
        #: The activation element type (ACTIVATIONS).
        self.act = activations
        if upstream and activations != "f32":
            raise ValueError("upstream mode emits f32 activations only")
        #: "f32", or "int8": embedding tables stored as per-row symmetric
        #: int8 + f32 row scales and dequantized on gather (4x smaller).
        self.embedding = embedding
        self.name, self.args = name, args
        self.blob, self.blob_ref, self.weights = blob, blob_ref, weights
        self.lines: List[str] = []
        self.indent = "    "
        self.n = 0
        self.consts = {}
        self.wcache = {}
        #: Values that are checkpoint-quantized weights (packed_weight).
        self.quantized = set()
        #: Weight value -> the Val of its i32 column permutation (`Packed.perm`).
        self.perms = {}
        self.result_types: List[str] = []

    # -- basics --------------------------------------------------------
    def fresh(self, hint="v") -> str:
        self.n += 1
        return f"%{hint}{self.n}"

    def emit(self, s: str):
        self.lines.append(self.indent + s)

    def op(self, text: str, hint="v") -> str:
        r = self.fresh(hint)
        self.emit(f"{r} = {text}")
        return r

    def cidx(self, v: int) -> str:
        key = ("index", v)
        if key not in self.consts:
            self.consts[key] = f"%c{v}" if v >= 0 else f"%cm{-v}"
        return self.consts[key]

    def cf32(self, v: float) -> str:
        key = ("f32", fmt_f32(v))
        if key not in self.consts:
            self.consts[key] = f"%cst{len(self.consts)}"
        return self.consts[key]

    def to_f32(self, x: str, dtype: str) -> str:
        """Scalar `x` of float type `dtype` widened to f32 (in a body)."""
        return x if dtype == "f32" else self.op(f"arith.extf {x} : {dtype} to f32")

    def from_f32(self, x: str, dtype: str) -> str:
        """Scalar f32 `x` rounded to `dtype` (in a body)."""
        return x if dtype == "f32" else self.op(f"arith.truncf {x} : f32 to {dtype}")

    def cast(self, v: Val, dtype: str) -> Val:
        """v converted elementwise to float type `dtype` (extf / truncf)."""
        if v.dtype == dtype:
            return v
        op = "extf" if dtype == "f32" else "truncf"
        m = self.ident_map(len(v.shape))
        return self.generic([v], [m, m], self.empty(v.shape, dtype), ["parallel"] * len(v.shape),
                            lambda i, o: self.op(f"arith.{op} {i[0]} : {v.dtype} to {dtype}"),
                            "cvt")

    def dim(self, v: Val, i: int) -> Dim:
        d = v.shape[i]
        if isinstance(d, int):
            return d
        return d

    def dim_value(self, v: Val, i: int) -> str:
        """An SSA index value for dimension i of v."""
        d = v.shape[i]
        return self.cidx(d) if isinstance(d, int) else d

    # -- weights ---------------------------------------------------------
    def weight(self, key: str, dtype: str = "f32") -> Val:
        """The weight `key` stored as `dtype` ("f32", "f16" or "bf16"), or with
        dtype None as the checkpoint stores it (f32, f16 or bf16: what
        qc.linear's weight operand and an embedding gather take; f32 in
        upstream mode). The getter `weights(key)` returns a float32 array
        or a `Stored`; a tensor is read once, written, and dropped."""
        src = None
        if dtype is None and self.upstream:
            dtype = "f32"
        elif dtype is None:
            if key in self.blob.packed:  # kept quantized by an earlier function
                return self.packed_weight(key)
            dtype = self.blob.source_dtype.get(key)
            if dtype is None:  # not read yet
                got = self.weights(key)
                if isinstance(got, Packed):
                    return self.packed_weight(key, got)
                src = as_stored(got)
                self.blob.source_dtype[key] = dtype = src.dtype
        ck = key if dtype == "f32" else f"{key}#{dtype}"
        if ck in self.wcache:
            return self.wcache[ck]
        if ck in self.blob.offsets:  # written by an earlier function: not read again
            off, shape = self.blob.offsets[ck]
        else:
            if src is None:
                src = as_stored(self.weights(key))
                self.blob.source_dtype.setdefault(key, src.dtype)
            arr = convert(src, dtype)
            off, shape = self.blob.add(ck, arr, dtype), arr.shape
            del arr, src
        t = tensor_type(shape, dtype)
        r = self.op(f'qc.external_weight "{self.blob_ref}" offset {off} : {t}', "w")
        v = Val(r, tuple(shape), dtype)
        self.wcache[ck] = v
        return v

    def packed_weight(self, key: str, p: Packed = None) -> Val:
        """The checkpoint-quantized weight `key` (`p`, or the parts an
        earlier function wrote) as `qc.dequantize_weight` of its
        `qc.packed_weight` (row_major): the form qc-quantize-weights
        produces, which qc-fuse-dequant turns into a weight-only matmul."""
        ck = key + "#packed"
        if ck in self.wcache:
            return self.wcache[ck]
        if p is not None:
            parts = {"data": (p.data, "i8"),
                     "scales": (p.scales, "f16" if p.scales.dtype == np.float16 else "f32")}
            if p.zeros is not None:
                parts["zeros"] = (p.zeros, {np.dtype(np.int8): "i8", np.dtype(np.float16): "f16"}
                                  .get(p.zeros.dtype, "f32"))
            for part, (arr, dt) in parts.items():
                self.blob.add(f"{key}#{part}", arr, dt)
            self.blob.packed[key] = (p.scheme, p.shape, p.bits,
                                     {part: dt for part, (_, dt) in parts.items()})
            if p.perm is not None:
                perm = np.ascontiguousarray(p.perm, dtype="<i4")
                pk = "perm#" + hashlib.sha1(perm.tobytes()).hexdigest()
                self.blob.add(pk, perm, "i32")
                self.blob.perm_key[key] = pk
        scheme, (n, k), bits, dtypes = self.blob.packed[key]
        ops = []
        for part, dt in dtypes.items():
            off, shape = self.blob.offsets[f"{key}#{part}"]
            t = tensor_type(shape, dt)
            ops.append(Val(self.op(f'qc.external_weight "{self.blob_ref}" offset {off} : {t}',
                                   "w"), tuple(shape), dt))
        pt = f"!qc.packed<{n}x{k}xi{bits}>"
        pw = self.op(f'qc.packed_weight {", ".join(v.name for v in ops)} '
                     f'{{layout = #qc.layout<row_major>, scheme = {scheme}}} : '
                     f'{", ".join(v.type for v in ops)} -> {pt}', "pw")
        w = Val(self.op(f"qc.dequantize_weight {pw} : {pt} -> {tensor_type((n, k))}", "w"),
                (n, k), "f32")
        self.quantized.add(w.name)
        if key in self.blob.perm_key:
            pk = self.blob.perm_key[key]
            if pk not in self.wcache:
                off, shape = self.blob.offsets[pk]
                t = tensor_type(shape, "i32")
                self.wcache[pk] = Val(self.op(f'qc.external_weight "{self.blob_ref}" offset '
                                              f'{off} : {t}', "perm"), tuple(shape), "i32")
            self.perms[w.name] = self.wcache[pk]
        self.wcache[ck] = w
        return w

    def permute_columns(self, x: Val, perm: Val) -> Val:
        """out[..., j] = x[..., perm[j]] (`perm` i32 [K]): the input of a
        linear whose packed grid holds the weight's columns in that order
        (`Packed.perm`); one gather per (input, permutation)."""
        ck = ("permuted", x.name, perm.name)
        if ck in self.wcache:
            return self.wcache[ck]
        r = len(x.shape)
        dims = ", ".join(f"d{i}" for i in range(r))

        def body(i, o):
            col = self.op(f"arith.index_cast {i[0]} : i32 to index")
            idx = [self.op(f"linalg.index {d} : index") for d in range(r - 1)] + [col]
            return self.op(f"tensor.extract {x.name}[{', '.join(idx)}] : {x.type}")

        v = self.generic([perm], [f"({dims}) -> (d{r - 1})", f"({dims}) -> ({dims})"],
                         self.empty(x.shape, x.dtype), ["parallel"] * r, body, "perm")
        self.wcache[ck] = v
        return v

    def weight_int8_rows(self, key: str) -> Tuple[Val, Val]:
        """The [V, E] weight `key` as per-row symmetric int8 (q = round(x / s),
        s = max|row| / 127, 1 for an all-zero row) and its [V] f32 scales."""
        if key + "#int8" in self.wcache:
            return self.wcache[key + "#int8"]
        if key + "#q8" in self.blob.offsets:  # written by an earlier function
            parts = [(key + "#q8", None, "i8"), (key + "#scale", None, "f32")]
        else:
            q, s = quantize_rows_int8(widen(as_stored(self.weights(key))))
            parts = [(key + "#q8", q, "i8"), (key + "#scale", s, "f32")]
        vals = []
        for k, arr, dt in parts:
            off = self.blob.add(k, arr) if arr is not None else self.blob.offsets[k][0]
            shape = self.blob.offsets[k][1]
            t = tensor_type(shape, dt)
            r = self.op(f'qc.external_weight "{self.blob_ref}" offset {off} : {t}', "w")
            vals.append(Val(r, tuple(shape), dt))
        self.wcache[key + "#int8"] = tuple(vals)
        return tuple(vals)

    def embedding_lookup(self, key: str, ids: Val) -> Val:
        """Rows `ids` of the embedding table `key` (f32 or int8, see
        `embedding`), as activations (`act`). With f32 activations an f32
        table is kept in the checkpoint's type and its rows widened as they
        are gathered."""
        if self.embedding == "f32":
            table = self.weight(key, None if self.act == "f32" else self.act)
            return self.gather_rows(table, ids, self.act)
        q, s = self.weight_int8_rows(key)
        out = self.empty((ids.shape[0], q.shape[1]), self.act)

        def body(i, o):
            row = self.op(f"arith.index_cast {i[0]} : i64 to index")
            col = self.op("linalg.index 1 : index")
            qv = self.op(f"tensor.extract {q.name}[{row}, {col}] : {q.type}")
            f = self.op(f"arith.sitofp {qv} : i8 to f32")
            sv = self.op(f"tensor.extract {s.name}[{row}] : {s.type}")
            return self.from_f32(self.op(f"arith.mulf {f}, {sv} : f32"), self.act)

        return self.generic([ids], ["(d0, d1) -> (d0)", "(d0, d1) -> (d0, d1)"], out,
                            ["parallel", "parallel"], body, "emb")

    # -- tensor ops --------------------------------------------------------
    def empty(self, shape, dtype="f32") -> Val:
        dyn = ", ".join(d for d in shape if isinstance(d, str))
        return Val(self.op(f"tensor.empty({dyn}) : {tensor_type(shape, dtype)}"), tuple(shape), dtype)

    def fill(self, shape, value: float) -> Val:
        e = self.empty(shape)
        r = self.op(f"linalg.fill ins({self.cf32(value)} : f32) outs({e.name} : {e.type}) -> {e.type}")
        return Val(r, e.shape)

    def expand(self, v: Val, reassoc, shape) -> Val:
        out = ", ".join(d if isinstance(d, str) else str(d) for d in shape)
        r = self.op(f"tensor.expand_shape {v.name} {reassoc} output_shape [{out}] : "
                    f"{v.type} into {tensor_type(shape, v.dtype)}")
        return Val(r, tuple(shape), v.dtype)

    def collapse(self, v: Val, groups) -> Val:
        shape = []
        for g in groups:
            ds = [v.shape[i] for i in g]
            if all(isinstance(d, int) for d in ds):
                shape.append(int(np.prod(ds)))
            else:
                # Only needs a name when used as an operand later; recompute.
                shape.append(self._mul_dims(ds))
        r = self.op(f"tensor.collapse_shape {v.name} {groups} : {v.type} into "
                    f"{tensor_type(shape, v.dtype)}")
        return Val(r, tuple(shape), v.dtype)

    def _mul_dims(self, ds) -> str:
        acc = None
        for d in ds:
            dv = self.cidx(d) if isinstance(d, int) else d
            if isinstance(d, int) and d == 1:
                continue
            acc = dv if acc is None else self.op(f"arith.muli {acc}, {dv} : index", "d")
        return acc if acc is not None else self.cidx(1)

    def transpose(self, v: Val, perm) -> Val:
        shape = [v.shape[p] for p in perm]
        e = self.empty(shape, v.dtype)
        r = self.op(f"linalg.transpose ins({v.name} : {v.type}) outs({e.name} : {e.type}) "
                    f"permutation = {list(perm)}")
        return Val(r, tuple(shape), v.dtype)

    def batch_matmul(self, a: Val, b: Val) -> Val:
        shape = (a.shape[0], a.shape[1], b.shape[2])
        z = self.fill(shape, 0.0)
        r = self.op(f"linalg.batch_matmul ins({a.name}, {b.name} : {a.type}, {b.type}) "
                    f"outs({z.name} : {z.type}) -> {z.type}")
        return Val(r, shape)

    def generic(self, ins, maps, out: Val, iters, body, hint="g") -> Val:
        """linalg.generic; `ins` Vals, `maps` strings (inputs then output),
        `out` the init tensor, `body(in_args, out_arg) -> yielded value`."""
        n = self.fresh(hint)
        amap = ", ".join(f"affine_map<{m}>" for m in maps)
        it = ", ".join(f'"{i}"' for i in iters)
        head = f"{n} = linalg.generic {{indexing_maps = [{amap}], iterator_types = [{it}]}}"
        if ins:
            head += f" ins({', '.join(v.name for v in ins)} : {', '.join(v.type for v in ins)})"
        head += f" outs({out.name} : {out.type}) {{"
        self.emit(head)
        in_args = [self.fresh("a") for _ in ins]
        out_arg = self.fresh("o")
        params = ", ".join([f"{a}: {v.dtype}" for a, v in zip(in_args, ins)] +
                           [f"{out_arg}: {out.dtype}"])
        self.emit(f"^bb0({params}):")
        saved = self.indent
        self.indent += "  "
        y = body(in_args, out_arg)
        self.emit(f"linalg.yield {y} : {out.dtype}")
        self.indent = saved
        self.emit(f"}} -> {out.type}")
        return Val(n, out.shape, out.dtype)

    # -- model ops ---------------------------------------------------------
    #: When True, qc.linear/rms_norm/layer_norm are written as the upstream
    #: ops they mean (a testing aid: the module then compiles without the qc
    #: lowering); qc.external_weight stays.
    upstream = False

    def linear(self, x: Val, w: Val, layer: str, b: Val = None) -> Val:
        if self.upstream:
            return self._linear_upstream(x, w, b)
        if w.name in self.perms:  # an act-order grid: its columns permuted
            x = self.permute_columns(x, self.perms[w.name])
        shape = tuple(x.shape[:-1]) + (w.shape[0],)
        ops = [x, w] + ([b] if b is not None else [])
        rt = tensor_type(shape, x.dtype)
        # A checkpoint-quantized weight: the linear is quantized already.
        q = ", qc.quantized" if w.name in self.quantized else ""
        r = self.op(f'qc.linear {", ".join(v.name for v in ops)} {{layer = "{layer}"{q}}} : '
                    f'({", ".join(v.type for v in ops)}) -> {rt}', "lin")
        return Val(r, shape, x.dtype)

    def rms_norm(self, x: Val, w: Val, eps: float) -> Val:
        if self.upstream:
            return self._norm_upstream(x, w, None, eps)
        r = self.op(f"qc.rms_norm {x.name}, {w.name} {{epsilon = {fmt_float(eps)} : f64}} : "
                    f"{x.type}, {w.type}", "rms")
        return Val(r, x.shape, x.dtype)

    def argmax(self, x: Val) -> Val:
        """qc.argmax: index of the largest element of each row, i64, the last
        dimension kept as 1 (numpy's argmax)."""
        shape = tuple(x.shape[:-1]) + (1,)
        r = self.op(f"qc.argmax {x.name} : {x.type} -> {tensor_type(shape, 'i64')}", "next")
        return Val(r, shape, "i64")

    def layer_norm(self, x: Val, w: Val, b: Val, eps: float) -> Val:
        if self.upstream:
            return self._norm_upstream(x, w, b, eps)
        r = self.op(f"qc.layer_norm {x.name}, {w.name}, {b.name} {{epsilon = {fmt_float(eps)} : f64}}"
                    f" : {x.type}, {w.type}, {b.type}", "ln")
        return Val(r, x.shape, x.dtype)

    def _linear_upstream(self, x: Val, w: Val, b: Val = None) -> Val:
        T, N = x.shape[0], w.shape[0]
        acc = self.fill((T, N), 0.0)

        def body(i, o):
            m = self.op(f"arith.mulf {i[0]}, {i[1]} : f32")
            return self.op(f"arith.addf {m}, {o} : f32")

        y = self.generic([x, w], ["(d0, d1, d2) -> (d0, d2)", "(d0, d1, d2) -> (d1, d2)",
                                  "(d0, d1, d2) -> (d0, d1)"], acc,
                         ["parallel", "parallel", "reduction"], body, "mm")
        if b is None:
            return y
        return self.generic([y, b], ["(d0, d1) -> (d0, d1)", "(d0, d1) -> (d1)",
                                     "(d0, d1) -> (d0, d1)"], self.empty(y.shape),
                            ["parallel"] * 2,
                            lambda i, o: self.op(f"arith.addf {i[0]}, {i[1]} : f32"), "bias")

    def _norm_upstream(self, x: Val, w: Val, b, eps: float) -> Val:
        """RMSNorm (b is None) or LayerNorm over the last dim of [T, E]."""
        T, E = x.shape
        m2, r1 = "(d0, d1) -> (d0, d1)", "(d0, d1) -> (d0)"
        red = ["parallel", "reduction"]
        n, ceps = self.cf32(float(E)), self.cf32(eps)
        mean = None
        if b is not None:
            s = self.generic([x], [m2, r1], self.fill((T,), 0.0), red,
                             lambda i, o: self.op(f"arith.addf {i[0]}, {o} : f32"), "lnsum")
            mean = s

        def sq(i, o):
            v = i[0]
            if mean is not None:
                mu = self.op(f"arith.divf {i[1]}, {n} : f32")
                v = self.op(f"arith.subf {v}, {mu} : f32")
            m = self.op(f"arith.mulf {v}, {v} : f32")
            return self.op(f"arith.addf {m}, {o} : f32")

        ins = [x] + ([mean] if mean is not None else [])
        ss = self.generic(ins, [m2] + ([r1] if mean is not None else []) + [r1],
                          self.fill((T,), 0.0), red, sq, "sumsq")

        def norm(i, o):
            v = i[0]
            if mean is not None:
                mu = self.op(f"arith.divf {i[3]}, {n} : f32")
                v = self.op(f"arith.subf {v}, {mu} : f32")
            ms = self.op(f"arith.divf {i[1]}, {n} : f32")
            ms = self.op(f"arith.addf {ms}, {ceps} : f32")
            r = self.op(f"math.rsqrt {ms} : f32")
            y = self.op(f"arith.mulf {v}, {r} : f32")
            y = self.op(f"arith.mulf {y}, {i[2]} : f32")
            if mean is not None:
                y = self.op(f"arith.addf {y}, {i[4]} : f32")
            return y

        ins = [x, ss, w] + ([mean, b] if mean is not None else [])
        maps = [m2, r1, "(d0, d1) -> (d1)"] + ([r1, "(d0, d1) -> (d1)"] if mean is not None else [])
        return self.generic(ins, maps + [m2], self.empty(x.shape), ["parallel"] * 2, norm, "norm")

    # -- common glue -------------------------------------------------------
    def ident_map(self, rank):
        d = ", ".join(f"d{i}" for i in range(rank))
        return f"({d}) -> ({d})"

    def elementwise(self, ins, body, hint="ew") -> Val:
        """Same-shape elementwise op over `ins` (all of ins[0]'s shape)."""
        shape = ins[0].shape
        out = self.empty(shape, ins[0].dtype)
        m = self.ident_map(len(shape))
        return self.generic(ins, [m] * (len(ins) + 1), out, ["parallel"] * len(shape), body, hint)

    def add(self, a: Val, b: Val) -> Val:
        return self.elementwise([a, b],
                                lambda i, o: self.op(f"arith.addf {i[0]}, {i[1]} : {a.dtype}"))

    def gather_rows(self, table: Val, ids: Val, dtype: str = None) -> Val:
        """out[t, e] = table[ids[t], e] (embedding lookup), converted to
        `dtype` (default: the table's type) with arith.extf/truncf."""
        E = table.shape[1]
        dtype = dtype or table.dtype
        out = self.empty((ids.shape[0], E), dtype)

        def body(i, o):
            row = self.op(f"arith.index_cast {i[0]} : i64 to index")
            col = self.op("linalg.index 1 : index")
            v = self.op(f"tensor.extract {table.name}[{row}, {col}] : {table.type}")
            if table.dtype == dtype:
                return v
            op = "extf" if dtype == "f32" else "truncf"
            return self.op(f"arith.{op} {v} : {table.dtype} to {dtype}")

        return self.generic([ids], ["(d0, d1) -> (d0)", "(d0, d1) -> (d0, d1)"], out,
                            ["parallel", "parallel"], body, "emb")

    def to_heads(self, x: Val, heads: int, hd: int) -> Val:
        """[T, heads*hd] -> [heads, T, hd]."""
        T = x.shape[0]
        x3 = self.expand(x, "[[0], [1, 2]]", (T, heads, hd))
        return self.transpose(x3, [1, 0, 2])

    def from_heads(self, o: Val) -> Val:
        """[heads, T, hd] -> [T, heads*hd]."""
        t = self.transpose(o, [1, 0, 2])
        return self.collapse(t, [[0], [1, 2]])

    def attention(self, q: Val, k: Val, v: Val, scale: float, causal_start=None) -> Val:
        """Scaled dot-product attention with grouped KV heads.

        q [H, T, D], k and v [KV, S, D]; query head h uses KV head h // G
        (G = H / KV), done by viewing q as [KV, G*T, D] so each batch of the
        matmul is one KV head. `causal_start` (an index SSA value or None):
        query t sits at absolute position start + t and sees keys 0..start+t.
        Returns [H, T, D] of q's type; computed in f32.
        """
        if q.dtype != "f32":
            dt = q.dtype
            o = self.attention(self.cast(q, "f32"), self.cast(k, "f32"), self.cast(v, "f32"),
                               scale, causal_start)
            return self.cast(o, dt)
        H, T, D = q.shape
        KV, S = k.shape[0], k.shape[1]
        G = H // KV
        q4 = self.expand(q, "[[0, 1], [2], [3]]", (KV, G, T, D))
        qg = self.collapse(q4, [[0], [1, 2], [3]])
        kt = self.transpose(k, [0, 2, 1])
        s = self.batch_matmul(qg, kt)  # [KV, G*T, S]
        s4 = self.expand(s, "[[0], [1, 2], [3]]", (KV, G, T, S))
        m4 = "(d0, d1, d2, d3) -> (d0, d1, d2, d3)"
        r3 = "(d0, d1, d2, d3) -> (d0, d1, d2)"
        par4 = ["parallel"] * 4
        red = ["parallel"] * 3 + ["reduction"]
        cscale = self.cf32(scale)
        if causal_start is not None:
            ninf = self.cf32(float("-inf"))

            def mask_body(i, o):
                sc = self.op(f"arith.mulf {i[0]}, {cscale} : f32")
                t = self.op("linalg.index 2 : index")
                j = self.op("linalg.index 3 : index")
                lim = self.op(f"arith.addi {t}, {causal_start} : index")
                bad = self.op(f"arith.cmpi ugt, {j}, {lim} : index")
                return self.op(f"arith.select {bad}, {ninf}, {sc} : f32")
            sm = self.generic([s4], [m4, m4], self.empty(s4.shape), par4, mask_body, "mask")
        else:
            sm = self.generic([s4], [m4, m4], self.empty(s4.shape), par4,
                              lambda i, o: self.op(f"arith.mulf {i[0]}, {cscale} : f32"), "scale")
        mx = self.generic([sm], [m4, r3], self.fill((KV, G, T), float("-inf")), red,
                          lambda i, o: self.op(f"arith.maximumf {i[0]}, {o} : f32"), "max")

        def exp_body(i, o):
            d = self.op(f"arith.subf {i[0]}, {i[1]} : f32")
            return self.op(f"math.exp {d} : f32")
        e = self.generic([sm, mx], [m4, r3, m4], self.empty(s4.shape), par4, exp_body, "exp")
        sm_ = self.generic([e], [m4, r3], self.fill((KV, G, T), 0.0), red,
                           lambda i, o: self.op(f"arith.addf {i[0]}, {o} : f32"), "sum")
        p = self.generic([e, sm_], [m4, r3, m4], self.empty(s4.shape), par4,
                         lambda i, o: self.op(f"arith.divf {i[0]}, {i[1]} : f32"), "prob")
        pg = self.collapse(p, [[0], [1, 2], [3]])
        o = self.batch_matmul(pg, v)  # [KV, G*T, D]
        o4 = self.expand(o, "[[0], [1, 2], [3]]", (KV, G, T, D))
        return self.collapse(o4, [[0, 1], [2], [3]])

    # -- KV caches (qc.cache_write / qc.cache_attention) --------------------
    def cache_write(self, rows: Val, cache: Val, pos: Val, layer: int) -> Val:
        """The cache [L, B, KV, S, D] with rows [B, T, KV, D] written at
        positions pos[b] + t of layer `layer` (in place once bufferized)."""
        r = self.op(f"qc.cache_write {rows.name} into {cache.name} at {pos.name} "
                    f"{{layer = {layer} : i64}} : {rows.type}, {pos.type} -> {cache.type}",
                    "cache")
        return Val(r, cache.shape, cache.dtype)

    def cache_attention(self, q: Val, kc: Val, vc: Val, pos: Val, layer: int,
                        scale: float) -> Val:
        """Causal attention of q [B, T, H, D] (query t of sequence b at
        position pos[b] + t) over layer `layer` of the caches."""
        r = self.op(f"qc.cache_attention {q.name}, {kc.name}, {vc.name}, {pos.name} "
                    f"{{layer = {layer} : i64, scale = {fmt_f32(scale)} : f32}} : "
                    f"{q.type}, {kc.type}, {vc.type}, {pos.type} -> {q.type}", "attn")
        return Val(r, q.shape, q.dtype)

    # -- output ------------------------------------------------------------
    def ret(self, vals: List[Val]):
        self.result_types = [v.type for v in vals]
        self.emit(f"return {', '.join(v.name for v in vals)} : {', '.join(self.result_types)}")

    def text(self) -> str:
        args = ", ".join(f"{n}: {t}" for n, t in self.args)
        res = ", ".join(self.result_types)
        if len(self.result_types) > 1:
            res = f"({res})"
        out = [f"  func.func @{self.name}({args}) -> {res} {{"]
        for (kind, val), name in self.consts.items():
            if kind == "index":
                out.append(f"    {name} = arith.constant {val} : index")
            else:
                out.append(f"    {name} = arith.constant {val} : f32")
        out += self.lines
        out.append("  }")
        return "\n".join(out)


def greedy_function(vocab: int, blob: WeightBlob, blob_ref: str) -> FuncBuilder:
    """@greedy(logits [B, V] f32) -> next tokens [B, 1] i64: the greedy choice
    of a decode step on the device (the result is the next step's tokens),
    so a step moves only token ids between host and device."""
    fb = FuncBuilder("greedy", [("%logits", f"tensor<?x{vocab}xf32>")], blob, blob_ref,
                     lambda key: None)
    B = fb.op(f"tensor.dim %logits, {fb.cidx(0)} : tensor<?x{vocab}xf32>", "B")
    fb.ret([fb.argmax(Val("%logits", (B, vocab)))])
    return fb


def sample_function(vocab: int, blob: WeightBlob, blob_ref: str) -> FuncBuilder:
    """@sample(logits [B, V] f32, temperature f32, top_k i64, seed i64,
    pos [B] i64) -> next tokens [B, 1] i64: qc.sample on the device (the
    next token of each sequence drawn at position pos[b]; temperature <= 0
    is greedy); the parameters are 0-d tensors read at run time."""
    lt = f"tensor<?x{vocab}xf32>"
    fb = FuncBuilder("sample", [("%logits", lt), ("%temperature", "tensor<f32>"),
                                ("%top_k", "tensor<i64>"), ("%seed", "tensor<i64>"),
                                ("%pos", "tensor<?xi64>")], blob, blob_ref, lambda key: None)
    B = fb.op(f"tensor.dim %logits, {fb.cidx(0)} : {lt}", "B")
    r = fb.op(f"qc.sample %logits, %temperature, %top_k, %seed, %pos : {lt}, tensor<f32>, "
              f"tensor<i64>, tensor<i64>, tensor<?xi64> -> tensor<?x1xi64>", "next")
    fb.ret([Val(r, (B, 1), "i64")])
    return fb


def write_module(funcs: List[FuncBuilder], header: str) -> str:
    body = "\n\n".join(f.text() for f in funcs)
    return f"{header}module {{\n{body}\n}}\n"
