#!/usr/bin/env bash
# Prepares the GPU module correctness run (benchmarks/gpu/module_correctness.sh)
# on the compile machine: generates the program matrix and inputs, compiles
# every program for the host and for sm_90, runs the host modules to get the
# reference outputs, adds an sm_80 module (device mismatch check) and a
# PTX-only sm_90 module (driver JIT path), and copies everything plus the
# runtime sources into DEST (default /work/main/.gpu-run-mod).
#   usage: prepare_module_run.sh [DEST]   (quant-compile/quant-run on PATH)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="${1:-/work/main/.gpu-run-mod}"
cases="$root/test/Integration/GPU/Inputs/gpu_cases.py"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mat="$work/mat"
python3 "$cases" gen-matrix "$mat"
for f in "$mat"/*.mlir; do
  n=$(basename "$f" .mlir)
  quant-compile "$f" --target host -o "$mat/$n.host"
  quant-compile "$f" --target sm_90 -o "$mat/$n.sm_90"
done
while read -r n m _; do
  quant-run "$mat/$n.host" --input "$mat/$n/m$m/in_0.npy" --output-dir "$mat/$n/m$m" >/dev/null
  mv "$mat/$n/m$m/out_0.npy" "$mat/$n/m$m/ref.npy"
done < "$mat/cases.txt"
# sm_80: this shape selects the gemv kernel (larger ones select mma).
quant-compile "$mat/w8t_k64_n40.mlir" --target sm_80 -o "$mat/mismatch.sm_80"
# PTX only: a toolkit view with libdevice and ptxas but no fatbinary.
mkdir -p "$work/ptxonly/bin"
ln -s "${CUDA_HOME:-/usr/local/cuda}/bin/ptxas" "$work/ptxonly/bin/ptxas"
ln -s "${CUDA_HOME:-/usr/local/cuda}/nvvm" "$work/ptxonly/nvvm"
quant-compile "$mat/w4g32_k96_n160.mlir" --target sm_90 --cuda-path "$work/ptxonly" -o "$mat/jit.sm_90"

rm -rf "$dest"
mkdir -p "$dest/rt/lib" "$dest/rt/include/qc" "$dest/rt/tools" "$dest/cases"
cp -r "$root/lib/Runtime" "$dest/rt/lib/"
cp -r "$root/include/qc/Runtime" "$dest/rt/include/qc/"
cp -r "$root/tools/quant-run" "$dest/rt/tools/"
cp "$root/benchmarks/gpu/module_correctness.sh" "$cases" "$dest/"
cp "$mat/cases.txt" "$mat"/*.sm_90.so "$mat"/*.sm_90.qcw "$mat"/mismatch.sm_80.* "$dest/cases/"
for d in $(cut -d' ' -f1 "$mat/cases.txt" | sort -u); do cp -r "$mat/$d" "$dest/cases/"; done
echo "prepared $dest ($(du -sh "$dest" | cut -f1)); on the GPU machine: bash module_correctness.sh"
