// RUN: quant-opt %s --qc-outline-gpu-kernels="norm-prologue=true" --split-input-file | FileCheck %s --check-prefix=OUTLINE --enable-var-scope
// RUN: quant-opt %s --qc-outline-gpu-kernels="norm-prologue=true" --qc-lower-gpu-launches --split-input-file | FileCheck %s --enable-var-scope
// RUN: quant-opt %s --qc-outline-gpu-kernels --qc-lower-gpu-launches --split-input-file | FileCheck %s --check-prefix=OFF

// qc-outline-gpu-kernels norm-prologue=true: a GPU qc.rms_norm read only by
// a gemv / gemv_mma matmul gets fused into GEMV variants that normalize
// their M tile's rows into shared memory first (GemvKernelConfig::
// normPrologue) for the M tile 1 and K <= 1024 only (EpilogueFusion.h
// normProloguePays: where it measured faster); the launch takes the norm's
// input and weight for M = 1, more rows run the norm kernel and the plain
// family. gemv_mma: M < threshold runs that, larger M the norm kernel and
// then the tensor-core kernel. Off by default: the norm stays its own
// launch.

// OUTLINE-LABEL: func.func @gemv_mma
// OUTLINE: qc.wo_matmul {{.*}}qc.norm_launch = #qc.launch<@qc_kernels_sm_90::@qkv_gemv_norm, block = 128, tile_n = 8, tile_m = 1, m_tiles = [1]>
// The M tile 1 variant: 1 row x 256 f16 + 1 row x 4 warps partial sums.
// OUTLINE: llvm.mlir.global internal @qkv_gemv_norm_mt1_xnorm() {{.*}} : !llvm.array<512 x i8>
// OUTLINE: llvm.mlir.global internal @qkv_gemv_norm_mt1_xpart() {{.*}} : !llvm.array<16 x i8>
// OUTLINE: gpu.func @qkv_gemv_norm_mt1(%{{.*}}: !llvm.ptr<1>, %[[W:.*]]: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %[[G:.*]]: !llvm.ptr<1>)
// OUTLINE: %[[XS:.*]] = llvm.mlir.addressof @qkv_gemv_norm_mt1_xnorm : !llvm.ptr<3>
// Pass 1: squares summed per thread, butterflies, one partial per warp.
// OUTLINE: scf.for
// OUTLINE: arith.mulf
// OUTLINE: nvvm.shfl.sync bfly
// OUTLINE: nvvm.barrier0
// OUTLINE: llvm.inline_asm "sqrt.rn.f32 $0, $1;"
// Pass 2: x / denom * g, rounded to f16, into shared memory.
// OUTLINE: scf.for
// OUTLINE: llvm.getelementptr %[[G]]
// OUTLINE: arith.divf
// OUTLINE: arith.mulf
// OUTLINE: arith.truncf {{.*}} to f16
// OUTLINE: llvm.store {{.*}} !llvm.ptr<3>
// OUTLINE: nvvm.barrier0
// The main loop reads the normalized activations from shared memory.
// OUTLINE: llvm.getelementptr %[[XS]]
// OUTLINE: llvm.load {{.*}} : !llvm.ptr<3> -> vector<8xf16>
// OUTLINE: gpu.return

// CHECK-LABEL: func.func @gemv_mma
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x256xf16>, %[[G:.*]]: tensor<256xf16>
// CHECK: %[[ROWS:.*]] = tensor.collapse_shape %[[X]]
// CHECK: %[[SMALL:.*]] = arith.cmpi slt, %{{.*}}, %c16
// CHECK: scf.if %[[SMALL]]
// CHECK: %[[ONE:.*]] = arith.cmpi ule, %{{.*}}, %c1
// CHECK: scf.if %[[ONE]]
// CHECK: bufferization.to_buffer %[[ROWS]]
// CHECK: qc.gpu_launch = {args = [0, 1, 2, "null", "null", 4, "m", 3], {{.*}}kernel = @qc_kernels_sm_90::@qkv_gemv_norm, m_tiles = array<i64: 1>
// CHECK: } else {
// CHECK: kernel = @qc_kernels_sm_90::@rms_norm_k256
// CHECK: kernel = @qc_kernels_sm_90::@qkv_gemv, m_tiles = array<i64: 1, 2, 4, 8>
// CHECK: } else {
// CHECK: kernel = @qc_kernels_sm_90::@rms_norm_k256
// CHECK: kernel = @qc_kernels_sm_90::@qkv_wo_mma
// CHECK-NOT: qc.rms_norm
// CHECK: return

// OFF-LABEL: func.func @gemv_mma
// OFF: kernel = @qc_kernels_sm_90::@rms_norm_k256
// OFF: scf.if
// OFF: kernel = @qc_kernels_sm_90::@qkv_gemv,
// OFF-NOT: qkv_gemv_norm

func.func @gemv_mma(%x: tensor<?x?x256xf16>, %g: tensor<256xf16>, %d: tensor<32768xi8>, %s: tensor<256x2xf16>) -> tensor<?x?x256xf16> {
  %h = qc.rms_norm %x, %g {epsilon = 1.0e-5 : f64} : tensor<?x?x256xf16>, tensor<256xf16>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>} : tensor<32768xi8>, tensor<256x2xf16> -> !qc.packed<256x256xi4>
  %y = qc.wo_matmul %h, %pw {layer = "qkv", kernel = #qc.kernel<gemv_mma, target = "sm_90", threshold = 16>} : tensor<?x?x256xf16>, !qc.packed<256x256xi4> -> tensor<?x?x256xf16>
  return %y : tensor<?x?x256xf16>
}

// -----

// gemv: M = 1 runs the fused variant; more rows the norm kernel and the
// plain family; the norm op disappears either way.
// OUTLINE-LABEL: func.func @gemv_f32
// OUTLINE: qc.norm_launch = #qc.launch<@qc_kernels_sm_90::@up_gemv_norm, block = 128, tile_n = 8, tile_m = 1, m_tiles = [1]>
// CHECK-LABEL: func.func @gemv_f32
// CHECK: %[[ONE:.*]] = arith.cmpi ule, %{{.*}}, %c1
// CHECK: scf.if %[[ONE]]
// CHECK: kernel = @qc_kernels_sm_90::@up_gemv_norm, m_tiles = array<i64: 1>
// CHECK: } else {
// CHECK: kernel = @qc_kernels_sm_90::@rms_norm_k1024
// CHECK: kernel = @qc_kernels_sm_90::@up_gemv, m_tiles = array<i64: 1, 2, 4>
// CHECK-NOT: qc.rms_norm
// CHECK: return

// A long K (4096 > 1024): no fused variant, the norm stays a launch.
// OUTLINE-LABEL: func.func @long_k
// OUTLINE-NOT: qc.norm_launch
// OUTLINE: return

// A norm with a second user stays a launch of its own.
// OUTLINE-LABEL: func.func @shared_norm
// OUTLINE-NOT: qc.norm_launch
// OUTLINE: return
func.func @gemv_f32(%x: tensor<?x1024xf32>, %g: tensor<1024xf32>, %d: tensor<16384xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %h = qc.rms_norm %x, %g {epsilon = 1.0e-6 : f64} : tensor<?x1024xf32>, tensor<1024xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4>} : tensor<16384xi8>, tensor<32x1xf32> -> !qc.packed<32x1024xi4>
  %y = qc.wo_matmul %h, %pw {layer = "up", kernel = #qc.kernel<gemv, target = "sm_90", gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 2, 4]>>} : tensor<?x1024xf32>, !qc.packed<32x1024xi4> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

func.func @long_k(%x: tensor<?x4096xf32>, %g: tensor<4096xf32>, %d: tensor<65536xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %h = qc.rms_norm %x, %g {epsilon = 1.0e-6 : f64} : tensor<?x4096xf32>, tensor<4096xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4>} : tensor<65536xi8>, tensor<32x1xf32> -> !qc.packed<32x4096xi4>
  %y = qc.wo_matmul %h, %pw {layer = "up3", kernel = #qc.kernel<gemv, target = "sm_90">} : tensor<?x4096xf32>, !qc.packed<32x4096xi4> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

func.func @shared_norm(%x: tensor<?x1024xf32>, %g: tensor<1024xf32>, %d: tensor<16384xi8>, %s: tensor<32x1xf32>) -> (tensor<?x32xf32>, tensor<?x1024xf32>) {
  %h = qc.rms_norm %x, %g {epsilon = 1.0e-6 : f64} : tensor<?x1024xf32>, tensor<1024xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4>} : tensor<16384xi8>, tensor<32x1xf32> -> !qc.packed<32x1024xi4>
  %y = qc.wo_matmul %h, %pw {layer = "up2", kernel = #qc.kernel<gemv, target = "sm_90">} : tensor<?x1024xf32>, !qc.packed<32x1024xi4> -> tensor<?x32xf32>
  return %y, %h : tensor<?x32xf32>, tensor<?x1024xf32>
}
