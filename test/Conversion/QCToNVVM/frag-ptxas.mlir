// REQUIRES: ptxas
// The frag kernels (every M tile variant, and on sm_80 the split-K
// reduction; sm_90 splits through thread-block clusters) of the schemes
// qc-select-matmul gives the frag kind assemble with ptxas for sm_80 and
// sm_90 without spills: INT4 groups of 128 (bias; split by default),
// INT4 asymmetric groups of 32 and INT8 per channel with the residual add
// fused (K = 512: too short to split by default); M tiles 16/32/64 with 2
// warps, two weight units in flight and split_k = 2 (every layer split,
// the residual one included); and two units per step (2 warps,
// 2 channel blocks) with two steps in flight. (The weights are declared mma_frag: no
// qc-pack-weights here.)
// RUN: quant-opt %s --pass-pipeline="builtin.module(qc-select-matmul{target=sm_90 weight-only-kernel=frag},qc-outline-gpu-kernels,gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" \
// RUN:   | %python %S/Inputs/extract_ptx.py > %t.sm90.ptx
// RUN: %ptxas -arch=sm_90 -v %t.sm90.ptx -o %t.sm90.cubin 2> %t.sm90.log
// RUN: FileCheck %s --check-prefixes=SM,SM90 < %t.sm90.log
// RUN: FileCheck %s --check-prefix=CLUSTER < %t.sm90.ptx
// RUN: grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.sm90.log | FileCheck %s --check-prefix=SPILLS90
// With weight-prefetch (sm_90): the L2 bulk prefetch assembles and comes
// before any other memory access of the frag and GEMV kernels.
// RUN: quant-opt %s --pass-pipeline="builtin.module(qc-select-matmul{target=sm_90 weight-only-kernel=frag},qc-outline-gpu-kernels{weight-prefetch},qc-gpu-dependent-launch,gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" \
// RUN:   | %python %S/Inputs/extract_ptx.py > %t.pf.ptx
// RUN: %ptxas -arch=sm_90 %t.pf.ptx -o %t.pf.cubin
// RUN: FileCheck %s --check-prefix=PF < %t.pf.ptx
// PF: .entry
// PF-NOT: ld.global
// PF: cp.async.bulk.prefetch.L2.global
// PF-NOT: ld.global
// PF: griddepcontrol.wait
// sm_90a: the same frag variants plus each layer's wgmma variant (N % 64:
// g128 and pc8; g32a's N = 256 too), no spills, and no ptxas warning (a
// wgmma whose registers the compiler cannot keep in place is serialized,
// with a warning).
// RUN: quant-opt %s --pass-pipeline="builtin.module(qc-select-matmul{target=sm_90a weight-only-kernel=frag},qc-outline-gpu-kernels,gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" \
// RUN:   | %python %S/Inputs/extract_ptx.py > %t.sm90a.ptx
// RUN: %ptxas -arch=sm_90a -v %t.sm90a.ptx -o %t.sm90a.cubin 2> %t.sm90a.log
// RUN: FileCheck %s --check-prefix=WG < %t.sm90a.log
// RUN: FileCheck %s --check-prefix=WGPTX < %t.sm90a.ptx
// RUN: not grep -i warning %t.sm90a.log
// RUN: grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.sm90a.log | FileCheck %s --check-prefix=SPILLS90A
// WG-DAG: Compiling entry function 'g128_frag_wgmma' for 'sm_90a'
// WG-DAG: Compiling entry function 'g32a_frag_wgmma' for 'sm_90a'
// WG-DAG: Compiling entry function 'pc8_frag_wgmma' for 'sm_90a'
// SPILLS90A: {{^12$}}
// WGPTX: .target sm_90a
// WGPTX: wgmma.fence.sync.aligned;
// WGPTX: wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16
// WGPTX: wgmma.commit_group.sync.aligned;
// WGPTX: wgmma.wait_group.sync.aligned 0;
// RUN: sed 's/sm_90/sm_80/g' %s | quant-opt --pass-pipeline="builtin.module(qc-select-matmul{target=sm_80 weight-only-kernel=frag},qc-outline-gpu-kernels,gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" \
// RUN:   | %python %S/Inputs/extract_ptx.py > %t.sm80.ptx
// RUN: %ptxas -arch=sm_80 -v %t.sm80.ptx -o %t.sm80.cubin 2> %t.sm80.log
// RUN: FileCheck %s --check-prefixes=SM,SM80 < %t.sm80.log
// RUN: not grep -q "cluster" %t.sm80.ptx
// RUN: grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.sm80.log | FileCheck %s --check-prefix=SPILLS
// RUN: quant-opt %s --pass-pipeline="builtin.module(qc-select-matmul{target=sm_90 weight-only-kernel=frag frag-warps-k=2 frag-prefetch=2 frag-m-tiles=16,32,64 frag-split-k=2},qc-outline-gpu-kernels,gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" \
// RUN:   | %python %S/Inputs/extract_ptx.py > %t.m64.ptx
// RUN: %ptxas -arch=sm_90 -v %t.m64.ptx -o %t.m64.cubin 2> %t.m64.log
// RUN: FileCheck %s --check-prefix=M64 < %t.m64.log
// RUN: grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.m64.log | FileCheck %s --check-prefix=SPILLS64
// RUN: quant-opt %s --pass-pipeline="builtin.module(qc-select-matmul{target=sm_90 weight-only-kernel=frag frag-warps-k=2 frag-step-units=2 frag-prefetch=2 frag-n-blocks=2},qc-outline-gpu-kernels,gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" \
// RUN:   | %python %S/Inputs/extract_ptx.py > %t.u2.ptx
// RUN: %ptxas -arch=sm_90 -v %t.u2.ptx -o %t.u2.cubin 2> %t.u2.log
// RUN: grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.u2.log | FileCheck %s --check-prefix=SPILLS90
// RUN: quant-opt %s --pass-pipeline="builtin.module(qc-select-matmul{target=sm_90 weight-only-kernel=frag frag-m-tiles=1,2,4,8,16 frag-warps-k=2 frag-step-units=2 frag-prefetch=2 frag-n-blocks=2},qc-outline-gpu-kernels,gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})" \
// RUN:   | %python %S/Inputs/extract_ptx.py > %t.dot.ptx
// RUN: %ptxas -arch=sm_90 -v %t.dot.ptx -o %t.dot.cubin 2> %t.dot.log
// RUN: FileCheck %s --check-prefix=DOT < %t.dot.log
// RUN: grep -c "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" %t.dot.log | FileCheck %s --check-prefix=SPILLSDOT

// SM-DAG: Compiling entry function 'g128_frag_mt1'
// SM-DAG: Compiling entry function 'g128_frag_mt16'
// SM-DAG: Compiling entry function 'g128_frag_mt32'
// SM80-DAG: Compiling entry function 'g128_frag_reduce'
// SM-DAG: Compiling entry function 'g32a_frag_mt1'
// SM-DAG: Compiling entry function 'g32a_frag_mt16'
// SM-DAG: Compiling entry function 'g32a_frag_mt32'
// SM-DAG: Compiling entry function 'pc8_frag_mt1'
// SM-DAG: Compiling entry function 'pc8_frag_mt16'
// SM-DAG: Compiling entry function 'pc8_frag_mt32'
// SPILLS: {{^10$}}
// SPILLS90: {{^9$}}
// sm_90 splits through thread-block clusters: no reduction kernel; the
// partial sums cross CTAs by mapa + ld.shared::cluster between cluster
// barriers.
// SM90-NOT: Compiling entry function '{{.*}}_reduce'
// CLUSTER: barrier.cluster.arrive
// CLUSTER: barrier.cluster.wait
// CLUSTER: mapa.shared::cluster
// CLUSTER: ld.shared::cluster.b32
// CLUSTER: barrier.cluster.arrive
// M64-DAG: Compiling entry function 'g128_frag_mt64'
// SPILLS64: {{^9$}}
// DOT-DAG: Compiling entry function 'g128_frag_mt1'
// DOT-DAG: Compiling entry function 'g128_frag_mt2'
// DOT-DAG: Compiling entry function 'g128_frag_mt4'
// DOT-DAG: Compiling entry function 'g128_frag_mt8'
// DOT-DAG: Compiling entry function 'pc8_frag_mt8'
// SPILLSDOT: {{^15$}}

#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @f(%x: tensor<?x4096xf16>, %d: tensor<8388608xi8>, %s: tensor<4096x32xf16>, %b: tensor<4096xf16>,
             %x2: tensor<?x512xf16>, %d2: tensor<65536xi8>, %s2: tensor<256x16xf16>, %z2: tensor<256x16xi8>,
             %d3: tensor<1048576xi8>, %s3: tensor<2048x1xf16>, %r: tensor<?x2048xf16>)
    -> (tensor<?x4096xf16>, tensor<?x256xf16>, tensor<?x2048xf16>) {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<mma_frag>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>} : tensor<8388608xi8>, tensor<4096x32xf16> -> !qc.packed<4096x4096xi4>
  %y = qc.wo_matmul %x, %pw, %b {layer = "g128"} : tensor<?x4096xf16>, !qc.packed<4096x4096xi4>, tensor<4096xf16> -> tensor<?x4096xf16>
  %pw2 = qc.packed_weight %d2, %s2, %z2 {layout = #qc.layout<mma_frag>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32, symmetric = false>} : tensor<65536xi8>, tensor<256x16xf16>, tensor<256x16xi8> -> !qc.packed<256x512xi4>
  %y2 = qc.wo_matmul %x2, %pw2 {layer = "g32a"} : tensor<?x512xf16>, !qc.packed<256x512xi4> -> tensor<?x256xf16>
  %pw3 = qc.packed_weight %d3, %s3 {layout = #qc.layout<mma_frag>, scheme = #qc.scheme<weight = i8>} : tensor<1048576xi8>, tensor<2048x1xf16> -> !qc.packed<2048x512xi8>
  %y3 = qc.wo_matmul %x2, %pw3 {layer = "pc8"} : tensor<?x512xf16>, !qc.packed<2048x512xi8> -> tensor<?x2048xf16>
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x2, %c0 : tensor<?x512xf16>
  %e = tensor.empty(%m) : tensor<?x2048xf16>
  %sum = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%r, %y3 : tensor<?x2048xf16>, tensor<?x2048xf16>) outs(%e : tensor<?x2048xf16>) {
  ^bb0(%a: f16, %b2: f16, %o: f16):
    %t = arith.addf %a, %b2 : f16
    linalg.yield %t : f16
  } -> tensor<?x2048xf16>
  return %y, %y2, %sum : tensor<?x4096xf16>, tensor<?x256xf16>, tensor<?x2048xf16>
}
