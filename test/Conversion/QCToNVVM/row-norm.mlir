// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90" --split-input-file --verify-diagnostics | FileCheck %s
// RUN: quant-opt %s --qc-outline-gpu-kernels="chip=sm_90 norm-kernels=false" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=GLUE
// RUN: quant-opt %s --qc-outline-gpu-kernels --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=GLUE

// qc.rms_norm on a GPU target: one CTA per row. K = 4096 f16 rows: 16-byte
// loads (8 x f16), 512 vectors -> 128 threads holding 4 vectors each (no
// bound checks), each with its f32 weights (two 16-byte loads per vector,
// issued with the row's loads, before the reduction's barrier), warp
// butterfly sum + one shared f32 per warp, 16-byte stores. Norms of one
// shape share the kernel.

// CHECK-LABEL: func.func @rms_f16
// CHECK: qc.rms_norm
// CHECK-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90::@rms_norm_k4096, block = 128>
// CHECK: qc.rms_norm
// CHECK-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90::@rms_norm_k4096, block = 128>
// CHECK: gpu.module @qc_kernels_sm_90
// CHECK: llvm.mlir.global internal @rms_norm_k4096_smem() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<4 x f32>
// CHECK: gpu.func @rms_norm_k4096(%[[X:.*]]: !llvm.ptr<1>, %[[W:.*]]: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %[[Y:.*]]: !llvm.ptr<1>, %{{.*}}: i32) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// CHECK: %[[P0:.*]] = llvm.getelementptr %[[X]][%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f16
// CHECK: llvm.load %[[P0]] {alignment = 16 : i64} : !llvm.ptr<1> -> vector<8xf16>
// CHECK: %[[PW:.*]] = llvm.getelementptr %[[W]][%{{.*}}] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
// CHECK: llvm.load %[[PW]] {alignment = 16 : i64} : !llvm.ptr<1> -> vector<8xf32>
// CHECK-COUNT-3: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<8xf16>
// CHECK-NOT: scf.if
// CHECK: nvvm.shfl.sync bfly
// CHECK-COUNT-4: nvvm.shfl.sync bfly
// CHECK: llvm.mlir.addressof @rms_norm_k4096_smem : !llvm.ptr<3>
// CHECK: nvvm.barrier0
// CHECK: llvm.inline_asm "sqrt.rn.f32 $0, $1;"
// CHECK-NOT: llvm.load {{.*}} : !llvm.ptr<1>
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 16 : i64} : vector<8xf16>, !llvm.ptr<1>
// CHECK-NOT: gpu.func

// GLUE-LABEL: func.func @rms_f16
// GLUE-NOT: qc.launch
// GLUE-NOT: gpu.module
func.func @rms_f16(%x: tensor<?x?x4096xf16>, %g: tensor<4096xf32>) -> tensor<?x?x4096xf16> {
  %y = qc.rms_norm %x, %g {epsilon = 1.0e-5 : f64} : tensor<?x?x4096xf16>, tensor<4096xf32>
  %z = qc.rms_norm %y, %g {epsilon = 1.0e-5 : f64} : tensor<?x?x4096xf16>, tensor<4096xf32>
  return %z : tensor<?x?x4096xf16>
}

// -----

// A small row (K = 64, f32: 16 vectors of 4) gets one warp: no shared
// memory, no barrier; 16 vectors for 32 lanes, so the load and the store
// of the lane's one slot are guarded.

// CHECK-LABEL: func.func @rms_small
// CHECK: qc.rms_norm
// CHECK-SAME: qc.launch = #qc.launch<@{{.*}}, block = 32>
// CHECK: gpu.func @rms_norm_k64(%[[X:.*]]: !llvm.ptr<1>,
// CHECK: %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %{{.*}} : i32
// CHECK: scf.if %[[IN]] -> (f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK: nvvm.shfl.sync bfly
// CHECK-NOT: nvvm.barrier0
// CHECK: scf.if %[[IN]] {
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 16 : i64} : vector<4xf32>, !llvm.ptr<1>
func.func @rms_small(%x: tensor<?x64xf32>, %g: tensor<64xf32>) -> tensor<?x64xf32> {
  %y = qc.rms_norm %x, %g : tensor<?x64xf32>, tensor<64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// LayerNorm, odd K (4097): scalar loads, 1024 threads x 5 slots (the last
// one guarded), two reductions (mean, then squared deviations from the
// registers) in two shared arrays, the bias added in the same pass.

// CHECK-LABEL: func.func @ln_odd
// CHECK: qc.layer_norm
// CHECK-SAME: qc.launch = #qc.launch<@qc_kernels_sm_90::@layer_norm_k4097, block = 1024>
// CHECK: llvm.mlir.global internal @layer_norm_k4097_smem() {{.*}} : !llvm.array<64 x f32>
// CHECK: gpu.func @layer_norm_k4097(%[[X:.*]]: !llvm.ptr<1>, %[[W:.*]]: !llvm.ptr<1>, %[[B:.*]]: !llvm.ptr<1>, %[[Y:.*]]: !llvm.ptr<1>, %{{.*}}: i32)
// CHECK: llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: %[[PB:.*]] = llvm.getelementptr %[[B]][%{{.*}}] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
// CHECK: llvm.load %[[PB]]
// CHECK: scf.if
// CHECK: nvvm.barrier0
// CHECK: arith.subf
// CHECK: nvvm.barrier0
// CHECK-NOT: llvm.load {{.*}} : !llvm.ptr<1>
// CHECK: llvm.store %{{.*}}, %{{.*}} : f32, !llvm.ptr<1>
func.func @ln_odd(%x: tensor<?x4097xf32>, %g: tensor<4097xf32>, %b: tensor<4097xf32>) -> tensor<?x4097xf32> {
  %y = qc.layer_norm %x, %g, %b {epsilon = 1.0e-12 : f64} : tensor<?x4097xf32>, tensor<4097xf32>, tensor<4097xf32>
  return %y : tensor<?x4097xf32>
}

// -----

// bf16 rows and weight.

// CHECK-LABEL: func.func @rms_bf16
// CHECK: qc.rms_norm
// CHECK-SAME: qc.launch = #qc.launch<@{{.*}}, block = 32>
// CHECK: gpu.func @rms_norm_k576(
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<8xbf16>
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @rms_bf16(%x: tensor<?x576xbf16>, %g: tensor<576xbf16>) -> tensor<?x576xbf16> {
  %y = qc.rms_norm %x, %g : tensor<?x576xbf16>, tensor<576xbf16>
  return %y : tensor<?x576xbf16>
}
