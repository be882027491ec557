// RUN: quant-opt %s --qc-outline-gpu-kernels | FileCheck %s

// Weight-only INT4 (asymmetric, group 64) at larger M: the mma kernel stages
// the packed tile raw, dequantizes it into an f16 tile in shared memory and
// runs mma.sync m16n8k16 on it. Same arguments as the GEMV kernel.

// CHECK-LABEL: func.func @w4a16
// CHECK: qc.wo_matmul {{.*}}qc.launch = #qc.launch<@qc_kernels_sm_90::@up_wo_mma, block = 256, tile_n = 128, tile_m = 128>
// 2 stages x (A 128 x 80 B + raw B 128 x 16 B) + the f16 B tile 128 x 80 B.
// CHECK: llvm.mlir.global internal @up_wo_mma_smem() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<34816 x i8>
// CHECK: gpu.func @up_wo_mma(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32) kernel
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: nvvm.barrier0
// CHECK: nvvm.cp.async.commit.group
// Dequantization (f16 scales: f16x2 path): the group's f16 scale and zero
// point, the raw word from shared memory, nibble pairs OR-ed into the f16
// mantissa of 1024, (1024 + u) - (1024 + z) and the product with the scale
// two at a time, shuffled back to k order.
// CHECK: llvm.load %{{.*}} {alignment = 2 : i64} : !llvm.ptr<1> -> f16
// CHECK: llvm.load %{{.*}} {alignment = 1 : i64} : !llvm.ptr<1> -> i8
// CHECK: %[[RAW:.*]] = llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<3> -> i32
// CHECK: arith.andi %[[RAW]], %{{.*}} : i32
// CHECK: arith.ori %{{.*}}, %{{.*}} : i32
// CHECK: arith.subf %{{.*}}, %{{.*}} : vector<2xf16>
// CHECK: arith.mulf %{{.*}}, %{{.*}} : vector<2xf16>
// CHECK-NOT: arith.sitofp
// CHECK: llvm.shufflevector %{{.*}} [0, 2, 4, 6, 1, 3, 5, 7] : vector<4xf16>
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 16 : i64} : vector<8xf16>, !llvm.ptr<3>
// CHECK: nvvm.barrier0
// CHECK: nvvm.ldmatrix
// CHECK: nvvm.mma.sync {{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>

func.func @w4a16(%x: tensor<?x448xf16>, %d: tensor<67200xi8>, %s: tensor<300x7xf16>, %z: tensor<300x7xi8>, %b: tensor<300xf16>) -> tensor<?x300xf16> {
  %pw = qc.packed_weight %d, %s, %z {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 64, symmetric = false>} : tensor<67200xi8>, tensor<300x7xf16>, tensor<300x7xi8> -> !qc.packed<300x448xi4>
  %y = qc.wo_matmul %x, %pw, %b {layer = "up", kernel = #qc.kernel<mma, target = "sm_90">} : tensor<?x448xf16>, !qc.packed<300x448xi4>, tensor<300xf16> -> tensor<?x300xf16>
  return %y : tensor<?x300xf16>
}
