"""Checks shared by the chat tests: the streamed token ids and the compiled
@forward logits of a `python -m quant chat` run against the numpy reference
model `ck` (already carrying the weights the test expects)."""

from pathlib import Path

import numpy as np

from quant import reference

# SmolLM2-Instruct's chat template for the default prompt, written out here
# (not taken from quant.chat).
PROMPT = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by "
          "Hugging Face<|im_end|>\n<|im_start|>user\nWhat is the capital of France?"
          "<|im_end|>\n<|im_start|>assistant\n")


def check_chat(ck, out_txt: Path, cache: Path, n_tokens: int, tol: float, what: str):
    """The ids on the chat's `token ids:` line must be the reference's greedy
    tokens, and the cached module's @forward logits of the prompt must be
    within `tol` (relative 2-norm) of the reference logits."""
    ids = ck.tokenizer.encode(PROMPT).ids
    ref = reference.greedy_generate(ck, ids, n_tokens, dtype=np.float64)
    line = [l for l in Path(out_txt).read_text().splitlines() if l.startswith("token ids:")][0]
    got = [int(t) for t in line.split(":")[1].split()]
    assert got == ref, (got, ref)
    print(f"tokens match the {what}", ref)

    import quant
    m = quant.load(next(Path(cache).glob("modules/*/model.so")).with_suffix(""))
    lg = m.forward(ids)
    lr = reference.llama_forward(ck, ids, dtype=np.float64)
    err = np.linalg.norm(lg - lr) / np.linalg.norm(lr)
    assert err < tol, err
    print(f"forward logits match the {what} (relative error {err:.1e})")
