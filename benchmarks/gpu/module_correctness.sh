#!/usr/bin/env bash
# GPU module correctness matrix, run on the GPU machine from a prepared
# folder (see benchmarks/gpu/prepare_module_run.sh):
#   rt/        lib/Runtime, include/qc/Runtime, tools/quant-run (sources)
#   cases/     cases.txt (program variant M dtype tolerance seed);
#              <program>.<variant>.sm_90.{so,qcw}; <program>/m<M>/ref.npy
#              (the host module's output on the seeded random inputs
#              quant-run --random-inputs --seed <seed> --dim <M>, made on the
#              compile machine); sm_80 module for the mismatch check
# Prints one line per case (max relative error vs the host module, PASS or
# FAIL against the case's tolerance) and writes $OUT/table.txt and
# $OUT/log.txt. PART=extra skips the matrix (only the extra checks),
# PART=matrix skips the extra checks.
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
printf "%-22s %-4s %4s %5s %-6s %s\n" program kern M dtype mode result | tee -a "$table"
fails=0
[ "${PART:-all}" = extra ] && : > /tmp/no-cases || cp "$cases/cases.txt" /tmp/no-cases
while read -r name variant m dtype tol seed; do
  for mode in host device; do
    o="/tmp/out/$name.$variant/m$m/$mode"
    mkdir -p "$o"
    flag=""
    [ "$mode" = device ] && flag="--device-buffers"
    if ! "$QR" "$cases/$name.$variant.sm_90" --random-inputs --seed "$seed" --dim "$m" \
        --output-dir "$o" $flag > "$o/run.txt" 2>&1; then
      res="RUN-FAILED: $(tail -1 "$o/run.txt")"
    else
      # Prefill attention: errors relative to each output row's max.
      rowflag=""
      case "$name" in attn_prefill_*) rowflag="--per-row" ;; esac
      res=$(python3 "$here/gpu_cases.py" compare "$cases/$name/m$m/ref.npy" "$o/out_0.npy" --tol "$tol" $rowflag)
    fi
    case "$res" in *PASS) ;; *) fails=$((fails+1)) ;; esac
    printf "%-22s %-4s %4s %5s %-6s %s (tol %s)\n" "$name" "$variant" "$m" "$dtype" "$mode" "$res" "$tol" | tee -a "$table"
  done
done < /tmp/no-cases

if [ "${PART:-all}" = matrix ]; then echo "fails=$fails"; exit 0; fi
echo "== mismatch: sm_80 module on this device"
"$QR" "$cases/mismatch.sm_80" --random-inputs --dim 3 2>&1 | tail -1 | tee -a "$table"
echo "== bad device ordinal"
QCRT_CUDA_DEVICE=7 "$QR" "$cases/w8t_k72_n40.gemv.sm_90" --random-inputs --dim 3 2>&1 | tail -1 | tee -a "$table"
# seed of a case: program variant M -> the seed column of cases.txt
seed_of() { awk -v n="$1" -v v="$2" -v m="$3" '$1 == n && $2 == v && $3 == m { print $6; exit }' "$cases/cases.txt"; }
echo "== PTX-only (JIT) module (w4g32_k96_n160_f16, mma)"
mkdir -p /tmp/out/jit /tmp/out/san
s=$(seed_of w4g32_k96_n160_f16 mma 333)
if "$QR" "$cases/jit.sm_90" --random-inputs --seed "$s" --dim 333 --output-dir /tmp/out/jit > /tmp/out/jit.txt 2>&1; then
  echo "jit w4g32_k96_n160_f16 mma m333: $(python3 "$here/gpu_cases.py" compare "$cases/w4g32_k96_n160_f16/m333/ref.npy" /tmp/out/jit/out_0.npy --tol 4e-3)" | tee -a "$table"
else
  echo "jit FAILED: $(tail -1 /tmp/out/jit.txt)" | tee -a "$table"
fi

echo "== compute-sanitizer memcheck (subset: every kernel kind)"
for c in "w4g32_k96_n160 gemv 3" "w8_k200_n136 gemv 333" "w4g32a_k160_n96_f16 mma 333" \
         "w8_k208_n144_f16 mma 64" "w8a8d_k112_n176 auto 64" "w8a8s_k96_n80_f16 auto 333" \
         "fp16_k72_n200_f16 auto 333" "ad8_k80_n208 auto 3" "ad8_k80_n208_f16 auto 64" \
         "multi_block_k32 auto 3" "multi_block_k32 auto 333" \
         "rms_k4097 auto 333" "ln_k4096_f16 auto 64" "attn_t7_h9kv3_d64 auto 3" \
         "attn_t1_h8kv2_d128_f16 auto 1" "attn_t20_h9kv3_d64 auto 3" \
         "w8_k96_n1024_f16 frag 3" "w4g32_k1024_n160_f16 frag 333" \
         "w4g128_k128_n384_f16 gemv_mma_np 1" "w8_k200_n136 gemv_np 1"; do
  set -- $c
  [ -f "$cases/$1.$2.sm_90.so" ] || { echo "memcheck $1 $2 m$3: not prepared"; continue; }
  s=$(seed_of "$1" "$2" "$3")
  rm -f /tmp/out/san/out_0.npy
  r=$(compute-sanitizer --tool memcheck --leak-check full --error-exitcode 9 \
      "$QR" "$cases/$1.$2.sm_90" --random-inputs --seed "$s" --dim "$3" --output-dir /tmp/out/san 2>&1)
  rc=$?
  cmp="no output"
  [ -f /tmp/out/san/out_0.npy ] &&
    cmp=$(python3 "$here/gpu_cases.py" compare "$cases/$1/m$3/ref.npy" /tmp/out/san/out_0.npy)
  echo "memcheck $1 $2 m$3 rc=$rc: $(echo "$r" | grep -E "ERROR SUMMARY|LEAK SUMMARY|rror" | head -3 | tr '\n' ' ') $cmp" | tee -a "$table"
  r=$(compute-sanitizer --tool memcheck --error-exitcode 9 \
      "$QR" "$cases/$1.$2.sm_90" --random-inputs --seed "$s" --dim "$3" --output-dir /tmp/out/san --device-buffers 2>&1)
  rc=$?
  echo "memcheck --device-buffers $1 $2 m$3 rc=$rc: $(echo "$r" | grep -E "ERROR SUMMARY|rror" | head -3 | tr '\n' ' ')" | tee -a "$table"
done
echo "fails=$fails"
