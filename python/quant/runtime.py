"""ctypes binding of the quant C runtime qcrt (include/qc/Runtime/qcrt.h).

`Module(prefix)` loads `prefix`.so + `prefix`.qcw written by quant-compile
and runs its functions on numpy arrays. The shared library is looked up in
$QCRT_LIB, then next to the quant tools ($QUANT_BUILD_DIR/lib, build/lib of
the source tree).
"""

import ctypes
import json
import os
from pathlib import Path

import numpy as np

from .errors import QuantError

MAX_RANK = 8
_DTYPES = {1: np.float32, 2: np.float64, 3: np.float16, 5: np.int8, 6: np.int16,
           7: np.int32, 8: np.int64, 9: np.uint8, 10: np.bool_}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}
# Module-info dtype names (docs/module-format.md) -> numpy (bf16 has none).
_INFO_DTYPES = {"f32": np.float32, "f64": np.float64, "f16": np.float16, "i8": np.int8,
                "i16": np.int16, "i32": np.int32, "i64": np.int64, "u8": np.uint8,
                "i1": np.bool_}


class RuntimeError_(QuantError):
    """A qcrt call failed; the message is qcrt_last_error()."""


class _Tensor(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int), ("rank", ctypes.c_int32),
                ("shape", ctypes.c_int64 * MAX_RANK), ("data", ctypes.c_void_p),
                ("device", ctypes.c_int), ("owner", ctypes.c_void_p)]


def _find_lib():
    cands = []
    if os.environ.get("QCRT_LIB"):
        cands.append(Path(os.environ["QCRT_LIB"]))
    for d in (os.environ.get("QUANT_BUILD_DIR"), Path(__file__).resolve().parents[2] / "build"):
        if d:
            cands.append(Path(d) / "lib" / "libqcrt.so")
    for c in cands:
        if c.exists():
            return c
    raise QuantError("cannot find libqcrt.so (set QCRT_LIB or QUANT_BUILD_DIR); "
                     f"looked in: {', '.join(map(str, cands))}")


_lib = None


def lib():
    global _lib
    if _lib is None:
        L = ctypes.CDLL(str(_find_lib()))
        L.qcrt_last_error.restype = ctypes.c_char_p
        L.qcrt_module_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        L.qcrt_module_unload.argtypes = [ctypes.c_void_p]
        L.qcrt_module_function_count.argtypes = [ctypes.c_void_p]
        L.qcrt_module_function_name.argtypes = [ctypes.c_void_p, ctypes.c_int32]
        L.qcrt_module_function_name.restype = ctypes.c_char_p
        L.qcrt_module_function_arity.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                                 ctypes.POINTER(ctypes.c_int32),
                                                 ctypes.POINTER(ctypes.c_int32)]
        L.qcrt_module_run.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                      ctypes.POINTER(_Tensor), ctypes.c_int32,
                                      ctypes.POINTER(_Tensor), ctypes.c_int32]
        L.qcrt_tensor_free.argtypes = [ctypes.POINTER(_Tensor)]
        L.qcrt_stats_write.argtypes = [ctypes.c_char_p]
        L.qcrt_module_info_json.argtypes = [ctypes.c_void_p]
        L.qcrt_module_info_json.restype = ctypes.c_char_p
        _lib = L
    return _lib


def _check(status):
    if status != 0:
        raise RuntimeError_(lib().qcrt_last_error().decode(errors="replace"))


class Module:
    """A loaded quant module; call `run(name, *arrays)` -> list of arrays.

    Arguments listed in `inplace(name)` (e.g. KV caches) are updated in the
    caller's array, which is passed by pointer; they have no result."""

    def __init__(self, prefix):
        self._h = None
        self.prefix = str(prefix)
        h = ctypes.c_void_p()
        _check(lib().qcrt_module_load(self.prefix.encode(), ctypes.byref(h)))
        self._h = h

    def close(self):
        if self._h:
            lib().qcrt_module_unload(self._h)
            self._h = None

    __del__ = close

    def info(self) -> str:
        return lib().qcrt_module_info_json(self._h).decode()

    def functions(self):
        n = lib().qcrt_module_function_count(self._h)
        return [lib().qcrt_module_function_name(self._h, i).decode() for i in range(n)]

    def inplace(self, function):
        """Indices of `function`'s arguments updated in place (the in-place
        ABI, docs/module-format.md): the run writes the caller's array."""
        if not hasattr(self, "_inplace"):
            info = json.loads(self.info())
            self._inplace = {f["name"]: (set(f.get("inplace", [])), f["inputs"])
                             for f in info["functions"]}
        return self._inplace.get(function, (set(), []))[0]

    def _inplace_arg(self, function, i, a):
        """An in-place argument is passed by pointer as it is: no copy, so it
        must already be a writable C-contiguous numpy array of its dtype."""
        sig = self._inplace[function][1][i]
        want = _INFO_DTYPES.get(sig["dtype"])
        problems = []
        if not isinstance(a, np.ndarray):
            problems.append(f"a {type(a).__name__}, not a numpy array")
        else:
            if want is None or a.dtype != np.dtype(want):
                problems.append(f"dtype {a.dtype}, expected {sig['dtype']}")
            if not a.flags.c_contiguous:
                problems.append("not C-contiguous")
            if not a.flags.writeable:
                problems.append("not writable")
        if problems:
            raise RuntimeError_(
                f"{function}: argument {i} is updated in place and must be a writable "
                f"C-contiguous numpy array of dtype {sig['dtype']} (the run writes it); "
                f"got {', '.join(problems)}")
        return a

    def run(self, function, *args):
        L = lib()
        ni, no = ctypes.c_int32(), ctypes.c_int32()
        _check(L.qcrt_module_function_arity(self._h, function.encode(),
                                            ctypes.byref(ni), ctypes.byref(no)))
        if len(args) != ni.value:
            raise RuntimeError_(f"{function} takes {ni.value} inputs, got {len(args)}")
        inplace = self.inplace(function)
        keep = []
        for i, a in enumerate(args):
            if i in inplace:
                keep.append(self._inplace_arg(function, i, a))
            else:
                keep.append(np.require(a, requirements="C"))  # keeps rank 0
        ins = (_Tensor * max(1, len(keep)))()
        for t, a in zip(ins, keep):
            if a.dtype not in _CODES or a.ndim > MAX_RANK:
                raise RuntimeError_(f"unsupported input dtype/rank {a.dtype}/{a.ndim}")
            t.dtype, t.rank = _CODES[a.dtype], a.ndim
            for i, s in enumerate(a.shape):
                t.shape[i] = s
            t.data = a.ctypes.data
        outs = (_Tensor * max(1, no.value))()
        _check(L.qcrt_module_run(self._h, function.encode(), ins, len(keep), outs, no.value))
        result = []
        try:
            for t in outs[:no.value]:
                shape = tuple(t.shape[i] for i in range(t.rank))
                dt = np.dtype(_DTYPES[t.dtype])
                n = int(np.prod(shape)) if shape else 1
                # One copy out of the runtime's buffer (freed below).
                buf = (ctypes.c_char * (n * dt.itemsize)).from_address(t.data) if n else b""
                result.append(np.frombuffer(buf, dtype=dt).reshape(shape).copy())
        finally:
            for t in outs[:no.value]:
                L.qcrt_tensor_free(ctypes.byref(t))
        return result


def write_stats(path):
    """Writes the calibration statistics gathered so far (qc-stats v1)."""
    _check(lib().qcrt_stats_write(str(path).encode()))


def reset_stats():
    lib().qcrt_stats_reset()
