"""Checkpoint importers: load real weights + tokenizer, emit qc MLIR.

`load_checkpoint(path)` picks the importer from the file: a ``.gguf`` file is
a Llama-family GGUF, a directory (or its ``config.json``) with
``model.safetensors`` is a BERT checkpoint.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict

import numpy as np

from ..errors import ModelImportError


@dataclass
class Checkpoint:
    """Weights in float32 (linear weights N x K, as y = x W^T), the
    architecture's hyper-parameters and the tokenizer."""

    arch: str  # "llama" or "bert"
    config: Dict[str, Any]
    tensors: Dict[str, np.ndarray]
    tokenizer: Any  # tokenizers.Tokenizer
    source: Path
    meta: Dict[str, Any] = field(default_factory=dict)

    def tensor(self, name: str) -> np.ndarray:
        if name not in self.tensors:
            raise ModelImportError(f"{self.source}: missing tensor '{name}'")
        return self.tensors[name]

    def linear_layers(self):
        """Names (the `layer` attribute) of every linear layer, in order."""
        if self.arch == "llama":
            from .llama_graph import LlamaConfig, linear_layers
            return linear_layers(LlamaConfig.from_dict(self.config))
        from . import safetensors_bert
        return safetensors_bert.linear_layers(self)


def load_checkpoint(path, layers=None) -> Checkpoint:
    """Loads a checkpoint; `layers` keeps only the first N blocks."""
    p = Path(path)
    if not p.exists():
        raise ModelImportError(f"{p}: no such file or directory")
    if p.is_file() and p.suffix == ".gguf":
        from .gguf_llama import load_gguf
        return load_gguf(p, layers=layers)
    if p.is_dir() or p.name == "config.json":
        from .safetensors_bert import load_bert
        return load_bert(p if p.is_dir() else p.parent, layers=layers)
    raise ModelImportError(
        f"{p}: unknown checkpoint format (expected a .gguf file or a directory "
        f"with config.json + model.safetensors)")
