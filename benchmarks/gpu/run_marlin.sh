#!/usr/bin/env bash
# On the GPU machine: the weight-only kernel table (issue: kernel library).
# $1: a case folder from `gen_cases.py --small-m ...` with the anchors'
# marlin/ and marlin_bench.py copied into $1/anchors. Builds the harness,
# checks and times every qc case (CUDA graphs), times cuBLAS fp16 and Marlin
# the same way (marlin_compare.py), prints the joined table. Logs to $OUT.
set -uo pipefail
cases="$1"
out="${OUT:-/tmp}"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
nvcc -O2 -Xcompiler -fopenmp -o /tmp/qc-harness "$here/harness.cpp" -lcuda || exit 1
/tmp/qc-harness "$cases" > "$out/harness.log" 2>&1
status=$?
grep -E "FAIL|failures" "$out/harness.log"
python3 "$here/marlin_compare.py" "$cases/anchors" > "$out/marlin.log" 2>&1 || status=1
grep -E "CHECK|READBW|device" "$out/marlin.log"
bw=$(awk '/^READBW/ {print $2}' "$out/marlin.log")
cat "$out/harness.log" "$out/marlin.log" > "$out/all.log"
python3 "$here/marlin_report.py" "$out/all.log" "$cases" --read-bw "${bw:-3.08}" | tee "$out/table.txt"
exit $status
