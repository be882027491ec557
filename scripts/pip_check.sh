#!/usr/bin/env bash
# `pip install .` into a fresh virtual environment and the installed package
# used from outside the source tree (issue 14; part of scripts/test.sh):
# python -m quant --help, the tools as console scripts, a module compiled
# by the installed quant-compile and one by the installed compile library
# in process (quant.driver), run by the installed runtime through
# DLPack, checked against numpy. The wheel is built by scikit-build-core in
# the configured ./build with the system python3 (so nothing is compiled
# twice and the build tree keeps a valid configuration), then installed
# into the fresh environment; scikit-build-core comes from scripts/setup.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${QC_BUILD_DIR:-$root/build}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip wheel -q --no-build-isolation --no-deps "$root" -w "$work/dist" \
  --config-settings=build-dir="$build" > "$work/pip.log" 2>&1 ||
  { cat "$work/pip.log"; echo "pip_check: building the wheel failed" >&2; exit 1; }
python3 -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install -q --no-deps "$work"/dist/quant-*.whl \
  > "$work/pip.log" 2>&1 ||
  { cat "$work/pip.log"; echo "pip_check: installing the wheel failed" >&2; exit 1; }
cd "$work"  # not the source tree: only the installed package is found
unset PYTHONPATH QUANT_BUILD_DIR QCRT_LIB
py="$work/venv/bin/python"
"$py" -m quant --help > help.txt
grep -q "usage:" help.txt
"$work/venv/bin/quant-compile" --list-targets | grep -q "^host"
cat > lin.mlir <<'MLIR'
func.func @f(%x: tensor<?x16xf32>, %w: tensor<8x16xf32>) -> tensor<?x8xf32> {
  %y = qc.linear %x, %w {layer = "l"} : (tensor<?x16xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
MLIR
"$work/venv/bin/quant-opt" lin.mlir -o /dev/null
"$py" - <<'PY'
import numpy as np
import quant
from quant import runtime
assert "site-packages" in quant.__file__, quant.__file__
tool = quant.find_tool("quant-compile")
assert "site-packages" in tool, tool
rng = np.random.default_rng()
w = rng.uniform(-1, 1, (8, 16)).astype(np.float32)
text = open("lin.mlir").read().replace(
    "%w: tensor<8x16xf32>) -> tensor<?x8xf32> {", ") -> tensor<?x8xf32> {\n  %w = arith.constant dense<"
    + str(w.tolist()) + "> : tensor<8x16xf32>").replace("(%x: tensor<?x16xf32>, )", "(%x: tensor<?x16xf32>)")
open("lin2.mlir", "w").write(text)
import subprocess
subprocess.run([tool, "lin2.mlir", "-o", "lin"], check=True)
# The same compile in process: the installed compile library (quant.driver).
from quant import driver
assert "site-packages" in str(driver.library_path()), driver.library_path()
events = []
driver.compile_args(["lin2.mlir", "-o", "lin_inproc"], on_progress=events.append)
assert events and events[-1]["state"] == "end", events
assert "site-packages" in str(runtime._find_lib())
x = rng.uniform(-1, 1, (5, 16)).astype(np.float32)
ref = x.astype(np.float64) @ w.astype(np.float64).T
for prefix in ("lin", "lin_inproc"):
    (y,) = runtime.Module(prefix)(x)
    err = np.abs(y - ref).max()
    assert err < 1e-5, (prefix, err)
print(f"pip_check: installed package OK (tools, runtime and compile library from "
      f"site-packages, max |err| {err:.1e})")
PY
