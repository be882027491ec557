"""Policy files (docs/formats.md, `qc-policy` version 1), as the compiler
reads them.

The schema has one home, the compiler's policy reader (qc-apply-policy):
`check(policy, mlir)` runs `quant-compile --check-policy` on the model,
which parses the policy, applies it to every linear layer (a rule that
matches no layer is an error) and reports the scheme each layer got. This
package keeps no copy of the schema.
"""

import json
import subprocess
from pathlib import Path

from .errors import PolicyError


def check(policy, mlir) -> dict:
    """The compiler's check of the policy file `policy` against the model
    `mlir`: {"layers": [{"layer", "scheme", "batch_threshold"}],
    "needs_stats"} (`scheme`: a policy scheme mapping, or "none"). Raises
    PolicyError with the compiler's message (file:line:col of the policy)."""
    from . import find_tool
    p = Path(policy)
    if not p.is_file():
        raise PolicyError(f"{p}: no such policy file")
    r = subprocess.run([find_tool("quant-compile"), str(mlir), "--policy", str(p),
                        "--check-policy", "-o", "-"], capture_output=True, text=True)
    if r.returncode != 0:
        lines = [l for l in r.stderr.splitlines() if ": error: " in l or l.startswith("error:")]
        msg = lines[0] if lines else (r.stderr.strip().splitlines() or ["failed"])[-1]
        # "FILE:L:C: error: invalid policy: ..." -> "FILE:L:C: invalid policy: ..."
        raise PolicyError(msg.replace(": error: ", ": ", 1).replace("quant-compile: ", "", 1))
    return json.loads(r.stdout)


def scheme_of(report: dict, layer: str):
    """The scheme `check` reported for `layer` (a mapping or "none")."""
    for entry in report["layers"]:
        if entry["layer"] == layer:
            return entry["scheme"]
    raise KeyError(layer)
