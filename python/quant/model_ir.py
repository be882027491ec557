"""Importing a checkpoint into a qc MLIR module + one weight blob."""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import numpy as np

from .errors import ModelImportError
from .importers import Checkpoint, load_checkpoint
from .mlir_emit import ACTIVATIONS, EMBEDDINGS, WeightBlob, write_module
from .files import write_text_atomic


@dataclass
class ModelIR:
    """An imported model: `mlir` (the .mlir file), `weights` (the blob it
    references), the entry points and the names of its linear layers."""

    mlir: Path
    weights: Path
    arch: str
    entry_points: List[str]
    layers: List[str]
    config: dict = field(default_factory=dict)
    source: Optional[Path] = None

    def text(self) -> str:
        return self.mlir.read_text()

    @property
    def meta_path(self) -> Path:
        return self.mlir.with_suffix(".json")

    def to_json(self) -> dict:
        return {"format": "quant-model-ir", "version": 1, "mlir": self.mlir.name,
                "weights": self.weights.name, "arch": self.arch,
                "entry_points": self.entry_points, "layers": self.layers,
                "config": self.config, "source": str(self.source) if self.source else None}

    @staticmethod
    def open(path) -> "ModelIR":
        """Reads the metadata an import wrote beside `path` (.mlir or .json)."""
        p = Path(path).with_suffix(".json")
        if not p.exists():
            raise ModelImportError(f"{path}: no {p.name} beside it (not imported by quant?)")
        d = json.loads(p.read_text())
        if d.get("format") != "quant-model-ir" or d.get("version") != 1:
            raise ModelImportError(f"{p}: not a quant model-IR description")
        return ModelIR(p.parent / d["mlir"], p.parent / d["weights"], d["arch"],
                       d["entry_points"], d["layers"], d["config"],
                       Path(d["source"]) if d.get("source") else None)


def emit(ck: Checkpoint, out: Path, max_seq: int = 512, upstream: bool = False,
         embedding: str = "f32", activations: str = "f32") -> ModelIR:
    """Writes `out` (.mlir) and `out` with suffix .bin; nothing is left
    behind on failure."""
    out = Path(out)
    if embedding not in EMBEDDINGS:
        raise ModelImportError(f"--embedding {embedding}: expected one of {', '.join(EMBEDDINGS)}")
    if activations not in ACTIVATIONS:
        raise ModelImportError(f"--activations {activations}: expected one of "
                               f"{', '.join(ACTIVATIONS)}")
    if activations != "f32" and ck.arch != "llama":
        raise ModelImportError(f"--activations {activations}: only Llama-family models can be "
                               f"emitted with {activations} activations ({ck.arch} is f32)")
    if activations != "f32" and upstream:
        raise ModelImportError(f"--activations {activations}: upstream mode is f32 only")
    if out.suffix != ".mlir":
        raise ModelImportError(f"{out}: output file must end in .mlir")
    out.parent.mkdir(parents=True, exist_ok=True)
    bin_path = out.with_suffix(".bin")
    blob = WeightBlob(bin_path)
    try:
        if ck.arch == "llama":
            from .importers.llama_graph import emit_checkpoint as emit_fn
        else:
            from .importers.safetensors_bert import emit_bert as emit_fn
        kw = {"activations": activations} if ck.arch == "llama" else {}
        funcs = emit_fn(ck, blob, bin_path.name, max_seq=max_seq, upstream=upstream,
                        embedding=embedding, **kw)
        cfg = ", ".join(f"{k}={v}" for k, v in ck.config.items())
        header = (f"// Imported by quant from {ck.source.name} ({ck.arch}).\n"
                  f"// config: {cfg}\n"
                  f"// weights: {bin_path.name} (little-endian f32, int8 embedding rows "
                  f"with --embedding int8, f16 embedding rows with --activations f16, "
                  f"64-byte aligned)\n")
        kept = sorted(blob.dtypes - {"f32"})
        if kept and not upstream:
            header += (f"// linear weights and embedding tables in the checkpoint's type: "
                       f"{', '.join(kept)}\n")
        text = write_module(funcs, header)
        tmp = out.with_name(out.name + ".part")
        tmp.write_text(text)
        blob.close()
        os.replace(tmp, out)
    except BaseException:
        blob.abort()
        raise
    cfg = dict(ck.config)
    if ck.arch == "llama":
        cfg["max_seq"] = max_seq  # KV-cache length of @decode
    cfg["embedding"] = embedding
    cfg["activations"] = activations
    if blob.packed:
        # Linears kept in the checkpoint's quantized grid: layer -> scheme
        # and bits per weight (codes + scales + zero points / minima).
        cfg["kept_quantized"] = {
            k: {"scheme": v[0], "bits_per_weight": round(
                sum(np.prod(blob.offsets[f"{k}#{part}"][1]) * {"i8": 8, "f16": 16, "f32": 32}[dt]
                    for part, dt in v[3].items() if part != "data")
                / (v[1][0] * v[1][1]) + v[2], 4).item()}
            for k, v in blob.packed.items()}
    ir = ModelIR(out, bin_path, ck.arch, [f.name for f in funcs], ck.linear_layers(),
                 cfg, Path(ck.source).resolve())
    write_text_atomic(ir.meta_path, json.dumps(ir.to_json(), indent=1))
    return ir


def import_model(path, out, layers=None, max_seq: int = 512, embedding: str = "f32",
                 activations: str = "f32", quantized: str = "dequantize") -> ModelIR:
    """Loads the checkpoint at `path` (a .gguf file or a Hugging Face
    directory) and
    emits it to `out` (.mlir) + the weight blob beside it; `quantized`
    (importers.QUANTIZED): dequantize the checkpoint's quantized linears
    or keep their grid."""
    return emit(load_checkpoint(path, layers=layers, quantized=quantized), out,
                max_seq=max_seq, embedding=embedding, activations=activations)
