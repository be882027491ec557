"""GGUF quantized blocks as qc packed weights, without dequantizing
(`import --quantized keep`; docs/formats.md, "Quantized checkpoint
weights").

Each supported GGML block type maps onto a `#qc.scheme` grid whose f32
dequantization (docs/passes.md: (q - z) * s, or q * s + m) gives the same
float32 values, bit for bit, as the `gguf` package's own dequantization
(`gguf.quants.dequantize`): the products of the block's f16 scales and
6/8-bit sub-block scales are exact in f32, and each weight is one f32
rounding of the same exact value on both sides.

| GGML | grid | qc scheme (groups along K) | bits/weight (GGUF) |
|---|---|---|---|
| Q8_0 | w = d q | i8 symmetric, groups of 32, f16 scales d | 8.5 (8.5) |
| Q4_0 | w = d (q - 8) | i4 asymmetric, zero point 8, f16 scales | 4.75 (4.5) |
| Q4_1 | w = d q + m | i4, f16 minimum m, f16 scales d, groups of 32 | 5.0 (5.0) |
| Q4_K | w = (d sc) q - dmin m | i4, f32 minimum -(dmin m), f32 scales d sc, groups of 32 | 6.0 (4.5) |
| Q5_K | as Q4_K, 5-bit q | i8 codes 0..31, f32 minimum and scales, groups of 32 | 10.0 (5.5) |
| Q6_K | w = (d sc) (q - 32) | i8 symmetric codes -32..31, f32 scales d sc, groups of 16 | 10.0 (6.5625) |

The K-quants' two-level scales are flattened to one f32 scale (and
minimum) per sub-block: exact, at more bits per weight than the file (no
5- or 6-bit layout and no two-level scales in qc yet).

Codes are written in the `row_major` layout (docs/dialect.md: int4 two per
byte, even k in the low nibble).
"""

from typing import Optional

import numpy as np

from ..mlir_emit import Packed

#: GGML type name -> bytes per block, values per block.
_BLOCKS = {"Q8_0": (34, 32), "Q4_0": (18, 32), "Q4_1": (20, 32),
           "Q4_K": (144, 256), "Q5_K": (176, 256), "Q6_K": (210, 256)}

#: The GGML types `to_packed` keeps.
KEPT_TYPES = tuple(_BLOCKS)


def _f16(b: np.ndarray) -> np.ndarray:
    """Little-endian f16 values from [..., 2] bytes."""
    return np.ascontiguousarray(b).view("<f2")[..., 0]


def _pack_nibbles(q: np.ndarray) -> np.ndarray:
    """[N, K] codes 0..15 -> N*K/2 row_major bytes (even k in the low
    nibble)."""
    q = q.astype(np.uint8).reshape(q.shape[0], -1, 2)
    return (q[..., 0] | (q[..., 1] << 4)).reshape(-1).view(np.int8)


def _scales_mins_k(sc12: np.ndarray):
    """The 8 six-bit scales and minima of a K-quant super-block from its 12
    scale bytes ([B, 12] -> [B, 8], [B, 8]; llama.cpp get_scale_min_k4)."""
    s = sc12.astype(np.uint8)
    d, m, md = s[:, 0:4], s[:, 4:8], s[:, 8:12]
    sc = np.concatenate([d & 0x3F, (md & 0x0F) | ((d >> 2) & 0x30)], axis=1)
    mn = np.concatenate([m & 0x3F, (md >> 4) | ((m >> 2) & 0x30)], axis=1)
    return sc, mn


def to_packed(raw: np.ndarray, type_name: str, shape) -> Optional[Packed]:
    """The tensor of GGML type `type_name` with logical shape (N, K) from its
    stored bytes `raw` (any shape, uint8) as a `Packed`, or None when the
    type is not kept (the caller dequantizes it)."""
    if type_name not in _BLOCKS:
        return None
    n, k = (int(d) for d in shape)
    size, per = _BLOCKS[type_name]
    if k % per:
        return None
    b = np.asarray(raw, dtype=np.uint8).reshape(n, k // per, size)
    if type_name == "Q8_0":
        d = _f16(b[..., 0:2])
        q = b[..., 2:].view(np.int8).reshape(n, k)
        return Packed(np.ascontiguousarray(q).reshape(-1), d, None,
                      "#qc.scheme<weight = i8, granularity = per_group, group_size = 32>",
                      (n, k), 8)
    if type_name in ("Q4_0", "Q4_1"):
        head = 2 if type_name == "Q4_0" else 4
        qs = b[..., head:]
        # Block element j (j < 16) in the low nibble of byte j, element
        # j + 16 in its high nibble.
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).reshape(n, k)
        d = _f16(b[..., 0:2])
        if type_name == "Q4_0":
            zeros = np.full(d.shape, 8, dtype=np.int8)
            scheme = ("#qc.scheme<weight = i4, granularity = per_group, group_size = 32, "
                      "symmetric = false>")
        else:
            zeros = _f16(b[..., 2:4])
            scheme = ("#qc.scheme<weight = i4, granularity = per_group, group_size = 32, "
                      "symmetric = false, minimum = f16>")
        return Packed(_pack_nibbles(q), d, zeros, scheme, (n, k), 4)
    nb = n * (k // per)
    b = b.reshape(nb, size)
    if type_name in ("Q4_K", "Q5_K"):
        d = _f16(b[:, 0:2]).astype(np.float32)
        dmin = _f16(b[:, 2:4]).astype(np.float32)
        sc, mn = _scales_mins_k(b[:, 4:16])
        scales = (d[:, None] * sc.astype(np.float32)).reshape(n, -1)
        minima = -(dmin[:, None] * mn.astype(np.float32)).reshape(n, -1)
        if type_name == "Q4_K":
            qs = b[:, 16:].reshape(nb, 4, 32)
            # Sub-blocks 2i and 2i + 1 in the low / high nibbles of 32 bytes.
            q = np.stack([qs & 0x0F, qs >> 4], axis=2).reshape(n, k)
            return Packed(_pack_nibbles(q), scales, minima,
                          "#qc.scheme<weight = i4, granularity = per_group, group_size = 32, "
                          "symmetric = false, minimum = f32>", (n, k), 4)
        qh = b[:, 16:48]
        qs = b[:, 48:].reshape(nb, 4, 32)
        lo = np.stack([qs & 0x0F, qs >> 4], axis=2).reshape(nb, 8, 32)
        hi = (qh[:, None, :] >> np.arange(8, dtype=np.uint8)[None, :, None]) & 1
        q = (lo | (hi << 4)).reshape(n, k)
        return Packed(q.astype(np.uint8).reshape(-1).view(np.int8), scales, minima,
                      "#qc.scheme<weight = i8, granularity = per_group, group_size = 32, "
                      "symmetric = false, minimum = f32>", (n, k), 8)
    # Q6_K: ql[128], qh[64], scales[16] (int8), d (f16).
    ql = b[:, 0:128].reshape(nb, 2, 64)
    qh = b[:, 128:192].reshape(nb, 2, 32)
    sc = b[:, 192:208].view(np.int8).astype(np.float32)
    d = _f16(b[:, 208:210]).astype(np.float32)
    # Per half (128 values): 4 runs of 32, low nibbles of ql[0:32],
    # ql[32:64], then their high nibbles; 2 high bits from qh at shifts
    # 0, 2, 4, 6.
    low = np.stack([ql[..., 0:32] & 0x0F, ql[..., 32:64] & 0x0F,
                    ql[..., 0:32] >> 4, ql[..., 32:64] >> 4], axis=2)
    high = (qh[:, :, None, :] >> np.array([0, 2, 4, 6], dtype=np.uint8)[None, None, :, None]) & 3
    q = ((low | (high << 4)).astype(np.int16) - 32).astype(np.int8).reshape(n, k)
    scales = (d[:, None] * sc).reshape(n, -1)
    return Packed(q.reshape(-1), scales, None,
                  "#qc.scheme<weight = i8, granularity = per_group, group_size = 16>",
                  (n, k), 8)
