# Lossless import of quantized GGUF linears (`--quantized keep`,
# importers/gguf_quants.py): for every kept block type (Q8_0, Q4_0, Q4_1,
# Q4_K, Q5_K, Q6_K) on fresh random blocks (gguf.quants.quantize of random
# weights where gguf-py quantizes, random block bytes with finite f16
# scales for the K-quants), the compiler's host lowering of the emitted
# qc.packed_weight (qc.dequantize_weight) equals the gguf package's own
# dequantization bit for bit. Then a synthetic 1-block Llama GGUF with one
# type per linear imports with keep (packed weights, qc.quantized linears,
# bits/weight in the meta), compiles under a `keep` policy and its logits
# match the numpy reference on the dequantized checkpoint and the
# dequantize-import compiled in f32.
# REQUIRES: quant-py, qcrt, qc-host
# UNSUPPORTED: asan
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t | FileCheck %s
# CHECK: Q8_0 bit-exact (8.5 bits/weight)
# CHECK: Q4_0 bit-exact (4.75 bits/weight)
# CHECK: Q4_1 bit-exact (5 bits/weight)
# CHECK: Q4_K bit-exact (6 bits/weight)
# CHECK: Q5_K bit-exact (10 bits/weight)
# CHECK: Q6_K bit-exact (10 bits/weight)
# CHECK: model ir ok: 7 packed weights
# CHECK: model keep vs reference ok
# CHECK: model keep vs dequantize ok
# RUN: %python -m quant import %t/model.gguf --quantized keep -o %t/cli.mlir | FileCheck %s --check-prefix=CLI
# CLI: wrote {{.*}}cli.mlir
# CLI-DAG: kept quantized: 2 linears #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false, minimum = f16>, 5 bits/weight
# CLI-DAG: kept quantized: 1 linears #qc.scheme<weight = i8, granularity = per_group, group_size = 16>, 10 bits/weight
# RUN: not %python -m quant import %t/model.gguf --quantized lossless -o %t/bad.mlir 2>&1 | FileCheck %s --check-prefix=BADOPT
# BADOPT: argument --quantized: invalid choice: 'lossless' (choose from {{'?}}dequantize{{'?}}, {{'?}}keep{{'?}})
# The compile report gives each kept layer's bits per weight.
# RUN: quant-compile %t/cli.mlir --policy %t/keep.yaml --target host --report %t/r.json -o %t/k
# RUN: %python -m quant report %t/r.json | FileCheck %s --check-prefix=REPORT
# REPORT: layer scheme kernel bytes bits/w vs fp32
# REPORT: blk.0.attn_q {{.*}}minimum = f32> {{.*}} 6.00
# REPORT: blk.0.attn_k {{.*}}symmetric = false> {{.*}} 4.75
# REPORT: blk.0.attn_v {{.*}}group_size = 32> {{.*}} 8.50
# REPORT: blk.0.attn_output {{.*}}minimum = f16> {{.*}} 5.00
# REPORT: blk.0.ffn_up {{.*}}group_size = 16> {{.*}} 10.00
# REPORT: output none none {{[0-9]+}} 32.00 1.000
# A kept layer under a scheme other than keep: one error naming the layer.
# RUN: not quant-compile %t/cli.mlir --policy %t/w4.yaml --target host -o %t/bad 2>&1 | FileCheck %s --check-prefix=BADPOL
# BADPOL: error: layer 'blk.0.attn_q' holds quantized checkpoint weights (#qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false, minimum = f32>) but the default ({{.*}}w4.yaml:3:{{[0-9]+}}) gives it another scheme (as to 13 more such linears); use 'keep' for them, or import the checkpoint with --quantized dequantize
# BADPOL-NOT: error

import os
import sys

import numpy as np
import gguf

import quant
from quant import reference
from quant.importers import check_quantized, load_checkpoint
from quant.importers.gguf_quants import KEPT_TYPES, to_packed
from quant.errors import ModelImportError
from quant.model_ir import emit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Conversion", "Inputs"))
import qc_host_harness as h  # noqa: E402

out = sys.argv[1]
seed = int(os.environ.get("QC_TEST_SEED", int.from_bytes(os.urandom(4), "little")))
rng = np.random.default_rng(seed)
T = gguf.GGMLQuantizationType
SIZES = {"Q8_0": 34, "Q4_0": 18, "Q4_1": 20, "Q4_K": 144, "Q5_K": 176, "Q6_K": 210}
PER = {"Q8_0": 32, "Q4_0": 32, "Q4_1": 32, "Q4_K": 256, "Q5_K": 256, "Q6_K": 256}


def fail(msg):
    print(f"FAILED (seed {seed}, rerun with QC_TEST_SEED={seed}): {msg}")
    sys.exit(1)


def f16_bytes(a):
    return np.asarray(a, np.float16).view(np.uint8).reshape(*np.shape(a), 2)


def random_blocks(name, n, k):
    """[n, k / per * size] uint8: the stored bytes of an n x k tensor."""
    w = (rng.standard_normal((n, k)) * rng.uniform(0.02, 0.5)
         + rng.uniform(-0.1, 0.1)).astype(np.float32)
    if name in ("Q8_0", "Q4_0", "Q4_1"):
        return gguf.quants.quantize(w, T[name])
    nb = n * k // 256
    b = rng.integers(0, 256, (nb, SIZES[name]), dtype=np.uint8)
    # Finite, normal f16 super-block scales (d, dmin) of both signs.
    d = (rng.uniform(0.5, 2.0, nb) * rng.choice([-1, 1], nb) * 1e-3).astype(np.float16)
    if name == "Q6_K":
        b[:, 208:210] = f16_bytes(d)
    else:
        b[:, 0:2] = f16_bytes(d)
        b[:, 2:4] = f16_bytes(np.abs(d) * np.float16(0.5))
    return b.reshape(n, -1)


N, K = 24, 512
funcs, cases = [], []
for i, name in enumerate(KEPT_TYPES):
    raw = random_blocks(name, N, K)
    p = to_packed(raw, name, (N, K))
    ref = gguf.quants.dequantize(raw, T[name]).reshape(N, K).astype(np.float32)
    if not np.array_equal(p.dequantize().view(np.uint32), ref.view(np.uint32)):
        fail(f"{name}: Packed.dequantize differs from gguf")
    ops = [("d", p.data), ("s", p.scales)] + ([("z", p.zeros)] if p.zeros is not None else [])
    def ty(a):
        return "x".join(str(x) for x in a.shape) + "x" + {"int8": "i8", "float16": "f16",
                                                          "float32": "f32"}[a.dtype.name]
    args = ", ".join(f"%{nm}: tensor<{ty(a)}>" for nm, a in ops)
    pt = f"!qc.packed<{N}x{K}xi{p.bits}>"
    funcs.append(f"""
func.func @dq{i}({args}) -> tensor<{N}x{K}xf32> {{
  %pw = qc.packed_weight {", ".join("%" + nm for nm, _ in ops)} {{layout = #qc.layout<row_major>, scheme = {p.scheme}}} : {", ".join(f"tensor<{ty(a)}>" for _, a in ops)} -> {pt}
  %w = qc.dequantize_weight %pw : {pt} -> tensor<{N}x{K}xf32>
  return %w : tensor<{N}x{K}xf32>
}}""")
    cases.append((name, p, ref, [a for _, a in ops]))
lib = h.build("\n".join(funcs), workdir=out)
for i, (name, p, ref, arrs) in enumerate(cases):
    got = h.call(lib, f"dq{i}", arrs, [(2, np.float32)])
    if not np.array_equal(np.asarray(got, np.float32).view(np.uint32), ref.view(np.uint32)):
        bad = np.argwhere(np.asarray(got, np.float32) != ref)[0]
        fail(f"{name}: compiled dequantization differs at {tuple(bad)}: "
             f"{got[tuple(bad)]!r} vs {ref[tuple(bad)]!r}")
    print(f"{name} bit-exact ({p.bits_per_weight:g} bits/weight)")

# A 1-block Llama, one kept type per linear (K = 256 or 512: whole
# super-blocks), the embedding Q8_0 (dequantized: not a block linear).
D, H, KV, F, V = 256, 4, 2, 512, 40
types = {"attn_q": "Q4_K", "attn_k": "Q4_0", "attn_v": "Q8_0", "attn_output": "Q4_1",
         "ffn_gate": "Q5_K", "ffn_up": "Q6_K", "ffn_down": "Q4_1"}
w = gguf.GGUFWriter(f"{out}/model.gguf", "llama")
w.add_block_count(1)
w.add_context_length(64)
w.add_embedding_length(D)
w.add_feed_forward_length(F)
w.add_head_count(H)
w.add_head_count_kv(KV)
w.add_rope_freq_base(10000.0)
w.add_layer_norm_rms_eps(1e-5)
w.add_tokenizer_model("gpt2")
toks = ["a", "b", "ab"] + [f"t{i}" for i in range(V - 3)]
w.add_token_list(toks)
w.add_token_types([1] * V)
w.add_token_merges(["a b"])
hd = D // H
shapes = {"attn_q": (H * hd, D), "attn_k": (KV * hd, D), "attn_v": (KV * hd, D),
          "attn_output": (D, H * hd), "ffn_gate": (F, D), "ffn_up": (F, D), "ffn_down": (D, F)}
emb = (rng.standard_normal((V, D)) * 0.5).astype(np.float32)
w.add_tensor("token_embd.weight", gguf.quants.quantize(emb, T.Q8_0), raw_dtype=T.Q8_0)
w.add_tensor("output_norm.weight", (1 + 0.1 * rng.standard_normal(D)).astype(np.float32))
for n in ("attn_norm", "ffn_norm"):
    w.add_tensor(f"blk.0.{n}.weight", (1 + 0.1 * rng.standard_normal(D)).astype(np.float32))
for n, (rows, cols) in shapes.items():
    w.add_tensor(f"blk.0.{n}.weight", random_blocks(types[n], rows, cols), raw_dtype=T[types[n]])
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
with open(f"{out}/keep.yaml", "w") as f:
    f.write("format: qc-policy\nversion: 1\ndefault: keep\n")
with open(f"{out}/w4.yaml", "w") as f:
    f.write("format: qc-policy\nversion: 1\ndefault: {weight: i4, granularity: per_group, "
            "group_size: 32}\n")

ck = load_checkpoint(f"{out}/model.gguf", quantized="keep")
ir = emit(ck, f"{out}/keep.mlir", max_seq=16)
text = open(ir.mlir).read()
npacked = text.count("qc.packed_weight")
kept = ir.config["kept_quantized"]
assert npacked == 14 and len(kept) == 7, (npacked, kept)  # @forward and @decode
assert kept["blk.0.attn_q"]["bits_per_weight"] == 6.0, kept
assert 'layer = "blk.0.ffn_up", qc.quantized' in text
print(f"model ir ok: {len(kept)} packed weights")
try:
    check_quantized("lossless")
    fail("a bad --quantized value was accepted")
except ModelImportError:
    pass

ids = [1, 5, 7, 2, 39, 11, 3]
m = quant.load(quant.compile(ir, policy=f"{out}/keep.yaml", out=f"{out}/keep"))
lg = np.asarray(m.forward(ids), np.float64)
ref = reference.llama_forward(ck, ids)
err = np.abs(lg - ref).max() / np.abs(ref).max()
if not err < 2e-5:
    fail(f"keep vs reference: {err}")
print("model keep vs reference ok")
ck2 = load_checkpoint(f"{out}/model.gguf")
ir2 = emit(ck2, f"{out}/deq.mlir", max_seq=16)
assert "qc.packed_weight" not in open(ir2.mlir).read()
m2 = quant.load(quant.compile(ir2, out=f"{out}/deq"))
lg2 = np.asarray(m2.forward(ids), np.float64)
err = np.abs(lg - lg2).max() / np.abs(lg2).max()
if not err < 2e-5:
    fail(f"keep vs dequantize: {err}")
print("model keep vs dequantize ok")
