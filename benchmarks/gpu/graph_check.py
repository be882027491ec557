#!/usr/bin/env python3
"""CUDA-graph runs of a GPU module against plain runs, on the GPU machine.

For every `PREFIX` (a GPU module whose first function takes f32 inputs with
dynamic leading dimensions): fresh random inputs in device memory, one plain
run (qcrt_run_options.graph = 0), then graph runs (capture, then replays)
with the inputs overwritten in place between runs: every replay must equal a
plain run on the same inputs bit for bit, and the module must report one
capture and the replays. Prints per-call times of both (median of --reps
calls, each returning after the stream synchronized).

  graph_check.py PREFIX [PREFIX...] [--rows 16] [--reps 200]
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("prefixes", nargs="+")
    ap.add_argument("--rows", type=int, default=16)
    ap.add_argument("--reps", type=int, default=200)
    a = ap.parse_args()
    from quant import runtime
    ok = True
    for prefix in a.prefixes:
        m = runtime.Module(prefix)
        info = json.loads(m.info())
        f = info["functions"][0]
        rng = np.random.default_rng(1)
        shapes = [[a.rows if d < 0 else d for d in t["shape"]] for t in f["inputs"]]
        dts = [np.dtype({"f32": np.float32, "f16": np.float16}[t["dtype"]]) for t in f["inputs"]]
        host = [rng.standard_normal(s).astype(dt) for s, dt in zip(shapes, dts)]
        dev = [runtime.DeviceTensor.from_numpy(x) for x in host]
        times = {}
        for graph in (False, True):
            ts = []
            for i in range(a.reps):
                for d in dev:  # new contents, same buffers
                    d.copy_from(rng.standard_normal(d.shape).astype(d.dtype))
                t0 = time.perf_counter()
                outs = m.run_device(f["name"], *dev, graph=graph)
                ts.append(time.perf_counter() - t0)
                got = [o.numpy() for o in outs]
                if graph and i in (0, 1, a.reps - 1):
                    ref = [o.numpy() for o in m.run_device(f["name"], *dev, graph=False)]
                    same = all(np.array_equal(x, y) for x, y in zip(got, ref))
                    ok &= same
                    print(f"{Path(prefix).name} graph run {i}: equal to plain run: {same}")
                for o in outs:
                    o.free()
            times[graph] = statistics.median(ts) * 1e6
        for d in dev:
            d.free()
        cap, rep, fail = m.graph_stats()
        ok &= cap == 1 and rep >= a.reps - 1 and fail == 0
        print(f"{Path(prefix).name}: host_sync={f.get('host_sync')} captured={cap} replayed={rep} "
              f"failed={fail} | per call: plain {times[False]:.1f} us, graph {times[True]:.1f} us")
        m.close()  # frees the graphs' buffers (a leak check runs at exit)
    print("graph check:", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
