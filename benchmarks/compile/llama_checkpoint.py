"""The synthetic checkpoint and the measurement the compile benchmarks share
(import_memory.py, compile_scale.py; issue 15).

`write_checkpoint` writes a random Hugging Face Llama checkpoint with the
Llama-2-7B shapes (d 4096, FFN 11008, 32 heads, vocab 32000, untied head)
and BLOCKS decoder blocks, streamed to disk CHUNK elements at a time (the
model is never in memory): N(0, 0.02) linear weights, N(1, 0.1) norms, in
f16 or bf16 (bf16 by truncating the f32 values). `measure` runs a command
under /usr/bin/time.
"""
import json
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "test/Python/Inputs"))

E, F, V, HEADS = 4096, 11008, 32000, 32
#: Elements generated and written per step (64 MiB of f32).
CHUNK = 16 << 20


def tensor_shapes(blocks: int) -> dict:
    """Hugging Face name -> shape, in file order."""
    shapes = {"model.embed_tokens.weight": (V, E), "model.norm.weight": (E,),
              "lm_head.weight": (V, E)}
    for i in range(blocks):
        p = f"model.layers.{i}."
        shapes.update({p + "input_layernorm.weight": (E,),
                       p + "post_attention_layernorm.weight": (E,),
                       p + "self_attn.q_proj.weight": (E, E),
                       p + "self_attn.k_proj.weight": (E, E),
                       p + "self_attn.v_proj.weight": (E, E),
                       p + "self_attn.o_proj.weight": (E, E),
                       p + "mlp.gate_proj.weight": (F, E), p + "mlp.up_proj.weight": (F, E),
                       p + "mlp.down_proj.weight": (E, F)})
    return shapes


def _encode(a: np.ndarray, dtype: str) -> bytes:
    if dtype == "F16":
        return a.astype("<f2").tobytes()
    return (a.view(np.uint32) >> 16).astype("<u2").tobytes()  # BF16


def write_checkpoint(d: Path, blocks: int, dtype: str = "F16", seed: int = 0):
    """The checkpoint (model.safetensors, config.json, a tokenizer) in `d`;
    `dtype` "F16" or "BF16"."""
    assert dtype in ("F16", "BF16")
    d.mkdir(parents=True, exist_ok=True)
    shapes = tensor_shapes(blocks)
    header, off = {}, 0
    for n, s in shapes.items():
        size = int(np.prod(s)) * 2
        header[n] = {"dtype": dtype, "shape": list(s), "data_offsets": [off, off + size]}
        off += size
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    rng = np.random.default_rng(seed)
    with open(d / "model.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for n, s in shapes.items():
            count = int(np.prod(s))
            for begin in range(0, count, CHUNK):
                a = rng.standard_normal(min(CHUNK, count - begin), dtype=np.float32)
                a = a * 0.02 if len(s) == 2 else 1.0 + 0.1 * a
                f.write(_encode(a, dtype))
    cfg = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": E,
           "intermediate_size": F, "num_attention_heads": HEADS,
           "num_key_value_heads": HEADS, "num_hidden_layers": blocks, "vocab_size": V,
           "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
           "hidden_act": "silu", "max_position_embeddings": 4096,
           "torch_dtype": "float16" if dtype == "F16" else "bfloat16"}
    (d / "config.json").write_text(json.dumps(cfg, indent=1))
    import hf_models
    hf_models.write_tokenizer(d, "llama")


def measure(cmd, env) -> dict:
    """Runs `cmd` under /usr/bin/time: wall s, CPU s (user + system), peak
    RSS GiB."""
    fmt = "QCTIME %e %U %S %M"
    t0 = time.time()
    r = subprocess.run(["/usr/bin/time", "-f", fmt] + [str(c) for c in cmd], env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout + r.stderr)
        raise SystemExit(f"failed ({r.returncode}): {' '.join(map(str, cmd))}")
    line = [ln for ln in r.stderr.splitlines() if ln.startswith("QCTIME ")][-1]
    wall, user, sys_, kb = line.split()[1:]
    return {"wall": float(wall), "cpu": float(user) + float(sys_), "sys": float(sys_),
            "rss": int(kb) / 2 ** 20, "elapsed": time.time() - t0, "stderr": r.stderr}
