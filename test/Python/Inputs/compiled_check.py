"""Compiles imported real models with quant-compile, runs them through the
qcrt ctypes binding (quant.load) and compares with the numpy reference.

usage: compiled_check.py OUT_DIR {qc,upstream} [llama,bert]
  qc:        the IR as imported (qc.linear, qc.rms_norm, qc.layer_norm)
  upstream:  the same model with those ops spelled as upstream linalg
             (tests the glue and the runtime path without the qc lowering)
"""

import sys

import numpy as np

import quant
from quant import data, reference
from quant.importers import load_checkpoint
from quant.model_ir import emit

out, variant = sys.argv[1], sys.argv[2]
models = sys.argv[3].split(",") if len(sys.argv) > 3 else ["llama", "bert"]
up = variant == "upstream"

if "llama" in models:
    ck = load_checkpoint(data.smollm2_gguf(), layers=2)
    ir = emit(ck, f"{out}/smol.mlir", max_seq=32, upstream=up)
    m = quant.load(quant.compile(ir, out=f"{out}/smol"))
    for text in ("It is a truth universally acknowledged",
                 "Emma Woodhouse, handsome, clever, and rich, with a comfortable home"):
        ids = ck.tokenizer.encode(text).ids
        lg = m.forward(ids)
        ref = reference.llama_forward(ck, ids)
        err = np.abs(lg - ref).max() / np.abs(ref).max()
        assert lg.shape == (len(ids), 49152) and err < 1e-4, (len(ids), err)
    print("llama forward ok")
    prompt = ck.tokenizer.encode("The capital of France is").ids
    assert m.generate(prompt, 6) == reference.greedy_generate(ck, prompt, 6)
    print("llama decode ok")

if "bert" in models:
    bk = load_checkpoint(data.minilm_dir(), layers=1)
    ir = emit(bk, f"{out}/bert.mlir", upstream=up)
    m = quant.load(quant.compile(ir, out=f"{out}/bert"))
    ids = bk.tokenizer.encode("A man is playing a guitar.").ids
    e = m.embed(ids)
    assert np.abs(e - reference.bert_embed(bk, ids)).max() < 1e-5
    h = m.forward(ids)
    r = reference.bert_forward(bk, ids)
    assert np.abs(h - r).max() / np.abs(r).max() < 1e-4
    print("bert ok")
