#!/usr/bin/env python3
"""Joins harness TIME lines with torch BASE lines into a speedup table."""
import sys

base = {}
rows = []
mma = []
for line in open(sys.argv[1]):
    p = line.split()
    if p and p[0] == "BASE":
        base[(int(p[1]), int(p[2]), int(p[3]))] = (
            float(p[4]), float(p[5]), float(p[6]) if len(p) > 6 else float('nan'))
    elif p and p[0] == "MMATIME":
        mma.append((p[1], p[2], int(p[3]), int(p[4]), int(p[5]), float(p[6]),
                    float(p[7])))
    elif p and p[0] == "TIME":
        rows.append((p[1], int(p[2]), int(p[3]), int(p[4]), int(p[5]), int(p[6]),
                     float(p[7])))
print(f"{'scheme':<14} {'N x K':>12} {'M':>4} {'qc us':>8} {'fp16 us':>8} {'speedup':>8}")
for name, m, n, k, bits, group, us in rows:
    fp16 = base.get((m, n, k), (float('nan'),))[0]
    scheme = f"W{bits}A16" + (f"-g{group}" if group else "") + "/" + name.rsplit("_", 1)[-1]
    print(f"{scheme:<14} {f'{n}x{k}':>12} {m:>4} {us:8.1f} {fp16:8.1f} {fp16 / us:7.2f}x")
if mma:
    print()
    print(f"{'kernel':<10} {'N x K':>12} {'M':>5} {'qc us':>9} {'act us':>8} "
          f"{'TOPS':>7} {'base us':>9} {'vs base':>8}")
    for name, op, m, n, k, us, act in mma:
        fp16, int8, int8_nn = base.get((m, n, k), (float('nan'),) * 3)
        ref = int8 if op == "int8" else fp16
        label = "W8A8" if op == "int8" else "fp16"
        tops = 2.0 * m * n * k / (us * 1e-6) / 1e12
        basename = "_int_mm TN" if op == "int8" else "cuBLAS"
        extra = f", _int_mm NN {int8_nn:.1f} us" if op == "int8" else ""
        print(f"{label:<10} {f'{n}x{k}':>12} {m:>5} {us:9.1f} {act:8.1f} {tops:7.0f} "
              f"{ref:9.1f} {ref / us:7.2f}x  ({basename}{extra})")
