"""quant.calibrate on a real 1-block SmolLM2: the statistics (absmax and the
X^T X Hessian) of two layers against numpy float64 from the reference's
activations, on two token sequences of different lengths.

usage: calibrate_check.py OUT_DIR
"""

import json
import sys

import numpy as np

import quant
from quant import data, reference
from quant.importers import load_checkpoint
from quant.model_ir import emit

out = sys.argv[1]
ck = load_checkpoint(data.smollm2_gguf(), layers=1)
ir = emit(ck, f"{out}/smol.mlir", max_seq=16)
rng = np.random.default_rng(7)
seqs = [rng.integers(0, 49152, n) for n in (5, 11)]
stats = quant.calibrate(ir, seqs, f"{out}/stats.json", max_windows=2, hessian=True,
                        progress=False)
d = json.loads(stats.read_text())
assert sorted(d["layers"]) == sorted(ir.layers), sorted(d["layers"])

eps = ck.config["rms_eps"]
W = lambda n: ck.tensors[n].astype(np.float64)
inputs = {"blk.0.attn_q": [], "output": []}
for s in seqs:
    taps = {}
    reference.llama_forward(ck, s, taps=taps)
    inputs["blk.0.attn_q"].append(reference.rms_norm(W("token_embd")[s], W("blk.0.attn_norm"), eps))
    inputs["output"].append(reference.rms_norm(taps["blk.0"], W("output_norm"), eps))
for name, xs in inputs.items():
    x = np.concatenate(xs)
    e = d["layers"][name]
    assert e["tokens"] == 16 and e["channels"] == x.shape[1], e
    amax = np.abs(x).max(0)
    assert np.abs(np.array(e["absmax"]) - amax).max() <= 1e-4 * amax.max(), name
    k = x.shape[1]
    h = np.fromfile(f"{out}/" + e["hessian"]["file"], dtype="<f8", count=k * k,
                    offset=e["hessian"]["offset"]).reshape(k, k)
    ref = x.T @ x
    err = np.abs(h - ref).max() / np.abs(ref).max()
    assert err < 1e-4, (name, err)
print("calibrate ok")
