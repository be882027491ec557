// REQUIRES: ptxas
// Assembles the tensor-core prefill attention kernels (f16 D = 128 MHA,
// f16 D = 64 G = 3, bf16 D = 128 G = 4) with ptxas for sm_90 and sm_80,
// without spills, within the 48 KiB of static shared memory.
// RUN: quant-opt %s --pass-pipeline="builtin.module(qc-outline-gpu-kernels{chip=sm_90},gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" \
// RUN:   | %python %S/Inputs/extract_ptx.py > %t.sm90.ptx
// RUN: FileCheck %s --check-prefix=PTX < %t.sm90.ptx
// RUN: %ptxas -arch=sm_90 -v %t.sm90.ptx -o %t.sm90.cubin 2> %t.sm90.log
// RUN: FileCheck %s --check-prefix=SM90 < %t.sm90.log
// RUN: grep -A3 "_prefill' for" %t.sm90.log | grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" | FileCheck %s --check-prefix=SPILLS
// RUN: quant-opt %s --pass-pipeline="builtin.module(qc-outline-gpu-kernels{chip=sm_80},gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" \
// RUN:   | %python %S/Inputs/extract_ptx.py > %t.sm80.ptx
// RUN: %ptxas -arch=sm_80 -v %t.sm80.ptx -o %t.sm80.cubin 2> %t.sm80.log
// RUN: FileCheck %s --check-prefix=SM80 < %t.sm80.log
// RUN: grep -A3 "_prefill' for" %t.sm80.log | grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" | FileCheck %s --check-prefix=SPILLS

// PTX: .entry cache_attention_l0_prefill(
// PTX-DAG: cp.async.cg.shared.global
// PTX-DAG: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX-DAG: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX-DAG: ex2.approx.ftz.f32
// PTX-DAG: cvt.rn.f16x2.f32
// PTX-DAG: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// PTX: .entry cache_attention_l1_partial(
// PTX: .entry cache_attention_l1_prefill(
// PTX: .entry cache_attention_l2_prefill(
// PTX-DAG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX-DAG: cvt.rn.bf16x2.f32

// SM90-DAG: Compiling entry function 'cache_attention_l0_prefill' for 'sm_90'
// SM90-DAG: Compiling entry function 'cache_attention_l1_prefill' for 'sm_90'
// SM90-DAG: Compiling entry function 'cache_attention_l2_prefill' for 'sm_90'
// SM90-DAG: 34816 bytes smem
// SM90-DAG: 18432 bytes smem
// SPILLS: 3
// SM80-DAG: Compiling entry function 'cache_attention_l0_prefill' for 'sm_80'
// SM80-DAG: Compiling entry function 'cache_attention_l1_prefill' for 'sm_80'
// SM80-DAG: Compiling entry function 'cache_attention_l2_prefill' for 'sm_80'

func.func @attn(%q: tensor<?x?x32x128xf16>, %kc: tensor<1x?x32x1024x128xf16>, %vc: tensor<1x?x32x1024x128xf16>, %pos: tensor<?xi64>,
                %q2: tensor<?x?x9x64xf16>, %kc2: tensor<2x?x3x512x64xf16>, %vc2: tensor<2x?x3x512x64xf16>,
                %q3: tensor<?x?x16x128xbf16>, %kc3: tensor<3x?x4x2048x128xbf16>, %vc3: tensor<3x?x4x2048x128xbf16>)
    -> (tensor<?x?x32x128xf16>, tensor<?x?x9x64xf16>, tensor<?x?x16x128xbf16>) {
  %o = qc.cache_attention %q, %kc, %vc, %pos {layer = 0 : i64, scale = 0.088 : f32} : tensor<?x?x32x128xf16>, tensor<1x?x32x1024x128xf16>, tensor<1x?x32x1024x128xf16>, tensor<?xi64> -> tensor<?x?x32x128xf16>
  %o2 = qc.cache_attention %q2, %kc2, %vc2, %pos {layer = 1 : i64, scale = 0.125 : f32} : tensor<?x?x9x64xf16>, tensor<2x?x3x512x64xf16>, tensor<2x?x3x512x64xf16>, tensor<?xi64> -> tensor<?x?x9x64xf16>
  %o3 = qc.cache_attention %q3, %kc3, %vc3, %pos {layer = 2 : i64, scale = 0.088 : f32} : tensor<?x?x16x128xbf16>, tensor<3x?x4x2048x128xbf16>, tensor<3x?x4x2048x128xbf16>, tensor<?xi64> -> tensor<?x?x16x128xbf16>
  return %o, %o2, %o3 : tensor<?x?x32x128xf16>, tensor<?x?x9x64xf16>, tensor<?x?x16x128xbf16>
}
