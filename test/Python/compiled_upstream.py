# 2 real SmolLM2 blocks with the qc ops spelled as
# upstream linalg, compiled by quant-compile, run through quant.load (qcrt),
# compared with the numpy reference: checks the glue the importers emit and
# the Python runtime binding end to end. (MiniLM is in compiled_qc.py: its
# GELU needs math.erf, which the host pipeline must lower.)
# REQUIRES: quant-py, models, qcrt
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %S/Inputs/compiled_check.py %t upstream llama | FileCheck %s
# CHECK: llama forward ok
# CHECK: llama decode ok
