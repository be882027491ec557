# Every error path of `python -m quant` ends in exactly one
# `quant: error: ...` line on stderr and exit status 1: no traceback, no
# multi-line message, no partial output file (docs/reliability.md). Walks the
# CLI with bad inputs: usage errors, missing and malformed files, malformed
# report files, unwritable outputs.
# REQUIRES: quant-py
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t | FileCheck %s
# CHECK-NOT: FAIL
# CHECK: all {{[0-9]+}} cases ok

import json
import os
import subprocess
import sys

d = sys.argv[1]


def write(name, text):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(text)
    return p


good_layer = {"layer": "l0", "scheme": "w8", "kernel": "k", "weight_bytes": 10,
              "fp32_bytes": 40, "quant_error": 0.1, "output_error": None}
good = {"format": "qc-layer-report", "version": 1, "layers": [good_layer],
        "total_weight_bytes": 10, "total_fp32_bytes": 40}
good_report = write("good.json", json.dumps(good))


def variant(name, **changes):
    doc = json.loads(json.dumps(good))
    for k, v in changes.items():
        if k.startswith("layer_"):
            if v is None:
                doc["layers"][0].pop(k[6:], None)
            else:
                doc["layers"][0][k[6:]] = v
        else:
            doc[k] = v
    return write(name, json.dumps(doc))


os.makedirs(os.path.join(d, "ro"), exist_ok=True)
cases = [
    # usage errors
    [],
    ["nosuchcommand"],
    ["report"],
    ["compile", os.path.join(d, "x.mlir"), "--target", "sm_1"],
    ["calibrate", os.path.join(d, "x.mlir"), "--window", "abc", "-o", "s.json"],
    ["chat", "--max-tokens", "0"],
    # missing inputs
    ["report", os.path.join(d, "none.json")],
    ["compile", os.path.join(d, "none.mlir")],
    ["compile", os.path.join(d, "none.mlir"), "--stats", os.path.join(d, "none.json")],
    ["calibrate", os.path.join(d, "none.mlir"), "-o", os.path.join(d, "s.json")],
    ["import", os.path.join(d, "none.gguf"), "-o", os.path.join(d, "o.mlir")],
    ["run", "--module", os.path.join(d, "nomodule"), "smollm2"],
    # malformed report files
    ["report", write("empty.json", "")],
    ["report", write("text.json", "not json\nat all")],
    ["report", write("list.json", "[1, 2]")],
    ["report", write("bin.json", "\xff\xfe")],
    ["report", variant("nolayers.json", layers=None)],
    ["report", variant("layerstr.json", layers=["x"])],
    ["report", variant("nokernel.json", layer_kernel=None)],
    ["report", variant("badbytes.json", layer_weight_bytes="ten")],
    ["report", variant("zero.json", layer_fp32_bytes=0)],
    ["report", variant("nan.json", layer_quant_error="NaN")],
    ["report", variant("nototal.json", total_weight_bytes=None)],
    ["report", variant("version.json", version=2)],
    # unwritable outputs
    ["report", good_report, "--plot", os.path.join(d, "nodir", "p.png")],
    ["report", good_report, "--plot", d],
]
if os.getuid() != 0:
    os.chmod(os.path.join(d, "ro"), 0o500)
    cases.append(["report", good_report, "--plot", os.path.join(d, "ro", "p.png")])

env = dict(os.environ)
env.pop("QUANT_DEBUG", None)
ok = 0
for args in cases:
    before = set(os.listdir(d))
    r = subprocess.run([sys.executable, "-m", "quant"] + args, capture_output=True,
                       text=True, env=env, cwd=d, timeout=300)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    bad = []
    if r.returncode != 1:
        bad.append(f"exit {r.returncode}")
    if len(lines) != 1 or not lines[0].startswith("quant: error: "):
        bad.append(f"stderr {r.stderr!r}")
    if "Traceback" in r.stderr:
        bad.append("traceback")
    new = [f for f in set(os.listdir(d)) - before if ".partial" in f or f.endswith(".png")]
    if new:
        bad.append(f"left files {new}")
    if bad:
        print("FAIL", args, "; ".join(bad))
    else:
        ok += 1
        print("ok", " ".join(os.path.basename(a) for a in args[:2]), "->", lines[0][:100])
# A tool's multi-line stderr becomes one line.
from quant.__main__ import error_line  # noqa: E402
from quant.errors import ToolError  # noqa: E402
one = error_line(ToolError("quant-compile failed:\nm.mlir:1:1: error: bad\nnote: here"))
if one == "quant-compile failed: m.mlir:1:1: error: bad; note: here":
    ok += 1
else:
    print("FAIL multi-line", repr(one))
if ok == len(cases) + 1:
    print(f"all {ok} cases ok")
