#!/usr/bin/env bash
# Prepares the end-to-end decode A/B of the GPU fusions and kernels
# (docs/performance.md, "After run 3: split-K in a thread-block cluster,
# programmatic dependent launch"): the 7B-shaped model (4 blocks, W4 g128)
# and SmolLM2 (W4), f16 activations, weights as samples expanded on the GPU
# machine, compiled under the default selection (`*-auto`), the frag family
# (`*-frag`), the GEMV norm prologue (`*-np`) and the SiLU * mul epilogue
# (`l7-w4-sw`), with the gpt-fast anchor for the baselines.
#   usage: prepare_e2e_ab.sh [DEST]   (default <repo>/.gpu-run-e2e)
# Run on the GPU machine (carry DEST):
#   OUT=$OUT bash DEST/run_e2e.sh --anchor-models SmolLM2-135M,7B:4 \
#     --anchor-precs bf16:eager,int4:eager
# and the programmatic-dependent-launch A/B on the same machine:
#   QCRT_DEPENDENT_LAUNCH=0 MODULES=auto NO_ANCHOR=1 OUT=$OUT/nopdl \
#     bash DEST/run_e2e.sh --batches 1,8
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="${1:-$root/.gpu-run-e2e}"
cd "$root"
export PATH="$root/build/bin:/usr/lib/llvm-22/bin:$PATH"
p=benchmarks/gpu/prepare_e2e.py
pol=benchmarks/gpu/policies
common=(--activations f16 --sample --anchor ../shared/anchors)
tmp="$dest.new"
rm -rf "$tmp"
python3 "$p" "$tmp" "synth:7b:l7-w4-auto:$pol/llama-w4g128.yaml:4" \
  "smollm2:smol-w4-auto:$pol/smollm2-w4.yaml" "${common[@]}"
python3 "$p" "$tmp" "synth:7b:l7-w4-frag:$pol/llama-w4g128.yaml:4" \
  "smollm2:smol-w4-frag:$pol/smollm2-w4.yaml" "${common[@]}" --append \
  --weight-only-kernel=frag
python3 "$p" "$tmp" "synth:7b:l7-w4-np:$pol/llama-w4g128.yaml:4" \
  "smollm2:smol-w4-np:$pol/smollm2-w4.yaml" "${common[@]}" --append \
  --gemv-norm-prologue
python3 "$p" "$tmp" "synth:7b:l7-w4-sw:$pol/llama-w4g128.yaml:4" \
  "${common[@]}" --append --gemv-swiglu-epilogue
rm -rf "$dest"
mv "$tmp" "$dest"
du -sh "$dest"
