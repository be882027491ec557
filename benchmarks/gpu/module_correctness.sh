#!/usr/bin/env bash
# GPU module correctness matrix, run on the GPU machine from a prepared
# folder (see benchmarks/gpu/prepare_module_run.sh):
#   rt/        lib/Runtime, include/qc/Runtime, tools/quant-run (sources)
#   cases/     cases.txt; <name>.sm_90.{so,qcw}; <name>/m<M>/in_0.npy and
#              ref.npy (the host module's output, made with quant-run on
#              the compile machine); sm_80 module for the mismatch check
# Prints one line per case (max relative error vs the host module) and
# writes $OUT/table.txt and $OUT/log.txt.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
OUT="${OUT:-$here/out}"
mkdir -p "$OUT"
log="$OUT/log.txt"
exec > >(tee "$log") 2>&1
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader
date -u

cmake -S "$here/rt/lib/Runtime" -B /tmp/qcrt-build -DCMAKE_BUILD_TYPE=Release >/tmp/cmake.log 2>&1 || { cat /tmp/cmake.log; exit 1; }
grep "qcrt:" /tmp/cmake.log
cmake --build /tmp/qcrt-build -j8 2>&1 | grep -E "error|warning" ; true
QR=/tmp/qcrt-build/bin/quant-run
[ -x "$QR" ] || { echo "runtime build failed"; exit 1; }

cases="$here/cases"
table="$OUT/table.txt"
: > "$table"
printf "%-24s %4s %5s %-8s %s\n" program M dtype mode result | tee -a "$table"
fails=0
[ "${PART:-all}" = extra ] && : > /tmp/no-cases || cp "$cases/cases.txt" /tmp/no-cases
while read -r name m dtype; do
  for mode in host device; do
    d="$cases/$name/m$m"
    o="/tmp/out/$name/m$m/$mode"
    mkdir -p "$o"
    flag=""
    [ "$mode" = device ] && flag="--device-buffers"
    if ! "$QR" "$cases/$name.sm_90" --input "$d/in_0.npy" --output-dir "$o" $flag > "$o/run.txt" 2>&1; then
      res="RUN-FAILED: $(tail -1 "$o/run.txt")"; fails=$((fails+1))
    else
      res=$(python3 "$here/gpu_cases.py" compare "$d/ref.npy" "$o/out_0.npy")
    fi
    printf "%-24s %4s %5s %-8s %s\n" "$name" "$m" "$dtype" "$mode" "$res" | tee -a "$table"
  done
done < /tmp/no-cases

echo "== mismatch: sm_80 module on this device"
"$QR" "$cases/mismatch.sm_80" --random-inputs --dim 3 2>&1 | tail -1 | tee -a "$table"
echo "== bad device ordinal"
QCRT_CUDA_DEVICE=7 "$QR" "$cases/w8t_k64_n40.sm_90" --random-inputs --dim 3 2>&1 | tail -1 | tee -a "$table"
echo "== PTX-only (JIT) module"
mkdir -p /tmp/out/jit /tmp/out/san
if "$QR" "$cases/jit.sm_90" --input "$cases/w4g32_k96_n160/m3/in_0.npy" --output-dir /tmp/out/jit > /tmp/out/jit.txt 2>&1; then
  echo "jit w4g32_k96_n160 m3: $(python3 "$here/gpu_cases.py" compare "$cases/w4g32_k96_n160/m3/ref.npy" /tmp/out/jit/out_0.npy)" | tee -a "$table"
else
  echo "jit FAILED: $(tail -1 /tmp/out/jit.txt)" | tee -a "$table"
fi

echo "== compute-sanitizer memcheck (small subset)"
for c in "w4g32_k96_n160 3" "w8_k200_n136 333" "w4g32a_k160_n96 1" "w4g64_k256_n384_f16 64"; do
  set -- $c
  r=$(compute-sanitizer --tool memcheck --leak-check full --error-exitcode 9 \
      "$QR" "$cases/$1.sm_90" --input "$cases/$1/m$2/in_0.npy" --output-dir /tmp/out/san 2>&1)
  rc=$?
  cmp=$(python3 "$here/gpu_cases.py" compare "$cases/$1/m$2/ref.npy" /tmp/out/san/out_0.npy 2>&1)
  echo "memcheck $1 m$2 rc=$rc: $(echo "$r" | grep -E "ERROR SUMMARY|LEAK SUMMARY|rror" | head -3 | tr '\n' ' ') $cmp" | tee -a "$table"
  r=$(compute-sanitizer --tool memcheck --error-exitcode 9 \
      "$QR" "$cases/$1.sm_90" --input "$cases/$1/m$2/in_0.npy" --output-dir /tmp/out/san --device-buffers 2>&1)
  rc=$?
  echo "memcheck --device-buffers $1 m$2 rc=$rc: $(echo "$r" | grep -E "ERROR SUMMARY|rror" | head -3 | tr '\n' ' ')" | tee -a "$table"
done
echo "fails=$fails"
