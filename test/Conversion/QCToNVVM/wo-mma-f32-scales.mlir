// RUN: quant-opt %s --qc-outline-gpu-kernels | FileCheck %s

// f32 scales (symmetric INT8, per channel): (q - z) * s in f32, one rounding
// to f16.
// CHECK: gpu.func @down_wo_mma
// CHECK: %[[RAW8:.*]] = llvm.load %{{.*}} {alignment = 8 : i64} : !llvm.ptr<3> -> vector<2xi32>
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK: arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 16 : i64} : vector<8xf16>, !llvm.ptr<3>

func.func @w8a16_f32_scales(%x: tensor<?x256xf16>, %d: tensor<32768xi8>, %s: tensor<128x1xf32>) -> tensor<?x128xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, granularity = per_channel>} : tensor<32768xi8>, tensor<128x1xf32> -> !qc.packed<128x256xi8>
  %y = qc.wo_matmul %x, %pw {layer = "down", kernel = #qc.kernel<mma, target = "sm_90">} : tensor<?x256xf16>, !qc.packed<128x256xi8> -> tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}
