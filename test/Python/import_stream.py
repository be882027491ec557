# Streaming import in the checkpoint's own float type (issue 15): tensors are
# memory-mapped from the checkpoint and copied into the weight blob one at a
# time; linear weights and the embedding table keep their f16 / bf16 type
# (2 bytes a weight), the norms, biases and RoPE table are f32.
# Each small model is imported twice: streaming, and along the old path
# (every tensor loaded first and widened to f32: `ck.tensors = dict(...)`).
# - an f32 checkpoint (Mistral, two shards) gives a byte-identical IR and blob;
# - f16 (tied Llama, Hugging Face), bf16 (Llama 3, Hugging Face) and f16 GGUF
#   (q/k rows unpermuted in the source type) checkpoints: the linear weights
#   are stored as f16 / bf16, every external weight holds the same values as
#   the old path's f32 one (the widening is exact), and W4 g32 RTN of every
#   linear (head included, qc-quantize-pipeline for the host) gives the same
#   packed codes and scales, bit for bit (every dense constant of the
#   quantized module).
# REQUIRES: quant-py, quantize-pipeline, host-pipeline
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t | FileCheck %s
# CHECK: mistral (F32): identical IR and blob: True
# CHECK: tied (F16): linear weights f16, values equal: True, blob {{0\.[5-7][0-9]}}x, same codes: True
# CHECK: llama3 (BF16): linear weights bf16, values equal: True, blob {{0\.[5-7][0-9]}}x, same codes: True
# CHECK: gguf (F16): linear weights f16, values equal: True, blob {{0\.[5-7][0-9]}}x, same codes: True

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent / "Inputs"))
import hf_models  # noqa: E402
from quant import find_tool  # noqa: E402
from quant.importers import load_checkpoint  # noqa: E402
from quant.mlir_emit import RAW_DTYPES, Stored, widen  # noqa: E402
from quant.model_ir import emit  # noqa: E402

out = Path(sys.argv[1])
POLICY = out / "w4g32.yaml"
POLICY.write_text("format: qc-policy\nversion: 1\nrules:\n  - match: \"*\"\n"
                  "    scheme: {weight: i4, granularity: per_group, group_size: 32}\n")
EXT = re.compile(r'qc\.external_weight "([^"]+)" offset (\d+) : tensor<(.*)x(\w+)>')


def weights(mlir: Path):
    """The float32 values of every qc.external_weight op, in IR order."""
    vals = []
    for fname, off, dims, dt in EXT.findall(mlir.read_text()):
        shape = [int(d) for d in dims.split("x")]
        a = np.fromfile(mlir.parent / fname, RAW_DTYPES[dt], int(np.prod(shape)), offset=int(off))
        vals.append(widen(Stored(a.reshape(shape), dt)) if dt != "i8" else a)
    return vals


def codes(mlir: Path):
    """The dense constants (packed codes, scales) of W4 g32 RTN of every
    linear (qc-quantize-pipeline, host), sorted."""
    q = subprocess.run([find_tool("quant-opt"), str(mlir),
                        f"--qc-quantize-pipeline=policy={POLICY} target=host"],
                       check=True, capture_output=True, text=True).stdout
    found = sorted(re.findall(r"= arith\.constant (dense.*)", q))
    assert len(found) > 7, "no quantized weights"
    return found


def check(label, src, dtype):
    stream = emit(load_checkpoint(src), out / f"{label}-stream.mlir", max_seq=32)
    eager = load_checkpoint(src)
    eager.tensors = dict(eager.tensors)  # the old path: every tensor as f32, in memory
    old = emit(eager, out / f"{label}-old.mlir", max_seq=32)

    def ir(m):
        return m.mlir.read_text().replace(m.weights.name, "W.bin")
    if dtype == "F32":
        same = ir(stream) == ir(old) and stream.weights.read_bytes() == old.weights.read_bytes()
        print(f"{label} ({dtype}): identical IR and blob: {same}")
        return
    m = re.search(r'qc\.linear %\w+, %\w+ \{layer = "blk\.0\.attn_q"\} : '
                  r'\(tensor<\?x\d+xf32>, tensor<\d+x\d+x(\w+)>\)', stream.mlir.read_text())
    a, b = weights(stream.mlir), weights(old.mlir)
    equal = len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))
    ratio = stream.weights.stat().st_size / old.weights.stat().st_size
    same = codes(stream.mlir) == codes(old.mlir)
    print(f"{label} ({dtype}): linear weights {m.group(1)}, values equal: {equal}, "
          f"blob {ratio:.2f}x, same codes: {same}")


def write_gguf_f16(path: Path):
    """A 1-block Llama GGUF (GQA) with f16 linears and embedding, f32 norms."""
    import gguf
    rng = np.random.default_rng(3)
    D, H, KV, F, V = 64, 4, 2, 128, 40
    w = gguf.GGUFWriter(str(path), "llama")
    for add, v in ((w.add_block_count, 1), (w.add_context_length, 64),
                   (w.add_embedding_length, D), (w.add_feed_forward_length, F),
                   (w.add_head_count, H), (w.add_head_count_kv, KV),
                   (w.add_rope_freq_base, 10000.0), (w.add_layer_norm_rms_eps, 1e-5)):
        add(v)
    w.add_tokenizer_model("gpt2")
    toks = ["a", "b", "ab"] + [f"t{i}" for i in range(V - 3)]
    w.add_token_list(toks)
    w.add_token_types([1] * V)
    w.add_token_merges(["a b"])
    hd = D // H
    shapes = {"token_embd.weight": (V, D), "output_norm.weight": (D,), "output.weight": (V, D),
              "blk.0.attn_norm.weight": (D,), "blk.0.ffn_norm.weight": (D,),
              "blk.0.attn_q.weight": (H * hd, D), "blk.0.attn_k.weight": (KV * hd, D),
              "blk.0.attn_v.weight": (KV * hd, D), "blk.0.attn_output.weight": (D, H * hd),
              "blk.0.ffn_gate.weight": (F, D), "blk.0.ffn_up.weight": (F, D),
              "blk.0.ffn_down.weight": (D, F)}
    for n, s in shapes.items():
        a = rng.normal(size=s).astype(np.float32) * (0.1 if len(s) == 2 else 1.0)
        w.add_tensor(n, a.astype(np.float16) if len(s) == 2 else a)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


for variant in ("mistral", "tied", "llama3"):
    hf_models.make(variant, out / variant, seed=7)
    check(variant, out / variant, hf_models.VARIANTS[variant][1])
write_gguf_f16(out / "f16.gguf")
check("gguf", out / "f16.gguf", "F16")
