#!/usr/bin/env python3
"""Accuracy / size / time table of quantization schemes on real models
(a benchmark script, not a test).

    PYTHONPATH=python python3 benchmarks/eval_models.py --work out/eval \
        [--window 256 --windows 8 --calib-windows 4 --sentences 32] \
        [--table docs-table.md] [--rows fp32,w8a16,...]

Rows (SmolLM2-135M-Instruct, every `blk.*` linear; the LM head `output`
stays fp32 in every row):
  fp32       unquantized reference, compiled (qc ops as imported)
  w8a16      i8 symmetric per-channel weights, float activations
  w4-rtn     i4 symmetric per-group g (default 64: 128 does not divide K=576)
  w4-gptq    same grid, GPTQ on the Hessian from Emma (qc-insert-observers
             hessian=true -> compiled calibration program -> qcrt stats)
  w4-gptq-ao same, act-order (--gptq-act-order)
  w4-awq     AWQ scaling (--awq, strength searched on the Hessians), RTN
  w4-awq-gptq AWQ then GPTQ
  w8a8       i8 per-channel weights + dynamic per-token i8 activations
  w8a8-sq    same + SmoothQuant (alpha, stats from Emma)
  fp8        FP8 E4M3 per-channel weights + dynamic per-token E4M3 activations
  fp8-sq     same + SmoothQuant
  mixed      attention W8A16, MLP W4 g, LM head fp32
  auto-w4g   automatic mixed precision (quant.mixed, Hessian-measured output
             errors of every candidate scheme, RTN) at the weight bytes of
             uniform W4 g (the w4-rtn row's bytes)
  auto-B     the same at B bits per weight on average (auto-4.5, auto-5,
             auto-6, any B)

Columns: perplexity on Pride and Prejudice (the same non-overlapping windows
for every row), mean cosine similarity of MiniLM sentence embeddings
(compiled, same scheme on its encoder linears) to the compiled fp32 MiniLM
on sentences of Pride and Prejudice, weight bytes (.qcw entries from the
module info), compile and evaluation time.
"""

import argparse
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

import quant  # noqa: E402
from quant import data, reference  # noqa: E402

ROWS = ["fp32", "w8a16", "w4-rtn", "w4-gptq", "w4-gptq-ao", "w4-awq", "w4-awq-gptq",
        "w8a8", "w8a8-sq", "fp8", "fp8-sq", "mixed", "auto-w4g", "auto-4.5", "auto-5",
        "auto-6"]
# quant-compile options of the W4 rows beyond the policy (AWQ, act-order).
EXTRA_ARGS = {"w4-gptq-ao": ["--gptq-act-order"], "w4-awq": ["--awq"],
              "w4-awq-gptq": ["--awq"]}


def scheme_yaml(kind, g, alpha):
    return {
        "w8": "{weight: i8, granularity: per_channel}",
        "w4": f"{{weight: i4, granularity: per_group, group_size: {g}}}",
        "w8a8": "{weight: i8, granularity: per_channel, act: dynamic_per_token}",
        "w8a8sq": f"{{weight: i8, granularity: per_channel, act: dynamic_per_token, "
                  f"alpha: {alpha}}}",
        "fp8": "{weight: f8e4m3, granularity: per_channel, act: dynamic_per_token}",
        "fp8sq": f"{{weight: f8e4m3, granularity: per_channel, act: dynamic_per_token, "
                 f"alpha: {alpha}}}",
    }[kind]


def needs_stats(row):
    return row in ("w4-gptq", "w4-gptq-ao", "w4-awq", "w4-awq-gptq", "w8a8-sq",
                   "fp8-sq") or row.startswith("auto-")


def auto_policy(ir, row, g, stats, work):
    """The policy quant.mixed chooses for an auto-* row (see the docstring)."""
    from quant import mixed
    allpat = "blk.*" if ir.arch == "llama" else "encoder.layer.*"
    budget = row[len("auto-"):]
    kw = ({"budget_scheme": {"weight": "i4", "granularity": "per_group", "group_size": g}}
          if budget == "w4g" else {"budget_bits": float(budget)})
    r = mixed.choose(ir, stats=stats, layers=[allpat],
                     work=work / f"{ir.mlir.stem}.{row}.mixed", **kw)
    print(f"{row}: {r['bytes']} weight bytes ({r['bits_per_weight']:.3f} bits/weight, "
          f"budget {r['budget_bytes']}), predicted loss {r['predicted_loss']:.4g}",
          flush=True)
    return r["policy"]


def policy_for(row, arch, g, alpha):
    """(policy text or None, needs stats, algorithm)."""
    if row == "fp32":
        return None, False, "rtn"
    body = {"w8a16": "w8", "w4-rtn": "w4", "w4-gptq": "w4", "w4-gptq-ao": "w4",
            "w4-awq": "w4", "w4-awq-gptq": "w4", "w8a8": "w8a8",
            "w8a8-sq": "w8a8sq", "fp8": "fp8", "fp8-sq": "fp8sq"}
    if arch == "llama":
        allpat = "blk.*"
        attn, mlp = "blk.*.attn_*", "blk.*.ffn_*"
    else:
        allpat = "encoder.layer.*"
        # After the attention rule, "*.output.dense" only reaches the MLP's.
        attn, mlp = "encoder.layer.*.attention.*", "encoder.layer.*.output.dense"
    head = "format: qc-policy\nversion: 1\nrules:\n"
    if row == "mixed":
        text = (head + f'  - match: "{attn}"\n    scheme: {scheme_yaml("w8", g, alpha)}\n'
                f'  - match: "{mlp}"\n    scheme: {scheme_yaml("w4", g, alpha)}\n')
        if arch != "llama":
            text += (f'  - match: "encoder.layer.*.intermediate.dense"\n'
                     f'    scheme: {scheme_yaml("w4", g, alpha)}\n')
        return text, False, "rtn"
    text = head + f'  - match: "{allpat}"\n    scheme: {scheme_yaml(body[row], g, alpha)}\n'
    return (text, needs_stats(row),
            ("gptq" if row in ("w4-gptq", "w4-gptq-ao", "w4-awq-gptq") else "rtn"))


def weight_bytes(prefix):
    from quant import runtime
    m = runtime.Module(prefix)
    info = json.loads(m.info())
    m.close()
    return sum(w["bytes"] for w in info.get("weights", []))


def compile_row(ir, row, work, g, alpha, stats, target="host"):
    if row.startswith("auto-"):
        text, with_stats, algo = auto_policy(ir, row, g, stats, work), True, "rtn"
    else:
        text, with_stats, algo = policy_for(row, ir.arch, g, alpha)
    pol = None
    if text is not None:
        pol = work / f"{ir.mlir.stem}.{row}.yaml"
        pol.write_text(text)
    t0 = time.perf_counter()
    c0 = os.times()
    prefix = quant.compile(ir, policy=pol, stats=stats if with_stats else None,
                           algorithm=algo, target=target,
                           out=work / f"{ir.mlir.stem}.{row}.{target}",
                           extra_args=EXTRA_ARGS.get(row, []))
    c1 = os.times()
    wall = time.perf_counter() - t0
    cpu = (c1.children_user + c1.children_system) - (c0.children_user + c0.children_system)
    return prefix, wall, cpu


def sentences(text, n, min_words=8, max_words=40):
    out = []
    for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
        w = len(s.split())
        if min_words <= w <= max_words and '"' not in s[:1]:
            out.append(s)
    # Spread over the novel (deterministic).
    idx = np.linspace(0, len(out) - 1, n).astype(int)
    return [out[i] for i in idx]


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", default="out/eval", help="imports, stats and modules go here")
    p.add_argument("--window", type=int, default=256)
    p.add_argument("--windows", type=int, default=8, help="evaluation windows")
    p.add_argument("--skip-windows", type=int, default=0,
                   help="start after this many windows of the text")
    p.add_argument("--calib-windows", type=int, default=4)
    p.add_argument("--calib-window", type=int, default=256)
    p.add_argument("--group", type=int, default=64)
    p.add_argument("--alpha", type=float, default=0.5)
    p.add_argument("--sentences", type=int, default=32)
    p.add_argument("--calib-sentences", type=int, default=0,
                   help="MiniLM calibration sentences (default 4 x --sentences)")
    p.add_argument("--rows", default=",".join(ROWS))
    p.add_argument("--no-minilm", action="store_true")
    p.add_argument("--no-smollm2", action="store_true")
    p.add_argument("--merge", action="store_true",
                   help="keep the rows of an earlier results.json in --work")
    p.add_argument("--layers", type=int, help="first N blocks only (for a quick look)")
    p.add_argument("--table", help="also write the markdown table here")
    p.add_argument("--target", default="host",
                   help="auto (the CUDA GPU when present) or a target of `quant-compile "
                        "--list-targets`: where the "
                        "compiled rows run (weight-only / fp rows only on GPUs for now)")
    a = p.parse_args()
    from quant.target import TargetError, resolve_target
    try:
        target, note = resolve_target(a.target)
    except TargetError as e:
        sys.exit(f"eval_models.py: error: {e}")
    print(f"target {target} ({note})", flush=True)
    rows = a.rows.split(",")
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    results = {"settings": vars(a), "machine": f"{platform.node()} {platform.processor()} "
               f"{os.cpu_count()} cpus", "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "rows": {}}

    if a.merge and (work / "results.json").exists():
        results["rows"] = json.loads((work / "results.json").read_text())["rows"]

    def log(*x):
        print(*x, flush=True)

    def save():
        (work / "results.json").write_text(json.dumps(results, indent=1))

    # --- SmolLM2 ---
    smol = work / (f"smol-L{a.layers}.mlir" if a.layers else "smol.mlir")
    t0 = time.perf_counter()
    ir = quant.ModelIR.open(smol) if smol.exists() else quant.import_model(
        "smollm2", smol, layers=a.layers)
    results["import_s"] = time.perf_counter() - t0
    # Perplexity needs @forward only: compiling @decode too would double
    # every compile.
    fwd = smol.with_name(smol.stem + ".fwd.mlir")
    if not fwd.exists():
        fwd.write_text(quant.keep_functions(smol.read_text(), ["forward"]))
    ir = quant.ModelIR(fwd, ir.weights, ir.arch, ["forward"], ir.layers, ir.config, ir.source)
    ir.meta_path.write_text(json.dumps(ir.to_json()))
    tok = quant.load_checkpoint(ir.source, layers=1).tokenizer
    ev_ids = np.asarray(tok.encode(data.evaluation_text()).ids)
    ev_ids = ev_ids[a.skip_windows * a.window:]
    cal_ids = tok.encode(data.calibration_text()).ids
    stats = None
    if any(needs_stats(r) for r in rows) and not a.no_smollm2:
        stats = work / f"{smol.stem}.stats.json"
        if stats.exists() and not json.loads(stats.read_text())["layers"]:
            stats.unlink()
        if not stats.exists():
            t0 = time.perf_counter()
            quant.calibrate(ir, cal_ids, stats, window=a.calib_window,
                            max_windows=a.calib_windows, hessian=True)
            results["calibrate_s"] = time.perf_counter() - t0
            log(f"calibration: {results['calibrate_s']:.1f} s")
    for row in ([] if a.no_smollm2 else rows):
        log(f"== {row}")
        prefix, cwall, ccpu = compile_row(ir, row, work, a.group, a.alpha, stats, target)
        log(f"compiled in {cwall:.1f} s wall, {ccpu:.1f} s CPU")
        m = quant.load(prefix)
        t0 = time.perf_counter()
        ppl, ntok = quant.evaluate(m, ev_ids, window=a.window, max_windows=a.windows)
        run_s = time.perf_counter() - t0
        r = {"ppl": ppl, "tokens": ntok, "compile_s": cwall, "compile_cpu_s": ccpu,
             "eval_s": run_s, "weight_bytes": weight_bytes(prefix)}
        results["rows"][row] = r
        log(f"perplexity {ppl:.3f} ({ntok} tokens, {run_s:.1f} s)")
        save()

    # --- MiniLM ---
    if not a.no_minilm:
        mini = work / "minilm.mlir"
        bir = quant.ModelIR.open(mini) if mini.exists() else quant.import_model("minilm", mini)
        emb = mini.with_name("minilm.embed.mlir")
        if not emb.exists():
            emb.write_text(quant.keep_functions(mini.read_text(), ["embed"]))
        bir = quant.ModelIR(emb, bir.weights, bir.arch, ["embed"], bir.layers,
                            bir.config, bir.source)
        bir.meta_path.write_text(json.dumps(bir.to_json()))
        btok = quant.load_checkpoint(bir.source, layers=1).tokenizer
        sents = sentences(data.evaluation_text(), a.sentences)
        sent_ids = [btok.encode(s).ids for s in sents]
        results["minilm_sentences"] = len(sents)
        bstats = None
        if any(needs_stats(r) for r in rows):
            bstats = work / "minilm.stats.json"
            if not bstats.exists():
                csents = sentences(data.calibration_text(),
                                   a.calib_sentences or 4 * a.sentences)
                quant.calibrate(bir, [btok.encode(s).ids for s in csents], bstats,
                                max_windows=len(csents), hessian=True, function="embed")
        ref = None
        from tqdm import tqdm
        for row in rows:
            log(f"== minilm {row}")
            prefix, cwall, ccpu = compile_row(bir, row, work, a.group, a.alpha, bstats, target)
            m = quant.load(prefix)
            embs = np.stack([m.embed(ids) for ids in tqdm(sent_ids, desc="embed", unit="sent")])
            if ref is None:
                if row != "fp32":
                    raise SystemExit("the MiniLM comparison needs the fp32 row first")
                ref = embs
                # The compiled fp32 module against the numpy reference.
                ck = quant.load_checkpoint(bir.source)
                npref = np.stack([reference.bert_embed(ck, ids) for ids in sent_ids[:4]])
                results["minilm_fp32_vs_numpy_cos_min"] = float(
                    np.min(np.sum(npref * embs[:4], axis=1)))
            cos = np.sum(embs * ref, axis=1) / (np.linalg.norm(embs, axis=1) *
                                                 np.linalg.norm(ref, axis=1))
            results["rows"].setdefault(row, {})["minilm_cos"] = float(cos.mean())
            results["rows"][row]["minilm_cos_min"] = float(cos.min())
            results["rows"][row]["minilm_weight_bytes"] = weight_bytes(prefix)
            results["rows"][row]["minilm_compile_s"] = cwall
            log(f"cosine mean {cos.mean():.5f} min {cos.min():.5f}")
            save()

    table = ["| scheme | PPL (P&P) | ΔPPL | MiniLM cos (mean / min) | weight bytes (SmolLM2 / MiniLM) "
             "| compile s (wall / CPU) | eval s |", "|---|---|---|---|---|---|---|"]
    base = results["rows"].get("fp32", {}).get("ppl")
    for row in rows:
        r = results["rows"].get(row, {})
        ppl = r.get("ppl")
        d = f"{100 * (ppl / base - 1):+.2f}%" if ppl and base else ""
        cos = (f"{r['minilm_cos']:.5f} / {r['minilm_cos_min']:.5f}" if "minilm_cos" in r else "")
        wb = f"{r.get('weight_bytes', 0) / 1e6:.1f} MB"
        if "minilm_weight_bytes" in r:
            wb += f" / {r['minilm_weight_bytes'] / 1e6:.1f} MB"
        table.append(f"| {row} | {ppl:.3f} | {d} | {cos} | {wb} | "
                     f"{r.get('compile_s', 0):.0f} / {r.get('compile_cpu_s', 0):.0f} | "
                     f"{r.get('eval_s', 0):.0f} |" if ppl else f"| {row} | | | {cos} | {wb} | | |")
    text = "\n".join(table)
    print(text)
    if a.table:
        Path(a.table).write_text(text + "\n")
    save()


if __name__ == "__main__":
    main()
