#!/usr/bin/env bash
# The main job: builds quant and runs the bundled example model through the
# compiler.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh" quant-opt
"$root/build/bin/quant-opt" "$root/examples/mlp.mlir"
