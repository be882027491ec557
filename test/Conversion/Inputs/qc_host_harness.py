"""Test-only harness: lowers MLIR with `quant-opt --qc-lower-to-host`, builds
a shared object (mlir-translate + clang), and calls `_mlir_ciface_<name>`
entry points with numpy arrays through ctypes.

ABI exercised here (see docs/host-lowering.md): every memref argument is
passed as a pointer to a strided memref descriptor
{allocated, aligned, offset, sizes[rank], strides[rank]}; results come back
through a pointer (first argument) to one descriptor, or to a struct of
descriptors when there are several; the caller owns returned buffers and
frees `allocated` with free().

Also holds the independent numpy references for packing and quantization,
written from the op documentation (never by calling the code under test).
"""

import ctypes
import os
import subprocess
import tempfile

import numpy as np

_LIBC = ctypes.CDLL(None)
_LIBC.free.argtypes = [ctypes.c_void_p]


def _tool(name):
    return name


def build(mlir_text, extra_c=None, workdir=None,
          pipeline="--qc-lower-to-host", link=()):
    """Lowers `mlir_text` with `pipeline` and returns a loaded ctypes library
    (linked with the extra arguments `link`)."""
    d = workdir or tempfile.mkdtemp(prefix="qc-host-")
    src = os.path.join(d, "in.mlir")
    with open(src, "w") as f:
        f.write(mlir_text)
    llvm_mlir = os.path.join(d, "lowered.mlir")
    subprocess.run(["quant-opt", src, pipeline, "-o", llvm_mlir],
                   check=True)
    ll = os.path.join(d, "out.ll")
    subprocess.run(["mlir-translate", "--mlir-to-llvmir", llvm_mlir, "-o", ll],
                   check=True)
    obj = os.path.join(d, "out.o")
    subprocess.run(["llc", "-O3", "-mcpu=native", "-relocation-model=pic",
                    "-filetype=obj", ll, "-o", obj], check=True)
    so = os.path.join(d, "out.so")
    cmd = ["cc", "-shared", "-fPIC", obj, "-o", so, "-lm", *link]
    if extra_c:
        c = os.path.join(d, "extra.c")
        with open(c, "w") as f:
            f.write(extra_c)
        cmd.insert(4, c)
    subprocess.run(cmd, check=True)
    return ctypes.CDLL(so)


_CTYPES = {
    np.dtype(np.float32): ctypes.c_float,
    np.dtype(np.float16): ctypes.c_uint16,
    np.dtype(np.uint16): ctypes.c_uint16,  # bf16 bit patterns
    np.dtype(np.int8): ctypes.c_int8,
    np.dtype(np.int32): ctypes.c_int32,
    np.dtype(np.int64): ctypes.c_int64,
}


def descriptor_type(rank):
    fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
              ("offset", ctypes.c_int64)]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank),
                   ("strides", ctypes.c_int64 * rank)]
    return type("MemRef%dD" % rank, (ctypes.Structure,), {"_fields_": fields})


def to_descriptor(a):
    a = np.ascontiguousarray(a)
    desc = descriptor_type(a.ndim)()
    desc.allocated = a.ctypes.data
    desc.aligned = a.ctypes.data
    desc.offset = 0
    for i in range(a.ndim):
        desc.sizes[i] = a.shape[i]
        desc.strides[i] = a.strides[i] // a.itemsize
    desc._keep = a
    return desc


def from_descriptor(desc, rank, dtype):
    """Copies a returned buffer into numpy and frees it (caller owns it)."""
    dtype = np.dtype(dtype)
    shape = [desc.sizes[i] for i in range(rank)] if rank else []
    strides = [desc.strides[i] for i in range(rank)] if rank else []
    n = int(np.prod(shape)) if shape else 1
    out = np.empty(shape, dtype=dtype)
    if n:
        span = 1 + sum((s - 1) * st for s, st in zip(shape, strides))
        buf = (ctypes.c_char * (span * dtype.itemsize)).from_address(
            desc.aligned + desc.offset * dtype.itemsize)
        flat = np.frombuffer(buf, dtype=dtype, count=span)
        out[...] = np.lib.stride_tricks.as_strided(
            flat, shape=shape, strides=[st * dtype.itemsize for st in strides])
    _LIBC.free(desc.allocated)
    return out


def call(lib, name, args, results):
    """Calls `_mlir_ciface_<name>` with numpy arrays (memrefs) and python
    ints (index scalars); `results` is a list of (rank, dtype)."""
    fn = getattr(lib, "_mlir_ciface_" + name)
    descs = [ctypes.c_int64(a) if isinstance(a, int) else to_descriptor(a)
             for a in args]
    # Memrefs go by pointer to their descriptor, index/i64 scalars by value.
    ptrs = [d if isinstance(d, ctypes.c_int64) else ctypes.byref(d)
            for d in descs]
    if not results:
        fn(*ptrs)
        return None
    if len(results) == 1:
        res = descriptor_type(results[0][0])()
        fn(ctypes.byref(res), *ptrs)
        return from_descriptor(res, *results[0])
    fields = [("r%d" % i, descriptor_type(r)) for i, (r, _) in enumerate(results)]
    Res = type("Results", (ctypes.Structure,), {"_fields_": fields})
    res = Res()
    fn(ctypes.byref(res), *ptrs)
    return [from_descriptor(getattr(res, "r%d" % i), r, t)
            for i, (r, t) in enumerate(results)]


#===----------------------------------------------------------------------===#
# Independent references (from the op documentation)
#===----------------------------------------------------------------------===#

def pack_weight(q, bits, layout, tile_n=1, tile_k=1):
    """Stores integers q [N, K] (int64; signed for symmetric, 0..2^bits-1 for
    asymmetric) as the `data` tensor of qc.packed_weight."""
    n, k = q.shape
    u = (q.astype(np.int64) & ((1 << bits) - 1)).astype(np.uint8)  # bit pattern
    if layout == "unpacked":
        # One value per byte: signed values sign-extended, unsigned as is.
        return q.astype(np.int64).astype(np.uint8).view(np.int8).reshape(n, k)
    if layout == "row_major":
        seq = u.reshape(-1)
    elif layout == "tiled":
        tiles = []
        for tr in range(n // tile_n):
            for tc in range(k // tile_k):
                tiles.append(u[tr * tile_n:(tr + 1) * tile_n,
                               tc * tile_k:(tc + 1) * tile_k].reshape(-1))
        seq = np.concatenate(tiles)
    elif layout == "mma_frag":
        # Element (n, k), n = 16 nt + 8 tile + g, k = unit_k ku + 16 s +
        # 8 reg + 2 t + h, goes to lane 4 g + t of unit (nt, ku); INT4:
        # word s, nibble 4 h + 2 tile + reg; INT8: word 2 s + tile, byte
        # 2 h + reg (qc/Dialect/QC/IR/FragLayout.h), built by reshaping.
        if bits == 4:
            a = u.reshape(n // 16, 2, 8, k // 64, 4, 2, 4, 2)
            #             nt   tile g  ku      s  reg t  h
            seq = a.transpose(0, 3, 2, 6, 4, 7, 1, 5).reshape(-1)
            #                nt ku g  t  s  h tile reg
        else:
            a = u.reshape(n // 16, 2, 8, k // 32, 2, 2, 4, 2)
            seq = a.transpose(0, 3, 2, 6, 4, 1, 7, 5).reshape(-1)
            #                nt ku g  t  s tile h reg
    else:
        raise ValueError(layout)
    if bits == 8:
        return seq.view(np.int8).copy()
    lo, hi = seq[0::2], seq[1::2]  # even element in the low nibble
    return (lo | (hi << 4)).astype(np.uint8).view(np.int8).copy()


def make_rng():
    """A fresh seed per run (QC_TEST_SEED overrides), printed so a failure
    can be replayed."""
    seed = int(os.environ.get("QC_TEST_SEED", int.from_bytes(os.urandom(4), "little")))
    print("seed %d (QC_TEST_SEED to replay)" % seed)
    return np.random.default_rng(seed)


def random_quantized(rng, n, k, bits, granularity, group, symmetric):
    """Random q, scales [rows, G] and zeros for a scheme."""
    if symmetric:
        qmax = (1 << (bits - 1)) - 1
        q = rng.integers(-qmax - 1, qmax + 1, size=(n, k))
    else:
        q = rng.integers(0, 1 << bits, size=(n, k))
    rows = 1 if granularity == "per_tensor" else n
    g = k // group if granularity == "per_group" else 1
    scales = rng.uniform(0.01, 0.1, size=(rows, g)).astype(np.float32)
    zeros = None if symmetric else rng.integers(0, 1 << bits, size=(rows, g))
    return q, scales, zeros


def dequant_reference(q, scales, zeros, granularity, group):
    """w[n, k] = (q[n, k] - z[n, g]) * s[n, g], float64."""
    n, k = q.shape
    s = scales.astype(np.float64)
    z = np.zeros_like(s) if zeros is None else zeros.astype(np.float64)
    if granularity == "per_tensor":
        s, z = np.full((n, k), s[0, 0]), np.full((n, k), z[0, 0])
    elif granularity == "per_channel":
        s, z = np.repeat(s, k, axis=1), np.repeat(z, k, axis=1)
    else:
        s, z = np.repeat(s, group, axis=1), np.repeat(z, group, axis=1)
    return (q.astype(np.float64) - z) * s


def quantize_per_token_reference(x):
    """Symmetric per-token INT8 in f32 arithmetic (the op's definition):
    s = max|x_row| / 127 (1 for an all-zero row), q = clamp(rint(x / s))."""
    x = x.astype(np.float32)
    amax = np.max(np.abs(x), axis=-1)
    s = (amax / np.float32(127)).astype(np.float32)
    s = np.where(amax == 0, np.float32(1), s).astype(np.float32)
    q = np.clip(np.rint(x / s[..., None]), -127, 127).astype(np.int8)
    return q, s


def to_bf16_bits(x):
    """float32 -> bf16 bit patterns (round to nearest even) and their values."""
    b = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)
    vals = (r.astype(np.uint32) << 16).view(np.float32)
    return r, vals


def check_close(name, got, ref, rtol, atol):
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        raise AssertionError("%s: shape %s != %s" % (name, got.shape, ref.shape))
    err = np.abs(got - ref)
    bad = err > atol + rtol * np.abs(ref)
    if bad.any():
        i = np.argwhere(bad)[0]
        raise AssertionError("%s: mismatch at %s: got %r want %r (max err %g)" %
                             (name, tuple(i), got[tuple(i)], ref[tuple(i)], err.max()))
    print("PASS %s (max abs err %.3g)" % (name, err.max() if err.size else 0))


def check_matmul(name, got, ref, absref, rel=1e-5):
    """Float matmul check scaled by sum_k |x_k w_k| (absref): an f32 dot
    product may lose that much to cancellation, a packing or scaling bug
    is off by orders of magnitude more."""
    got = np.asarray(got, dtype=np.float64)
    err = np.abs(got - ref)
    bound = rel * absref + 1e-30
    if got.shape != ref.shape or (err > bound).any():
        i = np.argwhere(err > bound)[0] if got.shape == ref.shape else "shape"
        raise AssertionError("%s: mismatch at %s (max err/bound %g)" %
                             (name, i, (err / bound).max() if got.shape == ref.shape else -1))
    print("PASS %s (max err/bound %.3g)" % (name, (err / bound).max()))


def check_equal(name, got, ref):
    got, ref = np.asarray(got), np.asarray(ref)
    if got.shape != ref.shape or not np.array_equal(got, ref):
        diff = np.argwhere(got != ref) if got.shape == ref.shape else "shape"
        raise AssertionError("%s: not bit-exact (%s)" % (name, diff[:5] if not isinstance(diff, str) else diff))
    print("PASS %s (exact)" % name)
