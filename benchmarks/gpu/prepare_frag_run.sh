#!/usr/bin/env bash
# Prepares, on the compile machine, everything the frag family's GPU run
# needs (benchmarks/gpu/run_frag.sh runs it on the GPU machine):
#   $DEST/chk      gen_cases --gemv check --mma check (every kernel family's
#                  correctness cases, the frag family's included)
#   $DEST/mc       a subset of the frag cases for compute-sanitizer memcheck
#   $DEST/marlin   the M = 1..256 sweep (GEMV t8, frag tilings $SWEEP_TAGS, W4A16 g128
#                  and W8A16) with the anchors' Marlin for run_marlin.sh
#   $DEST/mod      the GPU module correctness matrix of the frag programs and
#                  of the GEMV norm prologue (*_np variants)
#                  (prepare_module_run.sh; module_correctness.sh PART=matrix)
# usage: prepare_frag_run.sh [DEST]   (default <repo>/.gpu-run-frag: the
# device tool carries it with carry=[".gpu-run-frag"])
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="${1:-$root/.gpu-run-frag}"
export PATH="$root/build/bin:/usr/lib/llvm-22/bin:$PATH"
gen="$root/benchmarks/gpu/gen_cases.py"
rm -rf "$dest"
mkdir -p "$dest"
python3 "$gen" --out "$dest/chk" --gemv check --mma check
mkdir -p "$dest/mc"
{ grep -E "_frag " "$dest/chk/cases.txt" | grep -v "_f1" | awk 'NR % 8 == 1'
  grep -E "_f1[a-z0-9]*_frag " "$dest/chk/cases.txt" | awk 'NR % 4 == 1'; } \
  > "$dest/mc/cases.txt"
: > "$dest/mc/mma_cases.txt"
for c in $(awk '{print $1}' "$dest/mc/cases.txt"); do
  cp "$dest/chk/$c.ptx" "$dest/mc/"
done
python3 "$gen" --out "$dest/marlin" --mma none --small-m gemv,gemv8,frag,frag8 \
  --small-m-tags "${SWEEP_TAGS:-t8,fd,fm16,fp2,f1,f1p2,f1w8,f1n2}"
mkdir -p "$dest/marlin/anchors"
cp -r "$root/../shared/anchors/marlin" "$root/../shared/anchors/marlin_bench.py" \
  "$dest/marlin/anchors/"
PROGRAMS='frag|w4g32a_k192|w8_k224|w8t_k64|w4g32_k1024|w8_k96_n1024|w8_k200_n136$|w4g128_k128_n384_f16$|w4g32a_k160_n96_f16$' \
  NO_ATTENTION=1 bash "$root/benchmarks/gpu/prepare_module_run.sh" "$dest/mod"
du -sh "$dest"
