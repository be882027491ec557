"""quant-compile in process: ctypes binding of the compile library's C ABI
(libQuantDriver.so, include/qc/Driver/CDriver.h; docs/driver.md).

`compile_args(args, on_progress)` runs a quant-compile command line (the
same flags, parsed by the same code as the executable) inside this Python
process: stage events arrive through `on_progress` as dicts (the
--progress=json schema: {"event": "stage", "stage", "state": "begin" |
"end", "seconds"}), errors raise ToolError with one line naming the
problem, and what quant-compile would print to stdout (-o -,
--check-policy, --list-targets) is returned. Each call has its own MLIR
context; calls are serialized.

The library is found at $QUANT_DRIVER_LIB, $QUANT_BUILD_DIR/lib, the
installed package's _lib (`pip install .`) or the source tree's build/lib.
There is no subprocess fallback: the quant-compile executable (same code)
is the tool for debugging a crash of the compiler outside Python.
"""

import ctypes
import json
import os
import threading
from pathlib import Path

from .errors import QuantError, ToolError

PROGRESS, ERROR, WARNING, OUTPUT, LAYER_TABLE = range(5)

_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
_lib = None
_lock = threading.Lock()


def library_path() -> Path:
    """The compile library this process loads (see the module doc)."""
    cands = []
    if os.environ.get("QUANT_DRIVER_LIB"):
        forced = Path(os.environ["QUANT_DRIVER_LIB"])
        if not forced.is_file():
            raise QuantError(f"QUANT_DRIVER_LIB={forced}: no such file")
        return forced
    here = Path(__file__).resolve().parent
    if os.environ.get("QUANT_BUILD_DIR"):
        cands.append(Path(os.environ["QUANT_BUILD_DIR"]) / "lib" / "libQuantDriver.so")
    cands.append(here / "_lib" / "libQuantDriver.so")  # the installed package
    cands.append(here.parents[1] / "build" / "lib" / "libQuantDriver.so")
    for c in cands:
        if c.exists():
            return c
    raise QuantError("cannot find libQuantDriver.so (build the project, or set "
                     f"QUANT_DRIVER_LIB or QUANT_BUILD_DIR); looked in: "
                     f"{', '.join(map(str, cands))}")


def lib():
    global _lib
    if _lib is None:
        L = ctypes.CDLL(str(library_path()))
        L.qc_driver_compile.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p),
                                        _CALLBACK, ctypes.c_void_p]
        L.qc_driver_compile.restype = ctypes.c_int
        L.qc_driver_version.restype = ctypes.c_int
        if L.qc_driver_version() != 1:
            raise QuantError(f"{library_path()}: C ABI version {L.qc_driver_version()}, "
                             "expected 1 (rebuild the project)")
        _lib = L
    return _lib


def _error_line(text: str) -> str:
    """One line of a diagnostic: the located lines (error and its notes)
    without the source line and caret; "FILE:L:C: error: m" -> "FILE:L:C: m"."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    located = [ln for ln in lines if any(k in ln for k in (": error: ", ": note: "))]
    line = "; ".join(located or lines)
    return line.replace(": error: ", ": ", 1)


def compile_args(args, on_progress=None, on_warning=None) -> str:
    """Runs quant-compile with `args` (no program name) in this process;
    returns what it writes to the output "-". `on_progress(event)`: each
    stage event (dict); `on_warning(text)`: warnings and notes. Raises
    ToolError (one line: the compiler's error) on failure."""
    argv = ["quant-compile"] + [os.fspath(a) if isinstance(a, os.PathLike) else str(a)
                                for a in args]
    errors, output = [], []
    raised = []

    def callback(kind, text, _user):
        try:
            s = text.decode("utf-8", "replace")
            if kind == PROGRESS:
                if on_progress is not None:
                    on_progress(json.loads(s))
            elif kind == ERROR:
                errors.append(s)
            elif kind == WARNING:
                if on_warning is not None:
                    on_warning(s)
            elif kind == OUTPUT:
                output.append(s)
        except BaseException as e:  # re-raised after the compile returns
            raised.append(e)

    cb = _CALLBACK(callback)
    arr = (ctypes.c_char_p * len(argv))(*[a.encode() for a in argv])
    with _lock:
        rc = lib().qc_driver_compile(len(argv), arr, cb, None)
    if raised:
        raise raised[0]
    if rc != 0:
        msg = "; ".join(_error_line(e) for e in errors) or "quant-compile failed"
        raise ToolError(msg)
    return "".join(output)
