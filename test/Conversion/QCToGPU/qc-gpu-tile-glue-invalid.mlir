// RUN: quant-opt %s --qc-gpu-tile-glue=block-size=0 --verify-diagnostics
// RUN: not quant-opt %s --qc-gpu-tile-glue=block-size=2048 2>&1 | FileCheck %s
// CHECK: block-size must be in [1, 1024], got 2048

// expected-error @below {{qc-gpu-tile-glue: block-size must be in [1, 1024], got 0}}
module {
  func.func @f() {
    return
  }
}
