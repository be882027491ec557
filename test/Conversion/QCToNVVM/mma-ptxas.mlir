// REQUIRES: ptxas
// Assembles the tensor-core kernels with ptxas for sm_80 and sm_90 and checks
// that the default tiling compiles without spills.
// RUN: quant-opt %s --pass-pipeline="builtin.module(qc-outline-gpu-kernels,gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" \
// RUN:   | %python %S/Inputs/extract_ptx.py > %t.sm90.ptx
// RUN: %ptxas -arch=sm_90 -v %t.sm90.ptx -o %t.sm90.cubin 2> %t.sm90.log
// RUN: FileCheck %s --check-prefix=SM90 < %t.sm90.log
// RUN: grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.sm90.log | FileCheck %s --check-prefix=SPILLS
// RUN: sed 's/"sm_90"/"sm_80"/' %s | quant-opt --pass-pipeline="builtin.module(qc-outline-gpu-kernels,gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" \
// RUN:   | %python %S/Inputs/extract_ptx.py > %t.sm80.ptx
// RUN: FileCheck %s --check-prefix=PTX80 < %t.sm80.ptx
// RUN: %ptxas -arch=sm_80 -v %t.sm80.ptx -o %t.sm80.cubin 2> %t.sm80.log
// RUN: FileCheck %s --check-prefix=SM80 < %t.sm80.log
// RUN: grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.sm80.log | FileCheck %s --check-prefix=SPILLS

// PTX80: .target sm_80
// PTX80: .entry up_wo_mma(
// PTX80: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX80: .entry o_int8_mma(
// PTX80: mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32
// PTX80: .entry head_fp16_mma(
// PTX80: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32

// Each kernel compiles (ptxas lists them in reverse order) and none spills.
// SM90-DAG: Compiling entry function 'o_int8_mma' for 'sm_90'
// SM90-DAG: Compiling entry function 'o_act_quant' for 'sm_90'
// SM90-DAG: Compiling entry function 'head_fp16_mma' for 'sm_90'
// SM90-DAG: Compiling entry function 'up_wo_mma' for 'sm_90'
// SM90-DAG: Compiling entry function 'down_wo_mma' for 'sm_90'
// SPILLS: 5
// SM80-DAG: Compiling entry function 'o_int8_mma' for 'sm_80'
// SM80-DAG: Compiling entry function 'o_act_quant' for 'sm_80'
// SM80-DAG: Compiling entry function 'head_fp16_mma' for 'sm_80'
// SM80-DAG: Compiling entry function 'up_wo_mma' for 'sm_80'
// SM80-DAG: Compiling entry function 'down_wo_mma' for 'sm_80'

func.func @w8a8_static(%x: tensor<?x?x4096xf32>, %d: tensor<4096x4096xi8>, %s: tensor<1x1xf16>) -> tensor<?x?x4096xf32> {
  %q, %sx = qc.quantize_act %x static_per_tensor scale 0.02 : tensor<?x?x4096xf32> -> tensor<?x?x4096xi8>, tensor<1xf32>
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, granularity = per_tensor, act = static_per_tensor>} : tensor<4096x4096xi8>, tensor<1x1xf16> -> !qc.packed<4096x4096xi8>
  %y = qc.int8_matmul %q, %sx, %pw {layer = "o", kernel = #qc.kernel<int8_mma, target = "sm_90">} : tensor<?x?x4096xi8>, tensor<1xf32>, !qc.packed<4096x4096xi8> -> tensor<?x?x4096xf32>
  return %y : tensor<?x?x4096xf32>
}

func.func @head(%x: tensor<?x4096xf16>, %w: tensor<32001x4096xf16>) -> tensor<?x32001xf16> {
  %y = qc.linear %x, %w {layer = "head", kernel = #qc.kernel<fp16_mma, target = "sm_90">} : (tensor<?x4096xf16>, tensor<32001x4096xf16>) -> tensor<?x32001xf16>
  return %y : tensor<?x32001xf16>
}

func.func @up(%x: tensor<?x4096xf16>, %d: tensor<22544384xi8>, %s: tensor<11008x32xf16>) -> tensor<?x11008xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>} : tensor<22544384xi8>, tensor<11008x32xf16> -> !qc.packed<11008x4096xi4>
  %y = qc.wo_matmul %x, %pw {layer = "up", kernel = #qc.kernel<mma, target = "sm_90">} : tensor<?x4096xf16>, !qc.packed<11008x4096xi4> -> tensor<?x11008xf16>
  return %y : tensor<?x11008xf16>
}

// The weight-only mma kernel with the residual epilogue (the large-M side of
// gemv_mma; the GEMV kernels call libdevice and are assembled by the
// quant-compile module tests).
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @down(%x: tensor<?x11008xf16>, %d: tensor<22544384xi8>, %s: tensor<4096x86xf16>, %res: tensor<?x4096xf16>) -> tensor<?x4096xf16> {
  %c0 = arith.constant 0 : index
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>} : tensor<22544384xi8>, tensor<4096x86xf16> -> !qc.packed<4096x11008xi4>
  %y = qc.wo_matmul %x, %pw {layer = "down", kernel = #qc.kernel<mma, target = "sm_90">} : tensor<?x11008xf16>, !qc.packed<4096x11008xi4> -> tensor<?x4096xf16>
  %m = tensor.dim %x, %c0 : tensor<?x11008xf16>
  %e = tensor.empty(%m) : tensor<?x4096xf16>
  %r = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%res, %y : tensor<?x4096xf16>, tensor<?x4096xf16>) outs(%e : tensor<?x4096xf16>) {
  ^bb0(%a: f16, %b: f16, %o: f16):
    %t = arith.addf %a, %b : f16
    linalg.yield %t : f16
  } -> tensor<?x4096xf16>
  return %r : tensor<?x4096xf16>
}
