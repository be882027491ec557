// REQUIRES: ptxas
// Assembles the row normalization kernels (RMSNorm / LayerNorm; f32, f16,
// bf16; vector and scalar rows; one warp and many) with ptxas for sm_90 and
// sm_80, without spills.
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

// PTX: .entry rms_norm_k4096(
// PTX: ld.global.v4.b32
// PTX: shfl.sync.bfly.b32
// PTX: bar.sync 0
// PTX: sqrt.rn.f32
// PTX: st.global.v4.b32

// SM90-DAG: Compiling entry function 'rms_norm_k4096' for 'sm_90'
// SM90-DAG: Compiling entry function 'rms_norm_k576' for 'sm_90'
// SM90-DAG: Compiling entry function 'layer_norm_k4097' for 'sm_90'
// SM90-DAG: Compiling entry function 'layer_norm_k4096' for 'sm_90'
// SM90-DAG: Compiling entry function 'rms_norm_k64' for 'sm_90'
// SPILLS: 5
// SM80-DAG: Compiling entry function 'rms_norm_k4096' for 'sm_80'
// SM80-DAG: Compiling entry function 'rms_norm_k576' for 'sm_80'
// SM80-DAG: Compiling entry function 'layer_norm_k4097' for 'sm_80'
// SM80-DAG: Compiling entry function 'layer_norm_k4096' for 'sm_80'
// SM80-DAG: Compiling entry function 'rms_norm_k64' for 'sm_80'

func.func @norms(%a: tensor<?x4096xf16>, %ga: tensor<4096xf32>,
                 %b: tensor<?x576xbf16>, %gb: tensor<576xbf16>,
                 %c: tensor<?x4097xf32>, %gc: tensor<4097xf32>, %bc: tensor<4097xf32>,
                 %d: tensor<?x4096xf16>, %gd: tensor<4096xf16>, %bd: tensor<4096xf16>,
                 %e: tensor<?x64xf32>, %ge: tensor<64xf32>)
    -> (tensor<?x4096xf16>, tensor<?x576xbf16>, tensor<?x4097xf32>, tensor<?x4096xf16>, tensor<?x64xf32>) {
  %ya = qc.rms_norm %a, %ga : tensor<?x4096xf16>, tensor<4096xf32>
  %yb = qc.rms_norm %b, %gb : tensor<?x576xbf16>, tensor<576xbf16>
  %yc = qc.layer_norm %c, %gc, %bc : tensor<?x4097xf32>, tensor<4097xf32>, tensor<4097xf32>
  %yd = qc.layer_norm %d, %gd, %bd : tensor<?x4096xf16>, tensor<4096xf16>, tensor<4096xf16>
  %ye = qc.rms_norm %e, %ge : tensor<?x64xf32>, tensor<64xf32>
  return %ya, %yb, %yc, %yd, %ye : tensor<?x4096xf16>, tensor<?x576xbf16>, tensor<?x4097xf32>, tensor<?x4096xf16>, tensor<?x64xf32>
}
