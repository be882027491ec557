// RUN: quant-opt %s --convert-qc-to-linalg | FileCheck %s

// RMSNorm: f32 sum of squares per row, then x / sqrt(sum / K + eps) * w.
// CHECK-LABEL: func @rms
// CHECK-SAME: %[[X:.*]]: tensor<?x?x64xf32>, %[[G:.*]]: tensor<64xf32>
// CHECK: %[[XC:.*]] = tensor.collapse_shape %[[X]]
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} ins(%[[XC]] : tensor<?x64xf32>)
// CHECK:   arith.mulf
// CHECK:   arith.addf
// CHECK: linalg.generic {{.*}} ins(%[[XC]], %[[SUM]], %[[G]] : tensor<?x64xf32>, tensor<?xf32>, tensor<64xf32>)
// CHECK:   %[[K:.*]] = arith.constant 6.400000e+01 : f32
// CHECK:   %[[MS:.*]] = arith.divf %{{.*}}, %[[K]]
// CHECK:   %[[EPS:.*]] = arith.constant 9.99999997E-7 : f32
// CHECK:   %[[V:.*]] = arith.addf %[[MS]], %[[EPS]]
// CHECK:   %[[RMS:.*]] = math.sqrt %[[V]]
// CHECK:   arith.divf %{{.*}}, %[[RMS]]
// CHECK: tensor.reshape
func.func @rms(%x: tensor<?x?x64xf32>, %g: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %y = qc.rms_norm %x, %g {epsilon = 1.0e-6 : f64} : tensor<?x?x64xf32>, tensor<64xf32>
  return %y : tensor<?x?x64xf32>
}

// LayerNorm in f32 for f16 data: mean, two-pass variance, affine, truncf.
// CHECK-LABEL: func @ln
// CHECK-SAME: %[[X:.*]]: tensor<?x64xf16>, %[[G:.*]]: tensor<64xf16>, %[[B:.*]]: tensor<64xf16>
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}}"reduction"{{.*}} ins(%[[X]] : tensor<?x64xf16>)
// CHECK: %[[MEAN:.*]] = linalg.generic {{.*}} ins(%[[SUM]] : tensor<?xf32>)
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}}"reduction"{{.*}} ins(%[[X]], %[[MEAN]] : tensor<?x64xf16>, tensor<?xf32>)
// CHECK:   arith.subf
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[MEAN]], %[[SQ]], %[[G]], %[[B]] :
// CHECK:   math.sqrt
// CHECK:   arith.truncf {{.*}} : f32 to f16
func.func @ln(%x: tensor<?x64xf16>, %g: tensor<64xf16>, %b: tensor<64xf16>) -> tensor<?x64xf16> {
  %y = qc.layer_norm %x, %g, %b : tensor<?x64xf16>, tensor<64xf16>, tensor<64xf16>
  return %y : tensor<?x64xf16>
}
