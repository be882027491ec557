"""Policy files (docs/formats.md, `qc-policy` version 1): parsing and the
check that every rule names layers the model has.

The compiler's qc-apply-policy pass applies the policy; this module rejects
a policy that cannot be meant for the model before compiling anything.
"""

import fnmatch
import json
import re
from pathlib import Path

from .errors import PolicyError

SCHEME_KEYS = {"weight", "granularity", "group_size", "symmetric", "act", "alpha",
               "minimum"}
WEIGHTS = {"i4", "i8", "f16", "f8e4m3"}
GRANULARITIES = {"per_tensor", "per_channel", "per_group"}
ACTS = {"none", "static_per_tensor", "dynamic_per_token"}
MINIMA = {"f16", "f32"}


def load_policy(path) -> dict:
    p = Path(path)
    if not p.exists():
        raise PolicyError(f"{p}: no such policy file")
    text = p.read_text()
    try:
        if p.suffix == ".json":
            doc = json.loads(text)
        else:
            import yaml
            doc = yaml.safe_load(text)
    except Exception as e:
        raise PolicyError(f"{p}: does not parse ({str(e).splitlines()[0]})") from e
    check_policy(doc, str(p))
    return doc


def _check_scheme(s, where, allow_keep=True):
    if s == "none" or (s == "keep" and allow_keep):
        return
    if not isinstance(s, dict):
        raise PolicyError(f"{where}: scheme must be a mapping, 'none' or 'keep'"
                          if allow_keep else f"{where}: scheme must be a mapping")
    unknown = set(s) - SCHEME_KEYS
    if unknown:
        raise PolicyError(f"{where}: unknown scheme field(s) {', '.join(sorted(unknown))}")
    if "weight" not in s:
        raise PolicyError(f"{where}: scheme has no 'weight'")
    if s["weight"] not in WEIGHTS:
        raise PolicyError(f"{where}: weight '{s['weight']}' is not one of {sorted(WEIGHTS)}")
    if "granularity" in s and s["granularity"] not in GRANULARITIES:
        raise PolicyError(f"{where}: granularity '{s['granularity']}' is not one of "
                          f"{sorted(GRANULARITIES)}")
    if s.get("granularity") == "per_group" and not isinstance(s.get("group_size"), int):
        raise PolicyError(f"{where}: per_group needs an integer group_size")
    if "act" in s and s["act"] not in ACTS:
        raise PolicyError(f"{where}: act '{s['act']}' is not one of {sorted(ACTS)}")
    if "minimum" in s and s["minimum"] not in MINIMA:
        raise PolicyError(f"{where}: minimum '{s['minimum']}' is not one of {sorted(MINIMA)}")


def check_policy(doc, where="policy"):
    if not isinstance(doc, dict):
        raise PolicyError(f"{where}: not a mapping")
    if doc.get("format") != "qc-policy":
        raise PolicyError(f"{where}: format is '{doc.get('format')}', expected 'qc-policy'")
    if doc.get("version") != 1:
        raise PolicyError(f"{where}: unsupported version {doc.get('version')} (expected 1)")
    if "default" in doc:
        _check_scheme(doc["default"], f"{where}: default")
    rules = doc.get("rules", [])
    if not isinstance(rules, list):
        raise PolicyError(f"{where}: 'rules' must be a list")
    for i, r in enumerate(rules):
        w = f"{where}: rule {i}"
        if not isinstance(r, dict) or ("match" in r) == ("regex" in r):
            raise PolicyError(f"{w}: needs exactly one of 'match' or 'regex'")
        if "regex" in r:
            try:
                re.compile(r["regex"])
            except re.error as e:
                raise PolicyError(f"{w}: bad regex '{r['regex']}' ({e})") from e
        if "by_batch" in r:
            bb = r["by_batch"]
            if not isinstance(bb, dict) or not isinstance(bb.get("threshold"), int):
                raise PolicyError(f"{w}: by_batch needs an integer threshold")
            _check_scheme(bb.get("scheme"), f"{w}: by_batch", allow_keep=False)
        elif "scheme" in r:
            _check_scheme(r["scheme"], w)
        else:
            raise PolicyError(f"{w}: needs 'scheme' or 'by_batch'")


def rule_matches(rule, layer: str) -> bool:
    if "match" in rule:
        return fnmatch.fnmatchcase(layer, rule["match"])
    return re.fullmatch(rule["regex"], layer) is not None


def check_policy_layers(doc, layers, where="policy"):
    """Every rule must match at least one layer of the model."""
    for i, r in enumerate(doc.get("rules", [])):
        if not any(rule_matches(r, l) for l in layers):
            pat = r.get("match", r.get("regex"))
            sample = ", ".join(layers[:3])
            raise PolicyError(
                f"{where}: rule {i} ('{pat}') matches no layer of the model "
                f"(layers look like: {sample}, ...)")


def resolve(doc, layer):
    """The scheme (dict, 'none', 'keep' or a by_batch dict) the policy gives
    `layer`."""
    for r in doc.get("rules", []):
        if rule_matches(r, layer):
            return r.get("scheme", r.get("by_batch"))
    return doc.get("default", "none")
