// RUN: quant-opt %s --qc-select-matmul="target=sm_90" | FileCheck %s --check-prefix=AUTO
// RUN: quant-opt %s --qc-select-matmul="target=sm_90a" | FileCheck %s --check-prefix=PREFILL
// RUN: quant-opt %s --qc-select-matmul="target=sm_90 max-batch=1" | FileCheck %s --check-prefix=GEMV
// RUN: quant-opt %s --qc-select-matmul="target=sm_90 weight-only-kernel=frag" | FileCheck %s --check-prefix=FRAG
// RUN: not quant-opt %s --qc-select-matmul="target=sm_90 weight-only-kernel=mma" 2>&1 | FileCheck %s --check-prefix=MMA
// RUN: not quant-opt %s --qc-select-matmul="target=sm_90 weight-only-kernel=gemv_mma" 2>&1 | FileCheck %s --check-prefix=MMA

// Float-minimum weights (w = q * s + m) are read by the GEMV and frag
// families only (frag's mma.sync kernels, not its wgmma variant): the other
// weight-only families refuse them in their configs
// (WeightOnlyWeightConfig::checkWeight), so the cost model chooses between
// gemv and frag (a 4096 x 4096 W4 layer takes frag over the default range,
// like one with integer zero points, "int"; on sm_90a without the wgmma
// variant), and a forced mma is an error naming the layer.

// AUTO: qc.wo_matmul {{.*}}kernel = #qc.kernel<frag, target = "sm_90"{{.*}}layer = "int"
// AUTO: qc.wo_matmul {{.*}}kernel = #qc.kernel<frag, target = "sm_90", frag = {{.*}}layer = "min"
// PREFILL: qc.wo_matmul {{.*}}kernel = #qc.kernel<frag, target = "sm_90a", threshold = {{[0-9]+}}, mma = {{.*}}layer = "int"
// PREFILL: qc.wo_matmul {{.*}}kernel = #qc.kernel<frag, target = "sm_90a", frag = {{.*}}layer = "min"
// FRAG: qc.wo_matmul {{.*}}kernel = #qc.kernel<frag, target = "sm_90"{{.*}}layer = "min"
// GEMV: qc.wo_matmul {{.*}}kernel = #qc.kernel<gemv, target = "sm_90"{{.*}}layer = "min"
// MMA: error: layer 'min': weight-only-kernel={{mma|gemv_mma}}, but float-minimum weights (scheme minimum = f16/f32) are read by the gemv and frag kernels only
func.func @layers(%x: tensor<?x4096xf16>, %d: tensor<4096x4096xi8>, %s: tensor<4096x32xf16>, %z: tensor<4096x32xi8>, %m: tensor<4096x32xf16>)
    -> (tensor<?x4096xf16>, tensor<?x4096xf16>) {
  %pi = qc.packed_weight %d, %s, %z {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128, symmetric = false>} : tensor<4096x4096xi8>, tensor<4096x32xf16>, tensor<4096x32xi8> -> !qc.packed<4096x4096xi4>
  %y0 = qc.wo_matmul %x, %pi {layer = "int"} : tensor<?x4096xf16>, !qc.packed<4096x4096xi4> -> tensor<?x4096xf16>
  %pm = qc.packed_weight %d, %s, %m {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128, symmetric = false, minimum = f16>} : tensor<4096x4096xi8>, tensor<4096x32xf16>, tensor<4096x32xf16> -> !qc.packed<4096x4096xi4>
  %y1 = qc.wo_matmul %x, %pm {layer = "min"} : tensor<?x4096xf16>, !qc.packed<4096x4096xi4> -> tensor<?x4096xf16>
  return %y0, %y1 : tensor<?x4096xf16>, tensor<?x4096xf16>
}
