// RUN: quant-opt %s --qc-outline-gpu-kernels | FileCheck %s
// RUN: quant-opt %s --pass-pipeline="builtin.module(qc-outline-gpu-kernels,gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" \
// RUN:   | %python %S/Inputs/extract_ptx.py | FileCheck %s --check-prefix=PTX

// W8A8 with dynamic per-token activations: the quantize_act feeding the
// matmul gets its own kernel; N = 300 is not a multiple of the 128 tile and
// K = 448 not a multiple of the 64-byte K step.

// CHECK-LABEL: func.func @w8a8
// CHECK: qc.quantize_act {{.*}} {qc.launch = #qc.launch<@qc_kernels_sm_90::@blk0_o_act_quant, block = 128>}
// CHECK: qc.int8_matmul {{.*}}qc.launch = #qc.launch<@qc_kernels_sm_90::@blk0_o_int8_mma, block = 256, tile_n = 128, tile_m = 128>
// CHECK: gpu.module @qc_kernels_sm_90 [#nvvm.target<O = 3, chip = "sm_90"
// CHECK: llvm.mlir.global internal @blk0_o_int8_mma_smem() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<40960 x i8>
// CHECK: gpu.func @blk0_o_int8_mma(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32) kernel
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: nvvm.barrier0
// CHECK: nvvm.ldmatrix %{{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, num = 4 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
// CHECK: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {intOverflowBehavior = #nvvm.mma_int_overflow<wrapped>, layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<s8>, multiplicandBPtxType = #nvvm.mma_type<s8>, shape = #nvvm.shape<m = 16, n = 8, k = 32>} : (i32, i32, i32) -> !llvm.struct<(i32, i32, i32, i32)>
// Epilogue: i32 -> f32, row scale, column scale, bias, f16 pair stores.
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : vector<2xf16>, !llvm.ptr<1>
// CHECK: llvm.mlir.global internal @blk0_o_act_quant_smem() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<4 x f32>
// CHECK: gpu.func @blk0_o_act_quant(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32) kernel
// CHECK: nvvm.shfl.sync bfly
// CHECK: arith.divf %{{.*}}, %{{.*}} : f32
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 8 : i64} : vector<8xi8>, !llvm.ptr<1>

// PTX: .entry blk0_o_int8_mma(
// PTX: cp.async.cg.shared.global [%{{.*}}], [%{{.*}}], 16, %{{.*}};
// PTX: cp.async.wait_group 0;
// PTX: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX: mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32
// PTX: .entry blk0_o_act_quant(
// PTX: div.rn.f32

func.func @w8a8(%x: tensor<?x448xf16>, %d: tensor<134400xi8>, %s: tensor<300x1xf32>, %b: tensor<300xf16>) -> tensor<?x300xf16> {
  %q, %sx = qc.quantize_act %x dynamic_per_token : tensor<?x448xf16> -> tensor<?x448xi8>, tensor<?xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i8, granularity = per_channel, act = dynamic_per_token>} : tensor<134400xi8>, tensor<300x1xf32> -> !qc.packed<300x448xi8>
  %y = qc.int8_matmul %q, %sx, %pw, %b {layer = "blk0.o", kernel = #qc.kernel<int8_mma, target = "sm_90">} : tensor<?x448xi8>, tensor<?xf32>, !qc.packed<300x448xi8>, tensor<300xf16> -> tensor<?x300xf16>
  return %y : tensor<?x300xf16>
}
