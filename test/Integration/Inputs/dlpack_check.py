#!/usr/bin/env python3
"""DLPack interop of the runtime binding on the host (quant.runtime,
quant.dlpack): the kv_cache.py step module run on tensors that are not
numpy arrays but offer DLPack (`Foreign`, a stand-in for a PyTorch / JAX
CPU tensor), with the K/V caches updated in place in the producer's memory
(no copy), outputs equal bit for bit to the numpy run and within 1e-5 of
the float64 reference; the capsules the binding exports are consumed by
numpy without copies and freed; bad tensors are refused with one message.

    dlpack_check.py PREFIX [--seed N]
"""

import argparse
import gc
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import kv_cache  # noqa: E402

from quant import dlpack, runtime  # noqa: E402


class Foreign:
    """A tensor of another framework: only the DLPack protocol, over a
    numpy buffer (so the test can see where writes land). `device`
    pretends another DLPack device type."""

    def __init__(self, a, device=None):
        self.a, self.device = a, device

    def __dlpack_device__(self):
        return self.device or self.a.__dlpack_device__()

    def __dlpack__(self, stream=None, **kw):
        return self.a.__dlpack__()  # the unversioned capsule


def refused(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except runtime.QuantError as e:
        return str(e).splitlines()[0]
    return "NOT REFUSED"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prefix")
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little")
    print(f"seed {seed}", file=sys.stderr)
    rng = np.random.default_rng(seed)
    m = runtime.Module(a.prefix)
    q, k, v, kc, vc, pos = kv_cache.step_inputs(rng)

    # The numpy run (reference path of the binding) on copies.
    kc0, vc0 = kc.copy(), vc.copy()
    (want,) = m.run("step", q, k, v, kc0, vc0, pos)

    # The same run on DLPack-only tensors: caches written in place.
    kcf, vcf = kc.copy(), vc.copy()
    (got,) = m.run("step", Foreign(q), Foreign(k), Foreign(v), Foreign(kcf), Foreign(vcf),
                   Foreign(pos))
    print("outputs equal:", np.array_equal(got, want))
    print("caches written in place:", np.array_equal(kcf, kc0) and np.array_equal(vcf, vc0),
          "changed:", not np.array_equal(kcf, kc))
    ref = kv_cache.reference(q, kc0, vc0, pos)
    err = np.abs(got - ref) - (1e-5 * np.abs(ref) + 1e-6)
    print("reference:", "OK" if (err <= 0).all() else f"FAIL max {err.max()}")
    # Default function of __call__.
    (got2,) = m(Foreign(q), Foreign(k), Foreign(v), kc.copy(), vc.copy(), pos)
    print("call equal:", np.array_equal(got2, want))
    # Results export DLPack: numpy (or torch) views them without a copy.
    view = np.from_dlpack(got)
    print("result view shares memory:", np.shares_memory(view, got))

    # The exporter: a capsule over memory an owner keeps alive; consumed by
    # numpy (the deleter runs when the view goes) or dropped unconsumed.
    class Exported:
        def __init__(self, arr):
            self.arr = arr

        def __dlpack_device__(self):
            return (dlpack.KDL_CPU, 0)

        def __dlpack__(self, stream=None, **kw):
            return dlpack.export_capsule(self.arr, self.arr.ctypes.data, 1,
                                         self.arr.shape, dlpack.KDL_CPU)

    src = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
    v2 = np.from_dlpack(Exported(src))
    print("exported view:", v2.shape, v2.dtype, np.shares_memory(v2, src),
          np.array_equal(v2, src), "alive", len(dlpack._exported))
    del v2
    gc.collect()
    print("after the view went:", len(dlpack._exported))
    cap = Exported(src).__dlpack__()
    print("unconsumed capsule alive:", len(dlpack._exported))
    del cap
    gc.collect()
    print("after dropping it:", len(dlpack._exported))

    # Bad tensors: one message each.
    kt = np.ascontiguousarray(np.swapaxes(kc.copy(), 3, 4)).swapaxes(3, 4)
    print("refused:", refused(m.run, "step", q, k, v, Foreign(kt), vc.copy(), pos))
    print("refused:", refused(m.run, "step", q, k, v, Foreign(kc.astype(np.float64)),
                              vc.copy(), pos))
    print("refused:", refused(m.run, "step", Foreign(q.astype(np.complex64)), k, v,
                              kc.copy(), vc.copy(), pos))
    print("refused:", refused(m.run, "step", Foreign(q, device=(2, 0)), k, v, kc.copy(),
                              vc.copy(), pos))
    print("refused:", refused(m.run, "step", Foreign(q, device=(4, 0)), k, v, kc.copy(),
                              vc.copy(), pos))
    print("refused:", refused(m.run, "step", q, k, v, kc.copy(), vc.copy(), pos, stream=7))


if __name__ == "__main__":
    main()
