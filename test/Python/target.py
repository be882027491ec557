# Target selection (python/quant/target.py): `--target auto` is the CUDA
# GPU's architecture when quant-compile's target table (read with
# `quant-compile --list-targets=json`) has it, else the host; explicit GPU
# targets must match the GPU that will run the module. The GPU is faked
# with $QUANT_GPU_ARCH (`none`: no GPU).
# REQUIRES: quant-py, models, qcrt, qc-host, quantize-pipeline
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s | FileCheck %s
# CHECK: auto, no GPU: host (no CUDA GPU found: host CPU)
# CHECK: auto, sm_90: sm_90a (CUDA GPU sm_90)
# CHECK: auto, sm_80: sm_80 (CUDA GPU sm_80)
# CHECK: auto, sm_75: host (CUDA GPU is sm_75, quant-compile builds for sm_80, sm_90, sm_90a only: host CPU)
# CHECK: host, sm_90: host (host CPU)
# CHECK: sm_90 compiled for another machine: sm_90
# CHECK: error: --target sm_80: GPU module for sm_80 on an sm_90 device (use --target auto or sm_90)
# CHECK: error: --target sm_90: no CUDA GPU found on this machine
# CHECK: error: --target sm_70: expected one of auto, host, sm_80, sm_90, sm_90a
# CHECK: sm_90 on sm_90: sm_90
# CHECK: sm_90a on sm_90: sm_90a
# CHECK: error: --target sm_90a: GPU module for sm_90a on an sm_80 device (use --target auto or sm_80)

# The CLI: chat and eval stop before compiling on a target mismatch.
# RUN: env QUANT_GPU_ARCH=sm_90 not %python -m quant chat --layers 1 --target sm_80 --cache-dir %t/c 2>&1 | FileCheck %s --check-prefix=CHAT80
# CHAT80: quant: error: --target sm_80: GPU module for sm_80 on an sm_90 device (use --target auto or sm_90)
# RUN: env QUANT_GPU_ARCH=none not %python -m quant eval --model smollm2 --layers 1 --target sm_90 2>&1 | FileCheck %s --check-prefix=EVALNOGPU
# EVALNOGPU: quant: error: --target sm_90: no CUDA GPU found on this machine (nvidia-smi; set QUANT_GPU_ARCH to override), use --target host or auto
# RUN: not %python -m quant eval --module %t/x --target host 2>&1 | FileCheck %s --check-prefix=EVALMOD
# EVALMOD: quant: error: --target compiles the model: use it with --model, not --module
# RUN: not %python -m quant eval --model smollm2 --policy %t/p.yaml 2>&1 | FileCheck %s --check-prefix=EVALPOL
# EVALPOL: quant: error: --policy, --embedding, --activations and --quantized compile the model: give --target (auto or a target of `quant-compile --list-targets`)
# RUN: not %python -m quant eval --model smollm2 --quantized keep 2>&1 | FileCheck %s --check-prefix=EVALPOL
# RUN: not %python -m quant compile %t/x.mlir --target sm_86 2>&1 | FileCheck %s --check-prefix=COMPILE
# COMPILE: quant: error: --target sm_86: expected one of auto, host, sm_80, sm_90, sm_90a

# auto on a machine with an sm_90 GPU (faked): chat compiles the module for
# sm_90a (its arch-specific target), and loading it here (no driver) fails with qcrt's clear message.
# RUN: env QUANT_GPU_ARCH=sm_90 not %python -m quant chat --layers 1 --max-tokens 1 --max-seq 64 --calib-window 64 --cache-dir %t/c > %t/gpu.out 2>&1
# RUN: FileCheck %s --check-prefix=AUTO90 < %t/gpu.out
# AUTO90: target sm_90a (CUDA GPU sm_90)
# AUTO90: compile with quant-compile (target sm_90a, policy policy-default.yaml, rtn)
# AUTO90: quant: error: {{.*}}GPU module for sm_90a, but {{.*}}
# ... and with no GPU, auto is the host: a token is generated.
# RUN: env QUANT_GPU_ARCH=none %python -m quant chat --layers 1 --max-tokens 1 --max-seq 64 --calib-window 64 --cache-dir %t/c --print-ids > %t/host.out 2>&1
# RUN: FileCheck %s --check-prefix=AUTOHOST < %t/host.out
# AUTOHOST: target host (no CUDA GPU found: host CPU)
# AUTOHOST: token ids: {{[0-9]+}}
# AUTOHOST: target host, 1 blocks

import os

from quant.target import TargetError, resolve_target

for gpu in (None, "sm_90", "sm_80", "sm_75"):
    t, note = resolve_target("auto", gpu=gpu)
    print(f"auto, {gpu or 'no GPU'}: {t} ({note})")
t, note = resolve_target("host", gpu="sm_90")
print(f"host, sm_90: {t} ({note})")
print("sm_90 compiled for another machine:", resolve_target("sm_90", gpu=None, run_here=False)[0])
for req, gpu in (("sm_80", "sm_90"), ("sm_90", None), ("sm_70", "sm_90")):
    try:
        resolve_target(req, gpu=gpu)
        print("no error for", req, gpu)
    except TargetError as e:
        print("error:", e)
for req in ("sm_90", "sm_90a"):
    print(f"{req} on sm_90:", resolve_target(req, gpu="sm_90")[0])
try:
    resolve_target("sm_90a", gpu="sm_80")
except TargetError as e:
    print("error:", e)
os.environ["QUANT_GPU_ARCH"] = "sm_90"
assert resolve_target("auto")[0] == "sm_90a"
os.environ["QUANT_GPU_ARCH"] = "none"
assert resolve_target("auto")[0] == "host"
