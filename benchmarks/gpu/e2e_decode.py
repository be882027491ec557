#!/usr/bin/env python3
"""End-to-end decode benchmark of compiled modules on the GPU machine.

For each compiled Llama-family module (prefix given, compiled here with
quant-compile --target sm_90; weights file beside it) this measures, with the
KV caches resident in device memory (LoadedModel / runtime.device_steps):

- greedy decode tokens/s at batch 1, 8, 32 after a 5-token prefill, each step
  one @decode call replayed as a CUDA graph (and, for comparison, without
  graphs);
- prefill tokens/s of one @decode call over a 512-token prompt (or the KV
  cache's length, if shorter);
- checks: 64 greedy tokens with graphs equal those without graphs, bit for
  bit (tokens and logits); with --expect, the greedy tokens equal the host
  module's (computed on the compile machine and carried along).

The gpt-fast baselines (shared/anchors/e2e_anchor.py) run in the same call on
the same card through --anchor DIR (a copy of the anchors folder carried to
the machine, never committed): bf16 eager and torch.compile
(mode="reduce-overhead"), int8 and int4 weight-only, timed the same way
(tokens/s over `--steps` greedy decode steps, best of two).

Writes one JSON line per row and a table at the end; full results to
$OUT/e2e_decode.json.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[2] / "python"))


def decode_rows(prefix, label, steps, batches, prefill, check_tokens, expect):
    import quant
    m = quant.load(prefix)
    c = m.ir.config
    S = c["max_seq"]
    shape = lambda B: (c["n_layers"], B, c["n_kv_heads"], S, c["head_dim"])
    rows = []
    rng = np.random.default_rng(0)
    for B in batches:
        for graphs in (True, False):
            step = m.module.device_steps("decode", shape(B), graphs=graphs)
            prompt = rng.integers(1, c["vocab_size"] - 1, size=(B, 5))
            logits = step(prompt, 0)
            tok = np.argmax(logits, -1)[:, None]
            pos = 5
            for _ in range(3):  # warm-up: capture the graph
                tok = np.argmax(step(tok, pos), -1)[:, None]
                pos += 1
            n = min(steps, S - pos - 1)
            best = None
            for rep in range(2):
                p0 = pos if rep == 0 else pos + n
                if p0 + n >= S:
                    p0 = 8  # rewrite the same positions: same work per step
                t0 = time.perf_counter()
                for i in range(n):
                    tok = np.argmax(step(tok, p0 + i), -1)[:, None]
                dt = time.perf_counter() - t0
                best = dt if best is None else min(best, dt)
            r = dict(model=label, mode="qc graphs" if graphs else "qc no graphs", batch=B,
                     tok_s=B * n / best, ms_per_step=1000 * best / n,
                     graph_stats=list(m.module.graph_stats()))
            rows.append(r)
            print(json.dumps(r), flush=True)
            del step
    # Greedy choice on the device (@greedy): per step only the B chosen ids
    # come back (and the position goes in); the choice feeds the next step
    # device to device.
    names = set(m.module.functions())
    for B in batches if "greedy" in names else []:
        step = m.module.greedy_steps(shape(B), graphs=True)
        prompt = rng.integers(1, c["vocab_size"] - 1, size=(B, 5))
        step(prompt, 0)
        pos = 5
        for _ in range(3):  # warm-up: capture both graphs
            step.next(pos)
            pos += 1
        n = min(steps, S - pos - 1)
        best = None
        for rep in range(2):
            p0 = pos if rep == 0 else 8
            t0 = time.perf_counter()
            for i in range(n):
                step.next(p0 + i)
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        r = dict(model=label, mode="qc graphs, greedy on device", batch=B,
                 tok_s=B * n / best, ms_per_step=1000 * best / n,
                 graph_stats=list(m.module.graph_stats()))
        rows.append(r)
        print(json.dumps(r), flush=True)
        # The same steps enqueued without a host round trip between them
        # (asynchronous replays, token and position copied on the device),
        # the last token read at the end: timed like the gpt-fast
        # "eager+CUDA graph" column (replays in a loop, one sync).
        best = None
        for rep in range(2):
            p0 = pos if rep == 0 else 8
            t0 = time.perf_counter()
            for i in range(n):
                step.next(p0 + i, read=False, wait=False)
            step.next(p0 + n, read=True, wait=False)
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        r = dict(model=label, mode="qc graphs, greedy on device, async", batch=B,
                 tok_s=B * (n + 1) / best, ms_per_step=1000 * best / (n + 1),
                 graph_stats=list(m.module.graph_stats()))
        rows.append(r)
        print(json.dumps(r), flush=True)
        del step
    # Prefill: one call of T tokens at position 0.
    T = min(prefill, S)
    step = m.module.device_steps("decode", shape(1), graphs=False)
    ids = rng.integers(1, c["vocab_size"] - 1, size=(1, T))
    step(ids, 0)  # warm-up
    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        step(ids, 0)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    r = dict(model=label, mode="qc prefill", batch=1, tokens=T, prefill_tok_s=T / best,
             ms=1000 * best)
    rows.append(r)
    print(json.dumps(r), flush=True)
    del step

    # Graphs on == graphs off, bit for bit, over `check_tokens` greedy tokens;
    # and the host module's greedy tokens when given.
    prompt = [int(t) for t in (expect["prompt"] if expect else rng.integers(1, 1000, 6))]
    runs = {}
    for graphs in (True, False):
        step = m.module.device_steps("decode", shape(1), graphs=graphs)
        lg = step(np.array([prompt]), 0)
        toks, logs = [], []
        for i in range(check_tokens):
            t = int(np.argmax(lg[0]))
            toks.append(t)
            logs.append(lg[0].copy())
            lg = step(np.array([[t]]), len(prompt) + i)
        runs[graphs] = (toks, np.stack(logs))
        del step
    same = runs[True][0] == runs[False][0] and np.array_equal(runs[True][1], runs[False][1])
    r = dict(model=label, check="graphs == no graphs (bit for bit)", tokens=check_tokens,
             ok=bool(same))
    if expect:
        n = min(len(expect["tokens"]), check_tokens)
        r["host_tokens_equal"] = runs[True][0][:n] == expect["tokens"][:n]
        r["compared"] = n
    rows.append(r)
    print(json.dumps(r), flush=True)
    if "greedy" in names:
        # The device's choice (@greedy, fed back device to device) equals
        # numpy's argmax of the same logits.
        step = m.module.greedy_steps(shape(1), graphs=True)
        toks = [int(step(np.array([prompt]), 0)[0, 0])]
        for i in range(check_tokens - 1):
            toks.append(int(step.next(len(prompt) + i)[0, 0]))
        del step
        r = dict(model=label, check="greedy on device == host argmax", tokens=check_tokens,
                 ok=toks == runs[True][0])
        rows.append(r)
        print(json.dumps(r), flush=True)
        # Asynchronous steps (nothing waits between them): the last token
        # equals the synchronous run's.
        step = m.module.greedy_steps(shape(1), graphs=True)
        step(np.array([prompt]), 0)
        step.next(len(prompt), read=False)  # capture the graphs
        for i in range(1, check_tokens - 2):
            step.next(len(prompt) + i, read=False, wait=False)
        last = int(step.next(len(prompt) + check_tokens - 2, wait=False)[0, 0])
        del step
        r = dict(model=label, check="async greedy steps == synchronous", tokens=check_tokens,
                 ok=last == runs[True][0][-1])
        rows.append(r)
        print(json.dumps(r), flush=True)
    return rows


def graphed_anchor(ea, name, prec, steps):
    """gpt-fast's model, eager PyTorch, its decode step captured once as a
    CUDA graph (torch.cuda.graph) and replayed: the launch-overhead-free
    PyTorch baseline when torch.compile cannot run. Built like e2e_anchor.run
    (random weights, the same int8 / int4 tinygemm wrappers, cache 512)."""
    import torch
    torch.manual_seed(0)
    args = ea.gf.ModelArgs.from_name(name)
    with torch.device("cuda"):
        m = ea.gf.Transformer(args)
        m.setup_caches(max_batch_size=1, max_seq_length=512)
    m = m.to(torch.bfloat16).eval()
    if prec != "bf16":
        with torch.no_grad():
            ea.replace(m, prec)
        for mod in m.modules():
            if isinstance(mod, ea.Int4Linear):
                del mod.ref
    torch.cuda.empty_cache()
    tok = torch.zeros((1, 1), dtype=torch.long, device="cuda")
    pos = torch.zeros((1,), dtype=torch.long, device="cuda")
    with torch.no_grad():
        m(torch.randint(0, args.vocab_size, (1, 5), device="cuda"), torch.arange(5, device="cuda"))
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                out = torch.argmax(m(tok, pos)[:, -1], dim=-1, keepdim=True)
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            out = torch.argmax(m(tok, pos)[:, -1], dim=-1, keepdim=True)
        best = None
        for rep in range(2):
            torch.cuda.synchronize()
            t = time.perf_counter()
            for i in range(steps):
                pos.fill_(8 + i)
                g.replay()
                tok.copy_(out)
            torch.cuda.synchronize()
            dt = time.perf_counter() - t
            best = dt if best is None else min(best, dt)
    del g, m
    torch.cuda.empty_cache()
    return dict(model=name, prec=prec, mode=f"gpt-fast {prec} eager+CUDA graph",
                tok_s=steps / best, ms_per_tok=1000 * best / steps)


def anchor_prefill(ea, name, tokens=512):
    """gpt-fast's bf16 model, eager: one prefill call of `tokens` tokens
    (compute-bound, so launch gaps do not matter), best of 3, timed with
    CUDA events."""
    import torch
    torch.manual_seed(0)
    args = ea.gf.ModelArgs.from_name(name)
    with torch.device("cuda"):
        m = ea.gf.Transformer(args)
        m.setup_caches(max_batch_size=1, max_seq_length=max(512, tokens))
    m = m.to(torch.bfloat16).eval()
    ids = torch.randint(0, args.vocab_size, (1, tokens), device="cuda")
    pos = torch.arange(tokens, device="cuda")
    best = None
    with torch.no_grad():
        m(ids, pos)
        for _ in range(3):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            m(ids, pos)
            b.record()
            b.synchronize()
            dt = a.elapsed_time(b) / 1000
            best = dt if best is None else min(best, dt)
    del m
    torch.cuda.empty_cache()
    return dict(model=name, prec="bf16", mode="gpt-fast bf16 eager prefill", tokens=tokens,
                prefill_tok_s=tokens / best, ms=1000 * best)


def anchor_rows(anchor_dir, names, precs, steps):
    """gpt-fast rows. A name `CONFIG:N` is gpt-fast's CONFIG ("7B",
    "llama-3-8b", "SmolLM2-135M") with its first N blocks, to compare with
    a compiled module of N blocks."""
    sys.path.insert(0, str(anchor_dir))
    import e2e_anchor as ea
    rows = []
    for name in names:
        if ":" in name:
            base, n = name.split(":")
            ea.gf.transformer_configs[name] = dict(ea.gf.transformer_configs[base],
                                                   n_layer=int(n))
        try:
            r = anchor_prefill(ea, name)
        except Exception as e:  # keep the other rows
            r = dict(model=name, mode="gpt-fast bf16 eager prefill",
                     error=f"{type(e).__name__}: {e}"[:300])
        rows.append(r)
        print(json.dumps(r), flush=True)
        for prec in sorted({p for p, _ in precs}, key=["bf16", "int8", "int4"].index):
            try:
                r = graphed_anchor(ea, name, prec, steps)
            except Exception as e:  # keep the other rows
                r = dict(model=name, mode=f"gpt-fast {prec} eager+graph",
                         error=f"{type(e).__name__}: {e}"[:300])
            rows.append(r)
            print(json.dumps(r), flush=True)
        for prec, compiled in precs:
            try:
                r = ea.run(name, prec, compiled, steps)
                r["mode"] = f"gpt-fast {prec} {'compile' if compiled else 'eager'}"
            except Exception as e:  # keep the other rows
                r = dict(model=name, mode=f"gpt-fast {prec}", error=f"{type(e).__name__}: {e}"[:300])
            rows.append(r)
            print(json.dumps(r), flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--module", action="append", default=[],
                    help="LABEL=PREFIX of a compiled GPU module (repeatable)")
    ap.add_argument("--steps", type=int, default=128)
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--prefill", type=int, default=512)
    ap.add_argument("--check-tokens", type=int, default=64)
    ap.add_argument("--expect-dir",
                    help="folder with LABEL.expect.json: {prompt, tokens} of the host module")
    ap.add_argument("--anchor", help="folder with e2e_anchor.py and gptfast/ (baselines)")
    ap.add_argument("--anchor-models", default="SmolLM2-135M")
    ap.add_argument("--anchor-precs", default="bf16:eager,bf16:compile,int8:compile,int4:compile")
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp"))
    a = ap.parse_args()
    rows = []
    for spec in a.module:
        label, prefix = spec.split("=", 1)
        e = Path(a.expect_dir or "/nonexistent") / f"{label}.expect.json"
        expect = json.loads(e.read_text()) if e.exists() else None
        rows += decode_rows(prefix, label, a.steps, [int(b) for b in a.batches.split(",")],
                            a.prefill, a.check_tokens, expect)
    if a.anchor:
        precs = [(p.split(":")[0], p.split(":")[1] == "compile") for p in a.anchor_precs.split(",")]
        rows += anchor_rows(Path(a.anchor), a.anchor_models.split(","), precs, a.steps)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "e2e_decode.json").write_text(json.dumps(rows, indent=1))
    print("| model | mode | batch | tok/s | ms/step |")
    print("|---|---|---|---|---|")
    for r in rows:
        if "tok_s" in r:
            print(f"| {r['model']} | {r['mode']} | {r.get('batch', 1)} | {r['tok_s']:.1f} | "
                  f"{r.get('ms_per_step', r.get('ms_per_tok', 0)):.3f} |")
        elif "prefill_tok_s" in r:
            print(f"| {r['model']} | prefill {r['tokens']} | 1 | {r['prefill_tok_s']:.0f} | "
                  f"{r['ms']:.2f} |")
        elif "check" in r:
            print(f"| {r['model']} | {r['check']}: {r['ok']} | | host tokens equal: "
                  f"{r.get('host_tokens_equal')} | |")
        else:
            print(f"| {r.get('model')} | {r.get('mode')} | error: {r.get('error', '')[:80]} |")


if __name__ == "__main__":
    main()
