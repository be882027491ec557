"""Policy files (docs/formats.md, `qc-policy` version 1), as the compiler
reads them.

The schema has one home, the compiler's policy reader (qc-apply-policy):
`check(policy, mlir)` runs `quant-compile --check-policy` on the model
(in process, quant.driver),
which parses the policy, applies it to every linear layer (a rule that
matches no layer is an error) and reports the scheme each layer got. This
package keeps no copy of the schema.
"""

import json
from pathlib import Path

from .errors import PolicyError


def check(policy, mlir) -> dict:
    """The compiler's check of the policy file `policy` against the model
    `mlir`: {"layers": [{"layer", "scheme", "batch_threshold"}],
    "needs_stats"} (`scheme`: a policy scheme mapping, or "none"). Raises
    PolicyError with the compiler's message (file:line:col of the policy)."""
    from . import driver
    from .errors import ToolError
    p = Path(policy)
    if not p.is_file():
        raise PolicyError(f"{p}: no such policy file")
    try:
        out = driver.compile_args([mlir, "--policy", p, "--check-policy", "-o", "-"])
    except ToolError as e:
        # "FILE:L:C: invalid policy: ..." (the policy reader's location)
        raise PolicyError(str(e)) from None
    return json.loads(out)


def scheme_of(report: dict, layer: str):
    """The scheme `check` reported for `layer` (a mapping or "none")."""
    for entry in report["layers"]:
        if entry["layer"] == layer:
            return entry["scheme"]
    raise KeyError(layer)
