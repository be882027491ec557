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

import ml_dtypes
import numpy as np

from . import dlpack
from .errors import QuantError

MAX_RANK = 8
# bf16 tensors are numpy arrays of ml_dtypes.bfloat16 (numpy has none).
_DTYPES = {1: np.float32, 2: np.float64, 3: np.float16, 4: ml_dtypes.bfloat16, 5: np.int8,
           6: np.int16, 7: np.int32, 8: np.int64, 9: np.uint8, 10: np.bool_}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}
# Module-info dtype names (docs/module-format.md) -> numpy.
_INFO_DTYPES = {"f32": np.float32, "f64": np.float64, "f16": np.float16,
                "bf16": ml_dtypes.bfloat16, "i8": np.int8, "i16": np.int16, "i32": np.int32,
                "i64": np.int64, "u8": np.uint8, "i1": np.bool_}


_INFO_CODES = {"f32": 1, "f64": 2, "f16": 3, "bf16": 4, "i8": 5, "i16": 6, "i32": 7,
               "i64": 8, "u8": 9, "i1": 10}
_CODE_NAMES = {v: k for k, v in _INFO_CODES.items()}


class RuntimeError_(QuantError):
    """A qcrt call failed; the message is qcrt_last_error()."""


class _Tensor(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int), ("rank", ctypes.c_int32),
                ("shape", ctypes.c_int64 * MAX_RANK), ("data", ctypes.c_void_p),
                ("device", ctypes.c_int), ("owner", ctypes.c_void_p)]


class _RunOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("device", ctypes.c_int),
                ("stream", ctypes.c_void_p), ("graph", ctypes.c_int32),
                ("async_replay", ctypes.c_int32)]


_HOST, _CUDA = 0, 1


def _describe(a, t=None):
    """A qcrt_tensor over the numpy array `a` (host, caller-owned)."""
    t = t if t is not None else _Tensor()
    if a.dtype not in _CODES or a.ndim > MAX_RANK:
        raise RuntimeError_(f"unsupported input dtype/rank {a.dtype}/{a.ndim}")
    t.dtype, t.rank = _CODES[a.dtype], a.ndim
    for i, n in enumerate(a.shape):
        t.shape[i] = n
    t.data = a.ctypes.data
    t.device = _HOST
    return t


class DeviceTensor:
    """A tensor in CUDA device memory (a qcrt_tensor with device = CUDA).
    Tensors the runtime allocated are freed when this object goes away;
    graph outputs (owned by the module) are not."""

    def __init__(self, t, stream=None):
        self.t = t
        # The stream its data was produced on (None: the legacy default).
        self.stream = stream

    @classmethod
    def from_numpy(cls, a):
        a = np.require(a, requirements="C")
        t = _Tensor()
        _check(lib().qcrt_tensor_to_device(ctypes.byref(_describe(a)), ctypes.byref(t)))
        return cls(t)

    @property
    def shape(self):
        return tuple(self.t.shape[i] for i in range(self.t.rank))

    @property
    def dtype(self):
        return np.dtype(_DTYPES[self.t.dtype])

    def copy_from(self, a):
        """Overwrites the device data with the numpy array `a` (same shape)."""
        a = np.require(a, dtype=self.dtype, requirements="C")
        _check(lib().qcrt_tensor_copy(ctypes.byref(_describe(a)), ctypes.byref(self.t)))

    def copy_from_device(self, src):
        """Enqueues a copy of the DeviceTensor `src` (same dtype and shape)
        into this one without waiting (qcrt_tensor_copy_async): in order with
        asynchronous graph replays; `synchronize()` or a read waits for it."""
        _check(lib().qcrt_tensor_copy_async(ctypes.byref(src.t), ctypes.byref(self.t)))

    def numpy(self):
        out = np.empty(self.shape, self.dtype)
        _check(lib().qcrt_tensor_copy(ctypes.byref(self.t), ctypes.byref(_describe(out))))
        return out

    def __dlpack_device__(self):
        return (dlpack.KDL_CUDA, _cuda_device())

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        """A DLPack capsule over the device memory (no copy): e.g.
        `torch.from_dlpack(t)`. The consumer's `stream` (DLPack: None or 1
        the legacy default stream, -1 no synchronization) is ordered after
        the run that produced this tensor (by waiting for the runtime's
        device work when the streams differ)."""
        if copy:
            raise BufferError("DeviceTensor exports its memory without copies only")
        if dl_device is not None and tuple(dl_device) != self.__dlpack_device__():
            raise BufferError(f"DeviceTensor lives on {self.__dlpack_device__()}, "
                              f"not {tuple(dl_device)}")
        mine = 1 if self.stream is None else self.stream
        want = 1 if stream is None else stream
        if want != -1 and want != mine:
            synchronize()
        return dlpack.export_capsule(self, self.t.data, self.t.dtype, self.shape,
                                     dlpack.KDL_CUDA, _cuda_device())

    def free(self):
        if self.t is not None and _lib is not None:
            _lib.qcrt_tensor_free(ctypes.byref(self.t))
        self.t = None

    __del__ = free


def _cuda_device():
    """The CUDA device ordinal the runtime opens ($QCRT_CUDA_DEVICE)."""
    try:
        return int(os.environ.get("QCRT_CUDA_DEVICE", "0"))
    except ValueError:
        return 0


def _find_lib():
    cands = []
    if os.environ.get("QCRT_LIB"):
        cands.append(Path(os.environ["QCRT_LIB"]))
    here = Path(__file__).resolve().parent
    if os.environ.get("QUANT_BUILD_DIR"):
        cands.append(Path(os.environ["QUANT_BUILD_DIR"]) / "lib" / "libqcrt.so")
    cands.append(here / "_lib" / "libqcrt.so")  # the installed package
    cands.append(here.parents[1] / "build" / "lib" / "libqcrt.so")
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
        L.qcrt_module_target.argtypes = [ctypes.c_void_p]
        L.qcrt_module_target.restype = ctypes.c_char_p
        L.qcrt_module_run_ex.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                         ctypes.POINTER(_Tensor), ctypes.c_int32,
                                         ctypes.POINTER(_Tensor), ctypes.c_int32,
                                         ctypes.POINTER(_RunOptions)]
        L.qcrt_tensor_to_device.argtypes = [ctypes.POINTER(_Tensor), ctypes.POINTER(_Tensor)]
        L.qcrt_tensor_to_host.argtypes = [ctypes.POINTER(_Tensor), ctypes.POINTER(_Tensor)]
        L.qcrt_tensor_copy.argtypes = [ctypes.POINTER(_Tensor), ctypes.POINTER(_Tensor)]
        L.qcrt_tensor_copy_async.argtypes = [ctypes.POINTER(_Tensor), ctypes.POINTER(_Tensor)]
        L.qcrt_synchronize.argtypes = []
        L.qcrt_module_graph_stats.argtypes = [ctypes.c_void_p] + [
            ctypes.POINTER(ctypes.c_int64)] * 3
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

    @property
    def is_gpu(self) -> bool:
        return lib().qcrt_module_target(self._h).decode().startswith("sm_")

    def graph_stats(self):
        """(graphs captured, runs replayed, captures failed)."""
        v = [ctypes.c_int64() for _ in range(3)]
        lib().qcrt_module_graph_stats(self._h, *[ctypes.byref(x) for x in v])
        return tuple(x.value for x in v)

    def run_device(self, function, *args, graph=False, async_replay=False):
        """Runs a GPU module's `function` on DeviceTensors, returning
        DeviceTensors; in-place arguments are updated in device memory.
        `graph`: capture the run as a CUDA graph on first use and replay
        it when the same tensors come again (qcrt_run_options.graph).
        `async_replay`: a replay returns once enqueued (its outputs are
        valid in stream order; `synchronize()` or a read waits)."""
        L = lib()
        ni, no = ctypes.c_int32(), ctypes.c_int32()
        _check(L.qcrt_module_function_arity(self._h, function.encode(),
                                            ctypes.byref(ni), ctypes.byref(no)))
        if len(args) != ni.value:
            raise RuntimeError_(f"{function} takes {ni.value} inputs, got {len(args)}")
        ins = (_Tensor * max(1, len(args)))()
        for k, a in enumerate(args):
            if not isinstance(a, DeviceTensor):
                raise RuntimeError_(f"{function} input {k}: a DeviceTensor is needed")
            ins[k] = a.t
        outs = (_Tensor * max(1, no.value))()
        opts = _RunOptions(ctypes.sizeof(_RunOptions), _CUDA, None, 1 if graph else 0,
                           1 if async_replay else 0)
        _check(L.qcrt_module_run_ex(self._h, function.encode(), ins, len(args), outs,
                                    no.value, ctypes.byref(opts)))
        return [DeviceTensor(outs[k]) for k in range(no.value)]

    def device_steps(self, function, cache_shape, graphs=True):
        """A decode step function over `function` (tokens [B, T], pos [B],
        k_cache, v_cache -> logits, caches in place) whose KV caches live in
        device memory: `step(tokens, pos) -> logits` (numpy). The token and
        position buffers are kept per shape and overwritten in place, so
        every T = 1 step replays one CUDA graph (when `graphs`)."""
        dt = self.arg_dtype(function, 2)
        caches = [DeviceTensor.from_numpy(np.zeros(cache_shape, dt)) for _ in range(2)]
        staged = {}

        def step(tokens, pos):
            tokens = np.require(tokens, np.int64, "C")
            B, T = tokens.shape
            if (B, T) not in staged:
                staged[(B, T)] = (DeviceTensor.from_numpy(tokens),
                                  DeviceTensor.from_numpy(np.zeros(B, np.int64)))
            tok, p = staged[(B, T)]
            tok.copy_from(tokens)
            p.copy_from(np.full(B, pos, np.int64))
            (logits,) = self.run_device(function, tok, p, *caches, graph=graphs and T == 1)
            out = logits.numpy()
            logits.free()
            return out

        step.caches = caches
        step.staged = staged  # (B, T) -> (tokens, pos) device buffers
        return step

    def greedy_steps(self, cache_shape, graphs=True, decode="decode", greedy="greedy",
                     sampling=None, sample="sample"):
        """Decoding with the next token chosen on the device: `step(tokens,
        pos) -> next tokens [B, 1]` (numpy int64) runs `decode` and then
        `greedy` (qc.argmax of the logits; the importers emit @greedy) or,
        with `sampling = (temperature, top_k, seed)`, `sample` (qc.sample:
        the token at position pos + T of each sequence drawn from softmax(
        logits / temperature) over the top_k; the importers emit @sample).
        A step moves B token ids out and, with `step.next(pos)` (the
        previous step's choice fed back device to device), nothing in. Both
        runs replay CUDA graphs for T = 1 (when `graphs`)."""
        dt = self.arg_dtype(decode, 2)
        caches = [DeviceTensor.from_numpy(np.zeros(cache_shape, dt)) for _ in range(2)]
        staged = {}
        last = {}
        params = None
        if sampling is not None:
            t, k, seed = sampling
            params = [DeviceTensor.from_numpy(np.array(t, np.float32)),
                      DeviceTensor.from_numpy(np.array(k, np.int64)),
                      DeviceTensor.from_numpy(np.array(seed, np.int64))]

        def buffers(B, T):
            if (B, T) not in staged:
                staged[(B, T)] = (DeviceTensor.from_numpy(np.zeros((B, T), np.int64)),
                                  DeviceTensor.from_numpy(np.zeros(B, np.int64)),
                                  DeviceTensor.from_numpy(np.zeros(B, np.int64)))
            return staged[(B, T)]

        def run(tok, p, q, graph, async_replay=False):
            (logits,) = self.run_device(decode, tok, p, *caches, graph=graph,
                                        async_replay=async_replay)
            if params is None:
                (ids,) = self.run_device(greedy, logits, graph=graph,
                                         async_replay=async_replay)
            else:
                (ids,) = self.run_device(sample, logits, *params, q, graph=graph,
                                         async_replay=async_replay)
            logits.free()
            last["ids"] = ids
            return ids

        positions = {}

        def position_rows(B):
            """Device table of positions: row k holds k for each of B
            sequences (a step's pos is copied from it on the device)."""
            if B not in positions:
                S = cache_shape[3]
                table = np.repeat(np.arange(S + 1, dtype=np.int64)[:, None], B, axis=1)
                positions[B] = DeviceTensor.from_numpy(table)
            return positions[B]

        def row(table, k):
            """Row k of a device table as a DeviceTensor view (not owned)."""
            t = _Tensor()
            t.dtype, t.rank, t.device, t.owner = table.t.dtype, 1, _CUDA, None
            t.shape[0] = table.t.shape[1]
            t.data = table.t.data + k * table.t.shape[1] * table.dtype.itemsize
            view = DeviceTensor(t)  # owner NULL: freeing it frees nothing
            view.table = table  # keeps the table alive
            return view

        def stage(B, T, pos):
            tok, p, q = buffers(B, T)
            p.copy_from(np.full(B, pos, np.int64))
            if params is not None:
                q.copy_from(np.full(B, pos + T, np.int64))
            return tok, p, q

        def step(tokens, pos):
            tokens = np.require(tokens, np.int64, "C")
            B, T = tokens.shape
            tok, p, q = stage(B, T, pos)
            tok.copy_from(tokens)
            return run(tok, p, q, graphs and T == 1).numpy()

        def next_step(pos, read=True, wait=True):
            """One T = 1 step on the previous step's choice (no host -> device
            token copy); returns the new choice (None with read=False).
            With wait=False (graphs only) nothing waits on the host: the
            token, the position (from a device table) and both replays are
            enqueued in stream order, so steps follow each other on the
            device without a round trip; a read (or `synchronize()`)
            waits for everything enqueued before it."""
            ids = last["ids"]
            B = ids.shape[0]
            if wait or not graphs:
                tok, p, q = stage(B, 1, pos)
                _check(lib().qcrt_tensor_copy(ctypes.byref(ids.t), ctypes.byref(tok.t)))
                ids = run(tok, p, q, graphs)
            else:
                tok, p, q = buffers(B, 1)
                table = position_rows(B)
                if pos + 1 >= table.shape[0]:
                    raise RuntimeError_(f"position {pos} is past the cache ({table.shape[0] - 1})")
                tok.copy_from_device(ids)
                p.copy_from_device(row(table, pos))
                if params is not None:
                    q.copy_from_device(row(table, pos + 1))
                ids = run(tok, p, q, graphs, async_replay=True)
            return ids.numpy() if read else None

        step.next = next_step
        step.caches = caches
        step.staged = staged
        return step

    def arg_dtype(self, function, i):
        """The numpy dtype of `function`'s argument i (module info)."""
        self.inplace(function)
        sig = self._inplace[function][1][i]
        dt = _INFO_DTYPES.get(sig["dtype"])
        if dt is None:
            raise RuntimeError_(f"{function}: argument {i} has dtype {sig['dtype']}, which "
                                f"numpy cannot hold")
        return np.dtype(dt)

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

    def __call__(self, *args, function=None, stream=None):
        """`run` of `function` (default: the module's first function)."""
        return self.run(function or self.functions()[0], *args, stream=stream)

    def _arity(self, function, args):
        ni, no = ctypes.c_int32(), ctypes.c_int32()
        _check(lib().qcrt_module_function_arity(self._h, function.encode(),
                                                ctypes.byref(ni), ctypes.byref(no)))
        if len(args) != ni.value:
            raise RuntimeError_(f"{function} takes {ni.value} inputs, got {len(args)}")
        return no.value

    def run(self, function, *args, stream=None):
        """Runs `function` on numpy arrays or any DLPack tensors (PyTorch,
        CuPy, JAX, ...), without copying them:
        - host tensors (numpy, CPU tensors): results are numpy arrays (which
          export DLPack: `torch.from_dlpack(r)` shares their memory);
        - CUDA tensors (GPU modules): used in place in device memory on
          `stream` (a CUstream as int; default: the legacy default stream,
          the producer's work is ordered before it through DLPack), host
          arrays among them are copied to the device; results are
          DeviceTensors (DLPack-capable: `torch.from_dlpack(r)`).
        In-place arguments (`inplace(function)`) are updated in the caller's
        tensor, which must be contiguous and of the argument's dtype."""
        no = self._arity(function, args)
        if any(_is_cuda(a) for a in args):
            return self._run_cuda(function, args, no, stream)
        if stream is not None:
            raise RuntimeError_(f"{function}: a stream applies to runs on CUDA tensors only")
        L = lib()
        inplace = self.inplace(function)
        keep = []
        ins = (_Tensor * max(1, len(args)))()
        for i, a in enumerate(args):
            what = f"{function} input {i}"
            if dlpack.is_dlpack(a):
                b = _consume(a, what, (dlpack.KDL_CPU, dlpack.KDL_CUDA_HOST))
                keep.append(b)
                if i in inplace:
                    self._check_inplace_dtype(function, i, b.qcrt_dtype)
                _borrowed_tensor(b, _HOST, ins[i], what)
                continue
            a = (self._inplace_arg(function, i, a) if i in inplace
                 else np.require(a, requirements="C"))  # keeps rank 0
            keep.append(a)
            _describe(a, ins[i])
        outs = (_Tensor * max(1, no))()
        try:
            _check(L.qcrt_module_run(self._h, function.encode(), ins, len(args), outs, no))
        finally:
            for b in keep:
                if isinstance(b, dlpack.Borrowed):
                    b.release()
        result = []
        try:
            for t in outs[:no]:
                shape = tuple(t.shape[i] for i in range(t.rank))
                dt = np.dtype(_DTYPES[t.dtype])
                n = int(np.prod(shape)) if shape else 1
                # One copy out of the runtime's buffer (freed below).
                buf = (ctypes.c_char * (n * dt.itemsize)).from_address(t.data) if n else b""
                result.append(np.frombuffer(buf, dtype=dt).reshape(shape).copy())
        finally:
            for t in outs[:no]:
                L.qcrt_tensor_free(ctypes.byref(t))
        return result

    def _check_inplace_dtype(self, function, i, code):
        sig = self._inplace[function][1][i]
        want = _INFO_CODES.get(sig["dtype"])
        if want != code:
            got = _CODE_NAMES.get(code, str(code))
            raise RuntimeError_(f"{function}: argument {i} is updated in place and must have "
                                f"dtype {sig['dtype']}; got {got}")

    def _run_cuda(self, function, args, no, stream):
        """`run` with CUDA tensors among the inputs (see there)."""
        if not self.is_gpu:
            raise RuntimeError_(f"{function}: CUDA tensors given to a host module "
                                f"({self.prefix}); pass host tensors or compile for a GPU "
                                f"target")
        inplace = self.inplace(function)
        keep = []
        ins = (_Tensor * max(1, len(args)))()
        try:
            for i, a in enumerate(args):
                what = f"{function} input {i}"
                if isinstance(a, DeviceTensor):
                    ins[i] = a.t
                    continue
                if _is_cuda(a):
                    b = _consume(a, what, (dlpack.KDL_CUDA,), stream)
                    keep.append(b)
                    if b.device_id != _cuda_device():
                        raise RuntimeError_(
                            f"{what}: a tensor on CUDA device {b.device_id}, but the runtime "
                            f"runs on device {_cuda_device()} ($QCRT_CUDA_DEVICE)")
                    if i in inplace:
                        self._check_inplace_dtype(function, i, b.qcrt_dtype)
                    _borrowed_tensor(b, _CUDA, ins[i], what)
                    continue
                if i in inplace:
                    raise RuntimeError_(f"{function}: argument {i} is updated in place: pass "
                                        f"it as a CUDA tensor when the others are")
                if dlpack.is_dlpack(a):
                    a = np.from_dlpack(a)
                d = DeviceTensor.from_numpy(np.require(a, requirements="C"))
                keep.append(d)
                ins[i] = d.t
            outs = (_Tensor * max(1, no))()
            opts = _RunOptions(ctypes.sizeof(_RunOptions), _CUDA,
                               None if stream is None else int(stream), 0, 0)
            _check(lib().qcrt_module_run_ex(self._h, function.encode(), ins, len(args), outs,
                                            no, ctypes.byref(opts)))
        finally:
            for b in keep:
                if isinstance(b, dlpack.Borrowed):
                    b.release()
        return [DeviceTensor(outs[k], stream) for k in range(no)]


def _is_cuda(a):
    return dlpack.is_dlpack(a) and dlpack.device_of(a)[0] == dlpack.KDL_CUDA


def _consume(a, what, devices, stream=None):
    """`a`'s memory through DLPack; `devices`: the DLDeviceTypes taken."""
    d, _ = dlpack.device_of(a)
    if d not in devices:
        names = {dlpack.KDL_CPU: "CPU", dlpack.KDL_CUDA: "CUDA",
                 dlpack.KDL_CUDA_HOST: "CUDA host"}
        raise RuntimeError_(f"{what}: a tensor on DLPack device type {d} "
                            f"({names.get(d, 'not CPU or CUDA')}) cannot go here")
    return dlpack.consume(a, what, stream)


def _borrowed_tensor(b, device, t, what):
    """Fills the qcrt_tensor `t` with the borrowed DLPack view `b`."""
    if len(b.shape) > MAX_RANK:
        raise RuntimeError_(f"{what}: rank {len(b.shape)} is more than {MAX_RANK}")
    t.dtype, t.rank = b.qcrt_dtype, len(b.shape)
    for i, n in enumerate(b.shape):
        t.shape[i] = n
    t.data = b.data or None
    t.device = device
    t.owner = None


def synchronize():
    """Waits for the device work the runtime enqueued without waiting
    (asynchronous replays and copies) and raises on its first failure."""
    _check(lib().qcrt_synchronize())


def write_stats(path):
    """Writes the calibration statistics gathered so far (qc-stats v1)."""
    _check(lib().qcrt_stats_write(str(path).encode()))


def reset_stats():
    lib().qcrt_stats_reset()
