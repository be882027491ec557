# RUN: %python %s %t
#
# FP8 E4M3 W8A8 on the host, against independent numpy models (ml_dtypes'
# float8_e4m3fn does the rounding: round to nearest even; values are clipped
# to +-448 first because the project saturates where ml_dtypes overflows to
# NaN, as cvt.rn.satfinite does on the GPU):
# 1. qc.quantize_act / qc.dequantize_act to f8E4M3FN, static (scale 1: the
#    codes themselves, special values included) and dynamic per token:
#    bit-exact.
# 2. A two-layer model through the policy flow (weight: f8e4m3): a
#    per-channel layer with dynamic per-token activations and bias, then a
#    per-tensor layer with a static activation scale (calibrated max |x| as
#    qc.act_absmax) -> quant-compile --target host -> quant-run, against the
#    float64 model of the same quantized arithmetic and the float model.
# 3. Policy errors for FP8: weight-only f8e4m3, an FP8 layer on a GPU target
#    without wgmma.

import os
import subprocess
import sys

import ml_dtypes
import numpy as np

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
seed = int(os.environ.get("QC_TEST_SEED", int.from_bytes(os.urandom(4), "little")))
rng = np.random.default_rng(seed)


def fail(msg):
    sys.exit(f"FAIL (seed {seed}): {msg}")


def run(*cmd, ok=True):
    p = subprocess.run(list(cmd), capture_output=True, text=True)
    if ok and p.returncode != 0:
        fail(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def e4m3(v):
    """float32 values -> the float32 values of their E4M3 codes."""
    v = np.asarray(v, np.float32)
    return np.clip(v, -448, 448).astype(ml_dtypes.float8_e4m3fn).astype(np.float32)


def same_bits(a, b):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return ((a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))).all()


def hexdense(a):
    return 'dense<"0x' + np.ascontiguousarray(a, "<f4").tobytes().hex().upper() + '">'


# ---- 1. activation quantization, bit-exact ----------------------------------
K = 40
QA = f"""func.func @qa(%x: tensor<?x{K}xf32>) -> (tensor<?x{K}xf32>, tensor<?x{K}xf32>, tensor<?xf32>) {{
  %q, %s = qc.quantize_act %x static_per_tensor scale 1.0 : tensor<?x{K}xf32> -> tensor<?x{K}xf8E4M3FN>, tensor<1xf32>
  %y = qc.dequantize_act %q, %s : tensor<?x{K}xf8E4M3FN>, tensor<1xf32> -> tensor<?x{K}xf32>
  %q2, %s2 = qc.quantize_act %x dynamic_per_token : tensor<?x{K}xf32> -> tensor<?x{K}xf8E4M3FN>, tensor<?xf32>
  %y2 = qc.dequantize_act %q2, %s2 : tensor<?x{K}xf8E4M3FN>, tensor<?xf32> -> tensor<?x{K}xf32>
  return %y, %y2, %s2 : tensor<?x{K}xf32>, tensor<?x{K}xf32>, tensor<?xf32>
}}
"""
with open(os.path.join(OUT, "qa.mlir"), "w") as f:
    f.write(QA)
run("quant-compile", os.path.join(OUT, "qa.mlir"), "--target", "host", "-o",
    os.path.join(OUT, "qa"))
rows = 200
# Rows of very different magnitudes (subnormal codes after scaling too).
x = (rng.standard_normal((rows, K)) * np.exp2(rng.uniform(-20, 12, (rows, 1)))).astype(np.float32)
special = np.array([np.inf, -np.inf, np.nan, 448, 464, 465, 480, -500, 1e30,
                    2.0 ** -10, 3 * 2.0 ** -10, 2.0 ** -6, -(2.0 ** -7 + 2.0 ** -10),
                    1e-9, -0.0, 0.0, 0.5625, 0.59375, 17, 19, 104, 112, 240, 256],
                   np.float32)
x[0, :len(special)] = special  # row 0 only reaches the static path's check
# Ties between neighbouring codes (every other code midpoint).
codes = np.arange(0, 0x7e, dtype=np.uint8).view(ml_dtypes.float8_e4m3fn).astype(np.float32)
mids = ((codes[:-1].astype(np.float64) + codes[1:]) / 2).astype(np.float32)
x[1:1 + (len(mids) + K - 1) // K].flat[:len(mids)] = mids
x[5] = 0.0  # an all-zero row: scale 1
xin = os.path.join(OUT, "qa_in.npy")
np.save(xin, x)
od = os.path.join(OUT, "qa_out")
os.makedirs(od, exist_ok=True)
run("quant-run", os.path.join(OUT, "qa"), "--input", xin, "--output-dir", od)
y, y2, s2 = (np.load(os.path.join(od, f"out_{i}.npy")) for i in range(3))
if not same_bits(y, e4m3(x)):
    bad = np.argwhere(~((y.view(np.uint32) == e4m3(x).view(np.uint32)) | np.isnan(y) & np.isnan(e4m3(x))))
    i = tuple(bad[0])
    fail(f"static E4M3 codes differ at {i}: x={x[i]!r} got {y[i]!r} want {e4m3(x)[i]!r}")
xs = x[1:]  # row 0 holds inf / NaN: its dynamic scale is not finite
amax = np.abs(xs).max(axis=1).astype(np.float32)
s_ref = np.where(amax == 0, np.float32(1), amax / np.float32(448)).astype(np.float32)
y2_ref = (e4m3(xs / s_ref[:, None]) * s_ref[:, None]).astype(np.float32)
if not same_bits(s2[1:], s_ref):
    fail("dynamic per-token scales differ from max|x| / 448")
if not same_bits(y2[1:], y2_ref):
    fail("dynamic per-token E4M3 values differ")
print(f"E4M3 activation quantization bit-exact on {x.size} values")

# ---- 2. a two-layer FP8 model through the policy flow -----------------------
D, H = 64, 96
W1 = (rng.standard_normal((H, D)) / np.sqrt(D)).astype(np.float32)
B1 = (0.1 * rng.standard_normal(H)).astype(np.float32)
W2 = (rng.standard_normal((D, H)) / np.sqrt(H)).astype(np.float32)
W2[:, 7] *= 30.0  # one large input channel: per-tensor scales feel it
ABSMAX2 = 3.5  # calibrated max |x| of l2's input (the layer clips above it)
MODEL = f"""func.func @mlp(%x: tensor<?x{D}xf32>) -> tensor<?x{D}xf32> {{
  %w1 = arith.constant {hexdense(W1)} : tensor<{H}x{D}xf32>
  %b1 = arith.constant {hexdense(B1)} : tensor<{H}xf32>
  %w2 = arith.constant {hexdense(W2)} : tensor<{D}x{H}xf32>
  %h = qc.linear %x, %w1, %b1 {{layer = "l1"}} : (tensor<?x{D}xf32>, tensor<{H}x{D}xf32>, tensor<{H}xf32>) -> tensor<?x{H}xf32>
  %y = qc.linear %h, %w2 {{layer = "l2", qc.act_absmax = {ABSMAX2} : f64}} : (tensor<?x{H}xf32>, tensor<{D}x{H}xf32>) -> tensor<?x{D}xf32>
  return %y : tensor<?x{D}xf32>
}}
"""
POLICY = """format: qc-policy
version: 1
rules:
  - match: "l1"
    scheme: {weight: f8e4m3, granularity: per_channel, act: dynamic_per_token}
  - match: "l2"
    scheme: {weight: f8e4m3, granularity: per_tensor, act: static_per_tensor}
"""
mp, pp = os.path.join(OUT, "mlp.mlir"), os.path.join(OUT, "policy.yaml")
open(mp, "w").write(MODEL)
open(pp, "w").write(POLICY)
run("quant-compile", mp, "--policy", pp, "--target", "host", "-o", os.path.join(OUT, "mlp"))


def quant_weight(w, per_channel):
    w64 = w.astype(np.float64)
    amax = np.abs(w64).max(axis=1, keepdims=True) if per_channel else np.abs(w64).max()
    s = np.asarray(amax / 448, np.float64).astype(np.float32).astype(np.float64)
    s = np.where(s == 0, 1.0, s)
    return e4m3((w64 / s).astype(np.float32)).astype(np.float64), s


Q1, S1 = quant_weight(W1, True)
Q2, S2 = quant_weight(W2, False)
SX2 = np.float64(np.float32(np.float64(ABSMAX2) / 448))


def reference(x):
    x = x.astype(np.float32)
    amax = np.abs(x).max(axis=1).astype(np.float32)
    sx = np.where(amax == 0, np.float32(1), amax / np.float32(448)).astype(np.float32)
    qx = e4m3(x / sx[:, None]).astype(np.float64)
    h = (qx @ Q1.T) * sx[:, None].astype(np.float64) * S1.T + B1
    qh = e4m3((h.astype(np.float32) / np.float32(SX2))).astype(np.float64)
    return (qh @ Q2.T) * SX2 * S2


def float_model(x):
    x = x.astype(np.float64)
    return (x @ W1.T.astype(np.float64) + B1) @ W2.T.astype(np.float64)


for m in (1, 7, 64):
    x = rng.standard_normal((m, D)).astype(np.float32)
    xp = os.path.join(OUT, f"x{m}.npy")
    od = os.path.join(OUT, f"out{m}")
    os.makedirs(od, exist_ok=True)
    np.save(xp, x)
    run("quant-run", os.path.join(OUT, "mlp"), "--input", xp, "--output-dir", od)
    got = np.load(os.path.join(od, "out_0.npy")).astype(np.float64)
    ref_q, ref_f = reference(x), float_model(x)
    rel = lambda a, r: np.linalg.norm(a - r) / np.linalg.norm(r)
    e_q, e_f, e_qf = rel(got, ref_q), rel(got, ref_f), rel(ref_q, ref_f)
    print(f"M={m}: vs FP8 reference {e_q:.2e}, vs float {e_f:.2e} "
          f"(FP8 quantization error {e_qf:.2e})")
    # f32 vs f64 sums can move one of l2's inputs across an E4M3 rounding
    # boundary; each such element moves the output by one code step.
    if not e_q < 2e-3:
        fail(f"M={m}: output differs from the FP8 reference by {e_q:.2e}")
    if not (e_qf > 1e-3 and abs(e_f - e_qf) < 0.5 * e_qf + 2e-3):
        fail(f"M={m}: error vs float {e_f:.2e}, expected about {e_qf:.2e}")

# ---- 3. FP8 errors -----------------------------------------------------------
bad = os.path.join(OUT, "bad.yaml")
open(bad, "w").write("format: qc-policy\nversion: 1\n"
                     "default: {weight: f8e4m3, granularity: per_channel}\n")
p = run("quant-compile", mp, "--policy", bad, "--target", "host", "-o",
        os.path.join(OUT, "bad"), ok=False)
if p.returncode == 0 or "f8E4M3FN weights need FP8 activations" not in p.stderr:
    fail(f"weight-only FP8 policy: expected a diagnostic, got rc {p.returncode}:\n{p.stderr}")
p = run("quant-compile", mp, "--policy", pp, "--target", "sm_90", "-o",
        os.path.join(OUT, "bad90"), ok=False)
if p.returncode == 0 or "FP8 E4M3 matmuls run on wgmma" not in p.stderr:
    fail(f"FP8 on sm_90: expected a diagnostic, got rc {p.returncode}:\n{p.stderr}")
if any(f.startswith("bad") and not f.endswith(".yaml") for f in os.listdir(OUT)):
    fail(f"a failed compile left output files: {sorted(os.listdir(OUT))}")
print("fp8 OK")
