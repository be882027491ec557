#!/usr/bin/env bash
# On the GPU machine: builds the harness, checks and times every compiled
# kernel case in $1 (default .gpu-cases) and in any further case folders
# ($2...: tiling variants), measures the cuBLAS / torch._int_mm baselines of
# $1 in the same run, and prints the speedup tables. Logs go to $OUT when set.
set -uo pipefail
cases="${1:-.gpu-cases}"
out="${OUT:-/tmp}"
here="$(cd "$(dirname "$0")" && pwd)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
nvcc -O2 -Xcompiler -fopenmp -o /tmp/qc-harness "$here/harness.cpp" -lcuda || exit 1
/tmp/qc-harness "$cases" 2>&1 | tee "$out/harness.log"
status=${PIPESTATUS[0]}
# Further case folders (e.g. tiling variants, gen_cases.py --tag): timed too.
for extra in "${@:2}"; do
  /tmp/qc-harness "$extra" 2>&1 | tee -a "$out/harness.log"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
done
python3 "$here/torch_baseline.py" "$cases" 2>&1 | tee "$out/baseline.log"
cat "$out/harness.log" "$out/baseline.log" > "$out/all.log"
python3 "$here/report.py" "$out/all.log" | tee "$out/table.txt"
exit $status
