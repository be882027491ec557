# Real models (2 SmolLM2 blocks, 1 MiniLM layer) with the qc ops spelled as
# upstream linalg, compiled by quant-compile, run through quant.load (qcrt),
# compared with the numpy reference: checks the glue the importers emit and
# the Python runtime binding end to end.
# REQUIRES: quant-py, models, qcrt
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %S/Inputs/compiled_check.py %t upstream | FileCheck %s
# CHECK: llama forward ok
# CHECK: llama decode ok
# CHECK: bert ok
