#!/usr/bin/env python3
"""Prepares the end-to-end decode benchmark (e2e_decode.py) on the compile
machine: compiles models for --target (sm_90a), computes the host module's greedy tokens
for the equality check, and puts into DEST everything run_e2e.sh needs on the
GPU machine (qcrt sources, the python package, the scripts, a copy of the
gpt-fast anchor when --anchor is given). Weights files larger than one device
transfer are split into parts of --part-mb (sent in several calls to one warm
machine: run_e2e.sh reassembles them from /tmp); models whose weights cannot
travel at all (synth_llama.py) go as a sample (qcw_sample.py).

  prepare_e2e.py DEST smollm2:LABEL:POLICY [synth:7b:LABEL:POLICY[:LAYERS]] ...
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

PROMPT = "The capital of France is"


def sha256(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()


def split_parts(qcw, dest, label, part_mb):
    """Writes `qcw` into DEST as parts of `part_mb` MiB (one device
    transfer each); returns the manifest fields."""
    parts = []
    with open(qcw, "rb") as f:
        i = 0
        while True:
            chunk = f.read(part_mb << 20)
            if not chunk:
                break
            name = f"{label}.qcwpart{i:02d}"
            (dest / name).write_bytes(chunk)
            parts.append(name)
            i += 1
    return {"parts": parts, "sha256": sha256(qcw)}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dest")
    ap.add_argument("models", nargs="*")
    ap.add_argument("--refresh-runtime", action="store_true",
                    help="only copy the current runtime, Python package and scripts into DEST")
    ap.add_argument("--target", default="sm_90a", choices=["sm_90", "sm_90a"],
                    help="GPU target of the modules (sm_90a: what --target auto picks on "
                         "Hopper, with the wgmma kernels; sm_90: without them)")
    ap.add_argument("--work", default="/tmp/quant-e2e")
    ap.add_argument("--max-seq", type=int, default=512)
    ap.add_argument("--check-tokens", type=int, default=64)
    ap.add_argument("--anchor", help="shared/anchors folder to copy along")
    ap.add_argument("--part-mb", type=int, default=40)
    ap.add_argument("--activations", default="f32", choices=["f32", "f16"],
                    help="activation / KV-cache type of every model (f16: the weight-only "
                         "layers run GEMV for small M and tensor cores for prefill)")
    ap.add_argument("--sample", action="store_true",
                    help="carry SmolLM2's weights as a sample too (one transfer; speed "
                         "only: no host-token check)")
    ap.add_argument("--reuse-host", action="store_true",
                    help="keep DEST/LABEL.expect.json (the host module's numerics did not "
                         "change) and compile only for sm_90")
    ap.add_argument("--weight-only-kernel", default="auto",
                    help="quant-compile --weight-only-kernel for the sm_90 modules "
                         "(auto, gemv, mma, gemv_mma or frag)")
    ap.add_argument("--gemv-norm-prologue", action="store_true",
                    help="quant-compile --gemv-norm-prologue for the sm_90 modules (the "
                         "RMSNorm before q/k/v and gate/up fused into the GEMV)")
    ap.add_argument("--weight-prefetch", action="store_true",
                    help="quant-compile --weight-prefetch for the sm_90 modules (weights "
                         "prefetched into L2 before the dependent-launch wait)")
    ap.add_argument("--gemv-swiglu-epilogue", action="store_true",
                    help="quant-compile --gemv-swiglu-epilogue for the sm_90 modules (the "
                         "gated MLP's SiLU * mul fused into the gate / up GEMV)")
    ap.add_argument("--wgmma-tma", action="store_true",
                    help="quant-compile --wgmma-tma for the sm_90a modules (the wgmma "
                         "GEMMs on the TMA warp-specialized pipeline)")
    ap.add_argument("--compile-arg", action="append", default=[],
                    help="one more quant-compile option for the GPU modules (repeatable), "
                         "e.g. --compile-arg=--fuse-norm-quant")
    ap.add_argument("--append", action="store_true",
                    help="add the models to DEST's manifest instead of starting anew")
    a = ap.parse_args()
    if a.refresh_runtime:
        copy_runtime(Path(a.dest))
        return
    import quant
    from quant import data

    dest, work = Path(a.dest), Path(a.work)
    gpu_args = ["--weight-only-kernel=" + a.weight_only_kernel]
    if a.gemv_norm_prologue:
        gpu_args.append("--gemv-norm-prologue")
    if a.gemv_swiglu_epilogue:
        gpu_args.append("--gemv-swiglu-epilogue")
    if a.weight_prefetch:
        gpu_args.append("--weight-prefetch")
    if a.wgmma_tma:
        gpu_args.append("--wgmma-tma")
    gpu_args += a.compile_arg
    manifest = []
    if a.append and (dest / "manifest.json").exists():
        manifest = json.loads((dest / "manifest.json").read_text())
    elif dest.exists():
        shutil.rmtree(dest)
    (dest / "modules").mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    for spec in a.models:
        kind, rest = spec.split(":", 1)
        if kind == "smollm2" and a.sample:
            label, policy = rest.split(":", 1)
            ir = quant.import_model(data.smollm2_gguf(),
                                    out=work / f"smol-{a.activations}" / "smol.mlir",
                                    max_seq=a.max_seq, embedding="int8",
                                    activations=a.activations)
        elif kind == "smollm2":
            label, policy = rest.split(":", 1)
            ir = quant.import_model(data.smollm2_gguf(),
                                    out=work / f"smol-{a.activations}" / "smol.mlir",
                                    max_seq=a.max_seq, embedding="int8",
                                    activations=a.activations)
            if a.reuse_host and (dest / f"{label}.expect.json").exists():
                print(f"{label}: host greedy tokens kept from {dest}", flush=True)
                prefix = quant.compile(ir, policy=ROOT / policy, target=a.target,
                                       out=work / f"{label}.{a.target}", extra_args=gpu_args)
                manifest = [m for m in manifest if m["label"] != label]
                for ext in (".so", ".h", ".quant.json"):
                    shutil.copy(str(prefix) + ext, dest / "modules" / f"{label}.{a.target}{ext}")
                entry = {"label": label, "prefix": f"modules/{label}.{a.target}"}
                qcw = Path(str(prefix) + ".qcw")
                entry["qcw_bytes"] = qcw.stat().st_size
                entry.update(split_parts(qcw, dest, label, a.part_mb))
                manifest.append(entry)
                continue
            host = quant.compile(ir, policy=ROOT / policy, target="host",
                                 out=work / f"{label}.host")
            m = quant.load(host)
            tok = m.tokenizer()
            prompt = tok.encode(PROMPT).ids
            toks = m.generate(prompt, a.check_tokens)
            (dest / f"{label}.expect.json").write_text(json.dumps(
                {"prompt": prompt, "tokens": toks, "text": tok.decode(toks)}))
            print(f"{label}: host greedy: {tok.decode(toks)[:80]!r}", flush=True)
        else:  # synth:7b:LABEL:POLICY[:LAYERS]
            shape, label, policy, *layers = rest.split(":")
            layers = int(layers[0]) if layers else None
            mlir = work / f"{shape}-{layers or 'all'}-{a.activations}" / f"{shape}.mlir"
            cmd = [sys.executable, str(ROOT / "benchmarks/gpu/synth_llama.py"), shape, str(mlir),
                   "--max-seq", str(a.max_seq), "--activations", a.activations] + \
                (["--layers", str(layers)] if layers else [])
            subprocess.run(cmd, check=True)
            ir = quant.ModelIR.open(mlir)
            # The checkpoint is synthetic: no host reference tokens.
        prefix = quant.compile(ir, policy=ROOT / policy, target=a.target,
                               out=work / f"{label}.{a.target}", extra_args=gpu_args)
        for ext in (".so", ".h", ".quant.json"):
            shutil.copy(str(prefix) + ext, dest / "modules" / f"{label}.{a.target}{ext}")
        qcw = Path(str(prefix) + ".qcw")
        entry = {"label": label, "prefix": f"modules/{label}.{a.target}", "qcw_bytes": qcw.stat().st_size}
        if kind == "smollm2" and not a.sample:
            entry.update(split_parts(qcw, dest, label, a.part_mb))
        else:
            sample = dest / f"{label}.qcwsample.npz"
            subprocess.run([sys.executable, str(ROOT / "benchmarks/gpu/qcw_sample.py"), "sample",
                            str(qcw), str(sample)], check=True)
            entry["sample"] = sample.name
        manifest.append(entry)
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1))
    copy_runtime(dest, a.anchor)


def copy_runtime(dest, anchor=None):
    """The runtime sources, the Python package and the scripts (and the
    anchors) into `dest`: what the GPU machine builds and runs."""
    rt = dest / "rt"
    for d in (rt, dest / "python") + ((dest / "anchors",) if anchor else ()):
        if d.exists():
            shutil.rmtree(d)
    shutil.copytree(ROOT / "lib/Runtime", rt / "lib/Runtime")
    shutil.copytree(ROOT / "include/qc/Runtime", rt / "include/qc/Runtime")
    (rt / "include/qc/Target").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "include/qc/Target/TargetTable.h", rt / "include/qc/Target/")
    shutil.copytree(ROOT / "tools/quant-run", rt / "tools/quant-run")
    shutil.copytree(ROOT / "python/quant", dest / "python/quant",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for f in ("e2e_decode.py", "run_e2e.sh", "qcw_sample.py", "step_profile.py"):
        shutil.copy(ROOT / "benchmarks/gpu" / f, dest / f)
    if anchor:
        shutil.copytree(anchor, dest / "anchors", ignore=shutil.ignore_patterns("marlin*"))
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    print(f"prepared {dest}: {size / 2**20:.1f} MiB", flush=True)


if __name__ == "__main__":
    main()
