"""Automatic mixed precision: a scheme per linear layer under a weight
budget (issue 13).

The compiler measures: every candidate scheme is applied to all layers it
fits by `quant-compile --report` (quantize stage only, no code generation),
whose per-layer `output_error` is the relative output error on the
calibration inputs, sqrt(tr(dW H dW^T) / tr(W H W^T)) with the layer's
Hessian H = X^T X (`quant_error`, the relative weight error, without
Hessians). A layer's predicted loss under a scheme is that error squared;
the choice minimizes the sum over the layers subject to the budget on the
weight bytes (codes + scales + zero points, as the report counts them):
a multiple-choice knapsack, solved by a Lagrangian sweep (per layer the
scheme minimizing loss + lambda * bytes, lambda bisected to the budget) and
then greedy upgrades by loss saved per byte while the budget allows.

`choose(ir, budget_bits=..., stats=...)` returns the choice and writes it
as a qc-policy file (one rule per layer) that quant-compile, `chat` and
`eval` take like any policy.
"""

import json
import tempfile
from pathlib import Path

from .errors import QuantError

# Candidate schemes, narrowest first (the policy spelling, docs/formats.md).
DEFAULT_CANDIDATES = [
    {"weight": "i4", "granularity": "per_group", "group_size": 128},
    {"weight": "i4", "granularity": "per_group", "group_size": 64},
    {"weight": "i4", "granularity": "per_group", "group_size": 32},
    {"weight": "i8", "granularity": "per_channel"},
    {"weight": "f16"},
]


def _scheme_yaml(s):
    return "{" + ", ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}"
                           for k, v in s.items()) + "}"


def _fits(scheme, k):
    return scheme.get("granularity") != "per_group" or k % scheme["group_size"] == 0


def _measure(ir, scheme, layers, stats, algorithm, work, i):
    """quant-compile's report of `scheme` on `layers` ({name: (n, k)})."""
    from . import driver
    from .errors import ToolError
    pol = work / f"candidate{i}.yaml"
    rules = "".join(f'  - match: "{name}"\n    scheme: {_scheme_yaml(scheme)}\n'
                    for name in layers)
    pol.write_text(f"format: qc-policy\nversion: 1\nrules:\n{rules}")
    rep = work / f"candidate{i}.report.json"
    args = [ir.mlir, "--policy", pol, "--emit=mlir", "-o", work / f"candidate{i}.mlir",
            "--report", rep, "--algorithm", algorithm]
    if stats is not None:
        args += ["--stats", stats]
    try:
        driver.compile_args(args)
    except ToolError as e:
        raise QuantError(f"measuring scheme {_scheme_yaml(scheme)} failed: {e}") from None
    return {e["layer"]: e for e in json.loads(rep.read_text())["layers"]}


def _solve(table, budget):
    """table: {layer: [(bytes, loss, candidate index), ...]}; returns
    {layer: option} with sum(bytes) <= budget minimizing sum(loss)."""
    def pick(lam):
        return {l: min(opts, key=lambda o: (o[1] + lam * o[0], o[0])) for l, opts in
                table.items()}

    def total(choice):
        return sum(o[0] for o in choice.values())

    lo, hi = 0.0, 1.0
    while total(pick(hi)) > budget and hi < 1e30:
        hi *= 4.0
    choice = pick(hi)
    if total(choice) > budget:
        smallest = sum(min(o[0] for o in opts) for opts in table.values())
        raise QuantError(f"the budget of {budget} weight bytes is below the smallest "
                         f"choice ({smallest} bytes with the narrowest scheme everywhere)")
    for _ in range(100):
        mid = (lo + hi) / 2
        c = pick(mid)
        if total(c) <= budget:
            hi, choice = mid, c
        else:
            lo = mid
    # Greedy upgrades with the bytes left: best loss saved per byte first.
    spent = total(choice)
    while True:
        best = None
        for l, opts in table.items():
            cur = choice[l]
            for o in opts:
                extra = o[0] - cur[0]
                if o[1] < cur[1] and extra > 0 and spent + extra <= budget:
                    gain = (cur[1] - o[1]) / extra
                    if best is None or gain > best[0]:
                        best = (gain, l, o)
        if best is None:
            return choice
        _, l, o = best
        spent += o[0] - choice[l][0]
        choice[l] = o


def choose(ir, budget_bits=None, budget_bytes=None, stats=None, candidates=None,
           algorithm="rtn", out=None, work=None, budget_scheme=None, layers=None):
    """Chooses a scheme per linear layer of the imported model `ir` so that
    the weight bytes stay within the budget and the sum of the layers'
    squared relative output errors is smallest. The budget is exactly one
    of `budget_bytes`, `budget_bits` (per weight on average) or
    `budget_scheme` (a scheme dict: the bytes of that scheme on every
    layer; it becomes a candidate too). `layers`: glob patterns (fnmatch)
    of the layers to choose for (default all; the others get no rule and
    stay as imported). `stats`: calibration statistics with Hessians
    (without, the weight error is used). Writes the policy to `out` when
    given. Returns {"layers": {name: {"scheme", "bytes", "loss"}}, "bytes",
    "bits_per_weight", "predicted_loss", "policy", "budget_bytes"}."""
    from fnmatch import fnmatchcase

    from . import _as_ir
    ir = _as_ir(ir)
    candidates = list(candidates or DEFAULT_CANDIDATES)
    if sum(b is not None for b in (budget_bits, budget_bytes, budget_scheme)) != 1:
        raise QuantError("give exactly one of budget_bits, budget_bytes and budget_scheme")
    if budget_scheme is not None and budget_scheme not in candidates:
        candidates.append(dict(budget_scheme))
    if stats is not None and not Path(stats).exists():
        raise QuantError(f"{stats}: no such statistics file")
    names = [l for l in ir.layers
             if layers is None or any(fnmatchcase(l, p) for p in layers)]
    if not names:
        raise QuantError(f"no layer of {ir.mlir} matches {', '.join(layers)}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(work) if work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        # Shapes from a scheme every layer takes (i8 per channel).
        probe = _measure(ir, {"weight": "i8", "granularity": "per_channel"},
                         names, stats, "rtn", work, "probe")
        # The report lists every linear of the module: keep the chosen ones.
        shapes = {l: (e["n"], e["k"]) for l, e in probe.items() if l in names}
        table = {l: [] for l in shapes}
        for i, c in enumerate(candidates):
            fit = {l: s for l, s in shapes.items() if _fits(c, s[1])}
            if not fit:
                continue
            rep = _measure(ir, c, fit, stats, algorithm, work, i)
            for l, e in rep.items():
                if l not in fit:  # not under this candidate's rule
                    continue
                err = next((e[key] for key in ("output_error", "quant_error")
                            if e.get(key) is not None), 0.0)  # none: kept exactly
                table[l].append((e["weight_bytes"], float(err) ** 2, i))
    weights = sum(n * k for n, k in shapes.values())
    if budget_scheme is not None:
        idx = candidates.index(budget_scheme)
        budget_bytes = 0
        for l, opts in table.items():
            b = [o[0] for o in opts if o[2] == idx]
            if not b:
                raise QuantError(f"the budget scheme {_scheme_yaml(budget_scheme)} does not "
                                 f"fit layer {l} (K = {shapes[l][1]})")
            budget_bytes += b[0]
    elif budget_bytes is None:
        budget_bytes = int(budget_bits * weights / 8)
    choice = _solve(table, budget_bytes)
    layers = {l: {"scheme": candidates[o[2]], "bytes": o[0], "loss": o[1]}
              for l, o in sorted(choice.items())}
    total = sum(v["bytes"] for v in layers.values())
    rules = "".join(f'  - match: "{l}"\n    scheme: {_scheme_yaml(v["scheme"])}\n'
                    for l, v in layers.items())
    policy = ("# Chosen by quant.mixed (automatic mixed precision): "
              f"{total} weight bytes, {8 * total / weights:.3f} bits per weight\n"
              f"format: qc-policy\nversion: 1\nrules:\n{rules}")
    if out is not None:
        from .files import write_text_atomic
        write_text_atomic(Path(out), policy)
    return {"layers": layers, "bytes": total, "bits_per_weight": 8 * total / weights,
            "predicted_loss": sum(v["loss"] for v in layers.values()), "policy": policy,
            "budget_bytes": budget_bytes}
