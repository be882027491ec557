// RUN: quant-opt %s --qc-select-matmul=target=sm_90a --qc-outline-gpu-kernels | FileCheck %s --enable-var-scope
// RUN: quant-opt %s --pass-pipeline="builtin.module(qc-select-matmul{target=sm_90a wgmma-tokens=64 wgmma-channels=64 wgmma-stages=3},qc-outline-gpu-kernels)" | FileCheck %s --check-prefix=STATIC
// RUN: %if ptxas %{ quant-opt %s --pass-pipeline="builtin.module(qc-select-matmul{target=sm_90a},qc-outline-gpu-kernels,gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" | %python %S/Inputs/extract_ptx.py > %t.ptx %}
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.ptx -o %t.cubin 2> %t.log %}
// RUN: %if ptxas %{ not grep -i warning %t.log %}
// RUN: %if ptxas %{ grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.log | FileCheck %s --check-prefix=SPILLS %}

// An unquantized f16 layer on sm_90a: the fp16 GEMM on wgmma
// (buildFp16WgmmaGemmKernel). Two warpgroups own 128 rows x 256 channels;
// four stages of (128 + 256) rows x 128 bytes are dynamic shared memory
// (+1 KiB to align the base). N = 77 and K = 200 are not tile multiples:
// zero fill past N and K, predicated single-column stores.
// CHECK-LABEL: func.func @head
// CHECK: qc.linear {{.*}}kernel = #qc.kernel<fp16_mma, target = "sm_90a", mma = <block_m = 128, block_n = 256, block_k = 64, warps_m = 8, warps_n = 1, stages = 4>>
// CHECK-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90a::@lm_head_fp16_mma, block = 256, tile_n = 256, tile_m = 128, shared_bytes = 197632>
// CHECK: llvm.mlir.global external @lm_head_fp16_mma_smem() {addr_space = 3 : i32, alignment = 1024 : i64} : !llvm.array<0 x i8>
// CHECK: gpu.func @lm_head_fp16_mma(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 1
// CHECK-NEXT: nvvm.barrier0
// Both operands from shared-memory descriptors: wgmma's A (x) and B (w).
// CHECK: llvm.inline_asm has_side_effects "wgmma.fence.sync.aligned;"
// CHECK: llvm.inline_asm has_side_effects "{\0A.reg .pred p;\0Asetp.ne.b32 p, $258, 0;\0Awgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 {$0, {{.*}}, $127}, $256, $257, p, 1, 1, 0, 0;\0A}"
// CHECK: wgmma.commit_group.sync.aligned
// CHECK: wgmma.wait_group.sync.aligned 1;
// CHECK: scf.yield
// CHECK: wgmma.wait_group.sync.aligned 0;
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 2 : i64} : f16, !llvm.ptr<1>
// One warpgroup of 64 rows x 64 channels, 3 stages: 48 KiB of static
// shared memory (no shared_bytes), every group waited for within its step.
// STATIC: qc.launch = #qc.launch<@qc_kernels_sm_90a::@lm_head_fp16_mma, block = 128, tile_n = 64, tile_m = 64>
// STATIC: llvm.mlir.global internal @lm_head_fp16_mma_smem() {addr_space = 3 : i32, alignment = 1024 : i64} : !llvm.array<49152 x i8>
// STATIC: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
// STATIC: wgmma.wait_group.sync.aligned 0;
// SPILLS: {{^1$}}

func.func @head(%x: tensor<?x200xf16>, %w: tensor<77x200xf16>, %b: tensor<77xf16>) -> tensor<?x77xf16> {
  %y = qc.linear %x, %w, %b {layer = "lm_head"} : (tensor<?x200xf16>, tensor<77x200xf16>, tensor<77xf16>) -> tensor<?x77xf16>
  return %y : tensor<?x77xf16>
}
