#!/usr/bin/env python3
"""Writes smaller copies of the cached models (first N blocks, tensors
copied bit for bit) so they fit where transfers are size-limited:

    python3 benchmarks/trim_models.py --llama-layers 8 --bert-layers 2 OUT_DIR

OUT_DIR/smollm2/<name>.gguf: the GGUF with block_count = N and only the
first N blocks (quantized data copied raw); OUT_DIR/minilm/: config.json
with num_hidden_layers = N, model.safetensors with the first N layers, the
tokenizer and pooling files unchanged.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from quant import data  # noqa: E402


def trim_gguf(src: Path, dst: Path, layers: int):
    import gguf
    r = gguf.GGUFReader(str(src))
    arch = r.fields["general.architecture"].contents()
    w = gguf.GGUFWriter(str(dst), arch)
    for key, f in r.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        val = f.contents()
        if key == f"{arch}.block_count":
            val = layers
        vtype = f.types[0]
        sub = f.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, val, vtype, sub_type=sub)
    for t in r.tensors:
        if t.name.startswith("blk.") and int(t.name.split(".")[1]) >= layers:
            continue
        w.add_tensor(t.name, np.asarray(t.data), raw_shape=np.asarray(t.data).shape,
                     raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def trim_bert(src: Path, dst: Path, layers: int):
    from safetensors.numpy import load_file, save_file
    dst.mkdir(parents=True, exist_ok=True)
    cfg = json.loads((src / "config.json").read_text())
    cfg["num_hidden_layers"] = layers
    (dst / "config.json").write_text(json.dumps(cfg, indent=2))
    t = load_file(str(src / "model.safetensors"))
    keep = {k: v for k, v in t.items()
            if not k.startswith("encoder.layer.") or int(k.split(".")[2]) < layers}
    save_file(keep, str(dst / "model.safetensors"))
    for f in data.MINILM_FILES:
        if f not in ("config.json", "model.safetensors"):
            (dst / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src / f, dst / f)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("out")
    p.add_argument("--llama-layers", type=int)
    p.add_argument("--bert-layers", type=int)
    a = p.parse_args()
    out = Path(a.out)
    if a.llama_layers:
        src = data.smollm2_gguf()
        (out / "smollm2").mkdir(parents=True, exist_ok=True)
        trim_gguf(src, out / "smollm2" / src.name, a.llama_layers)
    if a.bert_layers:
        trim_bert(data.minilm_dir(), out / "minilm", a.bert_layers)


if __name__ == "__main__":
    main()
