#!/usr/bin/env python3
"""Llama-shaped models with random weights for the GPU decode benchmark.

A 7B or 8B checkpoint cannot travel to the GPU machine (64 MiB per call), and
a float32 import of one does not fit this machine's memory. For speed, the
values do not matter, only the shapes and the compiled code: this writes the
qc MLIR of a Llama-2-7B-shaped or Llama-3-8B-shaped model (or fewer blocks)
whose blocks are one block's random weights with rows rotated per block
(distinct codes in every block, so no block's weights can be shared or
served from L2). quant-compile then quantizes and packs every
layer as usual; `qcw_sample.py sample` keeps a small sample of every entry
of the resulting .qcw, and `qcw_sample.py expand` rebuilds a .qcw of the
same layout on the GPU machine by repeating those samples (valid packed
codes, scales and norm weights, just not the trained values).

  synth_llama.py 7b OUT.mlir [--layers N] [--max-seq S] [--seed 0]
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))

CONFIGS = {
    # Llama-2-7B: MHA, FFN 11008, vocab 32000, untied head.
    "7b": dict(n_layers=32, dim=4096, n_heads=32, n_kv_heads=32, head_dim=128,
               ffn=11008, vocab_size=32000, rope_theta=10000.0, rms_eps=1e-5),
    # Llama-3-8B: GQA with 8 KV heads, FFN 14336, vocab 128256.
    "8b": dict(n_layers=32, dim=4096, n_heads=32, n_kv_heads=8, head_dim=128,
               ffn=14336, vocab_size=128256, rope_theta=500000.0, rms_eps=1e-5),
}


def checkpoint(name, layers=None, seed=0):
    from quant.importers import Checkpoint
    c = dict(CONFIGS[name])
    if layers:
        c["n_layers"] = layers
    rng = np.random.default_rng(seed)
    d, hd, ffn = c["dim"], c["head_dim"], c["ffn"]
    H, KV = c["n_heads"], c["n_kv_heads"]

    def w(n, k):  # roughly unit-variance outputs
        return (rng.standard_normal((n, k), dtype=np.float32) / np.sqrt(k)).astype(np.float32)

    block = {"attn_norm": np.ones(d, np.float32), "ffn_norm": np.ones(d, np.float32),
             "attn_q": w(H * hd, d), "attn_k": w(KV * hd, d), "attn_v": w(KV * hd, d),
             "attn_output": w(d, H * hd), "ffn_gate": w(ffn, d), "ffn_up": w(ffn, d),
             "ffn_down": w(d, ffn)}
    tensors = {"token_embd": rng.standard_normal((c["vocab_size"], d), dtype=np.float32),
               "output": w(c["vocab_size"], d), "output_norm": np.ones(d, np.float32)}
    for i in range(c["n_layers"]):
        for k, v in block.items():
            # Block i's weights are block 0's with their rows rotated by i:
            # different codes in every block (identical constants would be
            # uniqued into one weight by MLIR and served from L2), same
            # statistics.
            tensors[f"blk.{i}.{k}"] = v if v.ndim == 1 or i == 0 else np.roll(v, i, axis=0)
    from quant.importers.llama_graph import LlamaConfig
    cfg = LlamaConfig(n_layers=c["n_layers"], dim=d, ffn_dim=ffn, n_heads=H, n_kv_heads=KV,
                      head_dim=hd, vocab_size=c["vocab_size"], rms_eps=c["rms_eps"],
                      rope_theta=c["rope_theta"], tied_embeddings=False,
                      max_positions=4096).to_dict()
    return Checkpoint("llama", cfg, tensors, None, Path(f"synthetic-{name}"),
                      {"qk_layout": "hf", "name": f"random {name}"})


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=sorted(CONFIGS))
    ap.add_argument("out")
    ap.add_argument("--layers", type=int)
    ap.add_argument("--max-seq", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--embedding", default="int8", choices=["f32", "int8"])
    ap.add_argument("--activations", default="f32", choices=["f32", "f16"])
    a = ap.parse_args()
    from quant import mlir_emit
    from quant.model_ir import emit

    ir = emit(checkpoint(a.model, a.layers, a.seed), Path(a.out), max_seq=a.max_seq,
              embedding=a.embedding, activations=a.activations)
    print(f"{ir.mlir}: {len(ir.layers)} linear layers, blob {ir.weights.stat().st_size / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
