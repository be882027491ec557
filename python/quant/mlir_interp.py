"""A small numpy interpreter for exactly the MLIR subset the importers emit.

Purpose: check the emitted IR's semantics independently of the compiler
(tests compare it with reference.py on real weights). It understands one op
per line as `mlir_emit` prints it; anything else is an error, never a guess.

qc ops follow their definitions in QCOps.td: qc.linear y = x W^T + b,
qc.rms_norm, qc.layer_norm, qc.sample (quant.reference.sample_tokens),
qc.argmax (numpy's argmax over the last
dimension, kept), qc.external_weight (raw little-endian data at
`offset` in a file relative to the IR file).

linalg.generic is evaluated vectorized over its whole iteration domain:
every indexing map must be a projected permutation; a reduction body must
yield `arith.addf`/`arith.maximumf` of a value and the output argument.
"""

import math
import re
from pathlib import Path

import ml_dtypes
import numpy as np

_DT = {"f32": np.float32, "f64": np.float64, "f16": np.float16, "i64": np.int64, "i32": np.int32,
       "i8": np.int8, "index": np.int64, "i1": np.bool_}
#: Element types numpy lacks, held as ml_dtypes' (bf16: numpy arithmetic
#: on it computes in f32 and rounds each result to nearest even, the
#: semantics of the compiled module's bf16 stores).
_WIDENED = {"bf16": ml_dtypes.bfloat16}
_DT.update(_WIDENED)


class InterpError(RuntimeError):
    pass


class _Comb:
    """A reduction combiner `op(value, out)` found in a generic body."""

    def __init__(self, op, value):
        self.op, self.value = op, value


def _parse_type(t):
    t = t.strip()
    m = re.fullmatch(r"tensor<(.*)>", t)
    if not m:
        return None, _DT[t]
    parts = m.group(1).split("x")
    return [None if p == "?" else int(p) for p in parts[:-1]], _DT[parts[-1]]


def _split_types(s):
    """Splits 'tensor<a>, tensor<b>' at top-level commas."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _map_dims(m):
    """'affine_map<(d0, d1) -> (d1)>' -> (ndims, [1])."""
    mm = re.fullmatch(r"affine_map<\(([^)]*)\) -> \(([^)]*)\)>", m.strip())
    if not mm:
        raise InterpError(f"unsupported affine map {m}")
    dims = [d.strip() for d in mm.group(1).split(",") if d.strip()]
    res = [r.strip() for r in mm.group(2).split(",") if r.strip()]
    idx = []
    for r in res:
        if r not in dims:
            raise InterpError(f"affine map {m} is not a projected permutation")
        idx.append(dims.index(r))
    return len(dims), idx


_FUNC = re.compile(r"\s*func\.func @(\w+)\((.*)\) -> (.*) \{$")


class Module:
    def __init__(self, path):
        self.path = Path(path)
        self.funcs = {}
        lines = self.path.read_text().splitlines()
        i = 0
        while i < len(lines):
            m = _FUNC.match(lines[i])
            if m:
                name, args = m.group(1), m.group(2)
                argnames = [a.split(":")[0].strip() for a in _split_types(args)]
                body = []
                i += 1
                while lines[i].strip() != "}" or lines[i].startswith("    "):
                    body.append(lines[i].strip())
                    i += 1
                self.funcs[name] = (argnames, body)
            i += 1
        self._blob_cache = {}

    def _weight(self, fname, offset, shape, dtype):
        key = (fname, offset)
        if key not in self._blob_cache:
            p = self.path.parent / fname
            n = int(np.prod(shape)) if shape else 1
            a = np.fromfile(p, dtype=np.dtype(dtype).newbyteorder("<"), count=n, offset=offset)
            if a.size != n:
                raise InterpError(f"{p}: truncated weight at offset {offset}")
            self._blob_cache[key] = a.reshape(shape)
        return self._blob_cache[key]

    def run(self, fname, *args):
        argnames, body = self.funcs[fname]
        env = dict(zip(argnames, [np.asarray(a) for a in args]))
        i = 0
        while i < len(body):
            line = body[i]
            if line.startswith("return"):
                names = line[len("return"):].split(":")[0]
                return [env[n.strip()] for n in names.split(",")]
            if "linalg.generic" in line:
                j = i
                while not body[j].startswith("} ->"):
                    j += 1
                self._generic(env, body[i:j + 1])
                i = j + 1
                continue
            self._op(env, line)
            i += 1
        raise InterpError(f"@{fname} has no return")

    # -- straight-line ops -----------------------------------------------
    def _op(self, env, line):
        res, rhs = [s.strip() for s in line.split("=", 1)]
        V = lambda n: env[n.strip()]
        rtype = rhs.rsplit(":", 1)[1].strip() if ":" in rhs else ""
        m = re.match(r"([\w.]+)", rhs)
        op = m.group(1)
        if op == "arith.constant":
            v = rhs.split()[1]
            if rtype == "index":
                env[res] = int(v)
            else:
                env[res] = (np.array(0xFF800000, np.uint32).view(np.float32)[()]
                            if v.startswith("0x") else np.float32(float(v)))
        elif op == "qc.external_weight":
            mm = re.match(r'qc.external_weight "([^"]+)" offset (\d+) : (.*)', rhs)
            shape, dt = _parse_type(mm.group(3))
            bf16 = mm.group(3).strip().endswith("xbf16>")
            env[res] = self._weight(mm.group(1), int(mm.group(2)), shape,
                                    np.uint16 if bf16 else dt)
            if bf16:
                env[res] = env[res].view(ml_dtypes.bfloat16)
        elif op == "tensor.dim":
            mm = re.match(r"tensor.dim (%\w+), (%\w+)", rhs)
            env[res] = V(mm.group(1)).shape[V(mm.group(2))]
        elif op == "tensor.empty":
            mm = re.match(r"tensor.empty\(([^)]*)\) : (.*)", rhs)
            shape, dt = _parse_type(mm.group(2))
            dyn = iter([V(d) for d in mm.group(1).split(",") if d.strip()])
            env[res] = np.zeros([d if d is not None else next(dyn) for d in shape], dt)
        elif op == "linalg.fill":
            mm = re.match(r"linalg.fill ins\((%\w+) : \w+\) outs\((%\w+) :", rhs)
            out = V(mm.group(2)).copy()
            out[...] = V(mm.group(1))
            env[res] = out
        elif op == "tensor.expand_shape":
            mm = re.match(r"tensor.expand_shape (%\w+) .* output_shape \[([^\]]*)\]", rhs)
            shape = [int(d) if d.strip().lstrip("-").isdigit() else V(d)
                     for d in mm.group(2).split(",")]
            env[res] = V(mm.group(1)).reshape(shape)
        elif op == "tensor.collapse_shape":
            mm = re.match(r"tensor.collapse_shape (%\w+) (\[.*\]) :", rhs)
            x = V(mm.group(1))
            groups = eval(mm.group(2))
            env[res] = x.reshape([int(np.prod([x.shape[k] for k in g])) for g in groups])
        elif op == "linalg.transpose":
            mm = re.match(r"linalg.transpose ins\((%\w+) .* permutation = (\[.*\])", rhs)
            env[res] = np.ascontiguousarray(V(mm.group(1)).transpose(eval(mm.group(2))))
        elif op == "linalg.batch_matmul":
            mm = re.match(r"linalg.batch_matmul ins\((%\w+), (%\w+) .* outs\((%\w+) :", rhs)
            env[res] = V(mm.group(3)) + np.matmul(V(mm.group(1)), V(mm.group(2)))
        elif op == "qc.linear":
            ops = re.match(r"qc.linear ([^{]*)\{", rhs).group(1).split(",")
            x, w = V(ops[0]), V(ops[1])
            y = np.matmul(x, w.T)
            if len(ops) == 3:
                y = y + V(ops[2])
            env[res] = y.astype(np.float32)
        elif op == "qc.rms_norm":
            mm = re.match(r"qc.rms_norm (%\w+), (%\w+) \{epsilon = (\S+) : f64\}", rhs)
            x, w, eps = V(mm.group(1)), V(mm.group(2)), float(mm.group(3))
            env[res] = (x / np.sqrt(np.mean(x * x, -1, keepdims=True) + np.float32(eps)) * w
                        ).astype(np.float32)
        elif op == "qc.layer_norm":
            mm = re.match(r"qc.layer_norm (%\w+), (%\w+), (%\w+) \{epsilon = (\S+) : f64\}", rhs)
            x, w, b, eps = (V(mm.group(1)), V(mm.group(2)), V(mm.group(3)),
                            float(mm.group(4)))
            mu = x.mean(-1, keepdims=True)
            var = ((x - mu) ** 2).mean(-1, keepdims=True)
            env[res] = ((x - mu) / np.sqrt(var + np.float32(eps)) * w + b).astype(np.float32)
        elif op == "qc.cache_write":
            mm = re.match(r"qc.cache_write (%\w+) into (%\w+) at (%\w+) \{layer = (\d+) : i64\}",
                          rhs)
            rows, cache, pos = V(mm.group(1)), V(mm.group(2)), V(mm.group(3))
            layer, out = int(mm.group(4)), V(mm.group(2)).copy()
            S = cache.shape[3]
            for b in range(rows.shape[0]):
                for t in range(rows.shape[1]):
                    p = int(pos[b]) + t
                    if 0 <= p < S:
                        out[layer, b, :, p, :] = rows[b, t]
            env[res] = out
        elif op == "qc.cache_attention":
            mm = re.match(r"qc.cache_attention (%\w+), (%\w+), (%\w+), (%\w+) "
                          r"\{layer = (\d+) : i64, scale = (\S+) : f32\}", rhs)
            q, kc, vc, pos = (V(mm.group(k)) for k in range(1, 5))
            layer, scale = int(mm.group(5)), np.float32(float(mm.group(6)))
            B, T, H, D = q.shape
            KV, S = kc.shape[2], kc.shape[3]
            out = np.zeros_like(q)
            for b in range(B):
                for t in range(T):
                    n = min(int(pos[b]) + t, S - 1) + 1
                    for h in range(H):
                        kv = h // (H // KV)
                        s = (kc[layer, b, kv, :n] @ q[b, t, h]) * scale
                        e = np.exp(s - s.max())
                        out[b, t, h] = (e / e.sum()) @ vc[layer, b, kv, :n]
            env[res] = out.astype(q.dtype)
        elif op == "qc.argmax":
            x = V(re.match(r"qc.argmax (%\w+)", rhs).group(1))
            env[res] = np.argmax(x, axis=-1, keepdims=True).astype(np.int64)
        elif op == "qc.sample":
            from .reference import sample_tokens
            names = re.match(r"qc.sample (%\w+), (%\w+), (%\w+), (%\w+), (%\w+)", rhs).groups()
            lg, t, k, seed, pos = (V(n) for n in names)
            env[res] = sample_tokens(lg, float(t), int(k), int(seed), pos)[:, None].astype(np.int64)
        elif op == "tensor.extract" and "[]" in rhs:
            env[res] = V(re.match(r"tensor.extract (%\w+)\[\]", rhs).group(1))[()]
        elif op in ("arith.index_cast", "arith.addi", "arith.muli", "arith.sitofp"):
            env[res] = self._scalar(env, rhs)
        elif op in ("tensor.insert_slice", "tensor.extract_slice"):
            self._slice(env, res, rhs)
        else:
            raise InterpError(f"unsupported op: {line}")

    def _scalar(self, env, rhs):
        V = lambda n: env[n.strip()]
        mm = re.match(r"(\S+) ([^:]*) :", rhs)
        op, ops = mm.group(1), [o.strip() for o in mm.group(2).split(",")]
        if op == "arith.index_cast":
            return int(V(ops[0]))
        if op == "arith.sitofp":
            return np.float32(V(ops[0]))
        a, b = V(ops[0]), V(ops[1])
        return a + b if op == "arith.addi" else a * b

    def _slice(self, env, res, rhs):
        V = lambda n: env[n.strip()]
        val = lambda s: int(s) if s.strip().lstrip("-").isdigit() else int(V(s))
        if rhs.startswith("tensor.insert_slice"):
            mm = re.match(r"tensor.insert_slice (%\w+) into (%\w+)\[([^\]]*)\] \[([^\]]*)\]", rhs)
            src, dst = V(mm.group(1)), V(mm.group(2)).copy()
            offs = [val(o) for o in mm.group(3).split(",")]
            sizes = [val(s) for s in mm.group(4).split(",")]
            idx = tuple(slice(o, o + s) for o, s in zip(offs, sizes))
            if any(o + s > n for o, s, n in zip(offs, sizes, dst.shape)):
                raise InterpError("insert_slice out of bounds")
            dst[idx] = src.reshape(sizes)
            env[res] = dst
        else:
            mm = re.match(r"tensor.extract_slice (%\w+)\[([^\]]*)\] \[([^\]]*)\].* to (.*)$", rhs)
            src = V(mm.group(1))
            offs = [val(o) for o in mm.group(2).split(",")]
            sizes = [val(s) for s in mm.group(3).split(",")]
            if any(o + s > n for o, s, n in zip(offs, sizes, src.shape)):
                raise InterpError("extract_slice out of bounds")
            out = src[tuple(slice(o, o + s) for o, s in zip(offs, sizes))]
            shape, _ = _parse_type(mm.group(4))
            kept = list(sizes)
            while len(kept) > len(shape) and kept[0] == 1:  # rank-reduced
                kept.pop(0)
            if len(kept) != len(shape):
                raise InterpError(f"unsupported rank-reducing extract_slice: {rhs}")
            env[res] = out.reshape(kept)

    # -- linalg.generic --------------------------------------------------
    def _generic(self, env, lines):
        head = lines[0]
        res = head.split("=", 1)[0].strip()
        maps = re.findall(r"affine_map<\([^)]*\) -> \([^)]*\)>", head)
        iters = re.findall(r'"(parallel|reduction)"', head)
        ins_m = re.search(r" ins\(([^:]*) :", head)
        ins = [env[n.strip()] for n in ins_m.group(1).split(",")] if ins_m else []
        out = env[re.search(r"outs\((%\w+) :", head).group(1)]
        bb = re.match(r"\^bb0\((.*)\):", lines[1]).group(1)
        bargs = [a.split(":")[0].strip() for a in bb.split(",")]
        nd = len(iters)
        sizes = [None] * nd
        pmaps = [_map_dims(m)[1] for m in maps]
        for arr, pm in zip(ins + [out], pmaps):
            for ax, d in enumerate(pm):
                sizes[d] = arr.shape[ax]
        if None in sizes:
            raise InterpError(f"cannot infer the iteration domain of {res}")

        def bcast(arr, pm):
            order = sorted(range(len(pm)), key=lambda a: pm[a])
            a = np.transpose(arr, order) if len(pm) > 1 else arr
            shape = [1] * nd
            for d in pm:
                shape[d] = sizes[d]
            return a.reshape(shape)

        local = dict(env)
        for name, arr, pm in zip(bargs, ins, pmaps):
            local[name] = bcast(arr, pm)
        out_name = bargs[-1]
        red = [d for d in range(nd) if iters[d] == "reduction"]
        for line in lines[2:-1]:
            line = line.strip()
            if line.startswith("linalg.yield"):
                y = line.split()[1]
                break
            r, rhs = [s.strip() for s in line.split("=", 1)]
            local[r] = self._body_op(local, rhs, sizes, out_name)
        yv = local[y]
        if red:
            # The yield must combine the output argument with a value.
            if not isinstance(yv, _Comb):
                raise InterpError(f"{res}: reduction body is not add/max of (x, out)")
            xv = np.broadcast_to(local[yv.value], sizes)
            f = np.add if yv.op == "arith.addf" else np.maximum
            r = f.reduce(xv, axis=tuple(red))
            env[res] = f(out, r.reshape(out.shape)).astype(out.dtype)
        else:
            if isinstance(yv, _Comb):
                raise InterpError(f"{res}: combiner in a parallel linalg.generic")
            v = np.broadcast_to(yv, sizes)
            env[res] = np.ascontiguousarray(np.transpose(v, pmaps[-1])).astype(out.dtype)

    def _body_op(self, L, rhs, sizes, out_name):
        op = rhs.split()[0]
        nd = len(sizes)
        if op == "linalg.index":
            d = int(rhs.split()[1])
            shape = [1] * nd
            shape[d] = sizes[d]
            return np.arange(sizes[d]).reshape(shape)
        if op == "tensor.extract":
            mm = re.match(r"tensor.extract (%\w+)\[([^\]]*)\]", rhs)
            idx = [np.asarray(L[i.strip()]) for i in mm.group(2).split(",")]
            arr = L[mm.group(1)]
            for k, ix in enumerate(idx):
                if ix.size and (ix.min() < 0 or ix.max() >= arr.shape[k]):
                    raise InterpError(f"tensor.extract out of bounds on {mm.group(1)}")
            return arr[tuple(np.broadcast_arrays(*idx))]
        mm = re.match(r"(\S+) (.*) : (.*)$", rhs)
        opnd = mm.group(2)
        if op == "arith.cmpi":
            pred, a, b = [s.strip() for s in opnd.split(",")]
            a, b = L[a], L[b]
            return {"ult": np.less, "ugt": np.greater, "slt": np.less,
                    "sgt": np.greater, "eq": np.equal}[pred](a, b)
        names = [s.strip() for s in opnd.split(",")]
        if out_name in names:
            if op in ("arith.addf", "arith.maximumf") and len(names) == 2:
                other = names[0] if names[1] == out_name else names[1]
                return _Comb(op, other)
            raise InterpError(f"output argument used outside a combiner: {rhs}")
        a = [L[n] for n in names]
        f32 = np.float32
        # The result type: the last word of the type ("f16", "f16 to f32").
        rty = _DT.get(mm.group(3).split()[-1], f32)
        if op in ("arith.extf", "arith.truncf"):
            return np.asarray(a[0]).astype(rty)
        if op == "arith.select":
            return np.where(a[0], a[1], a[2])
        if op == "arith.index_cast":
            return np.asarray(a[0]).astype(np.int64)
        if op == "arith.sitofp":
            return np.asarray(a[0]).astype(f32)
        if op == "math.erf":
            return np.vectorize(math.erf, otypes=[np.float64])(a[0]).astype(f32)
        fns = {"arith.addf": np.add, "arith.subf": np.subtract, "arith.mulf": np.multiply,
               "arith.divf": np.divide, "arith.maximumf": np.maximum, "arith.addi": np.add,
               "arith.muli": np.multiply, "arith.subi": np.subtract, "arith.remui": np.remainder,
               "arith.negf": np.negative, "math.exp": np.exp, "math.cos": np.cos,
               "math.sin": np.sin, "math.sqrt": np.sqrt,
               "math.rsqrt": lambda v: 1 / np.sqrt(v), "math.tanh": np.tanh}
        if op not in fns:
            raise InterpError(f"unsupported op in linalg.generic body: {rhs}")
        r = fns[op](*a)
        return r.astype(rty) if op.endswith("f") or op.startswith("math") else r


def run_file(path, fname, *args):
    return Module(path).run(fname, *args)
