// RUN: quant-opt %s --qc-outline-gpu-kernels | FileCheck %s

// An unquantized f16 layer with a fp16_mma kernel (a discardable `kernel`
// attribute on qc.linear). N = 77 is odd: single-column predicated stores.

// CHECK-LABEL: func.func @head
// CHECK: qc.linear {{.*}}qc.launch = #qc.launch<@qc_kernels_sm_80::@lm_head_fp16_mma, block = 256, tile_n = 128, tile_m = 128>
// CHECK: gpu.module @qc_kernels_sm_80 [#nvvm.target<O = 3, chip = "sm_80", features = "+ptx70">]
// CHECK: llvm.mlir.global internal @lm_head_fp16_mma_smem() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<40960 x i8>
// CHECK: gpu.func @lm_head_fp16_mma(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32) kernel
// CHECK: nvvm.ldmatrix
// CHECK: %[[A:.*]] = llvm.bitcast %{{.*}} : i32 to vector<2xf16>
// CHECK: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK-NOT: vector<2xf16>, !llvm.ptr<1>
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 2 : i64} : f16, !llvm.ptr<1>

func.func @head(%x: tensor<?x200xf16>, %w: tensor<77x200xf16>, %b: tensor<77xf16>) -> tensor<?x77xf16> {
  %y = qc.linear %x, %w, %b {layer = "lm_head", kernel = #qc.kernel<fp16_mma, target = "sm_80">} : (tensor<?x200xf16>, tensor<77x200xf16>, tensor<77xf16>) -> tensor<?x77xf16>
  return %y : tensor<?x77xf16>
}
