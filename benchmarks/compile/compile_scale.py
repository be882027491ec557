#!/usr/bin/env python3
"""Import and compile time and memory of a Llama-2-7B-shaped model by number
of decoder blocks (issue 15), extrapolated linearly to the 32 blocks of a 7B.

Writes ONE random-weight f16 Hugging Face checkpoint with the 7B shapes
(d 4096, FFN 11008, 32 heads, vocab 32000, untied head) and the largest
block count asked for into DIR, streaming it to disk tensor by tensor in
chunks (the model is never in memory). Then for each block count N (the
first N blocks: `python -m quant import --layers N`):

- **import**: `python -m quant import` in a child process under
  /usr/bin/time (wall, user + system CPU, peak RSS);
- **compile**: `quant-compile --target T` (each of `--targets`, default
  host) with W4 g128 RTN on every linear (head included), also under
  /usr/bin/time; with `--store on off` once with the weight store (the
  default) and once without (`--weight-store=false`), and the two modules
  (.so, .h, .qcw) are compared byte for byte (`same module` column).

With `--baseline` each N is also imported the way the importer did before
tensors kept their type (every tensor widened to f32, still one at a time)
and compiled from that f32 blob. Every output of an N is deleted before the
next, and DIR is deleted at the end (unless --keep). Prints a markdown
table and the least-squares line through the rows, evaluated at 32 blocks.

  usage: python3 benchmarks/compile/compile_scale.py [--dir /work/tmp-scale]
             [--blocks 1 2 4] [--baseline] [--no-compile] [--keep]
             [--targets host sm_90] [--store on off] [--jobs N]
             [--algorithm gptq [--act-order]]

With `--algorithm gptq` the benchmark also writes a statistics file with one
synthetic Hessian per distinct layer input (q/k/v share the attention
input's, gate/up the MLP input's; K x K float64: 3 x 0.13 + 0.97 GB per
block) and compiles with GPTQ on those Hessians (issue 15: "7B GPTQ from
given statistics"). The Hessians are dense SPD matrices with outlier
channels (a rank-512 product plus a diagonal); their values do not change
GPTQ's cost, which is dense in K.

Disk: the checkpoint takes 0.52 GB + 0.40 GB per block, each import's blob
as much (twice that with --baseline), the .qcw ~0.3 + 0.1 GB per block
(twice with --store on off), the weight store's scratch file up to ~1.5
bytes per weight while compiling.
"""

import argparse
import filecmp
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from llama_checkpoint import E, F, ROOT, measure, write_checkpoint

POLICY = """format: qc-policy
version: 1
rules:
  - match: "*"
    scheme: {weight: i4, granularity: per_group, group_size: 128}
"""

#: The importer before 16-bit tensors kept their type: every tensor read
#: as f32 (LazyTensors without raw loaders), one at a time.
BASELINE = """
import sys
from pathlib import Path
from quant.importers import load_checkpoint
from quant.model_ir import emit
ck = load_checkpoint(sys.argv[1], layers=int(sys.argv[3]))
ck.tensors._raw.clear()  # stored() falls back to the f32 reader
emit(ck, Path(sys.argv[2]))
"""


def write_stats(path: Path, blocks: int, seed: int = 0):
    """Writes `path` (qc-stats, docs/formats.md) and its Hessian blob with one
    synthetic mean Hessian per distinct input of `blocks` 7B-shaped blocks
    and of the head, streamed one matrix at a time."""
    rng = np.random.default_rng(seed)
    blob = path.with_name(path.name + ".hessian.bin")
    layers = {}

    def hessian(k):
        scale = np.where(rng.random(k) < 0.01, 8.0, 1.0)
        b = rng.standard_normal((k, 512)) * scale[:, None]
        h = (b @ b.T) / 512.0
        h[np.diag_indices(k)] += 0.1 * rng.random(k)
        return h

    with open(blob, "wb") as f:
        def add(names, k):
            h = hessian(k)
            off = f.tell()
            f.write(np.ascontiguousarray(h, np.float64).tobytes())
            absmax = np.sqrt(np.diag(h)).tolist()
            for n in names:
                layers[n] = {"channels": k, "tokens": 1, "absmax": absmax,
                             "hessian": {"file": blob.name, "offset": off}}
        for i in range(blocks):
            add([f"blk.{i}.attn_q", f"blk.{i}.attn_k", f"blk.{i}.attn_v"], E)
            add([f"blk.{i}.attn_output"], E)
            add([f"blk.{i}.ffn_gate", f"blk.{i}.ffn_up"], E)
            add([f"blk.{i}.ffn_down"], F)
        add(["output"], E)
    path.write_text(json.dumps({"format": "qc-stats", "version": 1,
                                "layers": layers}))


def fit32(xs, ys):
    """(value at 32, slope) of the least-squares line through (xs, ys)."""
    if len(xs) < 2:
        return float("nan"), float("nan")
    slope, icpt = np.polyfit(np.asarray(xs, float), np.asarray(ys, float), 1)
    return icpt + 32 * slope, slope


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="/work/tmp-scale")
    ap.add_argument("--blocks", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--baseline", action="store_true",
                    help="also import/compile with every tensor widened to f32 (before)")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep DIR (the checkpoint)")
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--targets", nargs="+", default=["host"],
                    help="quant-compile --target values (e.g. host sm_90)")
    ap.add_argument("--store", nargs="+", default=["on"], choices=["on", "off"],
                    help="compile with the weight store on and/or off "
                         "(--weight-store=false); with both, the modules are "
                         "compared byte for byte")
    ap.add_argument("--jobs", type=int, default=0, help="quant-compile --jobs")
    ap.add_argument("--algorithm", default="rtn", choices=["rtn", "gptq"],
                    help="quant-compile --algorithm (gptq: on synthetic Hessians)")
    ap.add_argument("--act-order", action="store_true",
                    help="with --algorithm gptq: --gptq-act-order")
    ap.add_argument("--gptq-precision", default="f64", choices=["f64", "f32"],
                    help="with --algorithm gptq: --gptq-precision")
    a = ap.parse_args()

    base = Path(a.dir)
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="scale-", dir=base))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    qc = os.environ.get("QUANT_COMPILE", str(ROOT / "build/bin/quant-compile"))
    rows = []
    try:
        ck = work / "llama7b"
        t0 = time.time()
        write_checkpoint(ck, max(a.blocks))
        gb = (ck / "model.safetensors").stat().st_size / 1e9
        print(f"wrote {ck} ({max(a.blocks)} blocks, f16, {gb:.2f} GB) in "
              f"{time.time() - t0:.1f} s", flush=True)
        (work / "policy.yaml").write_text(POLICY)
        if a.algorithm == "gptq":
            t0 = time.time()
            write_stats(work / "stats.json", max(a.blocks))
            print(f"wrote synthetic Hessians in {time.time() - t0:.1f} s", flush=True)
        variants = [("f16 kept", None)] + ([("f32 widened (before)", BASELINE)]
                                           if a.baseline else [])
        for n in a.blocks:
            for label, script in variants:
                out = work / f"out{n}"
                out.mkdir()
                mlir = out / "model.mlir"
                if script is None:
                    cmd = [sys.executable, "-m", "quant", "import", ck, "-o", mlir,
                           "--layers", n]
                else:
                    cmd = [sys.executable, "-c", script, ck, mlir, n]
                imp = measure(cmd, env)
                base_row = {"blocks": n, "variant": label, "import": imp,
                            "blob_gb": mlir.with_suffix(".bin").stat().st_size / 1e9}
                base_row["import"].pop("stderr", None)
                combos = [(t, st) for t in a.targets for st in a.store]
                if a.no_compile:
                    combos = [("host", None)]
                for target, store in combos:
                    row = dict(base_row, target=target, store=store)
                    if store is not None:
                        dest = out / f"{target}-{store}"
                        dest.mkdir()
                        cmd = [qc, mlir, "--target", target, "--policy",
                               work / "policy.yaml", "-o", dest / "model", "-v"]
                        if store == "off":
                            cmd.append("--weight-store=false")
                        if a.jobs:
                            cmd.append(f"--jobs={a.jobs}")
                        if a.algorithm == "gptq":
                            cmd += ["--algorithm", "gptq", "--stats", work / "stats.json"]
                            if a.act_order:
                                cmd.append("--gptq-act-order")
                            cmd += ["--gptq-precision", a.gptq_precision]
                        comp = measure(cmd, env)
                        # quant-compile -v: "quant-compile: <stage> (...) done in X s"
                        stages = re.findall(
                            r"^quant-compile: (\w+)[^\n]*? done in ([0-9.]+) s",
                            comp["stderr"], re.M)
                        comp.pop("stderr", None)
                        row["compile"] = comp
                        row["qcw_gb"] = (dest / "model.qcw").stat().st_size / 1e9
                        row["stages"] = stages
                        if store == "off" and (out / f"{target}-on").exists():
                            # The store changes where bytes live, not the module.
                            row["identical_to_store"] = all(
                                filecmp.cmp(out / f"{target}-on" / f"model{ext}",
                                            dest / f"model{ext}", shallow=False)
                                for ext in (".so", ".qcw", ".h"))
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                shutil.rmtree(out)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)

    algo = ("GPTQ" + (" act-order" if a.act_order else "") + f" ({a.gptq_precision})"
            if a.algorithm == "gptq" else "RTN")
    print(f"\nLlama-2-7B-shaped, random f16 weights; W4 g128 {algo} on every linear")
    print("| blocks | import | wall s | CPU s | peak RSS GiB | blob GB | target | store "
          "| compile wall s | CPU s | peak RSS GiB | same module |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        c = r.get("compile", {})
        same = {True: "yes", False: "NO"}.get(r.get("identical_to_store"), "")
        print(f"| {r['blocks']} | {r['variant']} | {r['import']['wall']:.1f} | "
              f"{r['import']['cpu']:.1f} | {r['import']['rss']:.2f} | {r['blob_gb']:.2f} | "
              f"{r['target']} | {r['store'] or ''} | "
              f"{c.get('wall', float('nan')):.1f} | {c.get('cpu', float('nan')):.1f} | "
              f"{c.get('rss', float('nan')):.2f} | {same} |")
    groups = sorted({(label, r["target"], r["store"]) for r in rows
                     for label, _ in variants if r["variant"] == label},
                    key=str)
    for label, target, store in groups:
        rs = [r for r in rows if (r["variant"], r["target"], r["store"]) ==
              (label, target, store)]
        label = f"{label}, {target}, store {store}"
        xs = [r["blocks"] for r in rs]
        parts = []
        for key, stage in (("import wall s", ("import", "wall")),
                           ("import peak RSS GiB", ("import", "rss")),
                           ("blob GB", ("blob_gb", None)),
                           ("compile wall s", ("compile", "wall")),
                           ("compile peak RSS GiB", ("compile", "rss"))):
            if stage[0] == "compile" and a.no_compile:
                continue
            ys = [r[stage[0]] if stage[1] is None else r[stage[0]][stage[1]] for r in rs]
            v32, slope = fit32(xs, ys)
            parts.append(f"{key} {v32:.2f} ({slope:+.3f}/block)")
        print(f"32 blocks, {label} (linear fit): " + "; ".join(parts))
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
