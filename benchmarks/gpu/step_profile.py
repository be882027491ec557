#!/usr/bin/env python3
"""Per-kernel time of one decode step, on the GPU machine.

  step_profile.py run PREFIX [--batch 1] [--steps 1] [--prefill 5]  # under ncu
  step_profile.py table NCU.csv --calls 2

Run as:
  ncu --clock-control none --metrics gpu__time_duration.sum --csv \
      python3 step_profile.py run PREFIX > ncu.csv
`run` makes a prefill call and --steps decode calls of @decode, without
graphs. Every call of one function launches the same kernels, so `table`
keeps the last 1/--calls of the profiled launches (the last decode step) and
sums gpu__time_duration by kernel kind: matmul kernels (the hand-built
builders' names), attention, norms, and the other glue.
"""
import argparse
import csv
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))


def kind(name):
    n = name.lower()
    # Matmul kernels first: their names carry the layer names (attn_q, ...).
    for pat, k in (("gemv|wo_mma|int8_mma|fp16_mma|act_quant|mma|_frag_|frag_reduce",
                    "matmul"),
                   ("attention", "attention"), ("norm", "norm")):
        if re.search(pat, n):
            return k
    return "other glue"


def run(a):
    import quant
    m = quant.load(a.prefix)
    c = m.ir.config
    shape = (c["n_layers"], a.batch, c["n_kv_heads"], c["max_seq"], c["head_dim"])
    step = m.module.device_steps("decode", shape, graphs=False)
    step(np.ones((a.batch, a.prefill), np.int64), 0)  # prefill
    for i in range(a.steps):
        step(np.ones((a.batch, 1), np.int64), a.prefill + i)
    # Release everything before exit (memcheck's leak check): the caches
    # and the staged token/position buffers (run 1's "64 bytes leaked in 4
    # allocations" were these: tokens [1,5] and [1,1] i64, two positions).
    for t in step.caches + [x for pair in step.staged.values() for x in pair]:
        t.free()
    m.module.close()


def table(a):
    rows = defaultdict(float)
    names = defaultdict(float)
    count = 0
    with open(a.csv) as f:
        lines = [l for l in f if l.startswith('"')]
    recs = [r for r in csv.DictReader(lines) if r.get("Metric Name") == "gpu__time_duration.sum"]
    recs = recs[len(recs) - len(recs) // a.calls:]
    for r in recs:
        v = float(r["Metric Value"].replace(",", ""))
        unit = r.get("Metric Unit", "ns")
        us = v / 1000 if unit == "nsecond" or unit == "ns" else v if unit == "usecond" else v * 1000
        rows[kind(r["Kernel Name"])] += us
        names[r["Kernel Name"][:60]] += us
        count += 1
    total = sum(rows.values())
    print(f"| kernels | {count} | total {total:.1f} us |")
    print("| kind | us per step | share |")
    print("|---|---|---|")
    for k, v in sorted(rows.items(), key=lambda kv: -kv[1]):
        print(f"| {k} | {v:.1f} | {100 * v / total:.0f}% |")
    print("| top kernels | us | |")
    for k, v in sorted(names.items(), key=lambda kv: -kv[1])[:12]:
        print(f"| {k} | {v:.1f} | |")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("prefix")
    r.add_argument("--batch", type=int, default=1)
    r.add_argument("--steps", type=int, default=1)
    r.add_argument("--prefill", type=int, default=5, help="prompt tokens of the first call")
    t = sub.add_parser("table")
    t.add_argument("csv")
    t.add_argument("--calls", type=int, default=2,
                   help="calls profiled (prefill + steps); 1: the prefill alone")
    a = ap.parse_args()
    run(a) if a.cmd == "run" else table(a)


if __name__ == "__main__":
    main()
