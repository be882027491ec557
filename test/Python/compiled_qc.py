# Real models as imported (qc.linear, qc.rms_norm, qc.layer_norm), compiled
# by quant-compile with the host lowering, run through quant.load (qcrt),
# compared with the numpy reference.
# REQUIRES: quant-py, models, qcrt, qc-host
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %S/Inputs/compiled_check.py %t qc | FileCheck %s
# CHECK: llama forward ok
# CHECK: llama decode ok
# CHECK: bert ok
