#!/usr/bin/env python3
"""qc.sample on the GPU against its recipe (quant.reference.sample_tokens).

Runs every @draw-style function of a compiled GPU module of qc.sample ops
(test/Integration/GPU/Inputs/sample.mlir compiled for sm_90) on random
logits for greedy, plain, top-k and near-uniform settings over 20 seeds and
B = 1, 4: every draw whose two best scores (float64 recipe) are more than
1e-4 apart must be the reference's token; closer ones may differ by the
last ulp of log(). Then the time of one B = 1 draw per vocabulary (median
of 200 device runs, no graph).

  usage: QCRT_LIB=... PYTHONPATH=python sample_check.py PREFIX
"""
import json
import sys
import time

import numpy as np

from quant import reference
from quant.runtime import DeviceTensor, Module


def main():
    m = Module(sys.argv[1])
    info = json.loads(m.info())
    fn = info["functions"][0]
    ins = fn["inputs"]
    n_logits = sum(1 for i in ins if len(i["shape"]) == 2)
    rng = np.random.default_rng(0)
    settings = [(0.0, 0), (1.0, 0), (0.7, 40), (1.5, 1), (1e6, 3), (1.2, -1)]
    bad = total = clear = 0
    for B in (1, 4):
        for seed in range(20):
            for t, k in settings:
                lgs = []
                for i in ins[:n_logits]:
                    dt = np.float16 if i["dtype"] == "f16" else np.float32
                    lgs.append((rng.standard_normal((B, i["shape"][1])) * 3).astype(dt))
                pos = rng.integers(0, 4000, B).astype(np.int64)
                outs = m.run(fn["name"], *lgs, np.array(t, np.float32), np.array(k, np.int64),
                             np.array(seed, np.int64), pos)
                for lg, got in zip(lgs, outs):
                    want = reference.sample_tokens(lg, t, k, seed, pos)
                    if t > 0:
                        s = np.sort(reference.sample_scores(lg, t, k, seed, pos), axis=1)
                        decisive = (s[:, -1] - s[:, -2]) > 1e-4
                    else:
                        decisive = np.ones(B, bool)
                    total += B
                    clear += decisive.sum()
                    bad += int(np.sum((got[:, 0] != want) & decisive))
    print(f"sample check: {total} draws, {clear} clear-cut, {bad} clear-cut mismatches "
          f"-> {'PASS' if bad == 0 and clear > 0.98 * total else 'FAIL'}")
    # Timing: one B = 1 draw (all vocabularies of the function together).
    args = [DeviceTensor.from_numpy((rng.standard_normal((1, i["shape"][1]))).astype(
        np.float16 if i["dtype"] == "f16" else np.float32)) for i in ins[:n_logits]]
    args += [DeviceTensor.from_numpy(np.array(0.8, np.float32)),
             DeviceTensor.from_numpy(np.array(50, np.int64)),
             DeviceTensor.from_numpy(np.array(1, np.int64)),
             DeviceTensor.from_numpy(np.zeros(1, np.int64))]
    for graph in (False, True):
        ts = []
        for _ in range(200):
            t0 = time.perf_counter()
            outs = m.run_device(fn["name"], *args, graph=graph)
            for o in outs:
                o.numpy()
                o.free()
            ts.append(time.perf_counter() - t0)
        print(f"one draw per vocabulary ({', '.join(str(i['shape'][1]) for i in ins[:n_logits])}), "
              f"top-k 50, B = 1, graph={graph}: median {np.median(ts) * 1e6:.0f} us wall "
              f"(includes the host round trip)")


if __name__ == "__main__":
    main()
