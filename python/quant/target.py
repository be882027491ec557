"""Which target a compiled module is built for: the host CPU or a GPU
architecture that quant-compile can build for (its target table,
`quant-compile --list-targets`).

`resolve_target("auto")` picks the GPU's architecture when a supported CUDA
GPU is present (the chip's arch-specific target, e.g. sm_90a on a Hopper
GPU, where the table has one: it comes last among the chip's entries), else
the host. The GPU is found with nvidia-smi (its compute
capability, e.g. 9.0 -> sm_90); `$QUANT_GPU_ARCH` overrides the detection
(`sm_90`, or `none` for no GPU), which tests and machines without
nvidia-smi use.
"""

import json
import os
import shutil
import subprocess
from typing import Optional, Tuple

from .errors import QuantError

class TargetError(QuantError):
    """A target that cannot be used here."""


_TABLE = None


def target_table() -> list:
    """The compiler's target table (`quant-compile --list-targets=json`,
    include/qc/Target/TargetTable.h): one dict per target."""
    global _TABLE
    if _TABLE is None:
        from . import driver
        from .errors import ToolError
        try:
            _TABLE = json.loads(driver.compile_args(["--list-targets=json"]))
        except ToolError as e:
            raise TargetError(f"--list-targets=json failed: {e}") from None
    return _TABLE


def gpu_targets() -> Tuple[str, ...]:
    """GPU architectures quant-compile builds modules for."""
    return tuple(t["name"] for t in target_table() if t["gpu"])


def target_names() -> Tuple[str, ...]:
    """What --target accepts: auto plus every target of the table."""
    return ("auto",) + tuple(t["name"] for t in target_table())


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


def _chip_of(target: str) -> Optional[str]:
    """'sm_90' for the targets of compute capability 9.0 (sm_90, sm_90a)."""
    for t in target_table():
        if t["name"] == target and t["gpu"]:
            return "sm_" + t["compute_capability"].replace(".", "")
    return None


def targets_for_gpu(gpu: str) -> Tuple[str, ...]:
    """The GPU targets whose modules run on a `gpu` ('sm_90') device, in
    table order (the arch-specific one last)."""
    return tuple(t["name"] for t in target_table()
                 if t["gpu"] and _chip_of(t["name"]) == gpu)


def resolve_target(requested: str, gpu: Optional[str] = "detect",
                   run_here: bool = True) -> Tuple[str, str]:
    """(target, note). `requested`: auto or a target of the table. With
    `run_here` (the module is run on this machine), an explicit GPU target
    must match the GPU found; `gpu` is the detected architecture (default:
    detect_gpu())."""
    names = target_names()
    if requested not in names:
        raise TargetError(f"--target {requested}: expected one of {', '.join(names)}")
    if gpu == "detect":
        gpu = detect_gpu()
    if requested == "host":
        return "host", "host CPU"
    if requested == "auto":
        if gpu is None:
            return "host", "no CUDA GPU found: host CPU"
        fits = targets_for_gpu(gpu)
        if not fits:
            return "host", (f"CUDA GPU is {gpu}, quant-compile builds for "
                            f"{', '.join(gpu_targets())} only: host CPU")
        return fits[-1], f"CUDA GPU {gpu}"
    if run_here:
        if gpu is None:
            raise TargetError(f"--target {requested}: no CUDA GPU found on this machine "
                              "(nvidia-smi; set QUANT_GPU_ARCH to override), use --target "
                              "host or auto")
        if _chip_of(requested) != gpu:
            raise TargetError(f"--target {requested}: GPU module for {requested} on an "
                              f"{gpu} device (use --target auto or {gpu})")
    return requested, f"CUDA GPU {requested}"
