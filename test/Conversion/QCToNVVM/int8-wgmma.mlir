// RUN: quant-opt %s --qc-select-matmul="target=sm_90a wgmma-int8" --qc-outline-gpu-kernels | FileCheck %s --enable-var-scope
// RUN: quant-opt %s --qc-select-matmul=target=sm_90a | FileCheck %s --check-prefix=DEFAULT
// RUN: quant-opt %s --qc-select-matmul="target=sm_90a wgmma-int8=false" | FileCheck %s --check-prefix=SYNC
// RUN: %if ptxas %{ quant-opt %s --pass-pipeline="builtin.module(qc-select-matmul{target=sm_90a wgmma-int8},qc-outline-gpu-kernels,gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" | %python %S/Inputs/extract_ptx.py > %t.ptx %}
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.ptx -o %t.cubin 2> %t.log %}
// RUN: %if ptxas %{ not grep -i warning %t.log %}
// RUN: %if ptxas %{ grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.log | FileCheck %s --check-prefix=SPILLS %}

// The W8A8 GEMM on wgmma (buildInt8WgmmaGemmKernel; qc-select-matmul's
// wgmma-int8, default on for targets with wgmma): the fp16 GEMM's pipeline on s8
// tiles (128 bytes = 128 K elements per stage), wgmma m64n256k32 s8 x s8 ->
// s32 with both operands from shared-memory descriptors and no scale or
// transpose immediates, the mma.sync kernel's epilogue (i32 -> f32 times
// the row's and the column's scales, plus the bias).
// CHECK-LABEL: func.func @w8a8
// CHECK: qc.int8_matmul {{.*}}kernel = #qc.kernel<int8_mma, target = "sm_90a", mma = <block_m = 128, block_n = 256, block_k = 128, warps_m = 8, warps_n = 1, stages = 4>>
// CHECK-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90a::@blk0_o_int8_mma, block = 256, tile_n = 256, tile_m = 128, shared_bytes = 197632>
// CHECK: gpu.func @blk0_o_int8_mma(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK: scf.for
// CHECK: llvm.inline_asm has_side_effects "wgmma.fence.sync.aligned;", "=r,
// CHECK: wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8 {$0, {{.*}}, $127}, $256, $257, p;
// CHECK: wgmma.commit_group.sync.aligned
// CHECK: scf.yield
// CHECK: %[[F:.*]] = arith.sitofp %{{.*}} : i32 to f32
// CHECK: %[[R:.*]] = arith.mulf %[[F]], %{{.*}} : f32
// CHECK: arith.mulf %[[R]], %{{.*}} : f32
// By default the wgmma tiling; wgmma-int8=false: the mma.sync kernel.
// DEFAULT: kernel = #qc.kernel<int8_mma, target = "sm_90a", mma = <block_m = 128, block_n = 256, block_k = 128, warps_m = 8, warps_n = 1, stages = 4>>
// SYNC: kernel = #qc.kernel<int8_mma, target = "sm_90a", mma = <block_m = 128, block_n = 128, block_k = 64, warps_m = 2, warps_n = 4, stages = 2>>
// SPILLS: {{^2$}}

func.func @w8a8(%x: tensor<?x448xf16>, %d: tensor<134400xi8>, %s: tensor<300x1xf32>, %b: tensor<300xf16>) -> tensor<?x300xf16> {
  %q, %sx = qc.quantize_act %x dynamic_per_token : tensor<?x448xf16> -> tensor<?x448xi8>, tensor<?xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, granularity = per_channel, act = dynamic_per_token>} : tensor<134400xi8>, tensor<300x1xf32> -> !qc.packed<300x448xi8>
  %y = qc.int8_matmul %q, %sx, %pw, %b {layer = "blk0.o"} : tensor<?x448xi8>, tensor<?xf32>, !qc.packed<300x448xi8>, tensor<300xf16> -> tensor<?x300xf16>
  return %y : tensor<?x300xf16>
}
