"""Checkpoint importers: load real weights + tokenizer, emit qc MLIR.

`load_checkpoint(path)` picks the importer from the file: a ``.gguf`` file is
a Llama-family GGUF; a directory (or its ``config.json``) is a Hugging Face
checkpoint, by its config's ``model_type``: ``bert`` (safetensors_bert) or a
causal LM of the Llama family, ``llama``/``mistral``/``qwen2``
(hf_causal_lm). Every Llama-family importer produces the canonical weights
and config of `llama_graph`, which builds the one graph they share.
"""

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict

import numpy as np

from ..errors import ModelImportError


class LazyTensors(MutableMapping):
    """Checkpoint tensors read from the file when first asked for.

    `shapes[name]` is known without reading; `self[name]` reads the tensor
    (float32) and keeps it, as a dict would (the numpy reference reads
    every weight per token); `read(name)` returns it without keeping it,
    which is what the import does: the weight blob is written one tensor
    at a time, so the import's memory does not grow with the model.
    `stored(name)` (a `mlir_emit.Stored`) is the tensor in the file's own
    float type, memory-mapped where the format allows: the import copies
    it into the blob without widening it (`raw` loaders; without one, the
    float32 tensor). Assigning a tensor overrides the file's."""

    def __init__(self, loaders: Dict[str, Callable[[], np.ndarray]],
                 shapes: Dict[str, tuple], raw: Dict[str, Callable[[], Any]] = None):
        self._loaders, self.shapes, self._kept = dict(loaders), dict(shapes), {}
        self._raw = dict(raw or {})

    def stored(self, name):
        """The tensor as the file stores it (a Stored), not kept."""
        from ..mlir_emit import as_stored
        if name in self._kept or name not in self._raw:
            return as_stored(self.read(name))
        return self._raw[name]()

    def read(self, name):
        if name in self._kept:
            return self._kept[name]
        return self._loaders[name]()

    def __getitem__(self, name):
        if name not in self._kept:
            self._kept[name] = self._loaders[name]()
        return self._kept[name]

    def __setitem__(self, name, value):
        self._kept[name] = value
        self.shapes[name] = tuple(np.shape(value))
        self._loaders.setdefault(name, lambda: self._kept[name])

    def __delitem__(self, name):
        self._kept.pop(name, None)
        self._raw.pop(name, None)
        del self._loaders[name]
        del self.shapes[name]

    def __iter__(self):
        return iter(self._loaders)

    def __len__(self):
        return len(self._loaders)

    def __contains__(self, name):
        return name in self._loaders


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
        """The tensor `name`; lazily loaded checkpoints read it without
        keeping it (LazyTensors.read)."""
        if name not in self.tensors:
            raise ModelImportError(f"{self.source}: missing tensor '{name}'")
        if isinstance(self.tensors, LazyTensors):
            return self.tensors.read(name)
        return self.tensors[name]

    def stored(self, name: str):
        """The tensor `name` in the checkpoint's own float type (a
        `mlir_emit.Stored`: f32, f16, or bf16 bit patterns; memory-mapped
        where the format allows), or a quantized linear kept in its grid (a
        `mlir_emit.Packed`, `--quantized keep`), not kept in memory; what
        the import writes."""
        if name not in self.tensors:
            raise ModelImportError(f"{self.source}: missing tensor '{name}'")
        if isinstance(self.tensors, LazyTensors):
            return self.tensors.stored(name)
        from ..mlir_emit import as_stored
        return as_stored(self.tensors[name])

    def linear_layers(self):
        """Names (the `layer` attribute) of every linear layer, in order."""
        if self.arch == "llama":
            from .llama_graph import LlamaConfig, linear_layers
            return linear_layers(LlamaConfig.from_dict(self.config))
        from . import safetensors_bert
        return safetensors_bert.linear_layers(self)


def _directory_kind(d: Path) -> str:
    """"bert" or "causal_lm", by config.json's model_type."""
    from .hf_causal_lm import ARCHITECTURES, read_config
    mt = read_config(d).get("model_type")
    if mt == "bert":
        return "bert"
    if mt in ARCHITECTURES:
        return "causal_lm"
    raise ModelImportError(f"{d / 'config.json'}: unknown architecture '{mt}' (supported: "
                           f"bert, {', '.join(ARCHITECTURES)})")


#: What an import does with weights the checkpoint stores quantized (GGUF
#: Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K linears; Hugging Face GPTQ and AWQ
#: linears): "dequantize" them to f32 (the compiler then quantizes them
#: under the policy), or "keep" their grid as qc packed weights
#: (importers/gguf_quants.py, importers/hf_quantized.py; compile with
#: policy `keep`). Float checkpoints are the same under both.
QUANTIZED = ("dequantize", "keep")


def check_quantized(quantized: str):
    if quantized not in QUANTIZED:
        raise ModelImportError(f"--quantized {quantized}: expected one of "
                               f"{', '.join(QUANTIZED)}")


def load_checkpoint(path, layers=None, quantized: str = "dequantize") -> Checkpoint:
    """Loads a checkpoint; `layers` keeps only the first N blocks;
    `quantized` (QUANTIZED) says what becomes of quantized weights."""
    check_quantized(quantized)
    p = Path(path)
    if not p.exists():
        raise ModelImportError(f"{p}: no such file or directory")
    if p.is_file() and p.suffix == ".gguf":
        from .gguf_llama import load_gguf
        return load_gguf(p, layers=layers, keep_quantized=quantized == "keep")
    if p.is_dir() or p.name == "config.json":
        d = p if p.is_dir() else p.parent
        if _directory_kind(d) == "bert":
            from .safetensors_bert import load_bert
            return load_bert(d, layers=layers)
        from .hf_causal_lm import load_hf
        return load_hf(d, layers=layers, quantized=quantized)
    raise ModelImportError(
        f"{p}: unknown checkpoint format (expected a .gguf file or a Hugging Face "
        f"directory with config.json + safetensors weights)")


def load_tokenizer(path):
    """The tokenizer of a checkpoint. A Hugging Face causal LM's comes from
    its tokenizer.json alone (no weights are read); other formats load the
    checkpoint's first block."""
    p = Path(path)
    d = p if p.is_dir() else p.parent if p.name == "config.json" else None
    if d is not None and _directory_kind(d) == "causal_lm":
        from .hf_causal_lm import load_tokenizer as hf_tokenizer
        return hf_tokenizer(d)[0]
    return load_checkpoint(p, layers=1).tokenizer


def source_stamp(path) -> str:
    """Identifies a checkpoint's contents for caches: path, size and mtime
    of the file, or of every file in the directory (a directory's own mtime
    does not change when a file in it is rewritten)."""
    p = Path(path)
    st = p.stat()
    parts = [f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}"]
    if p.is_dir():
        for f in sorted(p.rglob("*")):
            if f.is_file():
                fs = f.stat()
                parts.append(f"{f.relative_to(p)}|{fs.st_size}|{fs.st_mtime_ns}")
    return "\n".join(parts)
