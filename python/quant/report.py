"""Reading, printing and plotting quant-compile's per-layer report
(`--report`, format `qc-layer-report` v1, docs/passes.md)."""

import json
from pathlib import Path

from .errors import QuantError


def load_report(path) -> dict:
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        raise QuantError(f"{p}: no such report file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise QuantError(f"{p}: not a JSON report ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != "qc-layer-report" \
            or doc.get("version") != 1:
        raise QuantError(f"{p}: not a qc-layer-report v1 file")
    _check_report(doc, p)
    return doc


def _check_report(doc, p):
    """Every field report_table and plot_report use, with its type: a
    malformed file is one QuantError naming the field, not a traceback."""
    def num(v, allow_none=False):
        if v is None:
            return allow_none
        return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v

    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise QuantError(f"{p}: malformed report: 'layers' is not a list")
    for i, L in enumerate(layers):
        if not isinstance(L, dict):
            raise QuantError(f"{p}: malformed report: layer {i} is not an object")
        for k in ("layer", "scheme", "kernel"):
            if not isinstance(L.get(k), str):
                raise QuantError(f"{p}: malformed report: layer {i} has no string '{k}'")
        for k in ("weight_bytes", "fp32_bytes"):
            v = L.get(k)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise QuantError(f"{p}: malformed report: layer {i} has no byte count '{k}'")
        if L["fp32_bytes"] == 0:
            raise QuantError(f"{p}: malformed report: layer {i} has fp32_bytes 0")
        for k in ("quant_error", "output_error"):
            if not num(L.get(k), allow_none=True):
                raise QuantError(f"{p}: malformed report: layer {i} has an invalid '{k}'")
    for k in ("total_weight_bytes", "total_fp32_bytes"):
        v = doc.get(k)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise QuantError(f"{p}: malformed report: no byte count '{k}'")


def report_table(doc) -> str:
    head = ("layer", "scheme", "kernel", "bytes", "bits/w", "vs fp32", "w err", "out err")
    rows = []
    fmt = lambda e: "-" if e is None else f"{e:.2e}"
    for L in doc["layers"]:
        rows.append((L["layer"], L["scheme"], L["kernel"], str(L["weight_bytes"]),
                     f"{L['weight_bytes'] * 32 / L['fp32_bytes']:.2f}",
                     f"{L['weight_bytes'] / L['fp32_bytes']:.3f}", fmt(L["quant_error"]),
                     fmt(L["output_error"])))
    w = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    out = ["  ".join(c.ljust(w[i]) if i < 3 else c.rjust(w[i]) for i, c in enumerate(r))
           for r in [head] + rows]
    t, f = doc["total_weight_bytes"], doc["total_fp32_bytes"]
    out.append(f"total: {len(rows)} layers, {t} bytes (fp32 {f}, fp16 {f // 2}; "
               f"{f / t if t else 0:.2f}x smaller than fp32)")
    return "\n".join(out)


def plot_report(doc, out):
    """Bar charts of weight bytes (vs fp32) and calibration error per layer."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise QuantError("--plot needs matplotlib (pip install matplotlib; "
                         "scripts/setup.sh installs it)") from None
    L = doc["layers"]
    names = [x["layer"] for x in L]
    x = range(len(L))
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(max(8, len(L) * 0.12), 7), sharex=True)
    a1.bar(x, [v["fp32_bytes"] / 1e6 for v in L], color="#ddd", label="fp32")
    a1.bar(x, [v["weight_bytes"] / 1e6 for v in L], color="#3a7", label="compiled")
    a1.set_ylabel("weight MB")
    a1.legend()
    a2.bar(x, [v["quant_error"] or 0 for v in L], color="#37a", label="||W-Wq||/||W||")
    oe = [(i, v["output_error"]) for i, v in enumerate(L) if v["output_error"] is not None]
    if oe:
        a2.plot([i for i, _ in oe], [e for _, e in oe], "r.", label="output error (H)")
    a2.set_ylabel("relative error")
    a2.legend()
    a2.set_xticks(list(x))
    a2.set_xticklabels(names, rotation=90, fontsize=6)
    fig.tight_layout()
    # Written to a temporary and renamed: never a partial file under `out`.
    import os
    out = Path(out)
    fmt = out.suffix.lstrip(".").lower() or "png"
    tmp = out.with_name(f"{out.name}.partial-{os.getpid()}")
    try:
        fig.savefig(tmp, dpi=120, format=fmt)
        os.replace(tmp, out)
    except (OSError, ValueError) as e:
        raise QuantError(f"{out}: cannot write the plot "
                         f"({getattr(e, 'strerror', None) or e})") from None
    finally:
        plt.close(fig)
        if tmp.exists():
            tmp.unlink()
