"""Command line: python -m quant {fetch,import,compile,calibrate,run,eval,chat,report}.

Errors print one line `quant: error: ...` and exit with status 1.
"""

import argparse
import os
import sys

import numpy as np


def _text(which):
    from . import data
    if which == "eval":
        return data.evaluation_text()
    if which == "calib":
        return data.calibration_text()
    return data.austen_novel(which)


def cmd_fetch(a):
    from . import data
    data.fetch_all()


def cmd_import(a):
    import quant
    ir = quant.import_model(a.model, a.output, layers=a.layers, max_seq=a.max_seq,
                            embedding=a.embedding, activations=a.activations,
                            quantized=a.quantized)
    print(f"wrote {ir.mlir} (+ {ir.weights.name}, {ir.meta_path.name}): {ir.arch}, "
          f"{len(ir.layers)} linear layers, entry points {', '.join(ir.entry_points)}")
    kept = ir.config.get("kept_quantized")
    if kept:
        by = {}
        for v in kept.values():
            by.setdefault((v["scheme"], v["bits_per_weight"]), 0)
            by[(v["scheme"], v["bits_per_weight"])] += 1
        for (scheme, bpw), count in sorted(by.items()):
            print(f"kept quantized: {count} linears {scheme}, {bpw:g} bits/weight")


def cmd_compile(a):
    import quant
    from .target import resolve_target
    target, _ = resolve_target(a.target, run_here=False)
    prefix = quant.compile(a.ir, policy=a.policy, stats=a.stats, target=target,
                           algorithm=a.algorithm, out=a.output)
    print(f"wrote {prefix}.so, {prefix}.qcw")


def cmd_calibrate(a):
    import quant
    from .model_ir import ModelIR
    from .importers import load_tokenizer
    ir = ModelIR.open(a.ir)
    tok = load_tokenizer(ir.source)
    ids = tok.encode(_text(a.text)).ids
    quant.calibrate(ir, ids, a.output, window=a.window, max_windows=a.max_windows)
    print(f"wrote {a.output}")


def _checkpoint(a):
    import quant
    return quant.load_checkpoint(quant.resolve_model(a.model), layers=a.layers)


def cmd_run(a):
    """Greedy generation (Llama) or a sentence embedding (BERT)."""
    from . import reference
    if a.module:
        import quant
        m = quant.load(a.module)
        tok = m.tokenizer()
        ids = tok.encode(a.prompt).ids
        if m.ir.arch == "bert":
            print(np.array2string(m.embed(ids), precision=4, threshold=8))
            return
        print(tok.decode(m.generate(ids, a.max_new)))
        return
    ck = _checkpoint(a)
    ids = ck.tokenizer.encode(a.prompt).ids
    if ck.arch == "bert":
        print(np.array2string(reference.bert_embed(ck, ids), precision=4, threshold=8))
    else:
        print(ck.tokenizer.decode(reference.greedy_generate(ck, ids, a.max_new)))


def _compiled_for_eval(a):
    """--model with --target: import (cached), compile for the target under
    --policy and load the module."""
    import quant
    from .target import resolve_target
    target, note = resolve_target(a.target)
    print(f"target {target} ({note})", file=sys.stderr)
    ir = quant.import_model(a.model, layers=a.layers, max_seq=a.max_seq,
                            embedding=a.embedding, activations=a.activations,
                            quantized=a.quantized)
    out = ir.mlir.with_name(f"{ir.mlir.stem}.eval-{target}")
    prefix = quant.compile(ir, policy=a.policy, target=target, out=out)
    return quant.load(prefix)


def cmd_eval(a):
    import quant
    if a.target is None and (a.policy or a.embedding != "f32" or a.quantized != "dequantize"
                             or a.activations != "f32"):
        raise quant.QuantError("--policy, --embedding, --activations and --quantized compile "
                               "the model: give "
                               "--target (auto or a target of `quant-compile --list-targets`)")
    if a.target is not None and not a.model:
        raise quant.QuantError("--target compiles the model: use it with --model, not "
                               "--module (a compiled module has its target already)")
    if a.module or a.target is not None:
        m = quant.load(a.module) if a.module else _compiled_for_eval(a)
        tok = m.tokenizer()
        model = m
    else:
        model = _checkpoint(a)
        if model.arch != "llama":
            raise quant.QuantError("perplexity needs a Llama-family model")
        tok = model.tokenizer
    ids = tok.encode(_text(a.text)).ids
    ppl, n = quant.evaluate(model, ids, window=a.window, max_windows=a.max_windows)
    print(f"perplexity {ppl:.3f} over {n} predicted tokens")


def cmd_chat(a):
    from .chat import run_chat
    if a.max_tokens < 1:
        raise ValueError(f"--max-tokens must be at least 1 (got {a.max_tokens})")
    run_chat(a)


def cmd_mixed(a):
    from . import mixed
    if sum(x is not None for x in (a.bits, a.bytes, a.like)) != 1:
        raise ValueError("give exactly one of --bits, --bytes and --like")
    like = None
    if a.like is not None:
        import yaml
        try:
            like = yaml.safe_load(a.like)
        except yaml.YAMLError as e:
            raise ValueError(f"--like: not a scheme mapping: {a.like!r} ({e})") from None
        if not isinstance(like, dict) or "weight" not in like:
            raise ValueError(f"--like: not a scheme mapping with a weight: {a.like!r}")
    r = mixed.choose(a.ir, budget_bits=a.bits, budget_bytes=a.bytes, budget_scheme=like,
                     stats=a.stats, algorithm=a.algorithm, out=a.output,
                     layers=a.layers)
    for name, v in r["layers"].items():
        s = v["scheme"]
        desc = s["weight"] + (f" g{s['group_size']}" if "group_size" in s else "")
        print(f"{name:40s} {desc:8s} {v['bytes']:>12d} B  loss {v['loss']:.3g}")
    print(f"total {r['bytes']} weight bytes ({r['bits_per_weight']:.3f} bits per weight; "
          f"budget {r['budget_bytes']}), predicted loss {r['predicted_loss']:.4g}; "
          f"wrote {a.output}")


def cmd_report(a):
    from .report import load_report, plot_report, report_table
    rep = load_report(a.report)
    print(report_table(rep))
    if a.plot:
        plot_report(rep, a.plot)
        print(f"wrote {a.plot}")


class _Parser(argparse.ArgumentParser):
    """Usage errors are one `quant: error:` line and exit status 1 too."""

    def error(self, message):
        print(f"quant: error: {self.prog}: {message} (see --help)", file=sys.stderr)
        sys.exit(1)


def main(argv=None):
    p = _Parser(prog="python -m quant", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("fetch", help="download and cache the models and texts")
    s.set_defaults(fn=cmd_fetch)
    s = sub.add_parser("import", help="checkpoint -> qc MLIR + weight blob")
    s.add_argument("model", help="smollm2, minilm, a .gguf file, or a Hugging Face directory "
                   "(BERT, or a Llama/Mistral/Qwen2 causal LM)")
    s.add_argument("-o", "--output", help="output .mlir (weights go to .bin beside it)")
    s.add_argument("--layers", type=int, help="keep only the first N blocks")
    s.add_argument("--max-seq", type=int, default=512, help="decode KV-cache length")
    s.add_argument("--quantized", default="dequantize", choices=["dequantize", "keep"],
                   help="linears stored quantized (GGUF Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K; "
                   "Hugging Face GPTQ and AWQ): dequantize to f32 (default), or keep their "
                   "exact grid as packed weights (compile with a policy that says 'keep' for "
                   "them)")
    s.add_argument("--embedding", default="f32", choices=["f32", "int8"],
                   help="token embedding table storage: f32, or per-row int8 + f32 "
                        "scales dequantized on gather (4x smaller)")
    s.add_argument("--activations", default="f32", choices=["f32", "f16", "bf16"],
                   help="activation and KV-cache element type (Llama family): f16 or bf16 "
                        "(f32 accumulation, stores rounded to nearest even) run the GPU's "
                        "tensor-core kernels; logits stay f32")
    s.set_defaults(fn=cmd_import)
    s = sub.add_parser("compile", help="quant-compile an imported model")
    s.add_argument("ir", help="the imported .mlir")
    s.add_argument("-o", "--output", help="module prefix")
    s.add_argument("--policy")
    s.add_argument("--stats")
    s.add_argument("--target", default="host",
                   help="host (default), auto or a target of `quant-compile --list-targets`")
    s.add_argument("--algorithm", default="rtn", choices=["rtn", "gptq"])
    s.set_defaults(fn=cmd_compile)
    s = sub.add_parser("calibrate", help="gather activation statistics")
    s.add_argument("ir")
    s.add_argument("-o", "--output", required=True, help="stats.json to write")
    s.add_argument("--text", default="calib")
    s.add_argument("--window", type=int, default=256)
    s.add_argument("--max-windows", type=int, default=8)
    s.set_defaults(fn=cmd_calibrate)
    for name, fn, helptext in (("run", cmd_run, "generate text / embed a sentence"),
                               ("eval", cmd_eval, "perplexity on Austen text")):
        s = sub.add_parser(name, help=helptext)
        g = s.add_mutually_exclusive_group(required=True)
        g.add_argument("--model", help="checkpoint (numpy reference)")
        g.add_argument("--module", help="compiled module prefix")
        s.add_argument("--layers", type=int)
        s.set_defaults(fn=fn)
    sub.choices["run"].add_argument("--prompt", required=True)
    sub.choices["run"].add_argument("--max-new", type=int, default=20)
    ev = sub.choices["eval"]
    ev.add_argument("--target", help="compile --model for auto or a target of `quant-compile "
                    "--list-targets` and "
                    "evaluate the module (default: the numpy reference)")
    ev.add_argument("--policy", help="qc-policy file for --target (default: all fp32)")
    ev.add_argument("--embedding", default="f32", choices=["f32", "int8"],
                    help="token embedding storage for --target (see import)")
    ev.add_argument("--activations", default="f32", choices=["f32", "f16", "bf16"],
                    help="activation / KV-cache type for --target (see import)")
    ev.add_argument("--quantized", default="dequantize", choices=["dequantize", "keep"],
                    help="for --target: import the checkpoint's quantized linears "
                    "dequantized or kept in their grid (see import; without --policy the "
                    "kept layers keep it)")
    ev.add_argument("--max-seq", type=int, default=512, help="decode KV-cache length "
                    "of the compiled model")
    ev.add_argument("--text", default="eval",
                    help="eval (Pride and Prejudice), calib (Emma) or a novel name")
    ev.add_argument("--window", type=int, default=256)
    ev.add_argument("--max-windows", type=int)
    s = sub.add_parser("chat", help="the main job: import, compile (cached), chat, "
                       "print schemes, bytes and times")
    s.add_argument("--model", default="smollm2", help="smollm2 (default), a .gguf file or a "
                   "Hugging Face Llama/Mistral/Qwen2 directory")
    s.add_argument("--prompt", default="What is the capital of France?")
    s.add_argument("--max-tokens", type=int, default=48, help="new tokens at most")
    s.add_argument("--temperature", type=float, default=0.0,
                   help="sampling temperature (0: greedy, the default); the draw runs on the "
                        "device for GPU targets (qc.sample)")
    s.add_argument("--top-k", type=int, default=0,
                   help="sample among the K most likely tokens only (0: all)")
    s.add_argument("--seed", type=int, default=0, help="sampling seed (same seed, same text)")
    s.add_argument("--activations", default="auto", choices=["auto", "f32", "f16", "bf16"],
                   help="activation / KV-cache type of the imported model (auto: f16 on a GPU "
                        "target, f32 on the host)")
    s.add_argument("--layers", type=int, help="keep only the first N blocks (quick run)")
    s.add_argument("--policy", help="qc-policy file (default examples/policy-default.yaml)")
    s.add_argument("--target", default="auto",
                   help="auto (the CUDA GPU when quant-compile has a target for it, else "
                        "the host) or a target of `quant-compile --list-targets`")
    s.add_argument("--algorithm", default="rtn", choices=["rtn", "gptq"],
                   help="weight rounding: rtn, or gptq (calibrates on Emma first)")
    s.add_argument("--max-seq", type=int, default=512, help="KV-cache length")
    s.add_argument("--calib-windows", type=int, default=8,
                   help="calibration windows for gptq / SmoothQuant / static scales")
    s.add_argument("--calib-window", type=int, default=256, help="tokens per window")
    s.add_argument("--cache-dir", help="imported IR + compiled modules "
                   "(default $QUANT_CACHE/chat)")
    s.add_argument("--rebuild", action="store_true", help="compile even when cached")
    s.add_argument("--raw", action="store_true", help="no chat template")
    s.add_argument("--print-ids", action="store_true", help="print the generated token ids")
    s.add_argument("--show-layers", action="store_true", help="print the per-layer table")
    s.add_argument("--quiet", action="store_true", help="no progress lines")
    s.set_defaults(fn=cmd_chat)
    s = sub.add_parser("mixed", help="automatic mixed precision: a scheme per layer under "
                                     "a weight budget, written as a policy file")
    s.add_argument("ir", help="imported model (.mlir)")
    s.add_argument("--bits", type=float, help="budget: average bits per weight")
    s.add_argument("--bytes", type=int, help="budget: total weight bytes of the linears")
    s.add_argument("--like", help="budget: the bytes of this scheme on every layer, in the "
                                  "policy spelling, e.g. '{weight: i4, granularity: "
                                  "per_group, group_size: 64}'")
    s.add_argument("--layers", nargs="+", help="glob patterns of the layers to choose for "
                                               "(default all; others stay as imported)")
    s.add_argument("--stats", help="calibration statistics with Hessians (recommended)")
    s.add_argument("--algorithm", default="rtn", choices=["rtn", "gptq"])
    s.add_argument("-o", "--output", required=True, help="policy file to write")
    s.set_defaults(fn=cmd_mixed)
    s = sub.add_parser("report", help="print (and plot) a quant-compile --report file")
    s.add_argument("report")
    s.add_argument("--plot", help="write a PNG of bytes and errors per layer (matplotlib)")
    s.set_defaults(fn=cmd_report)
    a = p.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C: every `finally` and temporary-file
    # cleanup runs, then one error line (docs/reliability.md).
    import signal

    def _terminated(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, _terminated)
    except ValueError:  # not the main thread (embedded use)
        pass
    try:
        a.fn(a)
    except BrokenPipeError:
        # `python -m quant report r.json | head`: not an error of ours.
        try:
            sys.stdout = None
        except Exception:
            pass
        return 1
    except KeyboardInterrupt:
        print("quant: error: interrupted", file=sys.stderr)
        return 1
    except MemoryError:
        print("quant: error: out of memory", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - every error is one line
        print(f"quant: error: {error_line(e)}", file=sys.stderr)
        if os.environ.get("QUANT_DEBUG"):
            import traceback
            traceback.print_exc()
        return 1
    return 0


def error_line(e) -> str:
    """The one-line message of an exception: user errors (QuantError,
    DataError, ValueError) as they are; OS errors with the file they name;
    anything else prefixed with its type (an internal error). Multi-line
    messages are joined with '; '."""
    from .data import DataError
    from .errors import QuantError
    if isinstance(e, OSError) and not isinstance(e, QuantError):
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        text = f"{where}{e.strerror or e}"
    elif isinstance(e, (QuantError, DataError, ValueError)):
        text = str(e)
    else:
        text = f"internal error ({type(e).__name__}): {e} (set QUANT_DEBUG=1 for a traceback)"
    parts = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    if not parts:
        return type(e).__name__
    out = parts[0]
    for p in parts[1:]:
        out += (" " if out.endswith(":") else "; ") + p
    return out


if __name__ == "__main__":
    sys.exit(main())
