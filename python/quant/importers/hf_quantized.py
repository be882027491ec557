"""Hugging Face GPTQ and AWQ checkpoints: their packed linears as qc packed
weights in the exact grid of the file (`import --quantized keep`), or
dequantized to float32 (`--quantized dequantize`, the default).

Configuration: config.json's `quantization_config` (transformers), else
`quantize_config.json` (AutoGPTQ / GPTQModel) or `quant_config.json`
(AutoAWQ). Supported:

- GPTQ (`quant_method` "gptq", or a quantize_config.json without one), the
  AutoGPTQ / GPTQModel layout: `bits` 4 or 8, `group_size` -1 (per
  channel) or a divisor of every linear's K, `sym` true or false,
  `desc_act` (act-order; `g_idx` gives each column's group),
  `checkpoint_format` "gptq" (v1: the stored zero point is z - 1, read
  back as (field + 1) mod 2^bits, as AutoGPTQ's dequantization does) or
  "gptq_v2" (the zero point itself); GPTQModel's per-module `dynamic`
  overrides (each linear's bits and group size then come from its tensor
  shapes).
- AWQ (`quant_method` "awq"), AutoAWQ's GEMM layout: `version` "gemm",
  4 bits, `zero_point` true.

A linear `P` (e.g. `model.layers.0.self_attn.q_proj`) of N outputs and K
inputs is stored as (int32 words, little-endian, value i of a word in bits
[b*i, b*i + b)):

| tensor | GPTQ | AWQ GEMM |
|---|---|---|
| `P.qweight` | [K*b/32, N]: word (r, n) packs k = r*32/b + i | [K, N*b/32]: word (k, c) packs n = 8c + [0,2,4,6,1,3,5,7][i] |
| `P.qzeros` | [G, N*b/32]: word (g, c) packs n = c*32/b + i | [G, N*b/32], as qweight |
| `P.scales` | [G, N] f16 (bf16, f32) | [G, N] f16 (bf16, f32) |
| `P.g_idx` | [K] int32: column k's group (absent: k / group_size) | none |

and w[n, k] = (q[n, k] - z[n, g(k)]) * s[n, g(k)], G = K / group_size
groups (1 per channel), g(k) = g_idx[k] (GPTQ) or k / group_size.

The qc grid (`Packed`, row_major): codes [N, K] two per byte (4-bit) or
one (8-bit); scales [N, G] as stored (f16; bf16 widened to f32, exact);
zero points [N, G] i8 (`symmetric = false`), or, when every zero point is
2^(b-1) (GPTQ `sym`, the usual case), the symmetric scheme with codes
q - 2^(b-1) (the same values, no zeros tensor). (q - z) * s is exact in
f32 (|q - z| < 2^8, s an f16 or bf16), so the qc weight equals the real
value of the file's grid bit for bit; nothing is requantized.

Act-order: a g_idx other than k / group_size whose groups each hold
group_size columns becomes a column permutation: the grid holds the
columns sorted by group (stably), `Packed.perm` lists them, and the
emitted linear reads its input's columns in that order (mlir_emit
`permute_columns`; an exact gather). A g_idx with groups of other sizes
has no exact qc form and is refused, naming the tensor.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import ModelImportError
from ..mlir_emit import Packed

#: Quantization methods whose linears this module reads.
METHODS = ("gptq", "awq")
#: GPTQ checkpoint formats read (AutoGPTQ's v1 zero points, GPTQModel's v2).
GPTQ_FORMATS = ("gptq", "gptq_v2")
#: AWQ's packing order: value i of a word is column 8c + AWQ_ORDER[i].
AWQ_ORDER = (0, 2, 4, 6, 1, 3, 5, 7)


@dataclass
class QuantConfig:
    """A checkpoint's quantization: `method` (METHODS), `bits`,
    `group_size` (-1 = per channel), `zero_plus_one` (GPTQ v1 zero
    points), `dynamic` (per-module overrides: bits and group size from each
    linear's shapes), `where` (the file it came from)."""

    method: str
    bits: int
    group_size: int
    zero_plus_one: bool
    dynamic: bool
    where: Path

    def describe(self) -> str:
        g = "per-channel" if self.group_size == -1 else f"group {self.group_size}"
        return f"{self.method} {self.bits}-bit {g}"


def _int(qc, keys, where, default=None):
    for k in keys:
        if k in qc:
            v = qc[k]
            if isinstance(v, bool) or not isinstance(v, int):
                raise ModelImportError(f"{where}: quantization '{k}' is {v!r}, expected an "
                                       "integer")
            return v
    if default is None:
        raise ModelImportError(f"{where}: quantization config has no '{keys[0]}'")
    return default


def read_quant_config(directory, raw: dict) -> Optional[QuantConfig]:
    """The checkpoint's QuantConfig (None for a float checkpoint); every
    unsupported variant is a ModelImportError naming the setting."""
    d = Path(directory)
    qc, where = raw.get("quantization_config"), d / "config.json"
    legacy = None
    if qc is None:
        for name in ("quantize_config.json", "quant_config.json"):
            if (d / name).exists():
                where, legacy = d / name, name
                try:
                    qc = json.loads((d / name).read_text())
                except ValueError as e:
                    raise ModelImportError(f"{where}: not valid JSON ({e})") from e
                break
    if qc is None:
        return None
    if not isinstance(qc, dict):
        raise ModelImportError(f"{where}: quantization config is not a JSON object")
    method = qc.get("quant_method")
    if method is None:  # AutoGPTQ's and AutoAWQ's own files name no method
        method = "awq" if legacy == "quant_config.json" or "w_bit" in qc else "gptq"
    method = str(method).lower()
    if method not in METHODS:
        raise ModelImportError(f"{where}: unsupported quantization method '{method}' "
                               f"(supported: {', '.join(METHODS)})")
    bits = _int(qc, ("bits", "w_bit"), where)
    group = _int(qc, ("group_size", "q_group_size"), where)
    if group != -1 and group <= 0:
        raise ModelImportError(f"{where}: quantization group_size {group} (expected -1 or "
                               "a positive size)")
    if method == "gptq":
        fmt = qc.get("checkpoint_format", qc.get("format", "gptq"))
        if qc.get("is_marlin_format"):
            fmt = "marlin"
        fmt = str(fmt).lower()
        if fmt not in GPTQ_FORMATS:
            raise ModelImportError(f"{where}: GPTQ checkpoint_format '{fmt}' is not "
                                   f"supported (supported: {', '.join(GPTQ_FORMATS)})")
        if bits not in (4, 8):
            raise ModelImportError(f"{where}: {bits}-bit GPTQ is not supported "
                                   "(supported: 4, 8)")
        return QuantConfig("gptq", bits, group, fmt == "gptq", bool(qc.get("dynamic")), where)
    version = str(qc.get("version", "gemm")).lower()
    if version != "gemm":
        raise ModelImportError(f"{where}: AWQ version '{version}' is not supported "
                               "(supported: gemm)")
    if bits != 4:
        raise ModelImportError(f"{where}: {bits}-bit AWQ is not supported (supported: 4)")
    if qc.get("zero_point", True) is not True:
        raise ModelImportError(f"{where}: AWQ without zero points (zero_point "
                               f"{qc.get('zero_point')!r}) is not supported")
    return QuantConfig("awq", bits, group, False, False, where)


def is_quantized(st, base: str) -> bool:
    """Whether the checkpoint stores linear `base` packed (`base.qweight`)."""
    return base + ".qweight" in st


def _fields(words: np.ndarray, bits: int) -> np.ndarray:
    """[..., W] int32 words -> [..., W, 32/bits] unsigned fields, value i
    of a word in bits [bits*i, bits*i + bits)."""
    u = np.asarray(words).view(np.uint32)
    shifts = np.arange(0, 32, bits, dtype=np.uint32)
    return ((u[..., None] >> shifts) & np.uint32((1 << bits) - 1)).astype(np.uint8)


def _layout(st, base, n, k, q: QuantConfig):
    """(bits, group size, groups) of linear `base`, from its tensor shapes,
    checked against the config (unless it has per-module overrides)."""
    qw = base + ".qweight"
    f = st.where[qw]
    shape = tuple(f.shape(qw))
    packed_dim = 0 if q.method == "gptq" else 1  # the dimension packing 32/b values
    full = (k, n)[packed_dim]
    bits = None
    if len(shape) == 2 and shape[1 - packed_dim] == (n, k)[packed_dim] and \
            (shape[packed_dim] * 32) % full == 0:
        bits = shape[packed_dim] * 32 // full
    allowed = (4, 8) if q.method == "gptq" else (4,)
    if bits not in allowed or (not q.dynamic and bits != q.bits):
        if q.dynamic:
            want = f"{full} * bits / 32 (bits {' or '.join(map(str, allowed))})"
        else:
            want = str(full * q.bits // 32)
        want = f"[{want}, {n}]" if packed_dim == 0 else f"[{k}, {want}]"
        raise ModelImportError(f"{f.path}: tensor '{qw}' has shape {list(shape)}, expected "
                               f"{want} ({q.method.upper()}, {n} outputs x {k} inputs)")
    sc = base + ".scales"
    if sc not in st:
        raise ModelImportError(f"{st.source}: missing tensor '{sc}'")
    sshape = tuple(st.where[sc].shape(sc))
    if q.dynamic:
        groups = sshape[0] if len(sshape) == 2 else 0
        if groups < 1 or k % groups:
            raise ModelImportError(f"{st.where[sc].path}: tensor '{sc}' has shape "
                                   f"{list(sshape)}: its groups do not divide K = {k}")
        gs = k // groups
    else:
        gs = k if q.group_size == -1 else q.group_size
        if k % gs:
            raise ModelImportError(
                f"{q.where}: group_size {gs} does not divide the {k} inputs of '{base}' "
                "(qc needs whole groups)")
        groups = k // gs
    return bits, gs, groups


def check_linear(st, base: str, n: int, k: int, q: QuantConfig):
    """Checks the tensors of quantized linear `base` (N x K): dtypes,
    shapes, bounds, reading nothing but the headers; returns its (bits,
    group size, groups)."""
    bits, gs, groups = _layout(st, base, n, k, q)
    pack = 32 // bits
    if n % pack:
        raise ModelImportError(f"{st.where[base + '.qweight'].path}: linear '{base}' has {n} "
                               f"outputs, not a multiple of {pack} ({bits}-bit zero points "
                               "pack along the outputs)")
    for name, dts, shape in _expected(base, n, k, bits, groups, pack, q):
        if name not in st:
            if name.endswith(".g_idx"):
                continue
            raise ModelImportError(f"{st.source}: missing tensor '{name}'")
        f = st.where[name]
        if f.dtype(name) not in dts:
            raise ModelImportError(f"{f.path}: tensor '{name}' has dtype {f.dtype(name)}, "
                                   f"expected {' or '.join(dts)}")
        if tuple(f.shape(name)) != shape:
            raise ModelImportError(f"{f.path}: tensor '{name}' has shape "
                                   f"{list(f.shape(name))}, expected {list(shape)} "
                                   f"({bits}-bit, {groups} group(s) of {gs})")
        f.check(name, dts)
    return bits, gs, groups


def _expected(base, n, k, bits, groups, pack, q):
    if q.method == "gptq":
        return [(base + ".qweight", ("I32",), (k // pack, n)),
                (base + ".qzeros", ("I32",), (groups, n // pack)),
                (base + ".scales", ("F16", "BF16", "F32"), (groups, n)),
                (base + ".g_idx", ("I32", "I64"), (k,))]
    return [(base + ".qweight", ("I32",), (k, n // pack)),
            (base + ".qzeros", ("I32",), (groups, n // pack)),
            (base + ".scales", ("F16", "BF16", "F32"), (groups, n))]


def _unpack(st, base, n, k, q: QuantConfig):
    """(bits, group size, codes [N, K] u8, zeros [N, G] u8, scales [N, G]
    f16/f32, g [K] each column's group) of linear `base`, fields as the
    file stores them, checked."""
    bits, gs, groups = check_linear(st, base, n, k, q)
    mask = (1 << bits) - 1
    qw = st.where[base + ".qweight"].array(base + ".qweight")
    qz = st.where[base + ".qzeros"].array(base + ".qzeros")
    sc = st.where[base + ".scales"]
    if q.method == "gptq":
        codes = _fields(qw.T, bits).reshape(n, k)  # [N, K/pack, pack] -> k = r*pack + i
        zeros = _fields(qz, bits).reshape(groups, n).T
        if q.zero_plus_one:
            zeros = ((zeros.astype(np.int16) + 1) & mask).astype(np.uint8)
    else:
        inv = np.argsort(AWQ_ORDER)  # column 8c + j is value inv[j] of word c
        codes = _fields(qw, bits)[..., inv].reshape(k, n).T
        zeros = _fields(qz, bits)[..., inv].reshape(groups, n).T
    scales = sc.array(base + ".scales")
    if sc.dtype(base + ".scales") == "BF16":
        from ..mlir_emit import bf16_bits_to_f32
        scales = bf16_bits_to_f32(scales)
    g = np.arange(k) // gs
    gname = base + ".g_idx"
    if q.method == "gptq" and gname in st:
        g = np.asarray(st.where[gname].array(gname)).astype(np.int64)
        if g.min() < 0 or g.max() >= groups:
            raise ModelImportError(f"{st.where[gname].path}: tensor '{gname}' has group "
                                   f"indices outside 0..{groups - 1}")
    return (bits, gs, np.ascontiguousarray(codes), np.ascontiguousarray(zeros),
            np.ascontiguousarray(scales.T), g)


def dequantize_linear(st, base: str, n: int, k: int, q: QuantConfig) -> np.ndarray:
    """Linear `base` (N x K) as float32: (q - z) * s, exact (any g_idx)."""
    _, _, codes, zeros, scales, g = _unpack(st, base, n, k, q)
    return ((codes.astype(np.float32) - zeros[:, g].astype(np.float32))
            * scales[:, g].astype(np.float32))


def load_linear(st, base: str, n: int, k: int, q: QuantConfig) -> Packed:
    """Linear `base` (N x K) of the checkpoint as a `Packed` in its exact
    grid (see the module docstring)."""
    bits, gs, codes, zeros, scales, g = _unpack(st, base, n, k, q)
    groups = k // gs
    perm = None
    if not np.array_equal(g, np.arange(k) // gs):
        gname = base + ".g_idx"
        counts = np.bincount(g, minlength=groups)
        bad = np.flatnonzero(counts != gs)
        if bad.size:
            raise ModelImportError(
                f"{st.where[gname].path}: tensor '{gname}' puts {counts[bad[0]]} columns in "
                f"group {bad[0]}, not {gs}: no column order makes its groups whole (qc "
                "represents act-order as a permutation into groups of group_size; import "
                "with --quantized dequantize)")
        perm = np.argsort(g, kind="stable").astype(np.int32)
        codes = np.ascontiguousarray(codes[:, perm])

    half = 1 << (bits - 1)
    gran = "per_channel" if groups == 1 else f"per_group, group_size = {gs}"
    if np.all(zeros == half):  # symmetric: q - 2^(b-1) in two's complement
        codes = codes ^ np.uint8(half)
        zp, sym = None, ""
    else:
        zp, sym = zeros.view(np.int8), ", symmetric = false"
    if groups == 1:
        scheme = f"#qc.scheme<weight = i{bits}{sym}>"
    else:
        scheme = f"#qc.scheme<weight = i{bits}, granularity = {gran}{sym}>"
    if bits == 4:
        pairs = codes.reshape(n, k // 2, 2)
        data = (pairs[..., 0] | (pairs[..., 1] << 4)).reshape(-1).view(np.int8)
    else:
        data = codes.reshape(-1).view(np.int8)
    return Packed(data, scales, zp, scheme, (n, k), bits, perm)
