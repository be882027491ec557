"""quant: import real models to qc MLIR, compile them with quant-compile,
run them through the C runtime, calibrate and evaluate.

    import quant
    ir = quant.import_model("smollm2", "out/smol.mlir", layers=2)
    prefix = quant.compile(ir, policy="policy.yaml", out="out/smol")
    model = quant.load(prefix)
    ppl = quant.evaluate(model, quant.data.evaluation_text())
"""

import os
import shutil
import subprocess
from pathlib import Path

from . import data
from .errors import ModelImportError, PolicyError, QuantError, ToolError
from .importers import Checkpoint, load_checkpoint
from .model_ir import ModelIR
from .model_ir import import_model as _import_model
from .files import write_text_atomic

__all__ = ["import_model", "compile", "load", "calibrate", "evaluate", "resolve_model",
           "ModelIR", "Checkpoint", "QuantError", "ModelImportError", "PolicyError",
           "ToolError", "data"]

#: Short names for the models data.py fetches.
KNOWN_MODELS = {"smollm2": data.smollm2_gguf, "minilm": data.minilm_dir}


def resolve_model(name_or_path) -> Path:
    """'smollm2' / 'minilm' (fetched and cached) or a path."""
    if str(name_or_path) in KNOWN_MODELS:
        return KNOWN_MODELS[str(name_or_path)]()
    return Path(name_or_path)


def import_model(path, out=None, layers=None, max_seq=512, embedding="f32",
                 activations="f32", quantized="dequantize") -> ModelIR:
    """Imports a checkpoint (GGUF Llama, a Hugging Face BERT or
    Llama/Mistral/Qwen2 directory, or a short name)
    into `out` (.mlir, default under the cache) + its weight blob.
    `embedding="int8"` stores the token embedding table as per-row int8 +
    f32 scales, dequantized on gather (a tied LM head keeps the f32 table
    unless the policy quantizes it). `activations="f16"` or `"bf16"` (Llama
    family) emits 16-bit activations and KV caches (the GPU's tensor-core
    kernels take 16-bit inputs; f32 accumulation, stores rounded to nearest
    even; logits stay f32). `quantized="keep"` keeps the linears a
    GGUF stores quantized (Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K) in their
    exact grid as packed weights (compile them with a policy that says
    `keep` for them); the default "dequantize" imports them as f32."""
    from .importers import check_quantized
    check_quantized(quantized)
    src = resolve_model(path)
    if out is None:
        tag = src.stem if src.is_file() else src.name
        tag += f"-L{layers}" if layers else ""
        tag += "-emb8" if embedding == "int8" else ""
        tag += f"-{activations}" if activations != "f32" else ""
        tag += "-keep" if quantized == "keep" else ""
        out = data.cache_dir() / "ir" / f"{tag}.mlir"
    return _import_model(src, out, layers=layers, max_seq=max_seq, embedding=embedding,
                         activations=activations, quantized=quantized)


def find_tool(name) -> str:
    """A quant tool from $QUANT_BUILD_DIR/bin, the installed package's _bin
    (`pip install .`), the source tree's build/bin, or PATH."""
    here = Path(__file__).resolve().parent
    cands = [here / "_bin" / name, here.parents[1] / "build" / "bin" / name]
    if os.environ.get("QUANT_BUILD_DIR"):
        cands.insert(0, Path(os.environ["QUANT_BUILD_DIR"]) / "bin" / name)
    for p in cands:
        if p.exists():
            return str(p)
    found = shutil.which(name)
    if not found:
        raise ToolError(f"cannot find {name} (build the project or set QUANT_BUILD_DIR)")
    return found


def _run_tool(cmd):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if r.returncode != 0:
        raise ToolError(f"{Path(cmd[0]).name} failed:\n{r.stderr.strip()}")
    return r


def _as_ir(ir) -> ModelIR:
    return ir if isinstance(ir, ModelIR) else ModelIR.open(ir)


def compile(ir, policy=None, stats=None, target="host", algorithm="rtn", out=None,
            extra_args=(), progress=None):
    """Compiles an imported model in this process with the compile library
    (quant.driver: quant-compile's code and flags); returns the module
    prefix (prefix.so + prefix.qcw). `policy`: a policy file (YAML/JSON) or
    the same document as a dict (written beside the module as
    prefix.policy.json, which the compiler reads). The policy is checked
    against the model's layers first (quant-compile --check-policy).
    `extra_args`: more quant-compile flags. `progress(event)`: each stage
    event as it happens ({"event": "stage", "stage", "state": "begin" |
    "end", "seconds"}). Raises ToolError with the compiler's error."""
    ir = _as_ir(ir)
    out = Path(out) if out is not None else ir.mlir.with_suffix("")
    if isinstance(policy, dict):
        import json as _json
        path = Path(str(out) + ".policy.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, _json.dumps(policy, indent=1))
        policy = path
    if policy is not None:
        from . import policy as _policy
        _policy.check(policy, ir.mlir)
    if stats is not None and not Path(stats).exists():
        raise QuantError(f"{stats}: no such statistics file")
    from . import driver
    args = [ir.mlir, "--target", target, "-o", out, "--algorithm", algorithm]
    if policy is not None:
        args += ["--policy", policy]
    if stats is not None:
        args += ["--stats", stats]
    driver.compile_args(args + list(extra_args), on_progress=progress)
    # Remember which model the module came from (tokenizer, config).
    write_text_atomic(Path(str(out) + ".quant.json"), ir.meta_path.read_text())
    return out


class LoadedModel:
    """A compiled module plus what it was imported from."""

    def __init__(self, prefix, module=None, ir=None):
        """`module`: anything with run(name, *arrays) (default: the qcrt
        module at `prefix`); `ir`: the ModelIR it came from (default: the
        .quant.json quant.compile wrote beside it)."""
        self.prefix = Path(prefix)
        if module is None:
            from . import runtime
            module = runtime.Module(prefix)
        self.module = module
        meta = Path(str(prefix) + ".quant.json")
        self.ir = ir if ir is not None else (ModelIR.open(meta) if meta.exists() else None)

    def _tokens(self, tokens):
        """The IR gathers embedding rows without bounds checks: check here."""
        import numpy as np
        t = np.asarray(tokens, dtype=np.int64)
        if t.ndim != 1 or t.size == 0:
            raise QuantError("tokens must be a non-empty 1-D sequence")
        if self.ir is not None:
            v = self.ir.config["vocab_size"]
            if t.min() < 0 or t.max() >= v:
                raise QuantError(f"token id out of range 0..{v - 1}")
            mp = self.ir.config.get("max_positions")
            if mp is not None and t.size > mp:
                raise QuantError(f"{t.size} tokens exceed the model's {mp} positions")
        return t

    def forward(self, tokens):
        return self.module.run("forward", self._tokens(tokens))[0]

    def embed(self, tokens):
        return self.module.run("embed", self._tokens(tokens))[0]

    def generate(self, prompt, n_new):
        """Greedy decoding through @decode and its KV caches."""
        return list(self.stream(prompt, n_new))

    def stream(self, prompt, n_new, stop=(), on_prefill=None, temperature=0.0, top_k=0,
               seed=0):
        """Decoding through @decode and its KV caches, yielding each new token
        id as soon as it is chosen: greedy, or with `temperature > 0` drawn
        from softmax(logits / temperature) over the `top_k` largest (0: all)
        by qc.sample's recipe (@sample; reproducible for a `seed`). The
        prompt goes through one @decode call (prefill: T = prompt length,
        written into the caches); `on_prefill()` is called once it is done.
        Stops after `n_new` tokens or after yielding a token in `stop`."""
        import numpy as np
        if self.ir is None or self.ir.arch != "llama":
            raise QuantError("generate needs an imported Llama-family module")
        c = self.ir.config
        ids = list(self._tokens(prompt))
        if len(ids) + n_new > c["max_seq"]:
            raise QuantError(f"{len(ids)} + {n_new} tokens exceed the KV cache "
                             f"({c['max_seq']}; re-import with --max-seq)")
        if n_new <= 0:
            return
        sampling = (float(temperature), int(top_k), int(seed)) if temperature > 0 else None
        greedy = self._greedy_decoder(1, sampling)
        if greedy is not None:
            # GPU module with @greedy: the choice is made on the device and
            # fed back device to device; only the token id comes out.
            t = int(greedy(np.asarray(ids, np.int64)[None, :], 0)[0, 0])  # prefill
            if on_prefill is not None:
                on_prefill()
            pos, n_out = len(ids), 0
            while True:
                n_out += 1
                yield t
                if n_out == n_new or t in stop:
                    return
                t = int(greedy.next(pos)[0, 0])
                pos += 1
        steps = self._decoder(1)
        logits = steps(np.asarray(ids, np.int64)[None, :], 0)  # prefill
        if on_prefill is not None:
            on_prefill()
        pos, n_out = len(ids), 0
        while True:
            t = self._choose(logits, sampling, pos)
            n_out += 1
            yield t
            if n_out == n_new or t in stop:
                return
            logits = steps(np.array([[t]], np.int64), pos)
            pos += 1

    def _decoder(self, batch):
        """A step function `(tokens [B, T], pos) -> logits [B, V]` over
        @decode with KV caches for `batch` sequences (all at position
        `pos`). On a GPU module the caches stay in device memory for the
        whole generation and every decode step (T = 1) replays one CUDA
        graph: per step only the tokens and the position go in and the
        logits come out. Elsewhere the caches are host arrays, updated in
        place by the module (or returned by a functional stand-in)."""
        import numpy as np
        c = self.ir.config
        shape = (c["n_layers"], batch, c["n_kv_heads"], c["max_seq"], c["head_dim"])
        device = getattr(self.module, "device_steps", None)
        if device is not None and getattr(self.module, "is_gpu", False):
            return device("decode", shape, graphs=self.graphs)
        dtype = self.module.arg_dtype("decode", 2) if hasattr(self.module, "arg_dtype") \
            else np.float32
        caches = [np.zeros(shape, dtype), np.zeros(shape, dtype)]

        def step(tokens, pos):
            outs = self.module.run("decode", tokens,
                                   np.full(tokens.shape[0], pos, np.int64), *caches)
            if len(outs) == 3:  # a functional module (the IR interpreter)
                caches[:] = outs[1:]
            return outs[0]
        return step

    def _choose(self, logits, sampling, pos):
        """The next token of sequence 0 from host logits [1, V]: argmax, or
        the module's @sample (the importers emit it; older modules: the same
        recipe in numpy, quant.reference.sample_tokens) at position `pos`."""
        import numpy as np
        if sampling is None:
            return int(np.argmax(logits[0]))
        t, k, seed = sampling
        fns = self.module.functions() if hasattr(self.module, "functions") else []
        if "sample" in fns:
            out = self.module.run("sample", np.ascontiguousarray(logits[:1], np.float32),
                                  np.array(t, np.float32), np.array(k, np.int64),
                                  np.array(seed, np.int64), np.array([pos], np.int64))
            return int(out[0][0, 0])
        from .reference import sample_tokens
        return int(sample_tokens(logits[:1], t, k, seed, [pos])[0])

    def _greedy_decoder(self, batch, sampling=None):
        """On a GPU module with @greedy (and @sample when `sampling`):
        `runtime.Module.greedy_steps` for `batch` sequences (the next tokens
        chosen on the device), else None."""
        if not getattr(self.module, "is_gpu", False) or \
                not hasattr(self.module, "greedy_steps"):
            return None
        need = "greedy" if sampling is None else "sample"
        if need not in self.module.functions():
            return None
        c = self.ir.config
        shape = (c["n_layers"], batch, c["n_kv_heads"], c["max_seq"], c["head_dim"])
        return self.module.greedy_steps(shape, graphs=self.graphs, sampling=sampling)

    #: GPU modules: replay decode steps as CUDA graphs (False: launch each
    #: kernel, for debugging; $QCRT_GRAPHS=0 also turns them off).
    graphs = True

    def tokenizer(self):
        """The source checkpoint's tokenizer. Parsing a GGUF vocabulary takes
        seconds, so the built tokenizer is kept beside the module
        (`<prefix>.tokenizer.json`, valid while the checkpoint's path, size
        and mtime, or those of every file of a checkpoint directory, are
        unchanged); an unwritable directory only costs the parse."""
        if self.ir is None or self.ir.source is None:
            raise QuantError(f"{self.prefix}: no .quant.json beside it: tokenizer unknown")
        from pathlib import Path
        from .importers import load_tokenizer, source_stamp
        src = Path(self.ir.source)
        cached = Path(str(self.prefix) + ".tokenizer.json")
        key_file = Path(str(self.prefix) + ".tokenizer.key")
        try:
            key = source_stamp(src)
        except OSError:
            key = None
        if key is not None and cached.exists() and key_file.exists() \
                and key_file.read_text() == key:
            from tokenizers import Tokenizer
            return Tokenizer.from_file(str(cached))
        tok = load_tokenizer(self.ir.source)
        if key is not None and hasattr(tok, "save"):
            try:
                tok.save(str(cached))
                write_text_atomic(key_file, key)
            except OSError:
                pass
        return tok


def load(module) -> LoadedModel:
    """Loads a compiled module (the prefix quant-compile wrote)."""
    return LoadedModel(module)


def keep_functions(mlir_text, names):
    """The module text with only the top-level functions in `names` (and
    no other `func.func`); relies on the printer's two-space indentation."""
    import re
    out, skip = [], False
    for line in mlir_text.splitlines(keepends=True):
        m = re.match(r"^  func\.func (?:private )?@([\w.$-]+)", line)
        if m:
            skip = m.group(1) not in names
        if not skip:
            out.append(line)
        elif line.rstrip("\n") == "  }":
            skip = False
    return "".join(out)


def calibrate(ir, token_ids, stats_out, window=256, max_windows=8, progress=True,
              hessian=False, function="forward"):
    """Runs the calibration variant of `ir` (qc-insert-observers, compiled
    for the host) over windows of `token_ids`; writes qc-stats to
    `stats_out` (with `hessian`: also X^T X per layer, for GPTQ).
    `token_ids` may also be a list of sequences (one call each)."""
    import numpy as np
    from . import runtime
    ir = _as_ir(ir)
    calib_mlir = ir.mlir.with_name(ir.mlir.stem + ".calib.mlir")
    observers = "--qc-insert-observers" + ("=hessian=true" if hessian else "")
    _run_tool([find_tool("quant-opt"), ir.mlir, observers, "-o", calib_mlir])
    # Only the observed variant of `function` is run: compile nothing else.
    entry = f"{function}_calibrate"
    write_text_atomic(calib_mlir, keep_functions(calib_mlir.read_text(), [entry]))
    calib_ir = ModelIR(calib_mlir, ir.weights, ir.arch, ir.entry_points, ir.layers,
                       ir.config, ir.source)
    write_text_atomic(calib_ir.meta_path, ir.meta_path.read_text())
    prefix = compile(calib_ir, out=calib_mlir.with_suffix(""))
    mod = runtime.Module(prefix)
    runtime.reset_stats()
    if len(token_ids) and not np.isscalar(token_ids[0]):
        seqs = [np.asarray(s, dtype=np.int64) for s in token_ids][:max_windows]
    else:
        ids = np.asarray(token_ids, dtype=np.int64)
        n = min(max_windows, len(ids) // window)
        if n == 0:
            raise QuantError(f"calibration text has {len(ids)} tokens, fewer than {window}")
        seqs = [ids[w * window:(w + 1) * window] for w in range(n)]
    it = seqs
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="calibrate", unit="seq")
    for seq in it:
        mod.run(entry, seq)
    runtime.write_stats(stats_out)
    return Path(stats_out)


def evaluate(model, token_ids, window=256, max_windows=None, progress=True):
    """Perplexity of a Llama-family model over non-overlapping windows.
    `model`: a LoadedModel or a Checkpoint (numpy reference)."""
    from . import reference
    if isinstance(model, Checkpoint):
        fwd = lambda s: reference.llama_forward(model, s, dtype=__import__("numpy").float32)
    else:
        fwd = model.forward
    return reference.perplexity(fwd, token_ids, window, max_windows, progress)
