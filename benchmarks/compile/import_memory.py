#!/usr/bin/env python3
"""Import memory of a Llama-2-7B-shaped Hugging Face checkpoint (issue 15).

Writes a random bf16 checkpoint with the 7B shapes (d 4096, FFN 11008, 32
heads, vocab 32000; BLOCKS decoder blocks) to DIR one tensor at a time
(never the whole model in memory), then runs the import twice in child
processes under /usr/bin/time: `streaming` is `python -m quant import`
(tensors read when emitted, LazyTensors); `in-memory` loads every tensor
first (as stored: bf16 stays bf16, as the import writes it; what the
importer did before streaming) and then emits.
Prints wall time and peak RSS of each; the two IRs must be identical.

  usage: python3 benchmarks/compile/import_memory.py DIR [--blocks 4]
"""
import argparse
import os
import sys
from pathlib import Path

from llama_checkpoint import ROOT, measure, write_checkpoint

EAGER = """
import sys
import numpy as np
from pathlib import Path
from quant.importers import load_checkpoint
from quant.model_ir import emit
from quant.mlir_emit import Stored
ck = load_checkpoint(sys.argv[1])
# Every tensor read first (the old importer), in the type the import keeps.
ck.tensors = {n: Stored(np.array(s.data), s.dtype)
              for n in list(ck.tensors) for s in [ck.tensors.stored(n)]}
emit(ck, Path(sys.argv[2]))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--blocks", type=int, default=4)
    a = ap.parse_args()
    d = Path(a.dir)
    ck_dir = d / f"llama7b-{a.blocks}"
    if not (ck_dir / "model.safetensors").exists():
        write_checkpoint(ck_dir, a.blocks, dtype="BF16")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    rows = []
    for label, cmd in (
            ("streaming", [sys.executable, "-m", "quant", "import", str(ck_dir),
                           "-o", str(d / "stream.mlir")]),
            ("in-memory", [sys.executable, "-c", EAGER, str(ck_dir), str(d / "eager.mlir")])):
        m = measure(cmd, env)
        rows.append((label, m["wall"], m["rss"]))
    def ir(name):  # the IR with its blob's file name neutral
        return (d / f"{name}.mlir").read_text().replace(f"{name}.bin", "W.bin")
    same = ir("stream") == ir("eager") and \
        (d / "stream.bin").read_bytes() == (d / "eager.bin").read_bytes()
    size = (ck_dir / "model.safetensors").stat().st_size / 2 ** 30
    print(f"Llama-2-7B-shaped, {a.blocks} blocks, bf16 checkpoint {size:.2f} GiB")
    print("| import | wall s | peak RSS GiB |\n|---|---|---|")
    for label, wall, gib in rows:
        print(f"| {label} | {wall:.1f} | {gib:.2f} |")
    print(f"identical IR and weights: {same}")


if __name__ == "__main__":
    main()
