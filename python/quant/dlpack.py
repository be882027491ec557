"""DLPack interop for the runtime binding: tensors of any framework in and
out of a loaded module without copies (numpy, PyTorch CPU/CUDA, CuPy, JAX,
... -- anything with `__dlpack__` / `__dlpack_device__`).

The one home of the DLPack structs (dlpack.h, ABI v0.8: the unversioned
"dltensor" capsule every producer still offers) and of the dtype mapping
between DLPack and qcrt (include/qc/Runtime/qcrt.h).

- `consume(obj, stream)`: a borrowed view (data pointer, device, dtype code,
  shape) of `obj`'s memory, kept alive until `release()`;
- `export_capsule(owner, ...)`: a "dltensor" capsule over memory that
  `owner` keeps alive (DeviceTensor.__dlpack__).
"""

import ctypes

from .errors import QuantError

# DLDeviceType values used here.
KDL_CPU, KDL_CUDA, KDL_CUDA_HOST = 1, 2, 3
# DLDataTypeCode values.
_INT, _UINT, _FLOAT, _BFLOAT, _BOOL = 0, 1, 2, 4, 6

# (DLPack code, bits) <-> qcrt_dtype (qcrt.h: F32 1, F64 2, F16 3, BF16 4,
# I8 5, I16 6, I32 7, I64 8, U8 9, BOOL 10).
_TO_QCRT = {(_FLOAT, 32): 1, (_FLOAT, 64): 2, (_FLOAT, 16): 3, (_BFLOAT, 16): 4,
            (_INT, 8): 5, (_INT, 16): 6, (_INT, 32): 7, (_INT, 64): 8, (_UINT, 8): 9,
            (_BOOL, 8): 10}
_FROM_QCRT = {v: k for k, v in _TO_QCRT.items()}


class DLPackError(QuantError):
    """A tensor handed over through DLPack cannot be used as it is."""


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class DLManagedTensor(ctypes.Structure):
    pass


_Deleter = ctypes.CFUNCTYPE(None, ctypes.POINTER(DLManagedTensor))
DLManagedTensor._fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p),
                            ("deleter", _Deleter)]

_api = ctypes.pythonapi
_api.PyCapsule_IsValid.restype = ctypes.c_int
_api.PyCapsule_IsValid.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_SetName.restype = ctypes.c_int
_api.PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]
_CapsuleDestructor = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_api.PyCapsule_New.restype = ctypes.py_object
_api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, _CapsuleDestructor]
# The same two calls on a raw PyObject* (the capsule destructor runs while
# the capsule is being freed: no new reference to it may be made).
_is_valid_raw = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p)(
    ("PyCapsule_IsValid", _api))
_get_pointer_raw = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p)(
    ("PyCapsule_GetPointer", _api))


def is_dlpack(obj):
    """Whether `obj` offers DLPack (and is not a numpy array, which the
    binding takes directly)."""
    import numpy as np
    return hasattr(obj, "__dlpack__") and not isinstance(obj, np.ndarray)


def device_of(obj):
    """(DLDeviceType, device id) of a DLPack object."""
    try:
        t, i = obj.__dlpack_device__()
    except Exception as e:  # noqa: BLE001 -- any producer failure is the user's input
        raise DLPackError(f"{type(obj).__name__}.__dlpack_device__() failed: {e}") from None
    return int(t), int(i)


class Borrowed:
    """A borrowed view of a DLPack producer's tensor (C-contiguous only):
    `data` (address of the first element), `device` (DLDeviceType),
    `device_id`, `qcrt_dtype`, `shape`. `release()` hands it back."""

    def __init__(self, managed, capsule, what):
        self._managed, self._capsule = managed, capsule
        t = managed.contents.dl_tensor
        self.device, self.device_id = t.device.device_type, t.device.device_id
        self.shape = tuple(t.shape[i] for i in range(t.ndim))
        key = (t.dtype.code, t.dtype.bits)
        if t.dtype.lanes != 1 or key not in _TO_QCRT:
            self.release()
            raise DLPackError(f"{what}: DLPack dtype (code {key[0]}, {key[1]} bits, "
                              f"{t.dtype.lanes} lanes) has no qcrt equivalent")
        self.qcrt_dtype = _TO_QCRT[key]
        if t.strides:
            expect = 1
            for i in reversed(range(t.ndim)):
                if self.shape[i] != 1 and t.strides[i] != expect:
                    strides = tuple(t.strides[j] for j in range(t.ndim))
                    self.release()
                    raise DLPackError(
                        f"{what}: not C-contiguous (shape {self.shape}, strides {strides} in "
                        f"elements); pass a contiguous tensor (e.g. .contiguous())")
                expect *= self.shape[i]
        self.data = (t.data or 0) + t.byte_offset

    def release(self):
        if self._managed is not None:
            m = self._managed
            self._managed = None
            if m.contents.deleter:
                m.contents.deleter(m)
        self._capsule = None

    __del__ = release


def consume(obj, what, stream=None):
    """Takes `obj`'s tensor through `obj.__dlpack__(stream=...)`. For CUDA
    producers `stream` is the consumer stream the producer orders its work
    before (DLPack: 1 = the legacy default stream, which the runtime uses
    when no stream is given)."""
    dev, _ = device_of(obj)
    try:
        if dev == KDL_CUDA:
            cap = obj.__dlpack__(stream=1 if stream is None else int(stream))
        else:
            cap = obj.__dlpack__()
    except Exception as e:  # noqa: BLE001
        raise DLPackError(f"{what}: {type(obj).__name__}.__dlpack__() failed: {e}") from None
    if not _api.PyCapsule_IsValid(cap, b"dltensor"):
        raise DLPackError(f"{what}: {type(obj).__name__}.__dlpack__() did not return an "
                          f"unused 'dltensor' capsule")
    ptr = _api.PyCapsule_GetPointer(cap, b"dltensor")
    # The consumer owns it now: the capsule must not call the deleter.
    _api.PyCapsule_SetName(cap, b"used_dltensor")
    return Borrowed(ctypes.cast(ptr, ctypes.POINTER(DLManagedTensor)), cap, what)


# Exported tensors alive in a consumer: manager_ctx id -> (DLManagedTensor,
# shape array, owner). The deleter drops the entry.
_exported = {}


@_Deleter
def _deleter(managed):
    _exported.pop(managed.contents.manager_ctx, None)


@_CapsuleDestructor
def _capsule_destructor(cap):
    # A capsule dropped without being consumed still owns its tensor.
    if _is_valid_raw(cap, b"dltensor"):
        _deleter(ctypes.cast(_get_pointer_raw(cap, b"dltensor"),
                             ctypes.POINTER(DLManagedTensor)))


def export_capsule(owner, data, qcrt_dtype, shape, device, device_id=0):
    """A "dltensor" capsule over `data` (C-contiguous, `shape`, qcrt dtype);
    `owner` is kept alive until the consumer calls the deleter."""
    code, bits = _FROM_QCRT[qcrt_dtype]
    shape_arr = (ctypes.c_int64 * max(1, len(shape)))(*shape)
    m = DLManagedTensor()
    m.dl_tensor = DLTensor(data, DLDevice(device, device_id), len(shape),
                           DLDataType(code, bits, 1),
                           ctypes.cast(shape_arr, ctypes.POINTER(ctypes.c_int64)), None, 0)
    key = id(m)
    m.manager_ctx = key
    m.deleter = _deleter
    _exported[key] = (m, shape_arr, owner)
    return _api.PyCapsule_New(ctypes.addressof(m), b"dltensor", _capsule_destructor)
