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


def ref_gptq(w, h, bits, gran, gs, sym, act_order, damp=0.01):
    """Unblocked numpy GPTQ of an N x K weight `w` on the Hessian `h`
    (X^T X, any positive scale): the integers, scales and zero points in
    the conventions of ref_rtn (dynamic per-group parameters unless
    act_order). `damp` x mean(diag) is added to the diagonal."""
    w = w.copy()
    h = h.copy()
    n, k = w.shape
    dead = np.diag(h) == 0
    h[dead, dead] = 1.0
    w[:, dead] = 0.0
    rows, groups, gsz = group_view(n, k, gran, gs)
    dynamic = gran == "per_group" and not act_order
    if dynamic:
        s = np.ones((rows, groups), np.float32)
        z = np.zeros((rows, groups), np.int64)
    else:
        _, s, z = ref_rtn(w, bits, gran, gs, sym)
    perm = np.argsort(-np.diag(h), kind="stable") if act_order else np.arange(k)
    w = w[:, perm]
    h = h[perm][:, perm]
    h = h + damp * np.mean(np.diag(h)) * np.eye(k)
    u = np.linalg.cholesky(np.linalg.inv(h)).T
    q = np.zeros((n, k), np.int64)
    rr = np.arange(n) if rows == n else np.zeros(n, np.int64)
    for i in range(k):
        o = perm[i]
        if dynamic and i % gsz == 0:
            g = w[:, i:i + gsz]
            s[:, i // gsz], z[:, i // gsz] = ref_params(g.min(1), g.max(1), bits, sym)
        S = s[rr, o // gsz].astype(np.float64)
        Z = z[rr, o // gsz]
        qi = ref_quantize(w[:, i], s[rr, o // gsz], Z, bits, sym)
        q[:, o] = qi
        err = (w[:, i] - (qi - Z) * S) / u[i, i]
        w[:, i:] -= np.outer(err, u[i, i:])
    return q, s, z


def gptq_problem(rng, workdir, x, configs, n, scale_step):
    """Writes a GPTQ test problem into `workdir`: per config (bits,
    granularity, group size, symmetric) a layer "blk.l<i>" with a random
    n x K f32 weight that sees x * (1 + scale_step * i), its Hessian X^T X at
    its own offset of one Hessian file, and stats.json. Returns (layers
    {name: (w, xi, bits, gran, gs, sym)}, stats path, IR text)."""
    import json
    t, k = x.shape
    layers = {}
    hess_path = os.path.join(workdir, "stats.json.hessian.bin")
    stats = {"format": "qc-stats", "version": 1, "layers": {}}
    ty = "tensor<%dx%dxf32>" % (n, k)
    with open(hess_path, "wb") as hf:
        lines = ["func.func @g(%%x: tensor<?x%dxf32>) {" % k]
        for i, (bits, gran, gs, sym) in enumerate(configs):
            name = "blk.l%d" % i
            xi = x * (1.0 + scale_step * i)
            w = (rng.standard_normal((n, k)) * 0.05).astype(np.float32).astype(np.float64)
            off = hf.tell()
            hf.write(np.ascontiguousarray(xi.T @ xi, np.float64).tobytes())
            stats["layers"][name] = {"channels": k, "tokens": t,
                                     "absmax": np.abs(xi).max(0).tolist(),
                                     "hessian": {"file": os.path.basename(hess_path),
                                                 "offset": off}}
            layers[name] = (w, xi, bits, gran, gs, sym)
            g = ", group_size = %d" % gs if gs else ""
            scheme = "#qc.scheme<weight = i%d, granularity = %s%s, symmetric = %s>" % (
                bits, gran, g, "true" if sym else "false")
            lines.append("  %%w%d = arith.constant %s : %s" % (i, hex_dense(w, "f32"), ty))
            lines.append('  %%y%d = qc.linear %%x, %%w%d {layer = "%s", scheme = %s} : '
                         "(tensor<?x%dxf32>, %s) -> tensor<?x%dxf32>"
                         % (i, i, name, scheme, k, ty, n))
        lines += ["  return", "}"]
    stats_path = os.path.join(workdir, "stats.json")
    with open(stats_path, "w") as f:
        json.dump(stats, f)
    return layers, stats_path, "\n".join(lines) + "\n"


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
        elif rhs.startswith("arith.mulf"):
            env[res] = env[ops[0]] * env[ops[1]]
        elif rhs.startswith("qc.packed_weight"):
            env[res] = _decode_packed(line, [consts[o] for o in ops])
        elif rhs.startswith("qc.dequantize_weight"):
            env[res] = env[ops[0]]
        elif rhs.startswith("qc.wo_matmul"):
            y = env[ops[0]] @ env[ops[1]].T
            env[res] = y + env[ops[2]] if len(ops) > 2 else y
        elif rhs.startswith("qc.quantize_act"):
            x = env[ops[0]]
            if "dynamic_per_token" in rhs:
                sc = (np.abs(x).max(-1) / 127.0).astype(np.float32).astype(np.float64)
                sc[sc == 0] = 1.0
                q = np.clip(np.rint(x / sc[..., None]), -127, 127)
            else:
                sval = float(re.search(r"static_per_tensor scale ([-0-9.e+]+)", rhs).group(1))
                sc = np.array([sval]).astype(np.float32).astype(np.float64)
                q = np.clip(np.rint(x / sc[0]), -127, 127)
            rq, rs = [r.strip() for r in res.split(",")]
            env[rq], env[rs] = q, sc
        elif rhs.startswith("qc.dequantize_act"):
            q, sc = env[ops[0]], env[ops[1]]
            env[res] = q * (sc[..., None] if sc.ndim == q.ndim - 1 else sc[0])
        elif rhs.startswith("qc.int8_matmul"):
            q, sc, w = env[ops[0]], env[ops[1]], env[ops[2]]
            xs = sc[..., None] if sc.ndim == q.ndim - 1 else sc[0]
            y = (q @ w.T) * xs
            env[res] = y + env[ops[3]] if len(ops) > 3 else y
        else:
            raise RuntimeError("interpret: unsupported op: " + line)
    raise RuntimeError("interpret: no return in @" + func)


def _decode_packed(line, operands):
    """Float N x K weight of a printed qc.packed_weight (docs/passes.md)."""
    n, k, bits = map(int, re.search(r"!qc.packed<(\d+)x(\d+)xi(\d+)>", line).groups())
    sym = "symmetric = false" not in line
    data, scales = operands[0], operands[1].astype(np.float64)
    zeros = operands[2] if len(operands) > 2 else None
    lay = re.search(r"#qc.layout<(\w+)(.*?)>", line)
    kind = lay.group(1)
    if kind == "unpacked":
        q = data.astype(np.int64).reshape(n, k)
    else:
        tn, tk = n, k
        if kind == "tiled":
            m = re.search(r"tile_n = (\d+)", lay.group(2))
            tn = int(m.group(1)) if m else 1
            m = re.search(r"tile_k = (\d+)", lay.group(2))
            tk = int(m.group(1)) if m else 1
        u = data.view(np.uint8).astype(np.int64)
        if bits == 4:
            u = np.stack([u & 0xF, u >> 4], -1).reshape(-1)
        # undo the tiling: tiles in row-major order, row-major inside
        q = u.reshape(n // tn, k // tk, tn, tk).transpose(0, 2, 1, 3).reshape(n, k)
    if sym:
        half = 1 << (bits - 1)
        q = np.where(q >= half, q - (1 << bits), q) if kind != "unpacked" or bits == 8 else q
        z = np.zeros(scales.shape)
    else:
        q = q & ((1 << bits) - 1)
        z = (zeros.astype(np.int64) & 0xFF).astype(np.float64)
    rows, groups = scales.shape
    rr = np.arange(n) if rows == n else np.zeros(n, np.int64)
    cols = np.arange(k) // (k // groups)
    return (q - z[rr][:, cols]) * scales[rr][:, cols]
