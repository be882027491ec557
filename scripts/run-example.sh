#!/usr/bin/env bash
# The main job: installs what is missing (scripts/setup.sh: packages and the
# SmolLM2-135M-Instruct checkpoint), builds quant, then runs
# `python -m quant chat`: import the model, compile it with quant-compile
# under examples/policy-default.yaml (cached: a second run starts at once),
# answer a prompt streaming tokens through the compiled @decode, and print
# the per-layer schemes, weight bytes and times.
#
#   ./scripts/run-example.sh [--prompt TEXT] [--max-tokens N] [--layers N] ...
#
# Every option is passed to `python -m quant chat` (see --help).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
echo "run-example: building quant-compile and the runtime" >&2
"$root/scripts/build.sh" quant-compile quant-opt qcrt
export QUANT_BUILD_DIR="${QC_BUILD_DIR:-$root/build}"
PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}" exec python3 -m quant chat "$@"
