#!/usr/bin/env bash
# Prefill attention A/B: the tensor-core prefill kernel against the
# flash-decoding pair (quant-compile --attention-prefill-kernel=false) on a
# Llama-2-7B-shaped block (H = KV = 32, D = 128, f16, T = 512, pos = 0,
# B = 1; gpu_cases.py attn_program), timed per kernel with Nsight Compute,
# plus PyTorch's causal scaled_dot_product_attention on the same shape.
#   compile machine: attention_prefill_ab.sh prepare DEST
#   GPU machine:     attention_prefill_ab.sh run DEST QUANT_RUN
set -euo pipefail
mode="$1"
dest="$2"
if [ "$mode" = prepare ]; then
  root="$(cd "$(dirname "$0")/../.." && pwd)"
  bin="${QC_BIN:-$root/build/bin}"
  mkdir -p "$dest"
  PYTHONPATH="$root/test/Integration/GPU/Inputs" python3 -c "
import gpu_cases
open('$dest/attn7b.mlir', 'w').write(gpu_cases.attn_program(512, 32, 32, 128, 'f16', [0]))"
  "$bin/quant-compile" "$dest/attn7b.mlir" --target sm_90 -o "$dest/new.sm_90"
  "$bin/quant-compile" "$dest/attn7b.mlir" --target sm_90 \
    --attention-prefill-kernel=false -o "$dest/old.sm_90"
  cp "$0" "$dest/"
  exit 0
fi
qr="$3"
for v in new old; do
  echo "== $v"
  ncu --clock-control none --kernel-name regex:cache_attention \
    --metrics gpu__time_duration.sum "$qr" "$dest/$v.sm_90" --random-inputs \
    --seed 1 --dim 1 --repeat 3 2>&1 |
    grep -E "cache_attention_l1_[a-z]+|gpu__time_duration" | paste - - |
    awk '{print $1, $(NF-1), $NF}' | sort | uniq -c
done
python3 - <<'PY'
import torch, torch.nn.functional as F
q, k, v = (torch.randn(1, 32, 512, 128, device="cuda", dtype=torch.float16)
           for _ in range(3))
for _ in range(3):
    F.scaled_dot_product_attention(q, k, v, is_causal=True)
s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
ts = []
for _ in range(20):
    s.record(); F.scaled_dot_product_attention(q, k, v, is_causal=True); e.record()
    torch.cuda.synchronize(); ts.append(s.elapsed_time(e) * 1000)
ts.sort()
print(f"torch sdpa causal 1x32x512x128 f16: median {ts[len(ts)//2]:.1f} us")
PY
