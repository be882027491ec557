# quant.calibrate (qc-insert-observers hessian=true -> compiled <f>_calibrate
# -> qcrt statistics) on a real 1-block SmolLM2 vs numpy float64.
# REQUIRES: quant-py, models, qcrt, qc-host
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %S/Inputs/calibrate_check.py %t | FileCheck %s
# CHECK: calibrate ok
