// RUN: quant-opt %s --convert-qc-to-linalg --split-input-file | FileCheck %s

// Float linear: leading dims collapsed to [M, K], the kernel called (one
// private function per configuration, at the end of the module), the result
// expanded back. The kernel: a register-blocked loop nest with vector.fma
// over K chunks, the bias added in the epilogue.
// CHECK-LABEL: func @linear
// CHECK-SAME: %[[X:.*]]: tensor<?x?x64xf32>, %[[W:.*]]: tensor<32x64xf16>, %[[B:.*]]: tensor<32xf32>
// CHECK: %[[XC:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<?x?x64xf32> into tensor<?x64xf32>
// CHECK: %[[Y:.*]] = call @[[KERNEL:__qc_kernel_[0-9a-f_]+]](%[[XC]], %[[W]], %[[B]]) : (tensor<?x64xf32>, tensor<32x64xf16>, tensor<32xf32>) -> tensor<?x32xf32>
// Two dynamic sizes in one group: tensor.reshape, not expand_shape.
// CHECK: %[[SHAPE:.*]] = tensor.from_elements
// CHECK: tensor.reshape %[[Y]](%[[SHAPE]]) : (tensor<?x32xf32>, tensor<3xindex>) -> tensor<?x?x32xf32>
// CHECK: func.func private @[[KERNEL]](%[[XC:.*]]: tensor<?x64xf32>, %[[W:.*]]: tensor<32x64xf16>, %[[B:.*]]: tensor<32xf32>) -> tensor<?x32xf32>
// CHECK: %[[INIT:.*]] = tensor.empty(%{{.*}}) : tensor<?x32xf32>
// CHECK: %[[M:.*]] = tensor.dim %[[XC]]
// CHECK: %[[REM:.*]] = arith.remui %[[M]], %{{.*}} : index
// CHECK: scf.for %[[NB:.*]] = {{.*}} iter_args(%{{.*}} = %[[INIT]]) -> (tensor<?x32xf32>)
// CHECK:   scf.for
// CHECK:     scf.for
// CHECK:       scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>,
// CHECK:         vector.transfer_read %[[W]]{{.*}} : tensor<32x64xf16>, vector<16xf16>
// CHECK:         arith.extf {{.*}} : vector<16xf16> to vector<16xf32>
// CHECK:         vector.transfer_read %[[XC]]{{.*}} : tensor<?x64xf32>, vector<16xf32>
// CHECK:         vector.fma {{.*}} : vector<16xf32>
// CHECK:       vector.reduction <add>, {{.*}} fastmath<reassoc> : vector<16xf32> into f32
// CHECK:       tensor.extract %[[B]]
// CHECK:       vector.from_elements {{.*}} : vector<4xf32>
// CHECK:       vector.transfer_write {{.*}} : vector<4xf32>, tensor<?x32xf32>
func.func @linear(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf16>, %b: tensor<32xf32>) -> tensor<?x?x32xf32> {
  %y = qc.linear %x, %w, %b {layer = "l"} : (tensor<?x?x64xf32>, tensor<32x64xf16>, tensor<32xf32>) -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}

// -----

// INT4 weight-only: the packed bytes are read inside the K loop, nibbles
// sign-extended and interleaved (even k in the low nibble), converted and
// scaled per group; no float copy of the weight exists.
// CHECK-LABEL: func @wo_int4
// CHECK-SAME: %[[X:.*]]: tensor<?x64xf32>, %[[D:.*]]: tensor<1024xi8>, %[[S:.*]]: tensor<32x4xf16>
// CHECK: call @[[KERNEL:__qc_kernel_[0-9a-f_]+]](%[[X]], %[[D]], %[[S]])
// CHECK: func.func private @[[KERNEL]](%{{.*}}: tensor<?x64xf32>, %[[D:.*]]: tensor<1024xi8>, %[[S:.*]]: tensor<32x4xf16>)
// CHECK-NOT: tensor<32x64xf32>
// CHECK: scf.for {{.*}} -> (vector<16xf32>
// CHECK:   %[[BYTES:.*]] = vector.transfer_read %[[D]]{{.*}} : tensor<1024xi8>, vector<8xi8>
// CHECK:   %[[SHL:.*]] = arith.shli %[[BYTES]]
// CHECK:   %[[LO:.*]] = arith.shrsi %[[SHL]]
// CHECK:   %[[HI:.*]] = arith.shrsi %[[BYTES]]
// CHECK:   %[[Q:.*]] = vector.interleave %[[LO]], %[[HI]] : vector<8xi8> -> vector<16xi8>
// CHECK:   %[[QF:.*]] = arith.sitofp %[[Q]] : vector<16xi8> to vector<16xf32>
// CHECK:   tensor.extract %[[S]]
// CHECK:   arith.mulf %[[QF]]
// CHECK:   vector.fma
// CHECK-NOT: tensor<32x64xf32>
// CHECK: return
func.func @wo_int4(%x: tensor<?x64xf32>, %d: tensor<1024xi8>, %s: tensor<32x4xf16>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 16>} : tensor<1024xi8>, tensor<32x4xf16> -> !qc.packed<32x64xi4>
  %y = qc.wo_matmul %x, %pw {layer = "up"} : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Asymmetric INT8 in the tiled layout, per-channel: unsigned q minus the
// unsigned zero point; the row scale is applied once in the epilogue.
// CHECK-LABEL: func @wo_int8_asym_tiled
// CHECK-SAME: %[[X:.*]]: tensor<?x64xf32>, %[[D:.*]]: tensor<2048xi8>, %[[S:.*]]: tensor<32x1xf32>, %[[Z:.*]]: tensor<32x1xi8>
// CHECK: call @[[KERNEL:__qc_kernel_[0-9a-f_]+]](%[[X]], %[[D]], %[[S]], %[[Z]])
// CHECK: func.func private @[[KERNEL]](%{{.*}}: tensor<?x64xf32>, %[[D:.*]]: tensor<2048xi8>, %[[S:.*]]: tensor<32x1xf32>, %[[Z:.*]]: tensor<32x1xi8>)
// CHECK: scf.for {{.*}} -> (vector<16xf32>
// CHECK:   arith.divui %{{.*}}, %c16
// CHECK:   vector.transfer_read %[[D]]{{.*}} : tensor<2048xi8>, vector<16xi8>
// CHECK:   arith.uitofp {{.*}} : vector<16xi8> to vector<16xf32>
// CHECK:   %[[ZV:.*]] = tensor.extract %[[Z]]
// CHECK:   arith.uitofp %[[ZV]] : i8 to f32
// CHECK:   arith.subf
// CHECK:   vector.fma
// CHECK: vector.reduction <add>
// CHECK: tensor.extract %[[S]]
// CHECK: arith.mulf
func.func @wo_int8_asym_tiled(%x: tensor<?x64xf32>, %d: tensor<2048xi8>, %s: tensor<32x1xf32>, %z: tensor<32x1xi8>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s, %z {layout = #qc.layout<tiled, tile_n = 16, tile_k = 32>, scheme = #qc.scheme<weight = i8, symmetric = false>} : tensor<2048xi8>, tensor<32x1xf32>, tensor<32x1xi8> -> !qc.packed<32x64xi8>
  %y = qc.wo_matmul %x, %pw {layer = "t"} : tensor<?x64xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Adaptive: scf.if on the runtime row count; M >= T quantizes activations
// per token and runs the INT8 kernel on the same weight.
// CHECK-LABEL: func @adaptive
// CHECK: %[[M:.*]] = tensor.dim
// CHECK: %[[SMALL:.*]] = arith.cmpi slt, %[[M]], %c64
// CHECK: scf.if %[[SMALL]] -> (tensor<?x32xf32>)
// CHECK:   call @[[WO:__qc_kernel_[0-9a-f_]+]](
// CHECK: } else {
// CHECK:   math.absf
// CHECK:   math.roundeven
// CHECK:   call @[[I8:__qc_kernel_[0-9a-f_]+]](
// CHECK-DAG: func.func private @[[WO]](
// CHECK-DAG: vector.fma
// CHECK-DAG: func.func private @[[I8]](
// CHECK-DAG: arith.muli {{.*}} : vector<16xi16>
// CHECK-DAG: arith.addi {{.*}} : vector<16xi32>
func.func @adaptive(%x: tensor<?x64xf32>, %d: tensor<32x64xi8>, %s: tensor<32x1xf32>) -> tensor<?x32xf32> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : tensor<32x64xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  %y = qc.wo_matmul %x, %pw {layer = "ad", kernel = #qc.kernel<adaptive, threshold = 64>} : tensor<?x64xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// INT8 x INT8: exact i16 products, i32 accumulation, then * s_x[m] * s_w[n] + b[n] in f32 and
// the cast to the f16 result.
// CHECK-LABEL: func @int8_matmul
// CHECK-SAME: %[[Q:.*]]: tensor<?x64xi8>, %[[SX:.*]]: tensor<?xf32>, %[[D:.*]]: tensor<32x64xi8>, %[[S:.*]]: tensor<32x1xf32>, %[[B:.*]]: tensor<32xf16>
// CHECK: call @[[KERNEL:__qc_kernel_[0-9a-f_]+]](%[[Q]], %[[SX]], %[[D]], %[[S]], %[[B]])
// CHECK: func.func private @[[KERNEL]](%[[Q:.*]]: tensor<?x64xi8>, %[[SX:.*]]: tensor<?xf32>, %[[D:.*]]: tensor<32x64xi8>, %[[S:.*]]: tensor<32x1xf32>, %[[B:.*]]: tensor<32xf16>)
// CHECK: scf.for {{.*}} -> (vector<16xi32>
// CHECK:   vector.transfer_read %[[D]]{{.*}} : tensor<32x64xi8>, vector<16xi8>
// CHECK:   arith.extsi {{.*}} : vector<16xi8> to vector<16xi16>
// CHECK:   vector.transfer_read %[[Q]]{{.*}} : tensor<?x64xi8>, vector<16xi8>
// CHECK:   %[[P:.*]] = arith.muli {{.*}} : vector<16xi16>
// CHECK:   %[[P32:.*]] = arith.extsi %[[P]] : vector<16xi16> to vector<16xi32>
// CHECK:   arith.addi %{{.*}}, %[[P32]] : vector<16xi32>
// CHECK: %[[ACC:.*]] = vector.reduction <add>, {{.*}} : vector<16xi32> into i32
// CHECK: %[[F:.*]] = arith.sitofp %[[ACC]] : i32 to f32
// CHECK: %[[SXM:.*]] = tensor.extract %[[SX]]
// CHECK: %[[A:.*]] = arith.mulf %[[F]], %[[SXM]]
// CHECK: %[[SWN:.*]] = tensor.extract %[[S]]
// CHECK: %[[BB:.*]] = arith.mulf %[[A]], %[[SWN]]
// CHECK: %[[BN:.*]] = tensor.extract %[[B]]
// CHECK: arith.extf %[[BN]] : f16 to f32
// CHECK: arith.truncf {{.*}} : f32 to f16
func.func @int8_matmul(%q: tensor<?x64xi8>, %sx: tensor<?xf32>, %d: tensor<32x64xi8>, %s: tensor<32x1xf32>, %b: tensor<32xf16>) -> tensor<?x32xf16> {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : tensor<32x64xi8>, tensor<32x1xf32> -> !qc.packed<32x64xi8>
  %y = qc.int8_matmul %q, %sx, %pw, %b {layer = "o"} : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8>, tensor<32xf16> -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// -----

// Layers with the same configuration (scheme, layout, shapes, types) share
// one kernel function; a static row count (decode) is cast to a dynamic one
// at the call, so it shares the function too. Another N is another kernel.
// CHECK-LABEL: func @shared
// CHECK-SAME: %[[X:.*]]: tensor<?x64xf32>, %[[X1:.*]]: tensor<1x64xf32>
// CHECK: %[[Y:.*]] = call @[[K:__qc_kernel_[0-9a-f_]+]](%[[X]], %[[D:.*]], %[[S:.*]])
// CHECK: %[[X1D:.*]] = tensor.cast %[[X1]] : tensor<1x64xf32> to tensor<?x64xf32>
// CHECK: %[[Y1:.*]] = call @[[K]](%[[X1D]], %[[D]], %[[S]])
// CHECK: tensor.cast %[[Y1]] : tensor<?x32xf32> to tensor<1x32xf32>
// CHECK: call @[[K2:__qc_kernel_[0-9a-f_]+]](%[[Y]],
// CHECK: func.func private @[[K]](
// CHECK: func.func private @[[K2]](
// CHECK-NOT: func.func
func.func @shared(%x: tensor<?x64xf32>, %x1: tensor<1x64xf32>, %d: tensor<1024xi8>, %s: tensor<32x4xf16>, %d2: tensor<512xi8>, %s2: tensor<32x2xf16>) -> (tensor<?x32xf32>, tensor<1x32xf32>, tensor<?x32xf32>) {
  %pw = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 16>} : tensor<1024xi8>, tensor<32x4xf16> -> !qc.packed<32x64xi4>
  %pw1 = qc.packed_weight %d, %s {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 16>} : tensor<1024xi8>, tensor<32x4xf16> -> !qc.packed<32x64xi4>
  %pw2 = qc.packed_weight %d2, %s2 {layout = #qc.layout<row_major>, scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 16>} : tensor<512xi8>, tensor<32x2xf16> -> !qc.packed<32x32xi4>
  %y = qc.wo_matmul %x, %pw {layer = "a"} : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
  %y1 = qc.wo_matmul %x1, %pw1 {layer = "b"} : tensor<1x64xf32>, !qc.packed<32x64xi4> -> tensor<1x32xf32>
  %y2 = qc.wo_matmul %y, %pw2 {layer = "c"} : tensor<?x32xf32>, !qc.packed<32x32xi4> -> tensor<?x32xf32>
  return %y, %y1, %y2 : tensor<?x32xf32>, tensor<1x32xf32>, tensor<?x32xf32>
}
