# Numeric test of the parallel matmul kernels (qc-lower-to-host{parallel=true}
# linked with libqcrt, QCRT_NUM_THREADS = 3): linear, wo_matmul (int4 per
# group) and int8_matmul with panel counts that do not divide by the thread
# count; outputs must equal the serial pipeline's bit for bit and match
# independent numpy references. M = 1, 3, 17, 64. The weight-only kernel
# stages dequantized weight panels for M >= 16: its rows must equal the
# unstaged M = 1 results bit for bit. A forked child can still run them.
# UNSUPPORTED: asan
# RUN: rm -rf %t && mkdir -p %t/serial %t/parallel && %python %s %t %qc_libdir | FileCheck %s
# CHECK: ALL PASSED

import ctypes
import os
import signal
import sys

os.environ["QCRT_NUM_THREADS"] = "3"

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Inputs"))
import qc_host_harness as h  # noqa: E402

K, GROUP = 96, 32
NS = [20, 200, 1000]  # 1, 4 and 16 panels of 64 columns (200: nr = 4)
rng = h.make_rng()

funcs = []
for n in NS:
    funcs.append(f"""
func.func @lin{n}(%x: tensor<?x{K}xf32>, %w: tensor<{n}x{K}xf32>, %b: tensor<{n}xf32>) -> tensor<?x{n}xf32> {{
  %y = qc.linear %x, %w, %b {{layer = "lin{n}"}} : (tensor<?x{K}xf32>, tensor<{n}x{K}xf32>, tensor<{n}xf32>) -> tensor<?x{n}xf32>
  return %y : tensor<?x{n}xf32>
}}
func.func @wo{n}(%x: tensor<?x{K}xf32>, %d: tensor<{n * K // 2}xi8>, %s: tensor<{n}x{K // GROUP}xf32>) -> tensor<?x{n}xf32> {{
  %pw = qc.packed_weight %d, %s {{layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = {GROUP}>}} : tensor<{n * K // 2}xi8>, tensor<{n}x{K // GROUP}xf32> -> !qc.packed<{n}x{K}xi4>
  %y = qc.wo_matmul %x, %pw {{layer = "wo{n}"}} : tensor<?x{K}xf32>, !qc.packed<{n}x{K}xi4> -> tensor<?x{n}xf32>
  return %y : tensor<?x{n}xf32>
}}
func.func @i8{n}(%q: tensor<?x{K}xi8>, %sx: tensor<?xf32>, %d: tensor<{n}x{K}xi8>, %s: tensor<{n}x1xf32>) -> tensor<?x{n}xf32> {{
  %pw = qc.packed_weight %d, %s {{layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, granularity = per_channel, act = dynamic_per_token>}} : tensor<{n}x{K}xi8>, tensor<{n}x1xf32> -> !qc.packed<{n}x{K}xi8>
  %y = qc.int8_matmul %q, %sx, %pw {{layer = "i8{n}"}} : tensor<?x{K}xi8>, tensor<?xf32>, !qc.packed<{n}x{K}xi8> -> tensor<?x{n}xf32>
  return %y : tensor<?x{n}xf32>
}}""")
text = "\n".join(funcs)
qcrt = os.path.join(sys.argv[2], "libqcrt.so")
ctypes.CDLL(qcrt, mode=ctypes.RTLD_GLOBAL)
serial = h.build(text, workdir=os.path.join(sys.argv[1], "serial"))
par = h.build(text, workdir=os.path.join(sys.argv[1], "parallel"),
              pipeline="--qc-lower-to-host=parallel=true",
              link=["-L" + sys.argv[2], "-lqcrt", "-Wl,-rpath," + sys.argv[2]])


def both(fn, m, args, ref, absref):
    name = "%s M=%d" % (fn, m)
    ys = h.call(serial, fn, args, [(2, np.float32)])
    yp = h.call(par, fn, args, [(2, np.float32)])
    if not np.array_equal(ys.view(np.int32), yp.view(np.int32)):
        raise AssertionError("%s: parallel differs from serial" % name)
    h.check_matmul(name, yp, ref, absref)


for n in NS:
    w = rng.standard_normal((n, K)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    q4, s4, _ = h.random_quantized(rng, n, K, 4, "per_group", GROUP, True)
    w4 = h.dequant_reference(q4, s4, None, "per_group", GROUP)
    q8, s8, _ = h.random_quantized(rng, n, K, 8, "per_channel", 1, True)
    w8 = h.dequant_reference(q8, s8, None, "per_channel", 1)
    for m in [1, 3, 17, 64]:
        x = rng.standard_normal((m, K)).astype(np.float32)
        x64 = x.astype(np.float64)
        both("lin%d" % n, m, [x, w, b], x64 @ w.T + b,
             np.abs(x64) @ np.abs(w).T + np.abs(b))
        both("wo%d" % n, m, [x, h.pack_weight(q4, 4, "row_major"), s4],
             x64 @ w4.T, np.abs(x64) @ np.abs(w4).T)
        qx = rng.integers(-127, 128, size=(m, K)).astype(np.int8)
        sx = rng.uniform(0.01, 0.1, size=m).astype(np.float32)
        ref = (qx.astype(np.float64) @ q8.T.astype(np.float64)) * sx[:, None] * s8[:, 0]
        both("i8%d" % n, m, [qx, sx, q8.astype(np.int8), s8], ref, np.abs(ref) + 1e-30)

# Staged (M = 17) vs. unstaged (M = 1, row by row) weight-only kernel.
n = 200
q4, s4, _ = h.random_quantized(rng, n, K, 4, "per_group", GROUP, True)
d4 = h.pack_weight(q4, 4, "row_major")
x = rng.standard_normal((17, K)).astype(np.float32)
many = h.call(par, "wo%d" % n, [x, d4, s4], [(2, np.float32)])
rows = np.concatenate([h.call(par, "wo%d" % n, [x[i:i + 1], d4, s4], [(2, np.float32)])
                       for i in range(17)])
if not np.array_equal(many.view(np.int32), rows.view(np.int32)):
    raise AssertionError("staged weight panels differ from the unstaged kernel")
print("PASS staged == unstaged")

# A forked child (no worker threads of the parent) gets a fresh pool.
pid = os.fork()
if pid == 0:
    signal.alarm(60)  # a hang fails the test instead of blocking lit
    ok = np.array_equal(h.call(par, "wo%d" % n, [x, d4, s4], [(2, np.float32)]).view(np.int32),
                        many.view(np.int32))
    os._exit(0 if ok else 1)
_, status = os.waitpid(pid, 0)
if status != 0:
    raise AssertionError("parallel kernel in a forked child failed (status %d)" % status)
print("PASS forked child")

print("ALL PASSED")
