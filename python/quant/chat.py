"""`python -m quant chat`: the main job, end to end.

Imports a checkpoint (cached), compiles it with quant-compile under a
policy (cached by a hash of the IR, the weights, the policy and the
compiler binary), then answers a prompt with the chat template, streaming
tokens through the compiled `@decode`, and prints the per-layer schemes,
the weight bytes and the times.
"""

import hashlib
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

from . import data
from .errors import QuantError, ToolError
from .target import resolve_target
from .files import write_text_atomic

#: The policy shipped with the example (examples/policy-default.yaml).
DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy-default.yaml"

#: SmolLM2-Instruct's chat template (ChatML with its default system turn).
SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def chat_prompt(user: str, system: str = SYSTEM) -> str:
    """The chat template of SmolLM2-Instruct for one user turn."""
    return (f"<|im_start|>system\n{system}<|im_end|>\n"
            f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")


def render_chat_template(template: str, user: str, bos_token=None, eos_token=None) -> str:
    """A Hugging Face checkpoint's chat template (Jinja, from
    tokenizer_config.json) for one user turn with the generation prompt, as
    transformers' apply_chat_template renders it (sandboxed, trim_blocks,
    lstrip_blocks)."""
    try:
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError as e:
        raise QuantError("the model's chat template needs jinja2 (pip install jinja2), "
                         "or use --raw") from e

    def raise_exception(msg):
        raise QuantError(f"chat template: {msg}")

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: time.strftime(fmt)
    try:
        return env.from_string(template).render(
            messages=[{"role": "user", "content": user}], add_generation_prompt=True,
            bos_token=bos_token or "", eos_token=eos_token or "")
    except QuantError:
        raise
    except Exception as e:  # jinja2 syntax / undefined errors
        raise QuantError(f"chat template does not render ({type(e).__name__}: {e})") from e


def prompt_ids(ir, tok, prompt: str, raw: bool, progress=None):
    """(token ids, stop ids) of one user turn. GGUF (SmolLM2): its ChatML
    template. A Hugging Face directory: the template of its
    tokenizer_config.json, encoded without the tokenizer's own special
    tokens (the template writes them), stopping at its EOS ids; without a
    template (or with --raw) the prompt is encoded as is (with BOS when the
    tokenizer adds one)."""
    stop = set()
    for special in ("<|im_end|>", "<|endoftext|>"):
        i = tok.token_to_id(special)
        if i is not None:
            stop.add(i)
    src = Path(ir.source) if ir.source is not None else None
    if src is None or not src.is_dir():
        return tok.encode(prompt if raw else chat_prompt(prompt)).ids, stop
    from .importers.hf_causal_lm import load_tokenizer
    _, meta = load_tokenizer(src)
    stop |= set(meta["eos_token_ids"])
    if raw or not meta["chat_template"]:
        if not raw and progress is not None:
            progress.say(f"  no chat template in {src.name}: the prompt is used as is")
        return tok.encode(prompt).ids, stop
    text = render_chat_template(meta["chat_template"], prompt, meta["bos_token"],
                                meta["eos_token"])
    return tok.encode(text, add_special_tokens=False).ids, stop


class Progress:
    """Stage lines on stderr; on a terminal, a ticking elapsed time for the
    running stage, so a long compile never looks stuck."""

    def __init__(self, quiet=False):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._stop = None
        self._label = ""
        self._t0 = 0.0

    def _tick(self, stop):
        while not stop.wait(1.0):
            sys.stderr.write(f"\r  {self._label} ... {time.time() - self._t0:.0f} s")
            sys.stderr.flush()

    def start(self, label):
        self.stop()
        self._label, self._t0 = label, time.time()
        if self.quiet:
            return
        if self.tty:
            self._stop = threading.Event()
            threading.Thread(target=self._tick, args=(self._stop,), daemon=True).start()
            sys.stderr.write(f"  {label} ...")
        else:
            sys.stderr.write(f"  {label} ...\n")
        sys.stderr.flush()

    def stop(self, note=""):
        if self._stop is not None:
            self._stop.set()
            self._stop = None
        if self._label and not self.quiet:
            dt = time.time() - self._t0
            if self.tty:
                sys.stderr.write(f"\r  {self._label} ... done in {dt:.1f} s{note}\n")
            else:
                sys.stderr.write(f"  {self._label}: done in {dt:.1f} s{note}\n")
            sys.stderr.flush()
        self._label = ""

    def say(self, text):
        if not self.quiet:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()


def _sha256_file(path, h=None):
    h = h or hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h


def _import_stamp(src: Path, layers, max_seq, activations="f32") -> str:
    """Identifies an import: the checkpoint (path, size, mtime), the options
    and the importer's own source."""
    from .importers import source_stamp
    h = hashlib.sha256()
    h.update(f"{source_stamp(src)}|{layers}|{max_seq}|{activations}".encode())
    pkg = Path(__file__).resolve().parent
    for f in sorted([pkg / "mlir_emit.py", pkg / "model_ir.py",
                     *(pkg / "importers").glob("*.py")]):
        _sha256_file(f, h)
    return h.hexdigest()


def import_cached(model, layers, max_seq, cache: Path, progress: Progress,
                  activations="f32"):
    """The imported model (ModelIR), re-imported only when the checkpoint,
    the options or the importer changed."""
    from . import resolve_model
    from .model_ir import ModelIR, import_model
    src = resolve_model(model)
    if not src.exists():
        raise QuantError(f"{src}: no such file or directory")
    stamp = _import_stamp(src, layers, max_seq, activations)
    tag = src.stem if src.is_file() else src.name
    act = "" if activations == "f32" else f"-{activations}"
    out = cache / "ir" / f"{tag}-L{layers or 'all'}-S{max_seq}{act}.mlir"
    stamp_file = out.with_suffix(".stamp")
    label = f"import {src.name} ({f'{layers} blocks' if layers else 'all blocks'}" + \
        (f", {activations} activations)" if activations != "f32" else ")")
    if (stamp_file.exists() and stamp_file.read_text() == stamp and out.exists()
            and out.with_suffix(".bin").exists()):
        progress.say(f"  {label}: cached ({out})")
        return ModelIR.open(out)
    progress.start(label)
    stamp_file.unlink(missing_ok=True)
    ir = import_model(src, out, layers=layers, max_seq=max_seq, activations=activations)
    write_text_atomic(stamp_file, stamp)
    progress.stop(f" -> {out}")
    return ir


def compile_key(ir, policy: Path, compiler: str, target: str, algorithm: str,
                stats: Path = None) -> str:
    """Hash of everything the compiled module depends on: the IR text, the
    weight blob (size and mtime: a re-import rewrites it), the policy, the
    calibration statistics, the compiler (the compile library) and the options."""
    h = hashlib.sha256()
    h.update(ir.mlir.read_bytes())
    st = ir.weights.stat()
    h.update(f"|{st.st_size}|{st.st_mtime_ns}|{target}|{algorithm}|".encode())
    h.update(policy.read_bytes())
    if stats is not None:
        _sha256_file(stats, h)
    _sha256_file(compiler, h)
    return h.hexdigest()


def policy_needs_stats(policy, ir) -> bool:
    """True when some layer's scheme needs activation statistics: SmoothQuant
    (`alpha`) or static per-tensor activation scales (the compiler's
    --check-policy report)."""
    from . import policy as _policy
    return _policy.check(policy, ir.mlir)["needs_stats"]


def calibrate_cached(ir, windows: int, window: int, hessian: bool, cache: Path,
                     progress: Progress, rebuild=False) -> Path:
    """Statistics (qc-stats; with `hessian`: X^T X per layer for GPTQ) of
    `ir`'s @forward over `windows` windows of `window` tokens of the
    calibration text (Emma; the evaluation uses Pride and Prejudice), cached
    under cache/stats by a hash of the IR, the options and the tools."""
    from . import calibrate, find_tool
    h = hashlib.sha256()
    h.update(ir.mlir.read_bytes())
    st = ir.weights.stat()
    h.update(f"|{st.st_size}|{st.st_mtime_ns}|{windows}|{window}|{hessian}|".encode())
    for tool in ("quant-opt", "quant-compile"):
        _sha256_file(find_tool(tool), h)
    out = cache / "stats" / f"{h.hexdigest()[:24]}.json"
    what = f"{windows} x {window} tokens of Emma" + (", with Hessians" if hessian else "")
    done = out.with_suffix(".done")  # written last: a killed run is redone
    if done.exists() and out.exists() and not rebuild:
        progress.say(f"  calibration statistics: cached ({what}; {out})")
        return out
    from .importers import load_tokenizer
    tok = load_tokenizer(ir.source)
    ids = tok.encode(data.calibration_text()).ids
    if len(ids) < windows * window:
        raise QuantError(f"the calibration text has {len(ids)} tokens, fewer than "
                         f"--calib-windows x --calib-window = {windows * window}")
    out.parent.mkdir(parents=True, exist_ok=True)
    done.unlink(missing_ok=True)
    progress.start(f"calibrate ({what}; compiled observers)")
    calibrate(ir, ids, out, window=window, max_windows=windows, progress=False,
              hessian=hessian)
    write_text_atomic(done, "")
    progress.stop(f" -> {out}")
    return out


def compile_cached(ir, policy: Path, target, algorithm, cache: Path, progress: Progress,
                   rebuild=False, stats: Path = None):
    """Compiles `ir` into cache/modules/<key>/model (reused when the key
    matches); returns (prefix, report dict, compile seconds, cached?)."""
    from . import driver
    from . import policy as _policy
    _policy.check(policy, ir.mlir)
    compiler = driver.library_path()
    key = compile_key(ir, policy, compiler, target, algorithm, stats)
    d = cache / "modules" / key[:24]
    prefix = d / "model"
    done = d / "done.json"
    if done.exists() and not rebuild:
        meta = json.loads(done.read_text())
        progress.say(f"  compile: cached ({d}; compiled in {meta['compile_s']:.1f} s)")
        return prefix, json.loads((d / "report.json").read_text()), meta["compile_s"], True
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    args = [ir.mlir, "--target", target, "-o", prefix, "--algorithm", algorithm,
            "--policy", policy, "--report", d / "report.json",
            "--report-table", d / "report.txt"]
    if stats is not None:
        args += ["--stats", stats]
    progress.say(f"  compile with quant-compile (target {target}, policy {policy.name}, "
                 f"{algorithm})")
    t0 = time.time()

    def on_stage(event):
        # The compile library's stage events (the --progress=json schema).
        if event.get("state") == "begin":
            progress.start(event["stage"])
        else:
            progress.stop()

    try:
        driver.compile_args(args, on_progress=on_stage)
    except ToolError:
        shutil.rmtree(d, ignore_errors=True)
        raise
    finally:
        progress.stop()
    dt = time.time() - t0
    write_text_atomic(Path(str(prefix) + ".quant.json"), ir.meta_path.read_text())
    write_text_atomic(done, json.dumps({"compile_s": dt, "ir": str(ir.mlir), "policy": str(policy),
                                "target": target}))
    return prefix, json.loads((d / "report.json").read_text()), dt, False


def choose_target(requested: str, progress: Progress) -> str:
    """auto: the GPU's architecture when a supported CUDA GPU is present,
    else the host (target.resolve_target)."""
    target, note = resolve_target(requested)
    progress.say(f"  target {target} ({note})")
    return target


def _short(attr: str) -> str:
    """'#qc.scheme<weight = i8>' -> 'weight = i8', '#qc.kernel<host>' -> 'host'."""
    for pre in ("#qc.scheme<", "#qc.kernel<"):
        if attr.startswith(pre) and attr.endswith(">"):
            return attr[len(pre):-1]
    return attr


def _kind(layer: str) -> str:
    parts = layer.split(".")
    return parts[-1] if len(parts) >= 3 and parts[0] == "blk" else layer


def scheme_summary(report: dict) -> str:
    """One row per layer kind (attn_q, ffn_down, output, ...): scheme,
    kernel, count, bytes and weight error; then the totals."""
    rows = {}
    for L in report["layers"]:
        k = (_kind(L["layer"]), _short(L["scheme"]), _short(L["kernel"]))
        r = rows.setdefault(k, {"n": 0, "bytes": 0, "fp32": 0, "err": []})
        r["n"] += 1
        r["bytes"] += L["weight_bytes"]
        r["fp32"] += L["fp32_bytes"]
        if L["quant_error"] is not None:
            r["err"].append(L["quant_error"])
    head = ("layers", "scheme", "kernel", "count", "MB", "vs fp32", "w err (mean)")
    table = []
    for (kind, scheme, kernel), r in rows.items():
        err = f"{sum(r['err']) / len(r['err']):.2e}" if r["err"] else "-"
        table.append((kind, scheme, kernel, str(r["n"]), f"{r['bytes'] / 1e6:.2f}",
                      f"{r['bytes'] / r['fp32']:.3f}", err))
    w = [max(len(x[i]) for x in [head] + table) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w[i]) if i < 3 else c.rjust(w[i]) for i, c in enumerate(row))
             for row in [head] + table]
    tot, f32 = report["total_weight_bytes"], report["total_fp32_bytes"]
    lines.append(f"linear weights: {tot / 1e6:.1f} MB = {tot / f32:.3f} of fp32 "
                 f"({f32 / 1e6:.1f} MB), {2 * tot / f32:.3f} of fp16 ({f32 / 2e6:.1f} MB); "
                 f"saved {(f32 - tot) / 1e6:.1f} MB vs fp32")
    return "\n".join(lines)


def run_chat(a) -> int:
    import quant
    from .model_ir import ModelIR  # noqa: F401
    progress = Progress(quiet=a.quiet)
    cache = Path(a.cache_dir) if a.cache_dir else data.cache_dir() / "chat"
    cache.mkdir(parents=True, exist_ok=True)
    policy = Path(a.policy) if a.policy else DEFAULT_POLICY
    if not policy.exists():
        raise QuantError(f"{policy}: no such policy file")
    progress.say("quant chat")
    target = choose_target(a.target, progress)
    # GPU targets run f16 activations by default (the weight-only layers then
    # take the tensor cores for prefill: docs/performance.md, run 3); the
    # host keeps f32.
    activations = a.activations if a.activations != "auto" else \
        ("f32" if target == "host" else "f16")
    ir = import_cached(a.model, a.layers, a.max_seq, cache, progress, activations)
    if ir.arch != "llama":
        raise QuantError(f"{ir.mlir}: chat needs a Llama-family model, not {ir.arch}")
    stats = None
    if a.calib_windows < 1 or a.calib_window < 2:
        raise QuantError(f"--calib-windows must be at least 1 and --calib-window at least 2 "
                         f"(got {a.calib_windows} and {a.calib_window})")
    if a.calib_window > a.max_seq:
        raise QuantError(f"--calib-window {a.calib_window} is longer than --max-seq {a.max_seq}")
    if a.algorithm == "gptq" or policy_needs_stats(policy, ir):
        stats = calibrate_cached(ir, a.calib_windows, a.calib_window,
                                 hessian=a.algorithm == "gptq", cache=cache,
                                 progress=progress, rebuild=a.rebuild)
    prefix, report, compile_s, cached = compile_cached(
        ir, policy, target, a.algorithm, cache, progress, rebuild=a.rebuild, stats=stats)

    progress.start("load module + tokenizer")
    t0 = time.time()
    m = quant.load(prefix)
    tok = m.tokenizer()
    load_s = time.time() - t0
    progress.stop()

    ids, stop = prompt_ids(ir, tok, a.prompt, a.raw, progress)

    print(f"\n> {a.prompt}\n", flush=True)
    out, shown = [], ""
    t_start = time.time()
    t_prefill = [None]

    def prefilled():
        t_prefill[0] = time.time()

    for t in m.stream(ids, a.max_tokens, stop=stop, on_prefill=prefilled,
                      temperature=a.temperature, top_k=a.top_k, seed=a.seed):
        out.append(t)
        if t in stop:
            break
        s = tok.decode(out)
        if not s.endswith("\ufffd"):  # wait for the rest of a UTF-8 character
            sys.stdout.write(s[len(shown):])
            sys.stdout.flush()
            shown = s
    t_end = time.time()
    s = tok.decode([t for t in out if t not in stop])
    sys.stdout.write(s[len(shown):] + "\n\n")
    if a.print_ids:
        print("token ids:", " ".join(map(str, out)))

    print(scheme_summary(report))
    if a.show_layers:
        print((prefix.parent / "report.txt").read_text(), end="")
    qcw = Path(str(prefix) + ".qcw").stat().st_size
    print(f"module weights file: {qcw / 1e6:.1f} MB ({prefix}.qcw; includes the embedding)")
    prefill_s = (t_prefill[0] or t_end) - t_start
    n_dec = max(len(out) - 1, 0)
    dec_s = t_end - (t_prefill[0] or t_end)
    when = "cached; compiled earlier in" if cached else "compile"
    print(f"times: {when} {compile_s:.1f} s | load {load_s:.2f} s | prefill {len(ids)} tokens "
          f"{prefill_s:.2f} s ({len(ids) / prefill_s:.1f} tok/s) | decode {n_dec} tokens "
          + (f"{dec_s:.2f} s ({n_dec / dec_s:.1f} tok/s)" if n_dec and dec_s > 0 else "-")
          + f" | target {target}, {ir.config['n_layers']} blocks")
    return 0
