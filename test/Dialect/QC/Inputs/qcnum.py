"""Helpers for the numeric pass tests: write IR with exact (hex) constants,
run quant-opt, parse the constants and ops of its output, and independent
numpy references of the quantization arithmetic in docs/passes.md.

Nothing here calls into the compiler's code except through quant-opt.
"""

import os
import re
import subprocess
import sys

import numpy as np

DTYPES = {"f32": np.float32, "f16": np.float16, "f64": np.float64, "i8": np.int8}


def make_rng():
    """A fresh seed per run unless QC_TEST_SEED is set; printed on failure."""
    seed = int(os.environ.get("QC_TEST_SEED", int.from_bytes(os.urandom(4), "little")))
    return seed, np.random.default_rng(seed)


def hex_dense(arr, elt):
    """dense<"0x..."> text of `arr` stored as `elt` (little-endian)."""
    a = np.ascontiguousarray(arr, dtype=DTYPES[elt])
    return 'dense<"0x%s">' % a.tobytes().hex().upper()


def tensor_type(shape, elt):
    return "tensor<%s>" % "x".join([str(d) for d in shape] + [elt])


def run_opt(args, ir_text, workdir, name="in.mlir"):
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write(ir_text)
    cmd = ["quant-opt", path, "--mlir-print-elementsattrs-with-hex-if-larger=0"] + args
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("quant-opt %s failed:\n%s" % (" ".join(args), p.stderr))
    return p.stdout


_CONST_RE = re.compile(r"(%[\w]+) = arith\.constant dense<(.*?)> : tensor<([0-9x]*)x?([a-z0-9]+)>")


def parse_dense(body, shape, elt):
    dt = DTYPES[elt]
    shape = tuple(shape)
    if body.startswith('"0x'):
        raw = bytes.fromhex(body[3:-1])
        return np.frombuffer(raw, dtype=dt).reshape(shape).copy()
    # Splat or small literal.
    txt = body.replace("true", "1").replace("false", "0")
    val = np.array(eval(txt), dtype=np.float64)
    return np.broadcast_to(val, shape).astype(dt).copy()


def parse_constants(text):
    consts = {}
    for m in _CONST_RE.finditer(text):
        name, body, dims, elt = m.groups()
        shape = [int(d) for d in dims.split("x") if d]
        consts[name] = parse_dense(body, shape, elt)
    return consts


_PW_RE = re.compile(
    r"(%[\w]+) = qc\.packed_weight (%[\w]+), (%[\w]+)(?:, (%[\w]+))? \{(.*?)\} :")
_LAYER_RE = re.compile(r'layer = "([^"]+)"')


def parse_packed(text):
    """Returns {layer: dict(data, scales, zeros, attrs)} for every packed
    weight whose consumer (dequantize_weight -> linear, or a fused matmul)
    names a layer."""
    consts = parse_constants(text)
    pws = {}
    for m in _PW_RE.finditer(text):
        name, d, s, z, attrs = m.groups()
        pws[name] = dict(data=consts.get(d), scales=consts.get(s),
                         zeros=consts.get(z) if z else None, attrs=attrs)
    alias = {}
    for m in re.finditer(r"(%[\w]+) = qc\.dequantize_weight (%[\w]+)", text):
        alias[m.group(1)] = m.group(2)
    out = {}
    for line in text.splitlines():
        lm = _LAYER_RE.search(line)
        if not lm or "qc.packed_weight" in line:
            continue
        for tok in re.findall(r"%[\w]+", line.split("{")[0]):
            src = alias.get(tok, tok)
            if src in pws:
                out[lm.group(1)] = pws[src]
    return out


# ---------------------------------------------------------------------------
# Reference arithmetic (docs/passes.md), float64 + explicit f32 rounding.
# ---------------------------------------------------------------------------

def ref_params(lo, hi, bits, sym):
    """Scale (f32) and zero point per group from group min/max arrays."""
    lo = np.asarray(lo, np.float64)
    hi = np.asarray(hi, np.float64)
    if sym:
        qmax = 2 ** (bits - 1) - 1
        amax = np.maximum(np.abs(lo), np.abs(hi))
        s = (amax / qmax).astype(np.float32)
        s[(amax == 0) | (s == 0)] = 1.0
        return s, np.zeros(s.shape, np.int64)
    qmax = 2 ** bits - 1
    lo = np.minimum(lo, 0.0)
    hi = np.maximum(hi, 0.0)
    s = ((hi - lo) / qmax).astype(np.float32)
    s[(hi == lo) | (s == 0)] = 1.0
    z = np.clip(np.rint(-lo / s.astype(np.float64)), 0, qmax).astype(np.int64)
    return s, z


def ref_quantize(w, s, z, bits, sym):
    q = np.rint(np.asarray(w, np.float64) / np.asarray(s, np.float32).astype(np.float64))
    if sym:
        qmax = 2 ** (bits - 1) - 1
        return np.clip(q, -qmax, qmax).astype(np.int64)
    return np.clip(q + z, 0, 2 ** bits - 1).astype(np.int64)


def group_view(n, k, gran, gs):
    """(rows, groups, group_size) of the parameter grid."""
    if gran == "per_tensor":
        return 1, 1, k
    if gran == "per_channel":
        return n, 1, k
    return n, k // gs, gs


def ref_rtn(w, bits, gran, gs, sym):
    """Returns q (N x K int), scales (R x G f32), zeros (R x G int)."""
    n, k = w.shape
    rows, groups, gsz = group_view(n, k, gran, gs)
    if gran == "per_tensor":
        lo = np.array([[w.min()]])
        hi = np.array([[w.max()]])
    else:
        g = w.reshape(n, groups, gsz)
        lo, hi = g.min(-1), g.max(-1)
    s, z = ref_params(lo, hi, bits, sym)
    rr = np.arange(n) if rows == n else np.zeros(n, np.int64)
    cols = np.arange(k) // gsz
    S = s[rr][:, cols]
    Z = z[rr][:, cols]
    return ref_quantize(w, S, Z, bits, sym), s, z


def storage_i8(q):
    """The i8 bit pattern quant stores an integer as (unsigned kept mod 256)."""
    return (np.asarray(q, np.int64) & 0xFF).astype(np.uint8).view(np.int8)


def dequant(q, s, z, n, k, gran, gs):
    rows, groups, gsz = group_view(n, k, gran, gs)
    rr = np.arange(n) if rows == n else np.zeros(n, np.int64)
    cols = np.arange(k) // gsz
    return (q - z[rr][:, cols]) * s[rr][:, cols].astype(np.float64)


def fail(seed, msg):
    print("FAILED (seed %d, rerun with QC_TEST_SEED=%d): %s" % (seed, seed, msg))
    sys.exit(1)


# ---------------------------------------------------------------------------
# A tiny numpy interpreter for the float-level qc ops (independent of the
# compiler): arith.constant, qc.rms_norm, qc.layer_norm, qc.smooth,
# qc.linear, arith.addf, return. Enough to check that a float-to-float pass
# (qc-smoothquant) leaves the function's output unchanged.
# ---------------------------------------------------------------------------

_OPERANDS = re.compile(r"%[\w]+")


def _attr_float(line, name, default):
    m = re.search(name + r" = ([-0-9.e+]+)", line)
    return float(m.group(1)) if m else default


def interpret(text, func, args):
    """Runs @func of the printed module `text` on numpy `args`."""
    consts = parse_constants(text)
    m = re.search(r"func\.func @%s\((.*?)\) ->" % re.escape(func), text)
    names = re.findall(r"(%[\w]+):", m.group(1))
    env = dict(zip(names, [np.asarray(a, np.float64) for a in args]))
    env.update({k: v.astype(np.float64) for k, v in consts.items()})
    body = text[m.end():]
    for line in body.splitlines():
        line = line.strip()
        if line.startswith("return"):
            return [env[o] for o in _OPERANDS.findall(line.split(":")[0])]
        if "=" not in line or "arith.constant" in line:
            continue
        res, rhs = line.split(" = ", 1)
        ops = _OPERANDS.findall(rhs.split("{")[0].split(" : ")[0])
        if rhs.startswith("qc.rms_norm"):
            x, g = env[ops[0]], env[ops[1]]
            eps = _attr_float(line, "epsilon", 1e-5)
            env[res] = x / np.sqrt(np.mean(x * x, -1, keepdims=True) + eps) * g
        elif rhs.startswith("qc.layer_norm"):
            x, g, b = env[ops[0]], env[ops[1]], env[ops[2]]
            eps = _attr_float(line, "epsilon", 1e-5)
            mu = x.mean(-1, keepdims=True)
            var = ((x - mu) ** 2).mean(-1, keepdims=True)
            env[res] = (x - mu) / np.sqrt(var + eps) * g + b
        elif rhs.startswith("qc.smooth"):
            env[res] = env[ops[0]] / env[ops[1]]
        elif rhs.startswith("qc.linear"):
            y = env[ops[0]] @ env[ops[1]].T
            if len(ops) > 2:
                y = y + env[ops[2]]
            env[res] = y
        elif rhs.startswith("arith.addf"):
            env[res] = env[ops[0]] + env[ops[1]]
        else:
            raise RuntimeError("interpret: unsupported op: " + line)
    raise RuntimeError("interpret: no return in @" + func)
