// RUN: quant-opt --show-dialects | FileCheck %s
// The qc dialect coexists with upstream's quant dialect.
// CHECK: Available Dialects:
// CHECK-SAME: ,qc,quant,
