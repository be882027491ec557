#!/usr/bin/env bash
# On the GPU machine: the frag family's run from a folder made by
# prepare_frag_run.sh ($1, default .gpu-run-frag). Correctness of every
# kernel case against a double CPU loop, compute-sanitizer memcheck on a
# frag subset, the GPU module matrix of the frag programs against the host
# modules, and the weight-only table against cuBLAS fp16 and Marlin
# (run_marlin.sh). Writes at most 8 files to $OUT. PART=check runs the
# first three (a few minutes), PART=marlin the table (its own device call:
# together they can pass the 10-minute limit of one call).
set -uo pipefail
part="${PART:-all}"
dir="${1:-.gpu-run-frag}"
out="${OUT:-/tmp/frag-out}"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
nvcc -O2 -Xcompiler -fopenmp -o /tmp/qc-harness "$here/harness.cpp" -lcuda || exit 1
if [ "$part" != marlin ]; then
/tmp/qc-harness "$dir/chk" > "$out/chk.log" 2>&1
echo "kernel cases: rc $?"; grep -E "FAIL|failures" "$out/chk.log" | head -20
compute-sanitizer --tool memcheck /tmp/qc-harness "$dir/mc" > "$out/memcheck.log" 2>&1
echo "memcheck: rc $?"; grep -E "ERROR SUMMARY" "$out/memcheck.log"
(cd "$dir/mod" && PART=matrix OUT="$out/mod" bash module_correctness.sh > /dev/null 2>&1)
rm -f "$out/mod/log.txt"
echo "module matrix: $(grep -c PASS "$out/mod/table.txt") PASS; others:"
grep -v PASS "$out/mod/table.txt" | head
fi
[ "$part" = check ] && exit 0
OUT="$out/marlin" bash "$here/run_marlin.sh" "$dir/marlin" > "$out/run_marlin.out" 2>&1
echo "marlin table: rc $?"
rm -f "$out/marlin/harness.log" "$out/marlin/marlin.log"
cat "$out/marlin/table.txt"
