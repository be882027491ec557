#!/usr/bin/env bash
# Prepares the GPU module correctness run (benchmarks/gpu/module_correctness.sh)
# on the compile machine: generates the program matrix
# (test/Integration/GPU/Inputs/gpu_cases.py: every scheme and GPU kernel),
# compiles every program for the host and, per GPU variant (forced gemv /
# mma for weight-only layers, the selector's choice otherwise), for sm_90;
# runs the host modules on the seeded random inputs every case uses
# (quant-run --random-inputs --seed S --dim M) to get the reference outputs;
# adds an sm_80 module (device mismatch check) and a PTX-only sm_90 module
# (driver JIT path), and copies everything plus the runtime sources into
# DEST (default: <repo>/out/gpu-run-mod; /out/ is git-ignored). The matrix
# includes the glue kernel programs (row norms: rms_*, ln_*; decode
# attention: attn_*). PROGRAMS=REGEX keeps only the programs whose name
# matches (then the sm_80 / JIT extras are made only when their programs
# are kept: run module_correctness.sh with PART=matrix); NO_ATTENTION=1
# leaves out the attn_* programs.
#   usage: [PROGRAMS=REGEX] [NO_ATTENTION=1] prepare_module_run.sh [DEST]
# quant-compile / quant-run: from $QC_BIN if set, else <repo>/build/bin,
# else PATH.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="${1:-$root/out/gpu-run-mod}"
bin="${QC_BIN:-$root/build/bin}"
[ -x "$bin/quant-compile" ] && export PATH="$bin:$PATH"
cases="$root/test/Integration/GPU/Inputs/gpu_cases.py"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mat="$work/mat"
gm_flags=(--programs "${PROGRAMS:-}")
[ -n "${NO_ATTENTION:-}" ] && gm_flags+=(--no-attention)
python3 "$cases" gen-matrix "$mat" "${gm_flags[@]}"
for f in "$mat"/*.mlir; do
  n=$(basename "$f" .mlir)
  read -r -a flags < "$mat/$n.flags" || true
  quant-compile "$f" "${flags[@]}" --target host -o "$mat/$n.host"
  for v in $(awk -v n="$n" '$1 == n { print $2 }' "$mat/cases.txt" | sort -u); do
    extra=()
    kern="$v"
    tgt=sm_90
    # <kind>_90a: for the arch-specific sm_90a (wgmma kernels); the file
    # keeps the .sm_90 label module_correctness.sh looks for.
    case "$kern" in *_90a) kern="${kern%_90a}"; tgt=sm_90a ;; esac
    # <kind>_tma: the wgmma GEMMs on the TMA warp-specialized pipeline.
    case "$kern" in *_tma) kern="${kern%_tma}"; extra+=(--wgmma-tma) ;; esac
    # <kind>_nq: the norm + activation quantization fused (--fuse-norm-quant).
    case "$kern" in *_nq) kern="${kern%_nq}"; extra+=(--fuse-norm-quant) ;; esac
    # <kind>_sw: the GEMV with the fused SiLU * mul epilogue; <kind>_np:
    # with the fused RMSNorm prologue (gemv_np_sw: both).
    case "$kern" in *_sw) kern="${kern%_sw}"; extra+=(--gemv-swiglu-epilogue) ;; esac
    case "$kern" in *_np) kern="${kern%_np}"; extra+=(--gemv-norm-prologue) ;; esac
    # gemv_mma: threshold inside M = 1 .. 16 (gpu_cases.py MATRIX).
    [ "$kern" = gemv_mma ] && extra+=(--max-batch 16)
    quant-compile "$f" "${flags[@]}" --target "$tgt" --weight-only-kernel="$kern" \
      "${extra[@]}" -o "$mat/$n.$v.sm_90"
  done
  echo "compiled $n"
done
# References: the host module on the same seeded inputs (one per program,
# M and seed; the variants of a program share them).
while read -r n v m _ _ seed; do
  d="$mat/$n/m$m"
  [ -f "$d/ref.npy" ] && continue
  mkdir -p "$d"
  quant-run "$mat/$n.host" --random-inputs --seed "$seed" --dim "$m" \
    --output-dir "$d" >/dev/null
  mv "$d/out_0.npy" "$d/ref.npy"
done < "$mat/cases.txt"
# sm_80: a module must be refused on an sm_90 device.
[ -f "$mat/w8t_k72_n40.mlir" ] &&
  quant-compile "$mat/w8t_k72_n40.mlir" --target sm_80 -o "$mat/mismatch.sm_80"
# PTX only: a toolkit view with libdevice and ptxas but no fatbinary.
mkdir -p "$work/ptxonly/bin"
ln -s "${CUDA_HOME:-/usr/local/cuda}/bin/ptxas" "$work/ptxonly/bin/ptxas"
ln -s "${CUDA_HOME:-/usr/local/cuda}/nvvm" "$work/ptxonly/nvvm"
[ -f "$mat/w4g32_k96_n160_f16.mlir" ] &&
  quant-compile "$mat/w4g32_k96_n160_f16.mlir" --target sm_90 \
    --weight-only-kernel=mma --cuda-path "$work/ptxonly" -o "$mat/jit.sm_90"

rm -rf "$dest"
mkdir -p "$dest/rt/lib" "$dest/rt/include/qc" "$dest/rt/tools" "$dest/cases"
cp -r "$root/lib/Runtime" "$dest/rt/lib/"
cp -r "$root/include/qc/Runtime" "$dest/rt/include/qc/"
mkdir -p "$dest/rt/include/qc/Target"
cp "$root/include/qc/Target/TargetTable.h" "$dest/rt/include/qc/Target/"
cp -r "$root/tools/quant-run" "$dest/rt/tools/"
cp "$root/benchmarks/gpu/module_correctness.sh" "$cases" "$dest/"
cp "$mat/cases.txt" "$mat"/*.sm_90.so "$mat"/*.sm_90.qcw "$dest/cases/"
cp "$mat"/mismatch.sm_80.* "$mat"/jit.sm_90.* "$dest/cases/" 2>/dev/null || true
for d in $(cut -d' ' -f1 "$mat/cases.txt" | sort -u); do
  cp -r "$mat/$d" "$dest/cases/"
done
echo "prepared $dest ($(du -sh "$dest" | cut -f1)); on the GPU machine: bash module_correctness.sh"
