#!/usr/bin/env python3
"""On the GPU machine: DLPack interop of the runtime binding with PyTorch
CUDA tensors (issue 14). The step module of test/Integration/Inputs/
kv_cache.py compiled for the GPU (PREFIX, e.g. `quant-compile kv.mlir
--target sm_90 -o kv`) runs on torch CUDA tensors:
- on the default stream and on a torch side stream (`stream=`), the K/V
  caches updated in place in torch's memory;
- outputs come back as DeviceTensors and become torch tensors through
  `torch.from_dlpack` without a copy (same device pointer);
- every result equals the host-array run of the same module bit for bit,
  and the float64 reference of kv_cache.py within 1e-5.
Prints one line per check and "dlpack: N checks, F failures".

    QCRT_LIB=.../libqcrt.so PYTHONPATH=python:test/Integration/Inputs \\
        python3 benchmarks/gpu/dlpack_check.py PREFIX
"""

import sys

import numpy as np
import torch

import kv_cache
from quant import runtime

checks = failures = 0


def check(name, ok, detail=""):
    global checks, failures
    checks += 1
    failures += 0 if ok else 1
    print(f"{'PASS' if ok else 'FAIL'} {name}{(': ' + detail) if detail else ''}")


def main():
    m = runtime.Module(sys.argv[1])
    rng = np.random.default_rng(int(sys.argv[2]) if len(sys.argv) > 2 else 1234)
    q, k, v, kc, vc, pos = kv_cache.step_inputs(rng)
    kc0, vc0 = kc.copy(), vc.copy()
    (want,) = m.run("step", q, k, v, kc0, vc0, pos)  # host arrays
    ref = kv_cache.reference(q, kc0, vc0, pos)
    err = np.abs(want - ref) - (1e-5 * np.abs(ref) + 1e-6)
    check("host-array run vs float64 reference", bool((err <= 0).all()))

    for label, stream in (("default stream", None), ("side stream", torch.cuda.Stream())):
        dev = [torch.from_numpy(x).cuda() for x in (q, k, v, kc, vc, pos)]
        kcd, vcd = dev[3], dev[4]
        kptr = kcd.data_ptr()
        if stream is None:
            (out,) = m.run("step", *dev)
        else:
            with torch.cuda.stream(stream):
                (out,) = m.run("step", *dev, stream=stream.cuda_stream)
        t = torch.from_dlpack(out)
        check(f"{label}: result is a torch CUDA tensor without a copy",
              t.is_cuda and t.data_ptr() == out.t.data, f"{t.device} {tuple(t.shape)}")
        torch.cuda.synchronize()
        got = t.cpu().numpy()
        check(f"{label}: output equals the host-array run", np.array_equal(got, want),
              f"max |d| {np.abs(got - want).max():.3g}")
        check(f"{label}: caches updated in place in torch memory",
              kcd.data_ptr() == kptr and np.array_equal(kcd.cpu().numpy(), kc0)
              and np.array_equal(vcd.cpu().numpy(), vc0))
        del t, out
    # A host array among CUDA tensors is copied to the device first.
    dev = [torch.from_numpy(x).cuda() for x in (q, k, v, kc, vc)]
    (out,) = m.run("step", *dev, pos)
    check("numpy pos among CUDA tensors", np.array_equal(out.numpy(), want))
    # The in-place caches must be CUDA tensors when the others are.
    try:
        m.run("step", *dev[:3], kc.copy(), dev[4], pos)
        check("in-place host array refused", False)
    except runtime.QuantError as e:
        check("in-place host array refused", "updated in place" in str(e), str(e))
    print(f"dlpack: {checks} checks, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
