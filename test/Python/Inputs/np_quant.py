"""Independent numpy round-to-nearest weight quantization (docs/passes.md,
"qc-quantize-weights"), for checking compiled modules and reports."""

import fnmatch
import re

import numpy as np


def rtn_dequant(w, bits, granularity="per_channel", group_size=0, symmetric=True):
    """The dequantized weight (q - z) * s in float32 of an N x K weight."""
    w = np.asarray(w, np.float64)
    n, k = w.shape
    if granularity == "per_tensor":
        g = w.reshape(1, 1, n * k)
    elif granularity == "per_channel":
        g = w.reshape(n, 1, k)
    else:
        g = w.reshape(n, k // group_size, group_size)
    if symmetric:
        qmax = 2 ** (bits - 1) - 1
        amax = np.abs(g).max(axis=-1, keepdims=True)
        s = (amax / qmax).astype(np.float32)
        s[(amax == 0) | (s == 0)] = 1.0
        q = np.clip(np.rint(g / s.astype(np.float64)), -qmax, qmax)
        z = 0.0
    else:
        umax = 2 ** bits - 1
        lo = np.minimum(g.min(axis=-1, keepdims=True), 0)
        hi = np.maximum(g.max(axis=-1, keepdims=True), 0)
        s = ((hi - lo) / umax).astype(np.float32)
        s[hi == lo] = 1.0
        z = np.clip(np.rint(-lo / s.astype(np.float64)), 0, umax)
        q = np.clip(np.rint(g / s.astype(np.float64)) + z, 0, umax)
    deq = ((q - z).astype(np.float32) * s).astype(np.float32)
    return deq.reshape(n, k), s


def scheme_for(policy, layer):
    """The scheme dict (or None) the policy's first matching rule gives."""
    for r in policy.get("rules", []):
        ok = (fnmatch.fnmatchcase(layer, r["match"]) if "match" in r
              else re.fullmatch(r["regex"], layer) is not None)
        if ok:
            s = r.get("scheme")
            return None if s == "none" else s
    d = policy.get("default")
    return None if d in (None, "none") else d


def quantize_checkpoint(ck, policy):
    """Replaces every linear weight of a Llama checkpoint by its dequantized
    RTN weight under `policy` (f16 schemes: rounded to float16)."""
    for layer in ck.linear_layers():
        s = scheme_for(policy, layer)
        if s is None:
            continue
        name = "token_embd" if layer == "output" and ck.config["tied_embeddings"] else layer
        if layer == "output" and name == "token_embd":
            name = "output"
            ck.tensors["output"] = ck.tensors["token_embd"]
            ck.config["tied_embeddings"] = False
        w = ck.tensors[name]
        if s["weight"] == "f16":
            ck.tensors[name] = w.astype(np.float16).astype(np.float32)
        else:
            bits = 4 if s["weight"] == "i4" else 8
            ck.tensors[name], _ = rtn_dequant(w, bits, s.get("granularity", "per_channel"),
                                              s.get("group_size", 0), s.get("symmetric", True))
    return ck
