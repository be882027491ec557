// REQUIRES: ptxas
// Assembles the row argmax kernels (f32 vocabulary rows of Llama-2 and
// Llama-3, f16, bf16, an odd K with scalar loads, one warp and many) with
// ptxas for sm_90 and sm_80, without spills.
// RUN: quant-opt %s --pass-pipeline="builtin.module(qc-outline-gpu-kernels{chip=sm_90},gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" \
// RUN:   | %python %S/Inputs/extract_ptx.py > %t.sm90.ptx
// RUN: FileCheck %s --check-prefix=PTX < %t.sm90.ptx
// RUN: %ptxas -arch=sm_90 -v %t.sm90.ptx -o %t.sm90.cubin 2> %t.sm90.log
// RUN: FileCheck %s --check-prefix=SM90 < %t.sm90.log
// RUN: grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.sm90.log | FileCheck %s --check-prefix=SPILLS
// RUN: quant-opt %s --pass-pipeline="builtin.module(qc-outline-gpu-kernels{chip=sm_80},gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" \
// RUN:   | %python %S/Inputs/extract_ptx.py > %t.sm80.ptx
// RUN: %ptxas -arch=sm_80 -v %t.sm80.ptx -o %t.sm80.cubin 2> %t.sm80.log
// RUN: grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.sm80.log | FileCheck %s --check-prefix=SPILLS

// PTX: .entry argmax_k32000(
// PTX: ld.global.v4.{{[bf]}}32
// PTX: shfl.sync.bfly.b32
// PTX: bar.sync 0
// PTX: st.global.{{[bu]}}64

// SM90-DAG: Compiling entry function 'argmax_k32000' for 'sm_90'
// SM90-DAG: Compiling entry function 'argmax_k128256' for 'sm_90'
// SM90-DAG: Compiling entry function 'argmax_k49152' for 'sm_90'
// SM90-DAG: Compiling entry function 'argmax_k4097' for 'sm_90'
// SM90-DAG: Compiling entry function 'argmax_k64' for 'sm_90'
// SPILLS: 5

func.func @greedy(%a: tensor<?x32000xf32>, %b: tensor<?x128256xf32>, %c: tensor<?x49152xf16>,
                  %d: tensor<?x4097xbf16>, %e: tensor<?x64xf32>)
    -> (tensor<?x1xi64>, tensor<?x1xi64>, tensor<?x1xi64>, tensor<?x1xi64>, tensor<?x1xi64>) {
  %0 = qc.argmax %a : tensor<?x32000xf32> -> tensor<?x1xi64>
  %1 = qc.argmax %b : tensor<?x128256xf32> -> tensor<?x1xi64>
  %2 = qc.argmax %c : tensor<?x49152xf16> -> tensor<?x1xi64>
  %3 = qc.argmax %d : tensor<?x4097xbf16> -> tensor<?x1xi64>
  %4 = qc.argmax %e : tensor<?x64xf32> -> tensor<?x1xi64>
  return %0, %1, %2, %3, %4 : tensor<?x1xi64>, tensor<?x1xi64>, tensor<?x1xi64>, tensor<?x1xi64>, tensor<?x1xi64>
}
