#!/usr/bin/env bash
# Real models on the GPU, from a folder made by prepare_model_run.sh (see
# there): builds qcrt (CUDA driver API, needs cuda.h), runs every sm_90
# module of */manifest.json through the python package and qcrt, compares
# with the host references and prints a table ($OUT/table.md, default
# ./out). Exit status 1 if a check fails.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export OUT="${OUT:-$here/out}"
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader
date -u
build=/tmp/qcrt-models-build
cmake -S "$here/rt/lib/Runtime" -B "$build" -DCMAKE_BUILD_TYPE=Release >/tmp/qcrt-cmake.log 2>&1 \
  || { cat /tmp/qcrt-cmake.log; exit 1; }
grep "qcrt:" /tmp/qcrt-cmake.log
cmake --build "$build" -j8 2>&1 | grep -E "error|warning"
lib=$(find "$build" -name libqcrt.so | head -1)
[ -n "$lib" ] || { echo "runtime build failed (no libqcrt.so)"; exit 1; }
export QCRT_LIB="$lib"
export PYTHONPATH="$here/python${PYTHONPATH:+:$PYTHONPATH}"
python3 "$here/model_run.py" run "$here" "$@"
