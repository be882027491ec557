#!/usr/bin/env python3
"""Compares quant's numpy reference (python/quant/reference.py) with Hugging
Face transformers on the same local weights. No network: the HF models are
built from a config + state dict made from the files quant imports.

    PYTHONPATH=python python3 benchmarks/validate_hf.py \
        [--gguf SmolLM2-135M-Instruct.Q4_1.gguf] [--minilm DIR] [--layers N]

Needs numpy, torch, transformers (4.4x or 5.x), tokenizers, safetensors and
gguf (pure Python: `pip install gguf-*.whl`). Defaults read the files from
the quant cache (~/.cache/quant or $QUANT_CACHE, filled by
`python -m quant fetch`). Prints one line per check and exits non-zero when
a relative error exceeds --tol (default 1e-3, fp32 on both sides).

Checks:
  llama/logits    reference fp32 vs LlamaForCausalLM (eager attention, fp32)
  llama/greedy    greedy continuation token ids agree
  llama/hf-gguf   (if transformers can read the GGUF itself) transformers'
                  own GGUF loader (its de-permutation of q/k, its tokenizer)
                  vs quant's weights and tokenizer
  bert/hidden     reference vs BertModel last hidden state
  bert/embed      mean-pooled, L2-normalized sentence embeddings
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from quant import reference  # noqa: E402
from quant.importers.gguf_llama import load_gguf  # noqa: E402
from quant.importers.safetensors_bert import load_bert  # noqa: E402

TEXT = ("It is a truth universally acknowledged, that a single man in possession "
        "of a good fortune, must be in want of a wife.")
failures = []


def report(name, a, b, tol):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    rel = float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))
    ok = rel <= tol
    print(f"{name:14s} rel_err={rel:.3e} (tol {tol:g}) {'OK' if ok else 'FAIL'}")
    if not ok:
        failures.append(name)


def validate_llama(path, layers, tol, torch, transformers):
    ck = load_gguf(path, layers=layers)
    c = ck.config
    theta = c["rope_theta"]
    cfg = transformers.LlamaConfig(
        vocab_size=c["vocab_size"], hidden_size=c["dim"], intermediate_size=c["ffn_dim"],
        num_hidden_layers=c["n_layers"], num_attention_heads=c["n_heads"],
        num_key_value_heads=c["n_kv_heads"], head_dim=c["head_dim"],
        rms_norm_eps=c["rms_eps"], rope_theta=theta,
        max_position_embeddings=c["context_length"], hidden_act="silu",
        tie_word_embeddings=c["tied_embeddings"], attention_bias=False, mlp_bias=False,
        attn_implementation="eager")
    if hasattr(cfg, "rope_parameters"):  # transformers 5.x
        cfg.rope_parameters = {"rope_type": "default", "rope_theta": theta}
    model = transformers.LlamaForCausalLM(cfg).float().eval()
    sd = {"model.embed_tokens.weight": ck.tensors["token_embd"],
          "model.norm.weight": ck.tensors["output_norm"],
          "lm_head.weight": ck.tensors["token_embd" if c["tied_embeddings"] else "output"]}
    names = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
             "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
             "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
             "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"}
    for i in range(c["n_layers"]):
        for g, h in names.items():
            sd[f"model.layers.{i}.{h}.weight"] = ck.tensors[f"blk.{i}.{g}"]
    missing, unexpected = model.load_state_dict(
        {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}, strict=False)
    missing = [m for m in missing if "rotary_emb" not in m]
    if missing or unexpected:
        raise SystemExit(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    inv = getattr(model.model.rotary_emb, "inv_freq", None)
    if inv is not None:
        ours = 1.0 / theta ** (np.arange(0, c["head_dim"], 2) / c["head_dim"])
        report("llama/inv_freq", inv.cpu().numpy(), ours, 1e-6)

    ids = ck.tokenizer.encode(TEXT).ids
    with torch.no_grad():
        hf = model(torch.tensor([ids])).logits[0].numpy()
    ours = reference.llama_forward(ck, ids, dtype=np.float32)
    report("llama/logits", ours, hf, tol)
    ours64 = reference.llama_forward(ck, ids, dtype=np.float64)
    report("llama/logits64", hf, ours64, tol)

    prompt = ck.tokenizer.encode("The capital of France is").ids
    with torch.no_grad():
        out = model.generate(torch.tensor([prompt]), max_new_tokens=8, do_sample=False,
                             attention_mask=torch.ones(1, len(prompt), dtype=torch.long))
    hf_new = out[0, len(prompt):].tolist()
    our_new = reference.greedy_generate(ck, prompt, len(hf_new))
    ok = hf_new == our_new
    print(f"llama/greedy   hf={ck.tokenizer.decode(hf_new)!r} ours={ck.tokenizer.decode(our_new)!r} "
          f"{'OK' if ok else 'FAIL'}")
    if not ok and c["n_layers"] == c["total_layers"]:
        failures.append("llama/greedy")

    # transformers' own GGUF reader, when available: independent q/k
    # de-permutation and tokenizer conversion.
    try:
        try:
            hf_model = transformers.AutoModelForCausalLM.from_pretrained(
                str(Path(path).parent), gguf_file=Path(path).name, dtype=torch.float32)
        except TypeError:  # transformers 4.x
            hf_model = transformers.AutoModelForCausalLM.from_pretrained(
                str(Path(path).parent), gguf_file=Path(path).name, torch_dtype=torch.float32)
        hf_tok = transformers.AutoTokenizer.from_pretrained(
            str(Path(path).parent), gguf_file=Path(path).name)
    except Exception as e:  # noqa: BLE001 - report and go on
        print(f"llama/hf-gguf  skipped: transformers could not load the GGUF ({type(e).__name__}: "
              f"{str(e).splitlines()[0][:120]})")
        return
    hsd = hf_model.state_dict()
    for i in range(min(2, c["n_layers"])):
        for g in ("attn_q", "attn_k"):
            report(f"gguf/{i}.{g}", ck.tensors[f"blk.{i}.{g}"],
                   hsd[f"model.layers.{i}.{names[g]}.weight"].numpy(), 1e-6)
    hf_ids = hf_tok(TEXT, add_special_tokens=False)["input_ids"]
    ok = hf_ids == ids
    print(f"gguf/tokenizer {len(ids)} tokens {'OK' if ok else 'FAIL: ' + str(hf_ids[:12])}")
    if not ok:
        failures.append("gguf/tokenizer")


def validate_bert(directory, layers, tol, torch, transformers):
    ck = load_bert(directory, layers=layers)
    cfg = transformers.BertConfig.from_json_file(str(Path(directory) / "config.json"))
    cfg.num_hidden_layers = ck.config["n_layers"]
    try:
        cfg._attn_implementation = "eager"
    except Exception:  # noqa: BLE001 - read-only in some versions: default is fine
        pass
    model = transformers.BertModel(cfg, add_pooling_layer=False).float().eval()
    from safetensors.numpy import load_file
    raw = load_file(str(Path(directory) / "model.safetensors"))
    raw = {k: v for k, v in raw.items()
           if not k.startswith("encoder.layer.") or int(k.split(".")[2]) < ck.config["n_layers"]}
    raw = {k: v for k, v in raw.items() if not k.startswith("pooler.")}
    missing, unexpected = model.load_state_dict(
        {k: torch.from_numpy(v) for k, v in raw.items()}, strict=False)
    missing = [m for m in missing if "position_ids" not in m]
    unexpected = [u for u in unexpected if "position_ids" not in u]
    if missing or unexpected:
        raise SystemExit(f"BERT state dict mismatch: missing {missing}, unexpected {unexpected}")
    sents = [TEXT, "A man is playing a guitar.", "Someone is strumming a guitar."]
    for s in sents[:1]:
        ids = ck.tokenizer.encode(s).ids
        with torch.no_grad():
            hf = model(torch.tensor([ids])).last_hidden_state[0].numpy()
        report("bert/hidden", reference.bert_forward(ck, ids, dtype=np.float32), hf, tol)
    embs_hf, embs = [], []
    for s in sents:
        ids = ck.tokenizer.encode(s).ids
        with torch.no_grad():
            h = model(torch.tensor([ids])).last_hidden_state[0].mean(0)
        embs_hf.append((h / h.norm()).numpy())
        embs.append(reference.bert_embed(ck, ids, dtype=np.float32))
    report("bert/embed", np.array(embs), np.array(embs_hf), tol)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    cache = Path(os.environ.get("QUANT_CACHE", Path.home() / ".cache" / "quant"))
    p.add_argument("--gguf", default=str(cache / "smollm2-135m-instruct" /
                                         "SmolLM2-135M-Instruct.Q4_1.gguf"))
    p.add_argument("--minilm", default=str(cache / "all-minilm-l6-v2"))
    p.add_argument("--layers", type=int, help="only the first N blocks of each model")
    p.add_argument("--tol", type=float, default=1e-3)
    p.add_argument("--skip-llama", action="store_true")
    p.add_argument("--skip-bert", action="store_true")
    a = p.parse_args()
    import torch
    import transformers
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    print(f"torch {torch.__version__}, transformers {transformers.__version__} (CPU, fp32)")
    if not a.skip_llama:
        validate_llama(a.gguf, a.layers, a.tol, torch, transformers)
    if not a.skip_bert:
        validate_bert(a.minilm, a.layers, a.tol, torch, transformers)
    print("FAILED: " + ", ".join(failures) if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
