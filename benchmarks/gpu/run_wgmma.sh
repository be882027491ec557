#!/usr/bin/env bash
# On the GPU machine (Hopper): the frag family's wgmma variant (sm_90a) from
# a folder made on the compile machine ($1, default .gpu-run-wg):
#   chk/  gen_cases.py cases (kernel_kind frag_wgmma: correctness of every
#         scheme against a double CPU loop; timep: M = 1024 / 4096 of the
#         Llama shapes for the wgmma variant, the frag mma.sync variant and
#         the old weight-only mma kernel) plus the cuBLAS fp16 baseline of
#         the same shapes (torch_baseline.py, same run, same card)
#   mod/  prepare_module_run.sh folder of the frag programs (variants frag
#         and frag_90a: whole GPU modules against the host modules)
#   mma/, mma2/  gen_cases.py --chip sm_90a --gemv none tensor-core cases:
#         the wgmma fp16 GEMM (correctness + M = 1024 / 4096 timings; mma2: a
#         tiling variant) and the INT8 GEMM
# Prints the SASS instruction check (HGMMA present), the case results, a
# memcheck of a subset and the module matrix; logs to $OUT.
set -uo pipefail
dir="${1:-.gpu-run-wg}"
out="${OUT:-/tmp/wg-out}"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader
date -u
nvcc -O2 -Xcompiler -fopenmp -o /tmp/qc-harness "$here/harness.cpp" -lcuda || exit 1
# SASS: the wgmma variant must run on HGMMA (a matrix kernel with only HMMA
# is on the slower mma.sync path).
p=$(ls "$dir"/chk/*_fw.ptx | head -1)
ptxas -arch=sm_90a "$p" -o /tmp/wg.cubin && cuobjdump -sass /tmp/wg.cubin > /tmp/wg.sass
echo "SASS of $(basename "$p"): HGMMA $(grep -c HGMMA /tmp/wg.sass), HMMA $(grep -c 'HMMA' /tmp/wg.sass)"
/tmp/qc-harness "$dir/chk" > "$out/chk.log" 2>&1
echo "kernel cases: rc $?"; grep -E "FAIL|failures|error" "$out/chk.log" | head -20
grep -E "_fw|_f32|womma" "$out/chk.log" | grep -E " (1024|4096) " | head -40
python3 "$here/torch_baseline.py" "$dir/chk" > "$out/baseline.log" 2>&1
cat "$out/baseline.log"
for d in mma mma2; do
  [ -d "$dir/$d" ] || continue
  /tmp/qc-harness "$dir/$d" > "$out/$d.log" 2>&1
  echo "$d cases: rc $?"; grep -E "FAIL|failures" "$out/$d.log" | head
  grep -E "^MMATIME" "$out/$d.log"
done
# memcheck / racecheck on two small wgmma cases.
mkdir -p /tmp/mc
grep -E "_fw " "$dir/chk/cases.txt" | grep check | awk 'NR == 1 || NR == 9' > /tmp/mc/cases.txt
: > /tmp/mc/mma_cases.txt
for c in $(awk '{print $1}' /tmp/mc/cases.txt); do cp "$dir/chk/$c.ptx" /tmp/mc/; done
compute-sanitizer --tool memcheck /tmp/qc-harness /tmp/mc > "$out/memcheck.log" 2>&1
echo "memcheck: rc $?"; grep -E "ERROR SUMMARY" "$out/memcheck.log"
[ -n "${RACECHECK:-}" ] && compute-sanitizer --tool racecheck /tmp/qc-harness /tmp/mc > "$out/racecheck.log" 2>&1
echo "racecheck: rc $?"; grep -E "RACECHECK SUMMARY|ERROR SUMMARY" "$out/racecheck.log"
if [ -d "$dir/mod" ]; then
  (cd "$dir/mod" && PART=matrix OUT="$out/mod" bash module_correctness.sh > /dev/null 2>&1)
  rm -f "$out/mod/log.txt"
  echo "module matrix: $(grep -c PASS "$out/mod/table.txt") PASS; others:"
  grep -v PASS "$out/mod/table.txt" | head -20
fi
