#!/usr/bin/env python3
"""SmolLM2-135M imported with `--quantized keep` (its Q4_1 block linears as
packed weights in their exact grid, compiled under policy `keep`) against
the f32-dequantized import compiled in f32: perplexity on the
docs/accuracy.md windows, weight bytes and bits/weight (docs/accuracy.md,
"Lossless GGUF import").

usage: PYTHONPATH=python python3 benchmarks/keep_gguf_eval.py --work /tmp/keep \\
    [--window 256] [--windows 8] [--target host]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

import quant  # noqa: E402
from quant import data  # noqa: E402


def forward_only(ir, work, tag):
    fwd = work / f"{tag}.fwd.mlir"
    fwd.write_text(quant.keep_functions(ir.mlir.read_text(), ["forward"]))
    out = quant.ModelIR(fwd, ir.weights, ir.arch, ["forward"], ir.layers, ir.config, ir.source)
    out.meta_path.write_text(json.dumps(out.to_json()))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--window", type=int, default=256)
    p.add_argument("--windows", type=int, default=8)
    p.add_argument("--target", default="host")
    a = p.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    policy = work / "keep.yaml"
    policy.write_text("format: qc-policy\nversion: 1\ndefault: keep\n")
    tok = quant.load_checkpoint(data.smollm2_gguf(), layers=1).tokenizer
    ids = np.asarray(tok.encode(data.evaluation_text()).ids)
    rows = {}
    for tag, quantized, pol in (("f32", "dequantize", None), ("keep", "keep", policy)):
        t0 = time.perf_counter()
        ir = quant.import_model("smollm2", work / f"smol-{tag}.mlir", quantized=quantized)
        t_import = time.perf_counter() - t0
        ir = forward_only(ir, work, f"smol-{tag}")
        t0 = time.perf_counter()
        prefix = quant.compile(ir, policy=pol, target=a.target, out=work / f"smol-{tag}")
        t_compile = time.perf_counter() - t0
        m = quant.load(prefix)
        t0 = time.perf_counter()
        ppl, ntok = quant.evaluate(m, ids, window=a.window, max_windows=a.windows)
        info = json.loads(m.module.info())
        kept = ir.config.get("kept_quantized", {})
        bpw = sorted({v["bits_per_weight"] for v in kept.values()})
        rows[tag] = {"ppl": ppl, "tokens": ntok, "import_s": t_import,
                     "compile_s": t_compile, "eval_s": time.perf_counter() - t0,
                     "kept_linears": len(kept), "bits_per_weight": bpw,
                     "weight_bytes": sum(w["bytes"] for w in info.get("weights", []))}
        print(tag, json.dumps(rows[tag]), flush=True)
    rel = abs(rows["keep"]["ppl"] - rows["f32"]["ppl"]) / rows["f32"]["ppl"]
    print(f"perplexity f32 {rows['f32']['ppl']:.6f}, keep {rows['keep']['ppl']:.6f}, "
          f"relative difference {rel:.3g} ({rows['keep']['tokens']} tokens)")
    (work / "keep_results.json").write_text(json.dumps({"rows": rows, "rel": rel}, indent=1))


if __name__ == "__main__":
    main()
