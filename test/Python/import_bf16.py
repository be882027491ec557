# bf16 activations (`python -m quant import --activations bf16`, Llama
# family): the residual stream, the matmul inputs/outputs and the KV caches
# are bf16 (f32 accumulation, every store rounded to nearest even, as
# PyTorch's bf16 modules), RoPE, SiLU, softmax and the norms' reductions
# compute in f32, the logits are f32. Small random Hugging Face checkpoints
# (Inputs/hf_models.py): Llama 3 (stored bf16: GQA, llama3 RoPE scaling,
# untied head) and Llama 2 (stored f32: every weight rounded to bf16 by the
# importer) are imported with bf16 activations, compiled for the host
# (fp32 policy) and compared with the
# numpy float64 reference (quant.reference.llama_forward on the test's own
# weights): @forward logits of a 24-token prompt, a batched @decode (prefill
# of 6 tokens x 2 sequences, then 3 steps with the bf16 caches, numpy
# arrays of ml_dtypes.bfloat16, updated in place). Tolerance: max |module -
# reference| / max |reference| < 4e-2 (bf16: 8-bit mantissa, ~8x f16's
# rounding; import_f16.py reaches < 1e-2), and the bf16 rounding must be
# visible (error > 1e-4, so the test cannot pass on an f32 or f16 graph:
# the f16 graph of the same model is compared too and must be closer).
# W8A8 and W4 weight-only policies are compared with the same policy's
# module with f32 activations (same tolerance).
# REQUIRES: quant-py, qcrt, qc-host
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t | FileCheck %s --check-prefix=NUM
# RUN: FileCheck %s --check-prefix=IR < %t/llama3.mlir
# RUN: quant-opt %t/llama2.mlir -o /dev/null
# RUN: %python -m quant import %t/llama3 -o %t/cli.mlir --activations bf16 --max-seq 32 | FileCheck %s --check-prefix=CLI
# RUN: not %python -m quant import %t/llama3 -o %t/bad.mlir --activations f8 2>&1 | FileCheck %s --check-prefix=BAD
# NUM: llama3 forward ok
# NUM: llama3 interpreter ok
# NUM: llama3 decode ok
# NUM: llama3 wrong cache dtype: {{.*}}dtype float16, expected bf16
# NUM: llama3 w8a8 ok
# NUM: llama3 w4 ok
# NUM: llama2 forward ok
# NUM: llama2 decode ok
# NUM: all bf16 variants ok
# IR-LABEL: func.func @forward
# The bf16 checkpoint's weights stay bf16, as stored.
# IR: qc.linear %{{.*}}, %{{.*}} {layer = "blk.0.attn_q"} : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
# IR: arith.extf %{{.*}} : bf16 to f32
# IR-LABEL: func.func @decode
# IR-SAME: %{{.*}}: tensor<2x?x2x32x16xbf16>, %{{.*}}: tensor<2x?x2x32x16xbf16>) -> (tensor<?x{{[0-9]+}}xf32>, tensor<2x?x2x32x16xbf16>, tensor<2x?x2x32x16xbf16>)
# IR: qc.cache_write %{{.*}} : tensor<?x?x2x16xbf16>, tensor<?xi64> -> tensor<2x?x2x32x16xbf16>
# CLI: bf16
# BAD: invalid choice: 'f8' (choose from 'f32', 'f16', 'bf16')

import sys
from pathlib import Path

import ml_dtypes
import numpy as np

sys.path.insert(0, str(Path(__file__).parent / "Inputs"))
import hf_models  # noqa: E402
import quant  # noqa: E402
from quant import reference  # noqa: E402

out = Path(sys.argv[1])
TOL = 4e-2
MAX_SEQ = 32
BF16 = np.dtype(ml_dtypes.bfloat16)

W8A8 = {"format": "qc-policy", "version": 1, "rules": [
    {"match": "blk.*", "scheme": {"weight": "i8", "granularity": "per_channel",
                                  "act": "dynamic_per_token"}},
    {"match": "output", "scheme": "none"}]}
W4 = {"format": "qc-policy", "version": 1, "rules": [
    {"match": "blk.*", "scheme": {"weight": "i4", "granularity": "per_group",
                                  "group_size": 32}},
    {"match": "output", "scheme": "none"}]}


def rel(a, b):
    return float(np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max())


for variant in ("llama3", "llama2"):
    d = out / variant
    cfg, tensors = hf_models.make(variant, d, seed=11)
    ref = hf_models.reference_checkpoint(cfg, tensors)
    ir = quant.import_model(d, out / f"{variant}.mlir", max_seq=MAX_SEQ, activations="bf16")
    assert ir.config["activations"] == "bf16"
    m = quant.load(quant.compile(ir, out=out / variant / "module"))

    rng = np.random.default_rng(3)
    prompt = [int(t) for t in rng.integers(0, cfg["vocab_size"], 24)]
    want = reference.llama_forward(ref, prompt)
    lg = m.forward(prompt)
    err = rel(lg, want)
    assert lg.dtype == np.float32 and lg.shape == (24, cfg["vocab_size"])
    assert 1e-4 < err < TOL, err
    # The same model with f16 activations (3 more mantissa bits) is closer.
    ir16 = quant.import_model(d, out / f"{variant}-f16.mlir", max_seq=MAX_SEQ,
                              activations="f16")
    err16 = rel(quant.load(quant.compile(ir16, out=out / variant / "m16")).forward(prompt), want)
    assert err16 < err, (err16, err)
    print(variant, "forward ok", f"(rel err {err:.2e}, f16 {err16:.2e})")
    if variant == "llama3":
        # The IR's own semantics (numpy interpreter, bf16 tensors as
        # ml_dtypes.bfloat16: what calibration runs) agree too.
        from quant.mlir_interp import Module as Interp
        il = Interp(out / f"{variant}.mlir").run("forward", np.array(prompt[:8], np.int64))
        il = il[0] if isinstance(il, (list, tuple)) else il
        e2 = rel(il, reference.llama_forward(ref, prompt[:8]))
        assert il.dtype == np.float32 and 1e-4 < e2 < TOL, e2
        print(variant, "interpreter ok", f"(rel err {e2:.2e})")

    seqs = [prompt[:6], prompt[6:12]]
    hd = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    shape = (cfg["num_hidden_layers"], 2, cfg["num_key_value_heads"], MAX_SEQ, hd)
    assert m.module.arg_dtype("decode", 2) == BF16
    kc, vc = np.zeros(shape, BF16), np.zeros(shape, BF16)
    logits = m.module.run("decode", np.array(seqs, np.int64), np.zeros(2, np.int64), kc, vc)[0]
    worst = 0.0
    for step in range(4):
        for b in range(2):
            worst = max(worst, rel(logits[b], reference.llama_forward(ref, seqs[b])[-1]))
        if step == 3:
            break
        nxt = [int(np.argmax(logits[b])) for b in range(2)]
        pos = np.array([len(seqs[0]), len(seqs[1])], np.int64)
        for b in range(2):
            seqs[b].append(nxt[b])
        logits = m.module.run("decode", np.array([[t] for t in nxt], np.int64), pos, kc, vc)[0]
    assert worst < TOL and np.abs(kc.astype(np.float32)).max() > 0, worst
    print(variant, "decode ok", f"(rel err {worst:.2e})")
    if variant != "llama3":
        continue
    try:
        m.module.run("decode", np.array([[1]], np.int64), np.zeros(1, np.int64),
                     np.zeros(shape, np.float16), np.zeros(shape, np.float16))
        print(variant, "wrong cache dtype: accepted")
    except quant.QuantError as e:
        print(variant, "wrong cache dtype:", e)
    # Quantized layers take bf16 activations too: W8A8 (the activations
    # quantized per token from bf16, exact in f32) and W4 weight-only,
    # each against the same policy's module with f32 activations (the
    # quantization's own error cancels; bf16 rounding remains).
    ir32 = quant.import_model(d, out / f"{variant}-f32.mlir", max_seq=MAX_SEQ)
    for name, pol in (("w8a8", W8A8), ("w4", W4)):
        lq = quant.load(quant.compile(ir, policy=pol, out=out / variant / name)).forward(prompt)
        l32 = quant.load(quant.compile(ir32, policy=pol, out=out / variant / f"{name}-f32"))
        e = rel(lq, l32.forward(prompt).astype(np.float64))
        assert e < TOL, (name, e)
        print(variant, name, "ok", f"(rel err to f32 activations {e:.2e})")

print("all bf16 variants ok")
