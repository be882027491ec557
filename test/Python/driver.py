# quant-compile in process (quant.driver, libQuantDriver.so; issue 14):
# quant.compile twice in one Python process, stage events through the
# progress callback (the --progress=json schema), the modules run by qcrt
# against numpy; a located and an unlocated error, a bad flag and an
# in-process --help each one ToolError line; an exception in the callback
# reaches the caller; the C ABI without arguments; a missing library.
# REQUIRES: quant-py, qcrt, qc-host
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t | FileCheck %s
# CHECK: compile 1: 4 stages, begin/end paired: True
# CHECK: compile 2: 4 stages, begin/end paired: True
# CHECK: same library both times: True
# CHECK: quant.compile 1: 4 stages, ends: 4 module: True
# CHECK: quant.compile 2: 4 stages, ends: 4 module: True
# CHECK: max |err| vs numpy: ok
# CHECK: located: {{.*}}bad.mlir:1:14: expected non-function type
# CHECK: unlocated: output directory '{{.*}}nodir' does not exist
# CHECK: flag: quant-compile: Unknown command line argument '--bogus'.
# CHECK: help: '--help' is only available from the quant-compile executable
# CHECK: after errors: compiles
# CHECK: callback raised: RuntimeError stop
# CHECK: no arguments: 1 [(1, 'qc_driver_compile: no arguments (argv[0] is the program name)')]
# CHECK: forced: QUANT_DRIVER_LIB={{.*}}none.so: no such file
# CHECK: missing: quant: error: cannot find libQuantDriver.so (build the project, or set QUANT_DRIVER_LIB or QUANT_BUILD_DIR)

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

import quant
from quant import driver, runtime
from quant.errors import QuantError, ToolError

out = Path(sys.argv[1])
rng = np.random.default_rng()
w1 = rng.uniform(-1, 1, (48, 64)).astype(np.float32)
w2 = rng.uniform(-1, 1, (32, 48)).astype(np.float32)


def dense(w):
    return "dense<" + str(w.tolist()) + f"> : tensor<{w.shape[0]}x{w.shape[1]}xf32>"


(out / "two.mlir").write_text(f"""
func.func @forward(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {{
  %w1 = arith.constant {dense(w1)}
  %w2 = arith.constant {dense(w2)}
  %h = qc.linear %x, %w1 {{layer = "l1"}} : (tensor<?x64xf32>, tensor<48x64xf32>) -> tensor<?x48xf32>
  %y = qc.linear %h, %w2 {{layer = "l2"}} : (tensor<?x48xf32>, tensor<32x48xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}}
""")

libs = []
for i in (1, 2):
    events = []
    driver.compile_args([out / "two.mlir", "-o", out / f"m{i}"], on_progress=events.append)
    libs.append(id(driver.lib()))
    begins = [e["stage"] for e in events if e["state"] == "begin"]
    ends = [e["stage"] for e in events if e["state"] == "end"]
    paired = (begins == ends and all(e["event"] == "stage" for e in events)
              and all(e["seconds"] >= 0 for e in events if e["state"] == "end"))
    print(f"compile {i}: {len(begins)} stages, begin/end paired: {paired}")
print("same library both times:", libs[0] == libs[1])

# quant.compile (the package's API) on an imported model, twice: its
# progress callback receives the same events.
sys.path.insert(0, str(Path(__file__).parent / "Inputs"))
import hf_models  # noqa: E402
hf_models.make("llama3", out / "llama3", seed=5)
ir = quant.import_model(out / "llama3", out / "llama3.mlir", max_seq=16)
policy = {"format": "qc-policy", "version": 1,
          "rules": [{"match": "blk.*", "scheme": {"weight": "i8", "granularity": "per_channel"}}]}
for i in (1, 2):
    events = []
    prefix = quant.compile(ir, policy=policy, out=out / f"llama{i}", progress=events.append)
    states = [e["state"] for e in events]
    print(f"quant.compile {i}: {states.count('begin')} stages,",
          "ends:", states.count("end"), "module:", Path(str(prefix) + ".so").exists())

x = rng.uniform(-1, 1, (5, 64)).astype(np.float32)
ref = (x.astype(np.float64) @ w1.T.astype(np.float64)) @ w2.T.astype(np.float64)
for i in (1, 2):
    (y,) = runtime.Module(out / f"m{i}")(x)
    err = np.abs(y - ref).max()
    assert err < 1e-4, err
print("max |err| vs numpy: ok")


def error_of(args, **kw):
    try:
        driver.compile_args(args, **kw)
    except ToolError as e:
        assert "\n" not in str(e), repr(str(e))
        return str(e)
    raise AssertionError("no error")


(out / "bad.mlir").write_text("func.func @f( {\n")
print("located:", error_of([out / "bad.mlir", "-o", out / "b"]))
print("unlocated:", error_of([out / "two.mlir", "-o", out / "nodir" / "b"]))
print("flag:", error_of([out / "two.mlir", "-o", out / "b", "--bogus"]))
print("help:", error_of(["--help"]))
driver.compile_args([out / "two.mlir", "-o", out / "m3"])
print("after errors: compiles")


def stop(event):
    raise RuntimeError("stop")


try:
    driver.compile_args([out / "two.mlir", "-o", out / "m4"], on_progress=stop)
except RuntimeError as e:
    print("callback raised:", type(e).__name__, e)

seen = []
cb = driver._CALLBACK(lambda k, t, u: seen.append((k, t.decode())))
rc = driver.lib().qc_driver_compile(0, None, cb, None)
print("no arguments:", rc, seen)

env = dict(os.environ, QUANT_DRIVER_LIB=str(out / "none.so"))
r = subprocess.run([sys.executable, "-c", "from quant import driver; driver.library_path()"],
                   env=env, capture_output=True, text=True)
print("forced:", r.stderr.strip().splitlines()[-1].split(": ", 1)[1])
# A copy of the package with no library beside it and no build directory.
pkg = out / "pkg"
shutil.copytree(Path(quant.__file__).parent, pkg / "quant",
                ignore=shutil.ignore_patterns("_lib", "_bin", "__pycache__"))
env = {k: v for k, v in os.environ.items()
       if k not in ("QUANT_DRIVER_LIB", "QUANT_BUILD_DIR")}
env["PYTHONPATH"] = str(pkg)
r = subprocess.run([sys.executable, "-m", "quant", "compile", str(out / "two.mlir"), "-o",
                    str(out / "m5")], env=env, capture_output=True, text=True, cwd=out)
print("missing:", r.stderr.strip().split(";")[0])
