#!/usr/bin/env python3
"""quant's Hugging Face causal-LM import against transformers itself, on the
small random checkpoints of the importer tests (test/Python/Inputs/
hf_models.py: llama2, llama3 (GQA, llama3 RoPE scaling, bf16), tied (f16),
mistral (sliding window, 2 shards), qwen2 (q/k/v biases, ChatML template)).

Steps (each writes under OUT; the checkpoints are deterministic, so `make`
gives the same files on both machines):

    hf_check.py make OUT                       # the checkpoints (numpy, tokenizers)
    hf_check.py compile OUT [--target T]       # import + quant-compile, fp32 (this machine)
    hf_check.py run OUT [--target T]           # the compiled modules' logits -> .npy
    hf_check.py compare OUT [--tol 1e-3]       # transformers vs ours (the GPU machine)

`compile` needs quant-compile (QUANT_BUILD_DIR); `run` needs libqcrt (built
with CUDA on the GPU machine for --target sm_90, see run_models.sh) and
writes OUT/<variant>/ours-<target>.npz: @forward logits of a fixed 16-token
prompt, the @decode logits of the prefill (its first 8 tokens) and of 4
greedy steps, and those tokens. `compare` needs only numpy, torch,
transformers and this repository's python/ (no network, no MLIR): for each
variant it loads the directory with AutoModelForCausalLM (fp32, eager
attention) and reports the max relative logit error (max |a - b| / max |b|)
of
  - quant's importer + numpy reference (quant.reference.llama_forward),
  - every ours-*.npz found (compiled modules; decode steps recomputed by
    transformers on the same tokens),
plus the RoPE inverse frequencies (llama_graph.rope_inv_freq vs the model's
rotary_emb.inv_freq), the tokenizer ids, and (qwen2) the chat template as
quant renders it vs tokenizer.apply_chat_template. Exit status 1 if any
check exceeds --tol.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "test" / "Python" / "Inputs"))

import hf_models  # noqa: E402

MAX_SEQ = 32
PROMPT_LEN, PREFILL, STEPS = 16, 8, 4


def prompt_ids(vocab):
    return [int(t) for t in np.random.default_rng(7).integers(0, vocab, PROMPT_LEN)]


def cmd_make(a):
    for i, v in enumerate(hf_models.VARIANTS):
        hf_models.make(v, Path(a.out) / v, seed=i)
        print("wrote", Path(a.out) / v)


def cmd_compile(a):
    import quant
    for v in hf_models.VARIANTS:
        d = Path(a.out) / v
        ir = quant.import_model(d, d / "quant" / "model.mlir", max_seq=MAX_SEQ)
        prefix = quant.compile(ir, target=a.target, out=d / "quant" / a.target)
        print("compiled", prefix)


def cmd_run(a):
    import quant
    for v in hf_models.VARIANTS:
        d = Path(a.out) / v
        m = quant.load(d / "quant" / a.target)
        ids = prompt_ids(m.ir.config["vocab_size"])
        fwd = m.forward(ids)
        step = m._decoder(1)  # the generation API's @decode stepper (KV caches)
        lg = step(np.asarray(ids[:PREFILL], np.int64)[None, :], 0)
        dec, toks = [lg[0]], []
        for s in range(STEPS):
            toks.append(int(np.argmax(lg[0])))
            lg = step(np.array([[toks[-1]]], np.int64), PREFILL + s)
            dec.append(lg[0])
        np.savez(d / f"ours-{a.target}.npz", forward=fwd, decode=np.stack(dec),
                 tokens=np.array(toks), prompt=np.array(ids))
        print("wrote", d / f"ours-{a.target}.npz")


failures = []


def report(name, ours, theirs, tol):
    a, b = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    rel = float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))
    ok = rel <= tol
    print(f"  {name:28s} rel_err={rel:.2e} (tol {tol:g}) {'OK' if ok else 'FAIL'}")
    if not ok:
        failures.append(name)


def cmd_compare(a):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers
    from quant import reference
    from quant.chat import render_chat_template
    from quant.importers import load_checkpoint
    from quant.importers.hf_causal_lm import load_tokenizer
    from quant.importers.llama_graph import LlamaConfig, rope_inv_freq
    torch.backends.cuda.matmul.allow_tf32 = False
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    for v in hf_models.VARIANTS:
        d = Path(a.out) / v
        print(v)
        try:
            model = transformers.AutoModelForCausalLM.from_pretrained(
                d, dtype=torch.float32, attn_implementation="eager")
        except TypeError:  # transformers 4.x
            model = transformers.AutoModelForCausalLM.from_pretrained(
                d, torch_dtype=torch.float32, attn_implementation="eager")
        model = model.eval()

        def hf_logits(ids):
            with torch.no_grad():
                return model(torch.tensor([ids])).logits[0].double().numpy()

        ck = load_checkpoint(d)
        inv = getattr(model.model.rotary_emb, "inv_freq", None)
        if inv is not None:
            report(f"{v}/inv_freq", rope_inv_freq(LlamaConfig.from_dict(ck.config)),
                   inv.cpu().numpy(), 1e-6)
        ids = prompt_ids(ck.config["vocab_size"])
        hf = hf_logits(ids)
        report(f"{v}/reference", reference.llama_forward(ck, ids), hf, a.tol)
        for npz in sorted(d.glob("ours-*.npz")):
            o = np.load(npz)
            tag = npz.stem[len("ours-"):]
            assert list(o["prompt"]) == ids, "prompt differs: re-run `run`"
            report(f"{v}/{tag}/forward", o["forward"], hf, a.tol)
            seq = ids[:PREFILL] + [int(t) for t in o["tokens"]]
            full = hf_logits(seq)
            report(f"{v}/{tag}/decode", o["decode"], full[PREFILL - 1:], a.tol)
        text = "The cat sat on the mat. 12345"
        hf_tok = transformers.AutoTokenizer.from_pretrained(d)
        ours_tok, meta = load_tokenizer(d)
        same = hf_tok(text)["input_ids"] == ours_tok.encode(text).ids
        print(f"  {v + '/tokenizer':28s} {'OK' if same else 'FAIL'}")
        if not same:
            failures.append(f"{v}/tokenizer")
        if meta["chat_template"]:
            msgs = [{"role": "user", "content": "What is the capital of France?"}]
            hf_text = hf_tok.apply_chat_template(msgs, tokenize=False,
                                                 add_generation_prompt=True)
            ours = render_chat_template(meta["chat_template"], msgs[0]["content"],
                                        meta["bos_token"], meta["eos_token"])
            print(f"  {v + '/chat_template':28s} {'OK' if hf_text == ours else 'FAIL'}")
            if hf_text != ours:
                failures.append(f"{v}/chat_template")
    print("FAILED: " + ", ".join(failures) if failures else "all checks passed")
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, fn in (("make", cmd_make), ("compile", cmd_compile), ("run", cmd_run),
                     ("compare", cmd_compare)):
        s = sub.add_parser(name)
        s.add_argument("out")
        s.set_defaults(fn=fn)
        if name in ("compile", "run"):
            s.add_argument("--target", default="host", choices=["host", "sm_80", "sm_90"])
    sub.choices["compare"].add_argument("--tol", type=float, default=1e-3)
    a = ap.parse_args()
    return a.fn(a) or 0


if __name__ == "__main__":
    sys.exit(main())
