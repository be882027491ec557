# Streaming import (issue 15): checkpoints load as LazyTensors (shapes and
# byte ranges checked at load, data read when a tensor is emitted, not kept),
# and the emitted IR and weight blob are byte-identical to emitting from
# fully loaded tensors (the importer's previous behaviour) for checkpoints
# whose tensors import as f32: Hugging Face (Llama 2 f32, Mistral f32 in two
# shards) and GGUF (SmolLM2, 2 blocks: Q4_1 tensors dequantized per tensor,
# q/k rows unpermuted in the loader). f16/bf16 checkpoints keep their type in
# the blob: import_stream.py.
# REQUIRES: quant-py, models
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t | FileCheck %s
# CHECK: llama2 lazy: True, identical: True, kept after emit: 0
# CHECK: mistral lazy: True, identical: True, kept after emit: 0
# CHECK: smollm2 lazy: True, identical: True, kept after emit: 0

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "Inputs"))
import hf_models  # noqa: E402
from quant import data  # noqa: E402
from quant.importers import LazyTensors, load_checkpoint  # noqa: E402
from quant.model_ir import emit  # noqa: E402

out = Path(sys.argv[1])


def check(label, src, layers=None):
    ck = load_checkpoint(src, layers=layers)
    lazy = isinstance(ck.tensors, LazyTensors)
    emit(ck, out / f"{label}-lazy.mlir", max_seq=32)
    kept = len(ck.tensors._kept)
    eager = load_checkpoint(src, layers=layers)
    eager.tensors = dict(eager.tensors)
    emit(eager, out / f"{label}-eager.mlir", max_seq=32)

    def ir(name):
        return (out / f"{name}.mlir").read_text().replace(f"{name}.bin", "W.bin")
    same = ir(f"{label}-lazy") == ir(f"{label}-eager") and \
        (out / f"{label}-lazy.bin").read_bytes() == (out / f"{label}-eager.bin").read_bytes()
    print(f"{label} lazy: {lazy}, identical: {same}, kept after emit: {kept}")


for variant in ("llama2", "mistral"):
    hf_models.make(variant, out / variant, seed=5)
    check(variant, out / variant)
check("smollm2", data.smollm2_gguf(), layers=2)
