#!/usr/bin/env bash
# On the GPU machine: the weight-only kernel table (issue: kernel library).
# $1: a case folder from `gen_cases.py --small-m ...` with the anchors'
# marlin/ and marlin_bench.py copied into $1/anchors. Builds the harness,
# checks and times every qc case (CUDA graphs), times cuBLAS fp16 and Marlin
# the same way (marlin_compare.py, one process per baseline), prints the
# joined table. Logs to $OUT. HARNESS_LOG=<file> reuses the qc column of an
# earlier run (its harness log) instead of timing it again.
# Marlin is built with torch's extension loader; the default arch list
# (sm_90a on an H100) is tried first, then sm_90 and compute_80 PTX (JIT by
# the driver); the first build whose own check passes is timed, and the log
# says which (MARLIN_BUILD lines). A build whose check fails is reported, not
# timed, and its first fault is located under compute-sanitizer.
set -uo pipefail
cases="$1"
out="${OUT:-/tmp}"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
# MARLIN_ARCHS: the builds to try, ARCH[:PATCH] each (default below; empty:
# no Marlin column). ARCH: default (torch's list for the card) or a
# TORCH_CUDA_ARCH_LIST entry; PATCH: a marlin_patch.py workaround of the
# CUDA 13.1 ptxas bug that makes the unpatched kernel trap on sm_90.
specs="${MARLIN_ARCHS-default:policy default:nohint default}"
# marlin_env SPEC: the anchors folder and build settings of one build.
marlin_env() {
  local spec="$1" arch="${1%%:*}" patch=""
  [ "$spec" != "$arch" ] && patch="${spec#*:}"
  anchors="$cases/anchors"
  if [ -n "$patch" ]; then
    anchors="/tmp/marlin_anchors_$patch"
    python3 "$here/marlin_patch.py" "$cases/anchors" "$anchors" "$patch" || return 1
  fi
  if [ "$arch" != default ]; then export TORCH_CUDA_ARCH_LIST="$arch"; fi
  export MARLIN_BUILD="/tmp/marlin_build_${spec//[^0-9a-zA-Z]/_}"
}
# Every build compiles on the CPU while the qc cases are timed (minutes of
# nvcc otherwise); the timing below reuses it.
for spec in $specs; do
  (marlin_env "$spec" && python3 - "$anchors" <<'PY'
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("mb", os.path.join(sys.argv[1], "marlin_bench.py"))
mb = importlib.util.module_from_spec(spec); spec.loader.exec_module(mb)
mb.build()
PY
  ) > "$out/prebuild_${spec//[^0-9a-zA-Z]/_}.log" 2>&1 &
done
if [ -n "${HARNESS_LOG:-}" ]; then  # the qc column of an earlier run
  cp "$HARNESS_LOG" "$out/harness.log"; status=0
else
  nvcc -O2 -Xcompiler -fopenmp -o /tmp/qc-harness "$here/harness.cpp" -lcuda || exit 1
  /tmp/qc-harness "$cases" > "$out/harness.log" 2>&1
  status=$?
fi
grep -E "FAIL|failures" "$out/harness.log"
python3 "$here/marlin_compare.py" "$cases/anchors" --which fp16 > "$out/marlin.log" 2>&1 || status=1
wait  # the builds
marlin_ok=0
for spec in $specs; do
  cat "$out/prebuild_${spec//[^0-9a-zA-Z]/_}.log" | grep -E "MARLIN_PATCH|build/load|rror" >> "$out/marlin.log"
  echo "MARLIN_BUILD arch=$spec" >> "$out/marlin.log"
  (marlin_env "$spec" > /dev/null && python3 "$here/marlin_compare.py" "$anchors" --which marlin) \
    > "$out/marlin_$spec.log" 2>&1
  rc=$?
  grep -vE "^\[|nvcc|g\+\+" "$out/marlin_$spec.log" >> "$out/marlin.log"
  if [ $rc = 0 ]; then marlin_ok=1; echo "MARLIN_BUILD arch=$spec: timed" >> "$out/marlin.log"; break; fi
  echo "MARLIN_BUILD arch=$spec: check failed (rc $rc)" >> "$out/marlin.log"
  if [ "$spec" = default ]; then
    (export MARLIN_BUILD=/tmp/marlin_build_default
     compute-sanitizer --tool memcheck --show-backtrace device python3 - "$cases/anchors" <<'PY'
import importlib.util, os, sys, torch
spec = importlib.util.spec_from_file_location("mb", os.path.join(sys.argv[1], "marlin_bench.py"))
mb = importlib.util.module_from_spec(spec); spec.loader.exec_module(mb)
marlin = mb.build(); mb.MS = [1]
mb.safe(mb.check, marlin, 4096, 4096)
PY
    ) 2>&1 | grep -vE "^\[|nvcc|g\+\+" | head -40 >> "$out/marlin.log"
  fi
done
[ $marlin_ok = 1 ] || [ -z "${MARLIN_ARCHS-x}" ] || status=1
grep -E "CHECK|READBW|device|MARLIN_BUILD" "$out/marlin.log"
bw=$(awk '/^READBW/ {print $2; exit}' "$out/marlin.log")
cat "$out/harness.log" "$out/marlin.log" > "$out/all.log"
python3 "$here/marlin_report.py" "$out/all.log" "$cases" --read-bw "${bw:-3.08}" | tee "$out/table.txt"
exit $status
