"""Reading safetensors checkpoints (one file or a sharded index) without
the `safetensors` package: `get` gives a tensor as a float32 array (numpy
has no bfloat16, so BF16 is widened by hand: the 16 bits become the high
half of an IEEE float32, which is exact); `raw` gives it as stored, a
read-only memory map of the file (BF16 as uint16 bit patterns), which is
what the import copies into the weight blob.

Format (https://github.com/huggingface/safetensors): an 8-byte little-endian
header length N, N bytes of JSON {name: {"dtype", "shape", "data_offsets":
[begin, end]}, "__metadata__": {...}}, then the data; offsets are relative
to the end of the header. A sharded checkpoint has
`model.safetensors.index.json` with {"weight_map": {name: shard file}}.

Every problem is a ModelImportError naming the file: a header that does not
parse, a tensor whose bytes lie past the end of the file (truncated
download), a dtype other than F32/F16/BF16, a size that disagrees with the
shape, a missing tensor or shard.
"""

import json
import struct
from pathlib import Path

import numpy as np

from ..errors import ModelImportError

#: safetensors dtype -> (bytes per element, numpy dtype of the raw data).
DTYPES = {"F32": (4, "<f4"), "F16": (2, "<f2"), "BF16": (2, "<u2")}
#: The integer dtypes of packed quantized linears (GPTQ / AWQ qweight,
#: qzeros, g_idx: hf_quantized.py), read only by `array`.
INT_DTYPES = {"I32": (4, "<i4"), "I64": (8, "<i8")}
#: safetensors dtype -> MLIR element type of the raw data.
ELEMENT_TYPES = {"F32": "f32", "F16": "f16", "BF16": "bf16"}

INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"


def bf16_to_f32(bits: np.ndarray) -> np.ndarray:
    """uint16 bfloat16 bit patterns -> the float32 values they denote."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


class SafetensorsFile:
    """One .safetensors file: its header, tensors read on demand."""

    def __init__(self, path):
        self.path = Path(path)
        try:
            self.size = self.path.stat().st_size
            with open(self.path, "rb") as f:
                head = f.read(8)
                if len(head) < 8:
                    raise ModelImportError(f"{self.path}: truncated safetensors file "
                                           f"({self.size} bytes, no header)")
                (n,) = struct.unpack("<Q", head)
                if n > self.size - 8:
                    raise ModelImportError(
                        f"{self.path}: truncated safetensors file (header of {n} bytes, "
                        f"file of {self.size} bytes)")
                raw = f.read(n)
        except OSError as e:
            raise ModelImportError(f"{self.path}: cannot read ({e.strerror or e})") from e
        try:
            header = json.loads(raw.decode("utf-8"))
            if not isinstance(header, dict):
                raise ValueError("not a JSON object")
        except (UnicodeDecodeError, ValueError) as e:
            raise ModelImportError(f"{self.path}: not a safetensors file (header does not "
                                   f"parse: {e})") from e
        self.data_start = 8 + n
        self.metadata = header.pop("__metadata__", None) or {}
        self.entries = {}
        for name, e in header.items():
            try:
                dtype, shape = e["dtype"], tuple(int(s) for s in e["shape"])
                begin, end = (int(o) for o in e["data_offsets"])
            except (KeyError, TypeError, ValueError) as err:
                raise ModelImportError(f"{self.path}: malformed header entry for tensor "
                                       f"'{name}'") from err
            self.entries[name] = (dtype, shape, begin, end)

    def keys(self):
        return self.entries.keys()

    def shape(self, name):
        return self.entries[name][1]

    def dtype(self, name):
        return self.entries[name][0]

    def check(self, name, dtypes=None):
        """The checks of `get` without reading the data: dtype (one of
        `dtypes`, by default the float DTYPES), byte count, bounds (a
        truncated download is reported at load time)."""
        dtype, shape, begin, end = self.entries[name]
        allowed = dtypes or tuple(DTYPES)
        if dtype not in allowed:
            raise ModelImportError(f"{self.path}: tensor '{name}' has unsupported dtype "
                                   f"{dtype} (supported: {', '.join(allowed)})")
        width = {**DTYPES, **INT_DTYPES}[dtype][0]
        count = int(np.prod(shape, dtype=np.int64))
        if end - begin != count * width or begin < 0:
            raise ModelImportError(f"{self.path}: tensor '{name}' has {end - begin} bytes, "
                                   f"expected {count * width} for {dtype} {list(shape)}")
        if self.data_start + end > self.size:
            raise ModelImportError(
                f"{self.path}: truncated safetensors file (tensor '{name}' ends at byte "
                f"{self.data_start + end}, the file has {self.size})")

    def get(self, name) -> np.ndarray:
        """The tensor as a float32 array (checked: dtype, size, bounds)."""
        self.check(name)
        dtype, shape, begin, _ = self.entries[name]
        raw_dtype = DTYPES[dtype][1]
        count = int(np.prod(shape, dtype=np.int64))
        a = np.fromfile(self.path, dtype=raw_dtype, count=count, offset=self.data_start + begin)
        if dtype == "BF16":
            a = bf16_to_f32(a)
        return np.ascontiguousarray(a.astype(np.float32, copy=False).reshape(shape))

    def array(self, name) -> np.ndarray:
        """The tensor as stored, any dtype of DTYPES or INT_DTYPES (BF16 as
        uint16 bits): a read-only memory map, checked as `get`."""
        dtype, shape, begin, _ = self.entries[name]
        self.check(name, tuple(DTYPES) + tuple(INT_DTYPES))
        raw_dtype = {**DTYPES, **INT_DTYPES}[dtype][1]
        if int(np.prod(shape, dtype=np.int64)) == 0:
            return np.zeros(shape, raw_dtype)
        return np.memmap(self.path, dtype=raw_dtype, mode="r", offset=self.data_start + begin,
                         shape=shape)

    def raw(self, name):
        """The tensor as stored (a `mlir_emit.Stored`: a read-only memory map
        of its bytes, of the raw numpy dtype of DTYPES); checked as `get`."""
        from ..mlir_emit import Stored
        self.check(name)
        dtype, shape, begin, _ = self.entries[name]
        raw_dtype = DTYPES[dtype][1]
        if int(np.prod(shape, dtype=np.int64)) == 0:  # mmap cannot map 0 bytes
            return Stored(np.zeros(shape, raw_dtype), ELEMENT_TYPES[dtype])
        a = np.memmap(self.path, dtype=raw_dtype, mode="r", offset=self.data_start + begin,
                      shape=shape)
        return Stored(a, ELEMENT_TYPES[dtype])


class SafetensorsCheckpoint:
    """The tensors of a checkpoint directory: `model.safetensors`, or the
    shards `model.safetensors.index.json` names."""

    def __init__(self, directory):
        d = Path(directory)
        index = d / INDEX_NAME
        self.files = {}
        if index.exists():
            try:
                wm = json.loads(index.read_text())["weight_map"]
                if not isinstance(wm, dict):
                    raise TypeError("weight_map is not an object")
            except (ValueError, KeyError, TypeError) as e:
                raise ModelImportError(f"{index}: not a safetensors index ({e})") from e
            self.where = {}
            for name, shard in wm.items():
                p = d / str(shard)
                if p not in self.files:
                    if not p.exists():
                        raise ModelImportError(f"{index}: shard '{shard}' (tensor '{name}') "
                                               "does not exist")
                    self.files[p] = SafetensorsFile(p)
                if name not in self.files[p].entries:
                    raise ModelImportError(f"{p}: missing tensor '{name}' (the index puts it "
                                           "in this shard)")
                self.where[name] = self.files[p]
            self.source = index
        elif (d / SINGLE_NAME).exists():
            f = SafetensorsFile(d / SINGLE_NAME)
            self.files[f.path] = f
            self.where = {n: f for n in f.keys()}
            self.source = f.path
        else:
            raise ModelImportError(f"{d}: no {SINGLE_NAME} or {INDEX_NAME}")

    def __contains__(self, name):
        return name in self.where

    def keys(self):
        return self.where.keys()

    def shape(self, name):
        return self.where[name].shape(name)

    def get(self, name) -> np.ndarray:
        if name not in self.where:
            raise ModelImportError(f"{self.source}: missing tensor '{name}'")
        return self.where[name].get(name)

    def raw(self, name):
        """The tensor as stored (SafetensorsFile.raw)."""
        if name not in self.where:
            raise ModelImportError(f"{self.source}: missing tensor '{name}'")
        return self.where[name].raw(name)

    def check(self, name):
        """get's checks without reading the data."""
        if name not in self.where:
            raise ModelImportError(f"{self.source}: missing tensor '{name}'")
        self.where[name].check(name)

    def lazy(self, names, extra=None):
        """LazyTensors of {canonical name: file name}, every tensor checked
        now and read when asked for (float32, or memory-mapped as stored);
        `extra` adds {canonical name: (shape, float32 loader, raw loader)}
        (the packed linears of a quantized checkpoint)."""
        from . import LazyTensors
        for hn in names.values():
            self.check(hn)
        extra = extra or {}
        loaders = {n: (lambda hn=hn: self.get(hn)) for n, hn in names.items()}
        shapes = {n: tuple(self.shape(hn)) for n, hn in names.items()}
        raws = {n: (lambda hn=hn: self.raw(hn)) for n, hn in names.items()}
        for n, (shape, load, raw) in extra.items():
            shapes[n], loaders[n], raws[n] = tuple(shape), load, raw
        return LazyTensors(loaders, shapes, raws)
