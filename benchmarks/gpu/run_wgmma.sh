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
#   mma*/ gen_cases.py --gemv none tensor-core folders: the wgmma fp16 and
#         INT8 GEMMs (--chip sm_90a: correctness + M = 1024 / 4096 timings;
#         more folders: tiling variants, or --chip sm_90 mma.sync); without
#         chk/ the baselines are timed for mma/'s shapes
# Every folder is optional. MMA_MS=128,256,... sets the M rows of mma/'s
# timing cases and of the baselines (default 1024,4096).
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
if [ -d "$dir/chk" ]; then
  # SASS: the wgmma variant must run on HGMMA (a matrix kernel with only
  # HMMA is on the slower mma.sync path).
  p=$(ls "$dir"/chk/*_fw.ptx | head -1)
  ptxas -arch=sm_90a "$p" -o /tmp/wg.cubin && cuobjdump -sass /tmp/wg.cubin > /tmp/wg.sass
  echo "SASS of $(basename "$p"): HGMMA $(grep -c HGMMA /tmp/wg.sass), HMMA $(grep -c 'HMMA' /tmp/wg.sass)"
  /tmp/qc-harness "$dir/chk" > "$out/chk.log" 2>&1
  echo "kernel cases: rc $?"; grep -E "FAIL|failures|error" "$out/chk.log" | head -20
  grep -E "_fw|_f32|womma" "$out/chk.log" | grep -E " (1024|4096) " | head -40
fi
# cuBLAS fp16 / torch._int_mm of the timing shapes (same run, same card).
for d in chk mma; do
  [ -d "$dir/$d" ] || continue
  QC_MMA_MS="${MMA_MS:-1024,4096}" python3 "$here/torch_baseline.py" "$dir/$d" \
    > "$out/baseline.log" 2>&1
  cat "$out/baseline.log"
  break
done
# Tensor-core GEMM folders (gen_cases.py --gemv none): mma* in name order.
for d in "$dir"/mma*; do
  [ -d "$d" ] || continue
  b=$(basename "$d")
  p=$(ls "$d"/*int8_4096x4096.ptx 2>/dev/null | head -1)
  if [ -n "$p" ] && grep -q "^.target sm_90a" "$p"; then
    ptxas -arch=sm_90a "$p" -o /tmp/i8.cubin && cuobjdump -sass /tmp/i8.cubin > /tmp/i8.sass
    echo "$b SASS of $(basename "$p"): IGMMA $(grep -c 'IGMMA' /tmp/i8.sass), IMMA $(grep -c 'IMMA' /tmp/i8.sass)"
  fi
  # MMA_MS: the M sweep of mma/'s timing cases (the baselines use it too).
  ms=1024,4096
  [ "$b" = mma ] && ms="${MMA_MS:-1024,4096}"
  # (A hung kernel -- a pipeline deadlock -- costs at most 4 minutes.)
  QC_MMA_MS="$ms" timeout 240 /tmp/qc-harness "$d" > "$out/$b.log" 2>&1
  echo "$b cases: rc $?"; grep -E "FAIL|failures" "$out/$b.log" | head
  grep -E "^MMATIME" "$out/$b.log"
done
# The sanitizer subset of a gen_cases.py tensor-core folder $1: one INT8,
# one fp16 and one FP8 check case (their case lines and PTX) into $2.
pick_mma_cases() {
  grep -E "^(m0_int8_300x448|m5_fp16_77x200|m13_fp8_300x448) " "$1/mma_cases.txt" > "$2/mma_cases.txt"
  for c in $(awk '{print $1}' "$2/mma_cases.txt"); do cp "$1/$c.ptx" "$2/"; done
}
# memcheck (and racecheck with RACECHECK=1) on small cases: two of the
# frag wgmma variant (chk), one INT8, one fp16 and one FP8 wgmma GEMM (mma).
rm -rf /tmp/mc && mkdir -p /tmp/mc
: > /tmp/mc/cases.txt
: > /tmp/mc/mma_cases.txt
if [ -d "$dir/chk" ]; then
  grep -E "_fw " "$dir/chk/cases.txt" | grep check | awk 'NR == 1 || NR == 9' > /tmp/mc/cases.txt
  for c in $(awk '{print $1}' /tmp/mc/cases.txt); do cp "$dir/chk/$c.ptx" /tmp/mc/; done
fi
[ -d "$dir/mma" ] && pick_mma_cases "$dir/mma" /tmp/mc
compute-sanitizer --tool memcheck /tmp/qc-harness /tmp/mc > "$out/memcheck.log" 2>&1
echo "memcheck: rc $?"; grep -E "ERROR SUMMARY" "$out/memcheck.log"
if [ -n "${RACECHECK:-}" ]; then
  timeout 240 compute-sanitizer --tool racecheck /tmp/qc-harness /tmp/mc > "$out/racecheck.log" 2>&1
  echo "racecheck: rc $?"; grep -E "RACECHECK SUMMARY|ERROR SUMMARY" "$out/racecheck.log"
fi
# The TMA pipeline's kernels (folders mma*_tma*, gen_cases.py --opts
# wgmma-tma): memcheck and racecheck (mbarrier hand-offs) of one INT8, one
# fp16 and one FP8 case each.
for d in "$dir"/mma*_tma*; do
  [ -f "$d/mma_cases.txt" ] || continue
  b=$(basename "$d")
  rm -rf /tmp/mct && mkdir -p /tmp/mct
  : > /tmp/mct/cases.txt
  pick_mma_cases "$d" /tmp/mct
  [ -s /tmp/mct/mma_cases.txt ] || continue
  timeout 180 compute-sanitizer --tool memcheck /tmp/qc-harness /tmp/mct > "$out/$b-memcheck.log" 2>&1
  echo "$b memcheck: rc $?"; grep -E "ERROR SUMMARY" "$out/$b-memcheck.log"
  timeout 180 compute-sanitizer --tool racecheck /tmp/qc-harness /tmp/mct > "$out/$b-racecheck.log" 2>&1
  echo "$b racecheck: rc $?"; grep -E "RACECHECK SUMMARY|ERROR SUMMARY" "$out/$b-racecheck.log"
done
if [ -d "$dir/mod" ]; then
  (cd "$dir/mod" && PART=matrix OUT="$out/mod" bash module_correctness.sh > /dev/null 2>&1)
  rm -f "$out/mod/log.txt"
  echo "module matrix: $(grep -c PASS "$out/mod/table.txt") PASS; others:"
  grep -v PASS "$out/mod/table.txt" | head -20
fi
