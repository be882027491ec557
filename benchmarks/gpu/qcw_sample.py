#!/usr/bin/env python3
"""Carry a large .qcw weights file to the GPU machine as a small sample.

  qcw_sample.py sample MODEL.qcw SAMPLE.npz [--bytes 8192]
      keeps the header and entry table and the first --bytes of every entry
      (whole entries when smaller);
  qcw_sample.py expand SAMPLE.npz MODEL.qcw
      writes a .qcw with exactly the original header, table and sizes whose
      every entry repeats its sample (the file format: docs/module-format.md).
      The entries' XXH64 checksums (version 2) are those of the original
      data, so load an expanded file with QCRT_VERIFY_WEIGHTS=0.

For speed benchmarks of models whose weights cannot travel (benchmarks/gpu/
synth_llama.py): repeated samples are valid packed codes, scales and norm
weights of the compiled layout, so kernels see realistic values, not zeros.
"""
import argparse
import struct
import sys
from pathlib import Path

import numpy as np

HEADER = 64


def read_table(raw_head):
    magic, version, count = raw_head[:8], *struct.unpack_from("<II", raw_head, 8)
    if magic != b"QCWEIGHT":
        sys.exit("not a .qcw file")
    if version not in (1, 2):
        sys.exit(f"unknown .qcw version {version}")
    table_off, table_size, total = struct.unpack_from("<QQQ", raw_head, 32)
    return count, table_off, table_size, total, version


def entries(table, count, version):
    """(name, offset, size) per entry; version 2 entries carry an XXH64 of
    their data after the size (docs/module-format.md)."""
    out, at = [], 0
    for _ in range(count):
        if version == 1:
            off, size, nlen, _ = struct.unpack_from("<QQII", table, at)
            at += 24
        else:
            off, size, _, nlen, _ = struct.unpack_from("<QQQII", table, at)
            at += 32
        name = table[at:at + nlen].decode()
        at += (nlen + 7) // 8 * 8
        out.append((name, off, size))
    return out


def sample(src, dst, nbytes):
    with open(src, "rb") as f:
        head = f.read(HEADER)
        count, toff, tsize, total, version = read_table(head)
        f.seek(toff)
        table = f.read(tsize)
        parts = {"header": np.frombuffer(head, np.uint8),
                 "table": np.frombuffer(table, np.uint8)}
        for i, (name, off, size) in enumerate(entries(table, count, version)):
            f.seek(off)
            parts[f"e{i}"] = np.frombuffer(f.read(min(size, nbytes)), np.uint8)
    np.savez_compressed(dst, **parts)
    print(f"{src}: {count} entries, {total / 1e9:.2f} GB -> {Path(dst).stat().st_size / 1e6:.1f} MB")


def expand(src, dst):
    z = np.load(src)
    head, table = z["header"].tobytes(), z["table"].tobytes()
    count, toff, tsize, total, version = read_table(head)
    tmp = Path(str(dst) + ".part")
    with open(tmp, "wb") as f:
        f.truncate(total)
        f.write(head)
        f.seek(toff)
        f.write(table)
        for i, (name, off, size) in enumerate(entries(table, count, version)):
            s = z[f"e{i}"].tobytes()
            if not s:
                continue
            f.seek(off)
            chunk = s * max(1, (1 << 24) // len(s))  # write ~16 MB at a time
            left = size
            while left:
                n = min(left, len(chunk))
                f.write(chunk[:n])
                left -= n
    tmp.replace(dst)
    print(f"{dst}: {count} entries, {total / 1e9:.2f} GB")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample")
    s.add_argument("qcw")
    s.add_argument("out")
    s.add_argument("--bytes", type=int, default=8192)
    e = sub.add_parser("expand")
    e.add_argument("sample")
    e.add_argument("qcw")
    a = ap.parse_args()
    if a.cmd == "sample":
        sample(a.qcw, a.out, a.bytes)
    else:
        expand(a.sample, a.qcw)


if __name__ == "__main__":
    main()
