# -*- Python -*-
# lit configuration for the quant regression tests.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "QUANT"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test", ".py"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.quant_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%quant_src_root", config.quant_src_root))
config.substitutions.append(("%quant_obj_root", config.quant_obj_root))
config.substitutions.append(("%python", config.python_executable))

# Captured names must be re-captured in every CHECK-LABEL block.
config.environment["FILECHECK_OPTS"] = "--enable-var-scope"

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.quant_tools_dir, append_path=True)
llvm_config.with_environment(
    "PYTHONPATH", os.path.join(config.quant_src_root, "python"), append_path=True
)

tools = [
    ToolSubst("quant-opt", unresolved="fatal"),
]
llvm_config.add_tool_substitutions(tools, [config.quant_tools_dir, config.llvm_tools_dir])

if config.ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", config.ptxas))

# Module emission and the runtime (test/Integration).
llvm_config.add_tool_substitutions(
    [ToolSubst("quant-compile", unresolved="fatal"),
     ToolSubst("quant-run", unresolved="fatal")],
    [config.quant_tools_dir],
)
config.substitutions.append(("%qc_include", os.path.join(config.quant_src_root, "include")))
config.substitutions.append(("%qc_libdir", os.path.join(config.quant_obj_root, "lib")))
config.substitutions.append(
    ("%qctest", (config.python_executable or "python3") + " "
     + os.path.join(config.quant_src_root, "test", "Integration", "Inputs", "qctest.py")))
# Tests of qc ops through quant-compile need the host lowering pipeline.
if os.path.exists(os.path.join(config.quant_src_root, "lib", "Pipelines", "HostPipeline.cpp")):
    config.available_features.add("host-pipeline")

# test/Python (the quant Python package). %python must be a Python 3 with the
# package's dependencies (scripts/setup.sh pip-installs them for the
# `python3` on PATH); lit itself may run under another interpreter, and
# CMake may not have found one. Features: `quant-py` when the dependencies
# import, `models` when the real models and texts are cached
# (scripts/setup.sh fetches them into $QUANT_CACHE or ~/.cache/quant).
import shutil
import subprocess
import sys


def _quant_python():
    cands = [config.python_executable, shutil.which("python3", path=os.environ.get("PATH")),
             sys.executable]
    probe = "import numpy, yaml, gguf, tokenizers, safetensors, tqdm"
    for c in cands:
        if c and subprocess.call([c, "-c", probe], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL) == 0:
            return c, True
    return next((c for c in cands if c), "python3"), False


_qpy, _qpy_ok = _quant_python()
config.substitutions = [(k, _qpy if k == "%python" else v) for k, v in config.substitutions]
config.environment["QUANT_CACHE"] = os.environ.get(
    "QUANT_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "quant"))
if _qpy_ok:
    config.available_features.add("quant-py")
    _env = dict(os.environ, QUANT_CACHE=config.environment["QUANT_CACHE"],
                PYTHONPATH=os.path.join(config.quant_src_root, "python"))
    if subprocess.call([_qpy, "-c", "import sys, quant.data as d; "
                        "sys.exit(0 if d.models_available() else 1)"], env=_env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
        config.available_features.add("models")
if os.path.exists(os.path.join(config.quant_src_root, "lib", "Pipelines", "QuantizePipeline.cpp")):
    config.available_features.add("quantize-pipeline")

# Compiled-module tests (test/Python/compiled_*.py): need quant-compile and
# libqcrt from this build (feature `qcrt`); the qc-op variant also needs the
# host lowering of the qc dialect (feature `qc-host`).
config.environment["QUANT_BUILD_DIR"] = config.quant_obj_root
if os.path.exists(os.path.join(config.quant_tools_dir, "quant-compile")) and \
        os.path.exists(os.path.join(config.quant_obj_root, "lib", "libqcrt.so")):
    config.available_features.add("qcrt")
try:
    _opt_help = subprocess.run([os.path.join(config.quant_tools_dir, "quant-opt"), "--help"],
                               capture_output=True, text=True).stdout
    if "convert-qc-to-linalg" in _opt_help:
        config.available_features.add("qc-host")
except OSError:
    pass

# Reliability (docs/reliability.md): ThreadSanitizer builds of the runtime
# (feature `tsan`) and the libFuzzer targets' short runs (features
# `fuzz-<target>` for each binary in $QC_FUZZ_BUILD_DIR/bin, default
# <source>/build-fuzz, built by scripts/fuzz.sh).
import tempfile


def _clang_can(flags):
    clang = shutil.which("clang++")
    if not clang:
        return False
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "t.cpp")
        with open(src, "w") as f:
            f.write("#include <thread>\nint main(){std::thread t([]{}); t.join();}\n")
        return subprocess.call([clang, "-std=c++17"] + flags + [src, "-lpthread", "-o",
                                os.path.join(d, "t")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL) == 0


if _clang_can(["-fsanitize=thread"]):
    config.available_features.add("tsan")
_fuzz_dir = os.environ.get("QC_FUZZ_BUILD_DIR",
                           os.path.join(config.quant_src_root, "build-fuzz"))
config.substitutions.append(("%fuzz_bin", os.path.join(_fuzz_dir, "bin")))
for _t in ("npy", "qcw", "module-info", "mlir", "policy", "stats"):
    if os.path.exists(os.path.join(_fuzz_dir, "bin", "qc-fuzz-" + _t)):
        config.available_features.add("fuzz-" + _t)

# scripts/test.sh --sanitize: the tree is built with ASan + UBSan. An
# uninstrumented Python cannot load the ASan runtime through ctypes, so the
# Python-package features are dropped (those tests are UNSUPPORTED there).
if os.environ.get("QC_SANITIZED"):
    config.available_features.add("asan")
    for _f in ("quant-py", "models", "qcrt"):
        config.available_features.discard(_f)
    for _k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if _k in os.environ:
            config.environment[_k] = os.environ[_k]
