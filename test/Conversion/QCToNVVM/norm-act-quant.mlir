// RUN: quant-opt %s --qc-outline-gpu-kernels=fuse-norm-quant --split-input-file | FileCheck %s --enable-var-scope
// RUN: quant-opt %s --qc-outline-gpu-kernels=fuse-norm-quant=false --split-input-file | FileCheck %s --check-prefix=APART
// RUN: quant-opt %s --qc-outline-gpu-kernels=fuse-norm-quant --qc-lower-gpu-launches --split-input-file | FileCheck %s --check-prefix=LOWER
// RUN: %if ptxas %{ quant-opt %s --split-input-file --pass-pipeline="builtin.module(qc-outline-gpu-kernels{fuse-norm-quant},gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" | %python %S/Inputs/extract_ptx.py > %t.ptx %}
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.ptx -o %t.cubin 2> %t.log %}
// RUN: %if ptxas %{ not grep -i warning %t.log %}

// The RMSNorm whose only user is the activation quantization of W8A8
// matmuls quantizes its own output (RowNormKernelConfig::quantize): one
// kernel reads x once and writes the INT8 codes and the per-token scale
// (the row max |y| reduced with shuffles and one f32 per warp, s = amax /
// 127), no normalized row stored, no separate act_quant kernel.
// CHECK-LABEL: func.func @fused
// CHECK: qc.rms_norm
// CHECK-NOT: qc.launch
// CHECK: qc.quantize_act {{.*}}qc.fused_norm, qc.launch = #qc.launch<@qc_kernels_sm_90a::@blk0_qkv_norm_act_quant, block = 32>
// CHECK: gpu.func @blk0_qkv_norm_act_quant(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %[[Q:.*]]: !llvm.ptr<1>, %[[S:.*]]: !llvm.ptr<1>, %{{.*}}: i32)
// CHECK: nvvm.shfl.sync bfly
// CHECK: arith.addf
// CHECK: llvm.intr.maxnum
// CHECK: nvvm.shfl.sync bfly
// CHECK: arith.divf %{{.*}}, %{{.*}} : f32
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : f32, !llvm.ptr<1>
// CHECK: arith.fptosi %{{.*}} : f32 to i8
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 8 : i64} : vector<8xi8>, !llvm.ptr<1>
// CHECK-NOT: gpu.func @{{.*}}_act_quant(
// CHECK-NOT: gpu.func @rms_norm

// With fuse-norm-quant=false (default on since the H100 module matrix of
// 2026-12-08): the norm kernel, then the act_quant kernel.
// APART-LABEL: func.func @fused
// APART: qc.rms_norm {{.*}}qc.launch = #qc.launch<@qc_kernels_sm_90a::@rms_norm_k448
// APART: qc.quantize_act {{.*}}qc.launch = #qc.launch<@qc_kernels_sm_90a::@blk0_qkv_act_quant

// Lowered: one launch of the fused kernel on the norm's input and weight,
// the norm gone.
// LOWER-LABEL: func.func @fused
// LOWER-NOT: qc.rms_norm
// LOWER: call @__qc_gpu_launch_0({{.*}}) {qc.gpu_launch = {args = [0, 1, "null", 2, 3, "m"], block = 32 : i64, grid = ["m", "1"], {{.*}}kernel = @qc_kernels_sm_90a::@blk0_qkv_norm_act_quant
// LOWER-NOT: act_quant,
// LOWER: kernel = @qc_kernels_sm_90a::@blk0_qkv_int8_mma
func.func @fused(%x: tensor<?x448xf16>, %g: tensor<448xf16>, %d: tensor<134400xi8>, %s: tensor<300x1xf32>) -> tensor<?x300xf16> {
  %n = qc.rms_norm %x, %g {epsilon = 1.0e-5 : f64} : tensor<?x448xf16>, tensor<448xf16>
  %q, %sx = qc.quantize_act %n dynamic_per_token : tensor<?x448xf16> -> tensor<?x448xi8>, tensor<?xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, granularity = per_channel, act = dynamic_per_token>} : tensor<134400xi8>, tensor<300x1xf32> -> !qc.packed<300x448xi8>
  %y = qc.int8_matmul %q, %sx, %pw {layer = "blk0.qkv", kernel = #qc.kernel<int8_mma, target = "sm_90a">} : tensor<?x448xi8>, tensor<?xf32>, !qc.packed<300x448xi8> -> tensor<?x300xf16>
  return %y : tensor<?x300xf16>
}

// -----

// FP8 codes with a static per-tensor scale from a LayerNorm (row 0 writes
// the scale); the norm's output has a second user here, so nothing fuses.
// CHECK-LABEL: func.func @fp8_static
// CHECK: qc.quantize_act {{.*}}qc.fused_norm, qc.launch = #qc.launch<@qc_kernels_sm_90a::@blk1_o_norm_act_quant
// CHECK-LABEL: func.func @shared_norm
// CHECK: qc.layer_norm {{.*}}qc.launch = #qc.launch<@qc_kernels_sm_90a::@layer_norm_k448
// CHECK: qc.quantize_act {{.*}}qc.launch = #qc.launch<@qc_kernels_sm_90a::@blk2_o_act_quant
// CHECK: gpu.func @blk1_o_norm_act_quant(
// CHECK: nvvm.convert.f32x2.to.f8x2
func.func @fp8_static(%x: tensor<?x448xf32>, %g: tensor<448xf32>, %bb: tensor<448xf32>, %d: tensor<134400xi8>, %s: tensor<1x1xf32>) -> tensor<?x300xf32> {
  %n = qc.layer_norm %x, %g, %bb {epsilon = 1.0e-5 : f64} : tensor<?x448xf32>, tensor<448xf32>, tensor<448xf32>
  %q, %sx = qc.quantize_act %n static_per_tensor scale 0.25 : tensor<?x448xf32> -> tensor<?x448xf8E4M3FN>, tensor<1xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = f8E4M3FN, granularity = per_tensor, act = static_per_tensor>} : tensor<134400xi8>, tensor<1x1xf32> -> !qc.packed<300x448xf8E4M3FN>
  %y = qc.int8_matmul %q, %sx, %pw {layer = "blk1.o", kernel = #qc.kernel<int8_mma, target = "sm_90a", mma = <block_m = 128, block_n = 128, block_k = 128, warps_m = 8, warps_n = 1, stages = 4>>} : tensor<?x448xf8E4M3FN>, tensor<1xf32>, !qc.packed<300x448xf8E4M3FN> -> tensor<?x300xf32>
  return %y : tensor<?x300xf32>
}
func.func @shared_norm(%x: tensor<?x448xf32>, %g: tensor<448xf32>, %bb: tensor<448xf32>, %d: tensor<134400xi8>, %s: tensor<300x1xf32>) -> (tensor<?x300xf32>, tensor<?x448xf32>) {
  %n = qc.layer_norm %x, %g, %bb {epsilon = 1.0e-5 : f64} : tensor<?x448xf32>, tensor<448xf32>, tensor<448xf32>
  %q, %sx = qc.quantize_act %n dynamic_per_token : tensor<?x448xf32> -> tensor<?x448xi8>, tensor<?xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, granularity = per_channel, act = dynamic_per_token>} : tensor<134400xi8>, tensor<300x1xf32> -> !qc.packed<300x448xi8>
  %y = qc.int8_matmul %q, %sx, %pw {layer = "blk2.o", kernel = #qc.kernel<int8_mma, target = "sm_90a">} : tensor<?x448xi8>, tensor<?xf32>, !qc.packed<300x448xi8> -> tensor<?x300xf32>
  return %y, %n : tensor<?x300xf32>, tensor<?x448xf32>
}
