// REQUIRES: ptxas
// Assembles the decode attention kernels (f32 D = 64, f16 D = 128; the
// latter with its tensor-core prefill kernel, prefill-attention-ptxas.mlir)
// with ptxas for sm_90 and sm_80, without spills.
// RUN: quant-opt %s --pass-pipeline="builtin.module(qc-outline-gpu-kernels{chip=sm_90},gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" \
// RUN:   | %python %S/Inputs/extract_ptx.py > %t.sm90.ptx
// RUN: FileCheck %s --check-prefix=PTX < %t.sm90.ptx
// RUN: %ptxas -arch=sm_90 -v %t.sm90.ptx -o %t.sm90.cubin 2> %t.sm90.log
// RUN: FileCheck %s --check-prefix=SM90 < %t.sm90.log
// RUN: grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.sm90.log | FileCheck %s --check-prefix=SPILLS
// RUN: quant-opt %s --pass-pipeline="builtin.module(qc-outline-gpu-kernels{chip=sm_80},gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" \
// RUN:   | %python %S/Inputs/extract_ptx.py > %t.sm80.ptx
// RUN: %ptxas -arch=sm_80 -v %t.sm80.ptx -o %t.sm80.cubin 2> %t.sm80.log
// RUN: FileCheck %s --check-prefix=SM80 < %t.sm80.log
// RUN: grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.sm80.log | FileCheck %s --check-prefix=SPILLS

// PTX: .entry cache_attention_l3_partial(
// PTX: ld.global.b64
// PTX: shfl.sync.bfly.b32
// PTX: ex2.approx
// PTX: .entry cache_attention_l3_combine(

// SM90-DAG: Compiling entry function 'cache_attention_l3_partial' for 'sm_90'
// SM90-DAG: Compiling entry function 'cache_attention_l3_combine' for 'sm_90'
// SM90-DAG: Compiling entry function 'cache_attention_l0_partial' for 'sm_90'
// SM90-DAG: Compiling entry function 'cache_attention_l0_combine' for 'sm_90'
// SM90-DAG: Compiling entry function 'cache_attention_l0_prefill' for 'sm_90'
// SPILLS: 5
// SM80-DAG: Compiling entry function 'cache_attention_l3_partial' for 'sm_80'
// SM80-DAG: Compiling entry function 'cache_attention_l0_partial' for 'sm_80'

func.func @attn(%q: tensor<?x?x9x64xf32>, %kc: tensor<30x?x3x512x64xf32>, %vc: tensor<30x?x3x512x64xf32>, %pos: tensor<?xi64>,
                %q2: tensor<?x?x32x128xf16>, %kc2: tensor<1x?x8x4096x128xf16>, %vc2: tensor<1x?x8x4096x128xf16>)
    -> (tensor<?x?x9x64xf32>, tensor<?x?x32x128xf16>) {
  %o = qc.cache_attention %q, %kc, %vc, %pos {layer = 3 : i64, scale = 0.125 : f32} : tensor<?x?x9x64xf32>, tensor<30x?x3x512x64xf32>, tensor<30x?x3x512x64xf32>, tensor<?xi64> -> tensor<?x?x9x64xf32>
  %o2 = qc.cache_attention %q2, %kc2, %vc2, %pos {layer = 0 : i64, scale = 0.088 : f32} : tensor<?x?x32x128xf16>, tensor<1x?x8x4096x128xf16>, tensor<1x?x8x4096x128xf16>, tensor<?xi64> -> tensor<?x?x32x128xf16>
  return %o, %o2 : tensor<?x?x9x64xf32>, tensor<?x?x32x128xf16>
}
