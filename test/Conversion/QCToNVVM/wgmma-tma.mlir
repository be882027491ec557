// RUN: quant-opt %s --qc-select-matmul="target=sm_90a wgmma-tma" --qc-outline-gpu-kernels | FileCheck %s --enable-var-scope
// RUN: quant-opt %s --pass-pipeline="builtin.module(qc-select-matmul{target=sm_90a wgmma-tma},qc-outline-gpu-kernels,gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm,qc-gpu-tensor-map-params))" | FileCheck %s --check-prefix=PARAMS
// RUN: %if ptxas %{ quant-opt %s --pass-pipeline="builtin.module(qc-select-matmul{target=sm_90a wgmma-tma},qc-outline-gpu-kernels,gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm,qc-gpu-tensor-map-params),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" | %python %S/Inputs/extract_ptx.py > %t.ptx %}
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.ptx -o %t.cubin 2> %t.log %}
// RUN: %if ptxas %{ not grep -i warning %t.log %}
// RUN: %if ptxas %{ grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.log | FileCheck %s --check-prefix=SPILLS %}
// RUN: %if ptxas %{ FileCheck %s --input-file=%t.ptx --check-prefix=PTX %}
// RUN: quant-opt %s --qc-select-matmul="target=sm_90a wgmma-persistent" --qc-outline-gpu-kernels | FileCheck %s --check-prefix=PERSIST
// RUN: %if ptxas %{ quant-opt %s --pass-pipeline="builtin.module(qc-select-matmul{target=sm_90a wgmma-persistent},qc-outline-gpu-kernels,gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm,qc-gpu-tensor-map-params),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" | %python %S/Inputs/extract_ptx.py > %t.p.ptx %}
// RUN: %if ptxas %{ %ptxas -arch=sm_90a -v %t.p.ptx -o %t.p.cubin 2> %t.p.log %}
// RUN: %if ptxas %{ grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.p.log | FileCheck %s --check-prefix=SPILLS %}

// The wgmma GEMMs' warp-specialized TMA pipeline (qc-select-matmul
// wgmma-tma; MmaTileConfig::tma): one producer warpgroup more (384 threads
// for 128-row tiles), whose thread 0 waits for a stage's "empty" mbarrier,
// announces the stage's bytes on its "full" mbarrier and issues two TMA
// tensor copies (x box, w box) into it; the MMA warpgroups wait for "full",
// issue the four wgmmas of the step and release the previous step's stage
// (one group in flight). The tensor maps are the last two kernel arguments
// (128 bytes each, by value), encoded at launch.

// CHECK-LABEL: func.func @w8a8
// CHECK: qc.int8_matmul {{.*}}mma = <block_m = 128, block_n = 256, block_k = 128, warps_m = 8, warps_n = 1, stages = 4, tma = true>>
// CHECK-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90a::@blk0_o_int8_mma, block = 384, tile_n = 256, tile_m = 128, shared_bytes = 197632, tma = true>
// CHECK-LABEL: func.func @fp8
// CHECK: qc.int8_matmul {{.*}}mma = <block_m = 128, block_n = 128, block_k = 128, warps_m = 8, warps_n = 1, stages = 4, tma = true>>
// CHECK-LABEL: func.func @head
// CHECK: qc.linear {{.*}}mma = <block_m = 128, block_n = 256, block_k = 64, warps_m = 8, warps_n = 1, stages = 4, tma = true>>

// The INT8 kernel: mbarriers for 4 stages (full then empty), the producer
// branch, the MMA warpgroups' loop.
// CHECK: llvm.mlir.global internal @[[BARS:blk0_o_int8_mma_bars]]() {addr_space = 3 : i32, alignment = 8 : i64} : !llvm.array<8 x i64>
// CHECK: gpu.func @blk0_o_int8_mma(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %[[MX:.*]]: !llvm.array<16 x i64>, %[[MW:.*]]: !llvm.array<16 x i64>) kernel attributes {known_block_size = array<i32: 384, 1, 1>, qc.tensor_map_args = array<i32: 7, 8>}
// CHECK-DAG: %[[PX:.*]] = builtin.unrealized_conversion_cast %[[MX]] : !llvm.array<16 x i64> to !llvm.ptr
// CHECK-DAG: %[[PW:.*]] = builtin.unrealized_conversion_cast %[[MW]] : !llvm.array<16 x i64> to !llvm.ptr
// CHECK: nvvm.mbarrier.init
// CHECK: nvvm.fence.mbarrier.init
// CHECK: nvvm.barrier0
// CHECK: scf.if
// Producer: wait for "empty" (parity flipped), expect the stage's 48 KiB,
// the x box at (k, m0) and the w box at (k, n0).
// CHECK: scf.for
// CHECK: mbarrier.try_wait.parity.shared::cta.b64
// CHECK: %[[BYTES:.*]] = arith.constant 49152 : i32
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %[[BYTES]]
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[PX]], %{{.*}}, box[
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[PW]], %{{.*}}, box[
// CHECK: } else {
// Consumers: wait for "full", four wgmmas, one group left in flight, the
// previous stage released by lane 0 of each warp.
// CHECK: scf.for
// CHECK: mbarrier.try_wait.parity.shared::cta.b64
// CHECK: wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8
// CHECK: wgmma.commit_group.sync.aligned
// CHECK: "wgmma.wait_group.sync.aligned 1;"
// CHECK: nvvm.mbarrier.arrive
// CHECK: scf.yield
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// CHECK: gpu.return

// FP8 (promoted, 128 channels): two accumulator sets alternate between
// steps while the f32 totals take the completed one, a group always in
// flight; the MMA warpgroups raise their register limit, the producer
// lowers its own.
// CHECK: gpu.func @blk1_o_int8_mma(
// CHECK: nvvm.setmaxregister decrease 40
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: nvvm.setmaxregister increase 232
// CHECK: scf.for
// CHECK: wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3
// CHECK: "wgmma.wait_group.sync.aligned 1;"
// CHECK: arith.addf
// CHECK: nvvm.mbarrier.arrive
// CHECK: wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3
// CHECK: "wgmma.wait_group.sync.aligned 1;"
// CHECK: arith.addf
// CHECK: scf.yield
// CHECK: gpu.return

// After convert-gpu-to-nvvm the maps are byval grid constants.
// PARAMS: llvm.func @blk0_o_int8_mma(%{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<16 x i64>, nvvm.grid_constant}, %{{.*}}: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<16 x i64>, nvvm.grid_constant})
// PARAMS-NOT: unrealized_conversion_cast
// PARAMS-NOT: qc.tensor_map_args

// The persistent tile scheduler (wgmma-persistent, implies the TMA
// pipeline): 132 CTAs (the target's SMs) whatever M is; each walks the
// tiles bid, bid + 132, ... (producer and MMA warpgroups alike, their stage
// rounds continuing across tiles), the registers moved to the MMA
// warpgroups.
// PERSIST: qc.int8_matmul {{.*}}stages = 4, tma = true, persistent = true>>
// PERSIST-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90a::@blk0_o_int8_mma, block = 384, tile_n = 256, tile_m = 128, shared_bytes = 197632, tma = true, ctas = 132>
// PERSIST: gpu.func @blk0_o_int8_mma(
// PERSIST: nvvm.setmaxregister decrease 40
// PERSIST: gpu.grid_dim x
// PERSIST: scf.for
// PERSIST: scf.for
// PERSIST: nvvm.cp.async.bulk.tensor.shared.cluster.global
// PERSIST: nvvm.setmaxregister increase 232
// PERSIST: gpu.grid_dim x
// PERSIST: scf.for
// PERSIST: scf.for
// PERSIST: wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8

// PTX: .param .align 64 .b8 blk0_o_int8_mma_param_7[128]
// PTX: cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// The three kernels (INT8, FP8, fp16) and the two act quants.
// SPILLS: {{^5$}}

func.func @w8a8(%x: tensor<?x448xf16>, %d: tensor<134400xi8>, %s: tensor<300x1xf32>, %b: tensor<300xf16>) -> tensor<?x300xf16> {
  %q, %sx = qc.quantize_act %x dynamic_per_token : tensor<?x448xf16> -> tensor<?x448xi8>, tensor<?xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, granularity = per_channel, act = dynamic_per_token>} : tensor<134400xi8>, tensor<300x1xf32> -> !qc.packed<300x448xi8>
  %y = qc.int8_matmul %q, %sx, %pw, %b {layer = "blk0.o"} : tensor<?x448xi8>, tensor<?xf32>, !qc.packed<300x448xi8>, tensor<300xf16> -> tensor<?x300xf16>
  return %y : tensor<?x300xf16>
}

func.func @fp8(%x: tensor<?x448xf16>, %d: tensor<134400xi8>, %s: tensor<300x1xf32>, %b: tensor<300xf16>) -> tensor<?x300xf16> {
  %q, %sx = qc.quantize_act %x dynamic_per_token : tensor<?x448xf16> -> tensor<?x448xf8E4M3FN>, tensor<?xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = f8E4M3FN, granularity = per_channel, act = dynamic_per_token>} : tensor<134400xi8>, tensor<300x1xf32> -> !qc.packed<300x448xf8E4M3FN>
  %y = qc.int8_matmul %q, %sx, %pw, %b {layer = "blk1.o"} : tensor<?x448xf8E4M3FN>, tensor<?xf32>, !qc.packed<300x448xf8E4M3FN>, tensor<300xf16> -> tensor<?x300xf16>
  return %y : tensor<?x300xf16>
}

func.func @head(%x: tensor<?x200xf16>, %w: tensor<77x200xf16>, %b: tensor<77xf16>) -> tensor<?x77xf16> {
  %y = qc.linear %x, %w, %b {layer = "head"} : (tensor<?x200xf16>, tensor<77x200xf16>, tensor<77xf16>) -> tensor<?x77xf16>
  return %y : tensor<?x77xf16>
}
