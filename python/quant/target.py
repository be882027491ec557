"""Which target a compiled module is built for: the host CPU or a GPU
architecture (sm_80, sm_90) that quant-compile can build for.

`resolve_target("auto")` picks the GPU's architecture when a supported CUDA
GPU is present, else the host. The GPU is found with nvidia-smi (its compute
capability, e.g. 9.0 -> sm_90); `$QUANT_GPU_ARCH` overrides the detection
(`sm_90`, or `none` for no GPU), which tests and machines without
nvidia-smi use.
"""

import os
import shutil
import subprocess
from typing import Optional, Tuple

from .errors import QuantError

#: GPU architectures quant-compile builds modules for.
GPU_TARGETS = ("sm_80", "sm_90")
TARGETS = ("auto", "host") + GPU_TARGETS


class TargetError(QuantError):
    """A target that cannot be used here."""


def detect_gpu() -> Optional[str]:
    """'sm_90' etc. for the first CUDA GPU, else None."""
    forced = os.environ.get("QUANT_GPU_ARCH")
    if forced is not None:
        forced = forced.strip()
        return None if forced in ("", "none") else forced
    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    try:
        r = subprocess.run([smi, "--query-gpu=compute_cap", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    caps = r.stdout.split() if r.returncode == 0 else []
    return "sm_" + caps[0].replace(".", "") if caps else None


def resolve_target(requested: str, gpu: Optional[str] = "detect",
                   run_here: bool = True) -> Tuple[str, str]:
    """(target, note). `requested`: auto, host, sm_80 or sm_90. With
    `run_here` (the module is run on this machine), an explicit GPU target
    must match the GPU found; `gpu` is the detected architecture (default:
    detect_gpu())."""
    if requested not in TARGETS:
        raise TargetError(f"--target {requested}: expected one of {', '.join(TARGETS)}")
    if gpu == "detect":
        gpu = detect_gpu()
    if requested == "host":
        return "host", "host CPU"
    if requested == "auto":
        if gpu is None:
            return "host", "no CUDA GPU found: host CPU"
        if gpu not in GPU_TARGETS:
            return "host", (f"CUDA GPU is {gpu}, quant-compile builds for "
                            f"{', '.join(GPU_TARGETS)} only: host CPU")
        return gpu, f"CUDA GPU {gpu}"
    if run_here:
        if gpu is None:
            raise TargetError(f"--target {requested}: no CUDA GPU found on this machine "
                              "(nvidia-smi; set QUANT_GPU_ARCH to override), use --target "
                              "host or auto")
        if gpu != requested:
            raise TargetError(f"--target {requested}: GPU module for {requested} on an "
                              f"{gpu} device (use --target auto or {gpu})")
    return requested, f"CUDA GPU {requested}"
