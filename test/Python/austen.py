# The Austen novels from the Debian package decode, and calibration and
# evaluation texts are different novels with no shared passage.
# REQUIRES: quant-py, models
# RUN: %python %s | FileCheck %s
# CHECK: novels 6
# CHECK: eval starts PRIDE AND PREJUDICE
# CHECK: calib starts EMMA
# CHECK: disjoint ok
# CHECK: tokens ok

from quant import data
from quant.importers.gguf_llama import load_gguf

texts = {n: data.austen_novel(n) for n in data.NOVELS}
print("novels", len(texts))
ev, ca = data.evaluation_text(), data.calibration_text()
print("eval starts", ev.splitlines()[0])
print("calib starts", ca.splitlines()[0])
assert data.CALIBRATION_NOVEL != data.EVALUATION_NOVEL
long_ev = {l for l in ev.splitlines() if len(l) > 40}
long_ca = {l for l in ca.splitlines() if len(l) > 40}
assert len(long_ev) > 5000 and len(long_ca) > 5000
assert not (long_ev & long_ca), list(long_ev & long_ca)[:3]
print("disjoint ok")
tok = load_gguf(data.smollm2_gguf(), layers=1).tokenizer
n = len(tok.encode(ev).ids)
assert 100000 < n < 300000, n  # ~680k characters of English prose
print("tokens ok")
