# f16 activations (`python -m quant import --activations f16`, Llama family):
# (the IR interpreter, quant.mlir_interp, runs the f16 graph too)
# the residual stream, the matmul inputs/outputs and the KV caches are f16,
# RoPE, SiLU, softmax and the norms' reductions compute in f32, the logits
# are f32. Small random Hugging Face checkpoints (Inputs/hf_models.py):
# Llama 3 (GQA, llama3 RoPE scaling, untied head) and Qwen2 (q/k/v biases,
# tied head) are imported with f16 activations, compiled for the host and
# compared with the numpy float64 reference (quant.reference.llama_forward
# on the test's own weights): @forward logits of a 24-token prompt, a
# batched @decode (prefill of 6 tokens x 2 sequences, then 3 steps with the
# f16 caches updated in place). Tolerance: max |module - reference| /
# max |reference| < 1e-2 (f16 activations: ~11-bit rounding per op; the
# same modules in f32 reach 1e-4, import_hf.py), and the f16 rounding must
# be visible (error > 1e-5, so the test cannot pass on an f32 graph).
# REQUIRES: quant-py, qcrt, qc-host
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t | FileCheck %s --check-prefix=NUM
# RUN: FileCheck %s --check-prefix=IR < %t/llama3.mlir
# RUN: quant-opt %t/qwen2.mlir -o /dev/null
# RUN: not %python -m quant import %S/Inputs/no-such-model --activations f64 2>&1 | FileCheck %s --check-prefix=CLI
# NUM: llama3 forward ok
# NUM: llama3 interpreter ok
# NUM: llama3 decode ok
# NUM: llama3 wrong cache dtype: {{.*}}dtype float32, expected f16
# NUM: qwen2 forward ok
# NUM: qwen2 decode ok
# NUM: all f16 variants ok
# IR-LABEL: func.func @forward
# The bf16 checkpoint's linear weights stay bf16 (the embedding table is
# converted to the f16 activations).
# IR: qc.linear %{{.*}}, %{{.*}} {layer = "blk.0.attn_q"} : (tensor<?x64xf16>, tensor<64x64xbf16>) -> tensor<?x64xf16>
# IR: arith.extf %{{.*}} : f16 to f32
# IR-LABEL: func.func @decode
# IR-SAME: %{{.*}}: tensor<2x?x2x32x16xf16>, %{{.*}}: tensor<2x?x2x32x16xf16>) -> (tensor<?x{{[0-9]+}}xf32>, tensor<2x?x2x32x16xf16>, tensor<2x?x2x32x16xf16>)
# IR: qc.cache_write %{{.*}} : tensor<?x?x2x16xf16>, tensor<?xi64> -> tensor<2x?x2x32x16xf16>
# IR-LABEL: func.func @greedy
# CLI: quant: error: python -m quant import: argument --activations: invalid choice: 'f64' (choose from 'f32', 'f16', 'bf16')

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent / "Inputs"))
import hf_models  # noqa: E402
import quant  # noqa: E402
from quant import reference  # noqa: E402

out = Path(sys.argv[1])
TOL = 1e-2
MAX_SEQ = 32


def rel(a, b):
    return float(np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max())


for variant in ("llama3", "qwen2"):
    d = out / variant
    cfg, tensors = hf_models.make(variant, d, seed=7)
    ref = hf_models.reference_checkpoint(cfg, tensors)
    ir = quant.import_model(d, out / f"{variant}.mlir", max_seq=MAX_SEQ, activations="f16")
    assert ir.config["activations"] == "f16"
    m = quant.load(quant.compile(ir, out=out / variant / "module"))

    rng = np.random.default_rng(3)
    prompt = [int(t) for t in rng.integers(0, cfg["vocab_size"], 24)]
    lg = m.forward(prompt)
    err = rel(lg, reference.llama_forward(ref, prompt))
    assert lg.dtype == np.float32 and lg.shape == (24, cfg["vocab_size"])
    assert 1e-5 < err < TOL, err
    print(variant, "forward ok")
    if variant == "llama3":
        # The IR's own semantics (numpy interpreter: f16 tensors, extf /
        # truncf in the bodies; what calibration runs) agree too.
        from quant.mlir_interp import Module as Interp
        il = Interp(out / f"{variant}.mlir").run("forward", np.array(prompt[:8], np.int64))
        il = il[0] if isinstance(il, (list, tuple)) else il
        e2 = rel(il, reference.llama_forward(ref, prompt[:8]))
        assert il.dtype == np.float32 and 1e-5 < e2 < TOL, e2
        print(variant, "interpreter ok")

    seqs = [prompt[:6], prompt[6:12]]
    hd = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    shape = (cfg["num_hidden_layers"], 2, cfg["num_key_value_heads"], MAX_SEQ, hd)
    assert m.module.arg_dtype("decode", 2) == np.float16
    kc, vc = np.zeros(shape, np.float16), np.zeros(shape, np.float16)
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
    assert worst < TOL and np.abs(kc).max() > 0, worst
    print(variant, "decode ok")
    if variant == "llama3":
        try:
            m.module.run("decode", np.array([[1]], np.int64), np.zeros(1, np.int64),
                         np.zeros(shape, np.float32), np.zeros(shape, np.float32))
            print(variant, "wrong cache dtype: accepted")
        except quant.QuantError as e:
            print(variant, "wrong cache dtype:", e)

print("all f16 variants ok")
