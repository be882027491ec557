// RUN: quant-opt %s --qc-select-matmul | FileCheck %s --check-prefix=HOST
// RUN: quant-opt %s --qc-select-matmul="target=sm_90 min-batch=1 max-batch=1" | FileCheck %s --check-prefix=DECODE
// RUN: quant-opt %s --qc-select-matmul="target=sm_90 min-batch=1024 max-batch=4096" | FileCheck %s --check-prefix=PREFILL
// RUN: quant-opt %s --qc-select-matmul="target=sm_80 min-batch=1 max-batch=1" | FileCheck %s --check-prefix=A100
// The cost model (docs/passes.md): at M = 1 every kernel is bound by the
// weight bytes and the CUDA-core GEMV streams them best; from M ~ 100 the
// tensor-core kernels win; W8A8 layers take int8_mma there.

// HOST-LABEL: func @layers
// HOST: qc.wo_matmul {{.*}}kernel = #qc.kernel<host>{{.*}}layer = "w4"
// HOST: qc.int8_matmul {{.*}}kernel = #qc.kernel<host>{{.*}}layer = "w8a8"
// HOST: qc.wo_matmul {{.*}}kernel = #qc.kernel<adaptive, threshold = 64>{{.*}}layer = "ad"
// HOST-NOT: qc.batch_threshold

// DECODE-LABEL: func @layers
// DECODE: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv, target = "sm_90">{{.*}}layer = "w4"
// DECODE: qc.int8_matmul {{.*}}kernel = #qc.kernel<gemv, target = "sm_90">{{.*}}layer = "w8a8"
// DECODE: qc.wo_matmul {{.*}}kernel = #qc.kernel<adaptive, target = "sm_90", threshold = 64>{{.*}}layer = "ad"

// PREFILL-LABEL: func @layers
// PREFILL: qc.wo_matmul {{.*}}kernel = #qc.kernel<mma, target = "sm_90">{{.*}}layer = "w4"
// PREFILL: qc.int8_matmul {{.*}}kernel = #qc.kernel<int8_mma, target = "sm_90">{{.*}}layer = "w8a8"

// A100-LABEL: func @layers
// A100: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv, target = "sm_80">{{.*}}layer = "w4"
func.func @layers(%x: tensor<?x4096xf16>, %d4: tensor<4096x4096xi8>, %s4: tensor<4096x32xf16>,
                  %d8: tensor<4096x4096xi8>, %s8: tensor<4096x1xf32>, %q: tensor<?x4096xi8>, %qs: tensor<?xf32>)
    -> (tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>) {
  %pw4 = qc.packed_weight %d4, %s4 {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>} : tensor<4096x4096xi8>, tensor<4096x32xf16> -> !qc.packed<4096x4096xi4>
  %y0 = qc.wo_matmul %x, %pw4 {layer = "w4"} : tensor<?x4096xf16>, !qc.packed<4096x4096xi4> -> tensor<?x4096xf16>
  %pw8 = qc.packed_weight %d8, %s8 {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<4096x4096xi8>, tensor<4096x1xf32> -> !qc.packed<4096x4096xi8>
  %y1 = qc.int8_matmul %q, %qs, %pw8 {layer = "w8a8"} : tensor<?x4096xi8>, tensor<?xf32>, !qc.packed<4096x4096xi8> -> tensor<?x4096xf16>
  %pwa = qc.packed_weight %d8, %s8 {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<4096x4096xi8>, tensor<4096x1xf32> -> !qc.packed<4096x4096xi8>
  %y2 = qc.wo_matmul %x, %pwa {layer = "ad", qc.batch_threshold = 64 : i64} : tensor<?x4096xf16>, !qc.packed<4096x4096xi8> -> tensor<?x4096xf16>
  return %y0, %y1, %y2 : tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>
}
