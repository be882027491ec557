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
