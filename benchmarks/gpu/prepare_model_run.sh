#!/usr/bin/env bash
# Prepares the real-model GPU run (run_models.sh) on the compile machine:
# imports SmolLM2 / MiniLM with the int8 embedding table, compiles each row
# for sm_90 and for the host, computes the host references
# (benchmarks/gpu/model_run.py prepare) and copies the sm_90 modules, the
# references, the qcrt sources, quant-run and the python package into DEST
# (default /work/main/.gpu-run-models), which must stay under 55 MiB (one
# device transfer carries 64 MiB with the repository).
#   usage: prepare_model_run.sh PART [DEST]
#     smollm2           SmolLM2, first $SMOL_LAYERS (default 3) blocks,
#                       attention W8A16, MLP + LM head W4 g64 (~52 MiB)
#     minilm:ROWS       MiniLM (6 layers), comma-separated eval rows among
#                       fp32, w8a16, w4-rtn, w4-gptq, mixed, w8a8 (dynamic
#                       per-token), w8a8-sq (SmoothQuant); GPTQ and SQ
#                       calibrate on Emma sentences first. What fits
#                       55 MiB: minilm:fp32 (~54 MiB), minilm:w8a16,w4-rtn
#                       (~42 MiB), minilm:mixed,w8a8 (~45 MiB),
#                       minilm:w4-gptq,w8a8-sq. The host fp32 embeddings
#                       always come along (accuracy column).
# quant-compile and libqcrt.so from $QUANT_BUILD_DIR (default build/).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
part="${1:?usage: prepare_model_run.sh smollm2|minilm:ROWS [DEST]}"
dest="${2:-/work/main/.gpu-run-models}"
export QUANT_BUILD_DIR="${QUANT_BUILD_DIR:-$root/build}"
export PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}"
work="${QUANT_MODEL_RUN_WORK:-/tmp/quant-model-run}"
run=(python3 "$root/benchmarks/gpu/model_run.py" prepare "$dest" --work "$work")
rm -rf "$dest"
mkdir -p "$dest"
case "$part" in
  smollm2) "${run[@]}" --model smollm2 --layers "${SMOL_LAYERS:-3}" ;;
  minilm:*) "${run[@]}" --model minilm --rows "${part#minilm:}" ;;
  *) echo "prepare_model_run.sh: unknown part '$part' (smollm2 or minilm:ROWS)" >&2
     exit 2 ;;
esac
mkdir -p "$dest/rt/lib" "$dest/rt/include/qc" "$dest/rt/tools" "$dest/python"
cp -r "$root/lib/Runtime" "$dest/rt/lib/"
cp -r "$root/include/qc/Runtime" "$dest/rt/include/qc/"
mkdir -p "$dest/rt/include/qc/Target"
cp "$root/include/qc/Target/TargetTable.h" "$dest/rt/include/qc/Target/"
cp -r "$root/tools/quant-run" "$dest/rt/tools/"
cp -r "$root/python/quant" "$dest/python/"
find "$dest/python" -name __pycache__ -prune -exec rm -rf {} +
cp "$root/benchmarks/gpu/model_run.py" "$root/benchmarks/gpu/run_models.sh" "$dest/"
size=$(du -sb "$dest" | cut -f1)
echo "prepared $dest: $((size / 1048576)) MiB"
if [ "$size" -gt $((55 * 1048576)) ]; then
  echo "prepare_model_run.sh: $dest is over 55 MiB (fewer SMOL_LAYERS?)" >&2
  exit 1
fi
echo "on the GPU machine: bash run_models.sh"
