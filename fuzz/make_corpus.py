"""Seed corpora for the libFuzzer targets, taken from the tests
(scripts/fuzz.sh; docs/reliability.md). Usage: make_corpus.py ROOT OUT."""

import glob
import hashlib
import io
import json
import os
import struct
import sys

import numpy as np

root, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(root, "test", "Integration", "Inputs"))
from qctest import xxh64  # noqa: E402


def put(target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# .npy: arrays of every dtype and rank, v1..v3 headers.
for i, (shape, dt) in enumerate([((2, 3), "f4"), ((4,), "f8"), ((), "i4"), ((1, 2, 2), "f2"),
                                 ((3, 1), "i8"), ((5,), "u1"), ((2, 2), "b1"), ((0, 3), "i2")]):
    a = np.arange(int(np.prod(shape)) or 0).reshape(shape).astype(dt)
    b = io.BytesIO()
    np.lib.format.write_array(b, a, version=(1 + i % 3, 0))
    put("npy", b.getvalue())

# .qcw for the fuzz target's fixed module (qc_fuzz_w0: 64 bytes,
# qc_fuzz_w1: 100 bytes, identity 0123456789abcdef), docs/module-format.md.
def qcw(weights, identity=0x0123456789ABCDEF, target=b"host"):
    table = b""
    tbytes = sum(32 + (len(n) + 7) // 8 * 8 for n, _ in weights)
    at = (64 + tbytes + 63) // 64 * 64
    offs = []
    for n, d in weights:
        offs.append(at)
        end = at + len(d)
        at = (end + 63) // 64 * 64
    fbytes = offs[-1] + len(weights[-1][1]) if weights else 64 + tbytes
    for (n, d), off in zip(weights, offs):
        nb = n.encode()
        table += struct.pack("<QQQII", off, len(d), xxh64(d), len(nb), 0)
        table += nb + b"\0" * ((len(nb) + 7) // 8 * 8 - len(nb))
    head = b"QCWEIGHT" + struct.pack("<II", 2, len(weights)) + target.ljust(16, b"\0")
    head += struct.pack("<QQQQ", 64, tbytes, fbytes, identity)
    data = bytearray(head + table)
    for (n, d), off in zip(weights, offs):
        data += b"\0" * (off - len(data)) + d
    return bytes(data)


w0, w1 = bytes(range(64)), bytes((7 * i) % 256 for i in range(100))
put("qcw", qcw([("qc_fuzz_w0", w0), ("qc_fuzz_w1", w1)]))
put("qcw", qcw([("qc_fuzz_w1", w1), ("qc_fuzz_w0", w0)]))
put("qcw", qcw([("qc_fuzz_w0", w0)]))
put("qcw", qcw([]))

# Module info: valid and near-valid documents.
info = {"format": "qc-module", "version": 2, "identity": "0123456789abcdef",
        "target": "host", "cpu": "x86-64",
        "functions": [{"name": "f", "entry": "qc_entry_f",
                       "inputs": [{"dtype": "f32", "shape": [-1, 64]}],
                       "outputs": [{"dtype": "i8", "shape": [2, 3, 4]}]}],
        "weights": [{"symbol": "w", "bytes": 256}]}
put("module-info", json.dumps(info))
put("module-info", json.dumps(dict(info, functions=[], weights=[])))
put("module-info", json.dumps(info, indent=1))

# qc IR: every test input of the qc dialect (split at `// -----`).
for f in sorted(glob.glob(os.path.join(root, "test", "Dialect", "QC", "*.mlir")) +
                glob.glob(os.path.join(root, "test", "Dialect", "QC", "Inputs", "*.mlir"))):
    text = open(f).read()
    for part in text.split("// -----"):
        lines = [ln for ln in part.splitlines() if not ln.lstrip().startswith("// RUN")]
        part = "\n".join(lines)
        if len(part) < 60000:
            put("mlir", part)

# Policies and statistics files of the tests.
for f in glob.glob(os.path.join(root, "test", "Dialect", "QC", "Inputs", "policy", "*")):
    put("policy", open(f, "rb").read())
for f in glob.glob(os.path.join(root, "examples", "*.yaml")):
    put("policy", open(f, "rb").read())
for f in glob.glob(os.path.join(root, "test", "Dialect", "QC", "Inputs", "*.json")):
    put("stats", open(f, "rb").read())
