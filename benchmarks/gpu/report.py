#!/usr/bin/env python3
"""Joins harness TIME lines with torch BASE lines into a speedup table."""
import sys

base = {}
rows = []
for line in open(sys.argv[1]):
    p = line.split()
    if p and p[0] == "BASE":
        base[(int(p[1]), int(p[2]), int(p[3]))] = (float(p[4]), float(p[5]))
    elif p and p[0] == "TIME":
        rows.append((p[1], int(p[2]), int(p[3]), int(p[4]), int(p[5]), int(p[6]),
                     float(p[7])))
print(f"{'scheme':<14} {'N x K':>12} {'M':>4} {'qc us':>8} {'fp16 us':>8} {'speedup':>8}")
for name, m, n, k, bits, group, us in rows:
    fp16 = base.get((m, n, k), (float('nan'),))[0]
    scheme = f"W{bits}A16" + (f"-g{group}" if group else "") + "/" + name.rsplit("_", 1)[-1]
    print(f"{scheme:<14} {f'{n}x{k}':>12} {m:>4} {us:8.1f} {fp16:8.1f} {fp16 / us:7.2f}x")
