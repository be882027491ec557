#!/usr/bin/env python3
"""The real models through quant's numpy reference: SmolLM2-135M greedy text
and perplexity on Pride and Prejudice, MiniLM sentence similarities.

    PYTHONPATH=python python3 examples/reference_models.py [--windows 2]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from quant import data, reference  # noqa: E402
from quant.importers import load_checkpoint  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--windows", type=int, default=2, help="512-token windows for perplexity")
    a = p.parse_args()

    llm = load_checkpoint(data.smollm2_gguf())
    tok = llm.tokenizer
    chat = ("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"
            "<|im_start|>assistant\n")
    out = reference.greedy_generate(llm, tok.encode(chat).ids, 24,
                                    stop={llm.meta["eos_token_id"]})
    print("SmolLM2:", tok.decode(out).strip())
    ids = tok.encode(data.evaluation_text()).ids
    ppl, n = reference.perplexity(
        lambda s: reference.llama_forward(llm, s, dtype=np.float32), ids, 512,
        max_windows=a.windows, progress=True)
    print(f"SmolLM2 perplexity on {data.EVALUATION_NOVEL}: {ppl:.2f} ({n} tokens)")

    enc = load_checkpoint(data.minilm_dir())
    sents = ["A man is playing a guitar.", "Someone is strumming a guitar.",
             "The stock market fell sharply today.", "Stock prices dropped steeply today."]
    e = np.array([reference.embed_text(enc, s) for s in sents])
    print("MiniLM cosine similarities:")
    for i, s in enumerate(sents):
        print(f"  {s:40s} " + " ".join(f"{v:6.3f}" for v in e[i] @ e.T))


if __name__ == "__main__":
    main()
