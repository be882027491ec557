// RUN: rm -rf %t && mkdir -p %t && cp %s %t/m.mlir
// RUN: %python -c "import numpy as np; (np.random.default_rng(15).standard_normal(1203200) * 0.05).astype(np.float16).tofile('%t/w.bin')"
// RUN: quant-opt %t/m.mlir --qc-quantize-weights="record-errors=1 remarks=1" -o %t/threads.mlir 2> %t/threads.err
// RUN: quant-opt %t/m.mlir --qc-quantize-weights="record-errors=1 remarks=1" --mlir-disable-threading -o %t/serial.mlir 2> %t/serial.err
// RUN: diff %t/threads.mlir %t/serial.mlir
// RUN: diff %t/threads.err %t/serial.err
// RUN: FileCheck %s < %t/threads.mlir
// RUN: FileCheck %s --check-prefix=REMARK < %t/threads.err

// qc-quantize-weights quantizes the row blocks of every round-to-nearest
// weight on the context's threads: the output (codes, scales, zero points,
// recorded errors) and the diagnostics are the same with and without
// threads. The external weights span several row blocks (2^18 values each);
// per-tensor schemes (i8, FP8) reduce their range over the blocks. The
// weight of layer "a" is shared by @forward and @decode and quantized once.

// CHECK-LABEL: func.func @forward
// CHECK: qc.packed_weight {{.*}} -> !qc.packed<600x512xi4>
// CHECK: qc.linear {{.*}} {layer = "a", qc.quant_error = [[$ERR:[0-9.e+-]+]] : f64, qc.quantized}
// CHECK-LABEL: func.func @decode
// CHECK: qc.packed_weight {{.*}} -> !qc.packed<600x512xi4>
// CHECK: qc.linear {{.*}} {layer = "a", qc.quant_error = [[$ERR]] : f64, qc.quantized}
// CHECK: arith.constant dense<{{.*}}> : tensor<1x1xf32>
// CHECK: qc.packed_weight {{.*}} -> !qc.packed<1100x256xi8>
// CHECK: qc.linear {{.*}} {layer = "b", qc.quant_error = {{.*}}, qc.quantized}
// CHECK: qc.packed_weight {{.*}} -> !qc.packed<600x512xf8E4M3FN>
// CHECK: qc.quantize_act
// CHECK: qc.linear {{.*}} {layer = "c", qc.quant_error = {{.*}}, qc.quantized}
// CHECK: arith.constant dense<{{.*}}> : tensor<300x1xf32>
// CHECK: qc.packed_weight {{.*}} -> !qc.packed<300x1024xi8>
// CHECK: qc.linear {{.*}} {layer = "d", qc.quant_error = {{.*}}, qc.quantized}
// CHECK: qc.packed_weight {{.*}} -> !qc.packed<2x4xi8>
// CHECK: qc.linear {{.*}} {layer = "e", qc.quant_error = {{.*}}, qc.quantized}

// REMARK: remark: layer 'a': reuses the quantization of the same weight
// REMARK-NOT: remark

func.func @forward(%x: tensor<?x512xf32>) -> tensor<?x600xf32> {
  %wa = qc.external_weight "w.bin" offset 0 : tensor<600x512xf16>
  %y = qc.linear %x, %wa {layer = "a", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128, symmetric = false>} : (tensor<?x512xf32>, tensor<600x512xf16>) -> tensor<?x600xf32>
  return %y : tensor<?x600xf32>
}

func.func @decode(%x: tensor<?x512xf32>, %x2: tensor<?x256xf32>, %x3: tensor<?x1024xf32>, %x4: tensor<?x4xf32>) -> (tensor<?x600xf32>, tensor<?x1100xf32>, tensor<?x600xf32>, tensor<?x300xf32>, tensor<?x2xf32>) {
  %wa = qc.external_weight "w.bin" offset 0 : tensor<600x512xf16>
  %ya = qc.linear %x, %wa {layer = "a", scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128, symmetric = false>} : (tensor<?x512xf32>, tensor<600x512xf16>) -> tensor<?x600xf32>
  %wb = qc.external_weight "w.bin" offset 614400 : tensor<1100x256xf16>
  %yb = qc.linear %x2, %wb {layer = "b", scheme = #qc.scheme<weight = i8, granularity = per_tensor>} : (tensor<?x256xf32>, tensor<1100x256xf16>) -> tensor<?x1100xf32>
  %wc = qc.external_weight "w.bin" offset 1177600 : tensor<600x512xf16>
  %yc = qc.linear %x, %wc {layer = "c", scheme = #qc.scheme<weight = f8E4M3FN, granularity = per_tensor, act = dynamic_per_token>} : (tensor<?x512xf32>, tensor<600x512xf16>) -> tensor<?x600xf32>
  %wd = qc.external_weight "w.bin" offset 1792000 : tensor<300x1024xf16>
  %yd = qc.linear %x3, %wd {layer = "d", scheme = #qc.scheme<weight = i8>} : (tensor<?x1024xf32>, tensor<300x1024xf16>) -> tensor<?x300xf32>
  %we = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.125, -0.375, 0.0]]> : tensor<2x4xf32>
  %ye = qc.linear %x4, %we {layer = "e", scheme = #qc.scheme<weight = i8>} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %ya, %yb, %yc, %yd, %ye : tensor<?x600xf32>, tensor<?x1100xf32>, tensor<?x600xf32>, tensor<?x300xf32>, tensor<?x2xf32>
}
