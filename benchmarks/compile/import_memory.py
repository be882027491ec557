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
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "test/Python/Inputs"))


def write_checkpoint(d: Path, blocks: int, seed=0):
    d.mkdir(parents=True, exist_ok=True)
    E, F, V = 4096, 11008, 32000
    shapes = {"model.embed_tokens.weight": (V, E), "model.norm.weight": (E,),
              "lm_head.weight": (V, E)}
    for i in range(blocks):
        p = f"model.layers.{i}."
        shapes.update({p + "input_layernorm.weight": (E,),
                       p + "post_attention_layernorm.weight": (E,),
                       p + "self_attn.q_proj.weight": (E, E), p + "self_attn.k_proj.weight": (E, E),
                       p + "self_attn.v_proj.weight": (E, E), p + "self_attn.o_proj.weight": (E, E),
                       p + "mlp.gate_proj.weight": (F, E), p + "mlp.up_proj.weight": (F, E),
                       p + "mlp.down_proj.weight": (E, F)})
    header, off = {}, 0
    for n, s in shapes.items():
        size = int(np.prod(s)) * 2
        header[n] = {"dtype": "BF16", "shape": list(s), "data_offsets": [off, off + size]}
        off += size
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    rng = np.random.default_rng(seed)
    with open(d / "model.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for n, s in shapes.items():
            a = rng.standard_normal(s, dtype=np.float32) * (0.02 if len(s) == 2 else 1.0)
            f.write((a.view(np.uint32) >> 16).astype(np.uint16).tobytes())
            del a
    cfg = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": E,
           "intermediate_size": F, "num_attention_heads": 32, "num_key_value_heads": 32,
           "num_hidden_layers": blocks, "vocab_size": V, "rms_norm_eps": 1e-5,
           "rope_theta": 10000.0, "tie_word_embeddings": False, "hidden_act": "silu",
           "max_position_embeddings": 4096, "torch_dtype": "bfloat16"}
    (d / "config.json").write_text(json.dumps(cfg, indent=1))
    import hf_models
    hf_models.write_tokenizer(d, "llama")


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


def measure(cmd, env):
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, env=env, check=True,
                         capture_output=True, text=True)
    wall, kb = out.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kb) / 2 ** 20


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--blocks", type=int, default=4)
    a = ap.parse_args()
    d = Path(a.dir)
    ck_dir = d / f"llama7b-{a.blocks}"
    if not (ck_dir / "model.safetensors").exists():
        write_checkpoint(ck_dir, a.blocks)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    rows = []
    for label, cmd in (
            ("streaming", [sys.executable, "-m", "quant", "import", str(ck_dir),
                           "-o", str(d / "stream.mlir")]),
            ("in-memory", [sys.executable, "-c", EAGER, str(ck_dir), str(d / "eager.mlir")])):
        wall, gib = measure(cmd, env)
        rows.append((label, wall, gib))
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
