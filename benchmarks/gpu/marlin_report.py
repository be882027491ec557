#!/usr/bin/env python3
"""The weight-only kernel table: qc (harness TIME lines) vs cuBLAS fp16 and
Marlin (marlin_compare.py MARLIN lines), one run, one card.

  marlin_report.py LOG CASES_DIR

For every W4A16-g128 shape and M: the qc kernel qc-select-matmul picks
(`sel`: the GEMV below the gemv_mma threshold, the default-tiled mma kernel
from it on; recorded in cases.json by gen_cases.py), the best qc variant
timed, the best frag tiling (tags f*), cuBLAS fp16 and Marlin (all
CUDA-graph device time, us), the ratios,
and at M = 1 the weight bytes / time as a fraction of `--read-bw` (the
measured read bandwidth of the card, TB/s). W8A16 rows vs cuBLAS only.
"""
import argparse
import json
import math
import os
from collections import defaultdict


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("cases")
    ap.add_argument("--read-bw", type=float, default=3.08)
    args = ap.parse_args()
    cases = {c["name"]: c for c in json.load(open(os.path.join(args.cases, "cases.json")))}
    qc = defaultdict(dict)  # (bits, n, k, m) -> {tag: us}
    base = {}
    for line in open(args.log):
        p = line.split()
        if p[:1] == ["TIME"] and p[1] in cases:
            c = cases[p[1]]
            key = (c["bits"], c["n"], c["k"], int(p[2]))
            qc[key][c.get("tag", "?")] = float(p[7])
            qc[key]["_sel"] = (c.get("select_kind"), c.get("select_threshold"))
        elif p[:1] == ["MARLIN"]:
            # One line per baseline process (fp16 or Marlin, nan for the
            # other): keep the measured value of each column.
            key = (int(p[2]), int(p[3]), int(p[1]))
            old = base.get(key, (float("nan"), float("nan")))
            new = (float(p[4]), float(p[5]))
            base[key] = tuple(o if math.isnan(v) else v for o, v in zip(old, new))
    print(f"{'W':>3} {'N x K':>12} {'M':>4} {'sel':>9} {'qc sel':>8} {'best':>8} "
          f"{'(tag)':>14} {'frag':>8} {'fp16':>8} {'marlin':>8} {'sel/fp16':>8} {'sel/marl':>8} "
          f"{'best/marl':>9} {'frag/fp16':>9} {'frag/marl':>9} {'%bw':>5} {'%bw frag':>8}")
    for key in sorted(qc, key=lambda t: (t[0], t[1], t[2], t[3])):
        bits, n, k, m = key
        row = dict(qc[key])
        kind, th = row.pop("_sel")
        gemv = next((t for t in row if t.startswith("t")), None)
        sel_tag = gemv if kind == "gemv" or (kind == "gemv_mma" and m < th) else "mma128"
        sel = row.get(sel_tag, float("nan"))
        best_tag = min(row, key=row.get)
        best = row[best_tag]
        # The frag family (tags f*, gen_cases.SMALL_M_FRAG): its best tiling.
        frag_tags = [t for t in row if t.startswith("f")]
        frag = min((row[t] for t in frag_tags), default=float("nan"))
        fp16, mar = base.get((n, k, m), (float("nan"), float("nan")))
        if bits != 4:
            mar = float("nan")
        wbytes = n * k * bits / 8 + n * (k // 128 if bits == 4 else 1) * 2
        bw = f"{100 * wbytes / (sel * 1e-6) / (args.read_bw * 1e12):4.0f}" if m == 1 else ""
        fbw = f"{100 * wbytes / (frag * 1e-6) / (args.read_bw * 1e12):4.0f}" if m == 1 else ""
        label = f"{kind}@{th}" if kind == "gemv_mma" else kind
        print(f"{bits:>3} {f'{n}x{k}':>12} {m:>4} {label:>9} {sel:8.1f} {best:8.1f} "
              f"{'(' + best_tag + ')':>14} {frag:8.1f} {fp16:8.1f} {mar:8.1f} {fp16 / sel:7.2f}x "
              f"{mar / sel:7.2f}x {mar / best:8.2f}x {fp16 / frag:8.2f}x {mar / frag:8.2f}x "
              f"{bw:>5} {fbw:>8}")


if __name__ == "__main__":
    main()
