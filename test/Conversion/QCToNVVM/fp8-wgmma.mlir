// The cp.async form (wgmma-tma-fp8=false; the TMA form: wgmma-tma.mlir).
// RUN: quant-opt %s --qc-select-matmul="target=sm_90a wgmma-tma-fp8=false" --qc-outline-gpu-kernels | FileCheck %s --enable-var-scope
// RUN: not quant-opt %s --qc-select-matmul=target=sm_90 2>&1 | FileCheck %s --check-prefix=SM90
// RUN: quant-opt %s --qc-select-matmul="target=sm_90a wgmma-channels=256 wgmma-tma-fp8=false" --qc-outline-gpu-kernels | FileCheck %s --check-prefix=FAST
// RUN: %if ptxas %{ quant-opt %s --pass-pipeline="builtin.module(qc-select-matmul{target=sm_90a wgmma-tma-fp8=false},qc-outline-gpu-kernels,gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" | %python %S/Inputs/extract_ptx.py > %t.ptx %}
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.ptx -o %t.cubin 2> %t.log %}
// RUN: %if ptxas %{ not grep -i warning %t.log %}
// RUN: %if ptxas %{ grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.log | FileCheck %s --check-prefix=SPILLS %}
// RUN: %if ptxas %{ FileCheck %s --input-file=%t.ptx --check-prefix=PTX %}
// By default (wgmma-tma-fp8) the FP8 GEMM takes the TMA pipeline (INT8 and
// fp16 GEMMs follow wgmma-tma, off by default):
// RUN: quant-opt %s --qc-select-matmul=target=sm_90a | FileCheck %s --check-prefix=DEFTMA
// DEFTMA: kernel = #qc.kernel<int8_mma, target = "sm_90a", mma = <block_m = 128, block_n = 128, block_k = 128, warps_m = 8, warps_n = 1, stages = 4, tma = true>>, layer = "blk0.o"

// FP8 E4M3 W8A8 on sm_90a: the activation quantization kernel writes E4M3
// codes through cvt.rn.satfinite.e4m3x2.f32 (s = max|x| / 448), and the
// W8A8 GEMM runs wgmma m64n128k32 e4m3 x e4m3 -> f32 (always wgmma: there
// is no other FP8 kernel). The tensor cores sum E4M3 products with about 14
// significant bits, so each step's four wgmmas start from zero (scale-d 0)
// and their sums are added into f32 registers (promotion; 128 channels per
// CTA keep both accumulator sets in registers), each step waited for; the
// totals go straight into the scales and bias of the epilogue.
// CHECK-LABEL: func.func @fp8
// CHECK: qc.quantize_act {{.*}}qc.launch = #qc.launch<@qc_kernels_sm_90a::@blk0_o_act_quant
// CHECK: qc.int8_matmul {{.*}}kernel = #qc.kernel<int8_mma, target = "sm_90a", mma = <block_m = 128, block_n = 128, block_k = 128, warps_m = 8, warps_n = 1, stages = 4>>
// CHECK-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90a::@blk0_o_int8_mma, block = 256, tile_n = 128, tile_m = 128, shared_bytes = 132096>
// CHECK: gpu.func @blk0_o_int8_mma(
// CHECK: scf.for
// CHECK: wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 {$0, {{.*}}, $63}, $128, $129, p, 1, 1;{{.*}}, %c0_i32{{(_[0-9]+)?}} : (f32
// CHECK: wgmma.commit_group.sync.aligned
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// CHECK: arith.addf
// CHECK: scf.yield
// CHECK-NOT: arith.sitofp
// CHECK: gpu.func @blk0_o_act_quant(
// CHECK: arith.constant 4.480000e+02 : f32
// CHECK: nvvm.convert.f32x2.to.f8x2 {{.*}} {rnd = #nvvm.fp_rnd_mode<rn>, sat = #nvvm.sat_mode<satfinite>} : vector<2xi8>(f8E4M3FN)
// A 256-wide tiling cannot hold two accumulator sets: the tensor cores
// accumulate alone (no scale-d 0, one group in flight).
// FAST: mma = <block_m = 128, block_n = 256, block_k = 128, warps_m = 8, warps_n = 1, stages = 4>
// FAST: wgmma.mma_async.sync.aligned.m64n256k32.f32.e4m3.e4m3 {$0, {{.*}}, $127}, $256, $257, p, 1, 1;{{.*}}, %c1_i32{{(_[0-9]+)?}} : (f32
// FAST: "wgmma.wait_group.sync.aligned 1;"
// PTX: wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3
// PTX: cvt.rn.satfinite.e4m3x2.f32
// SM90: error: layer 'blk0.o': no GPU kernel for this W8A8 matmul on sm_90: FP8 E4M3 matmuls run on wgmma: compile for a target with wgmma (sm_90a) or for the host
// SPILLS: {{^2$}}

func.func @fp8(%x: tensor<?x448xf16>, %d: tensor<134400xi8>, %s: tensor<300x1xf32>, %b: tensor<300xf16>) -> tensor<?x300xf16> {
  %q, %sx = qc.quantize_act %x dynamic_per_token : tensor<?x448xf16> -> tensor<?x448xf8E4M3FN>, tensor<?xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = f8E4M3FN, granularity = per_channel, act = dynamic_per_token>} : tensor<134400xi8>, tensor<300x1xf32> -> !qc.packed<300x448xf8E4M3FN>
  %y = qc.int8_matmul %q, %sx, %pw, %b {layer = "blk0.o"} : tensor<?x448xf8E4M3FN>, tensor<?xf32>, !qc.packed<300x448xf8E4M3FN>, tensor<300xf16> -> tensor<?x300xf16>
  return %y : tensor<?x300xf16>
}
