// RUN: quant-opt %s --qc-host-lower-bf16 | FileCheck %s --enable-var-scope

// bf16 arithmetic computes in f32; the conversions become integer bit
// operations (round to nearest even: + 0x7fff + lsb, then >> 16).
// CHECK-LABEL: func.func @arith
// CHECK-SAME: (%[[A:.*]]: bf16, %[[B:.*]]: bf16) -> bf16
// CHECK-NOT: arith.extf
// CHECK-NOT: arith.truncf
// CHECK-DAG: %[[QNAN:.*]] = arith.constant 32704 : i16
// CHECK-DAG: %[[BIAS:.*]] = arith.constant 32767 : i32
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : i32
// CHECK: %[[BI:.*]] = arith.bitcast %[[B]] : bf16 to i16
// CHECK: %[[BW:.*]] = arith.extui %[[BI]] : i16 to i32
// CHECK: %[[BS:.*]] = arith.shli %[[BW]], %[[C16]] : i32
// CHECK: %[[BF:.*]] = arith.bitcast %[[BS]] : i32 to f32
// CHECK: %[[AF:.*]] = arith.bitcast %{{.*}} : i32 to f32
// CHECK: %[[S:.*]] = arith.addf %[[AF]], %[[BF]] : f32
// CHECK: %[[M:.*]] = arith.mulf %[[S]], %[[BF]] : f32
// CHECK: %[[NAN:.*]] = arith.cmpf une, %[[M]], %[[M]] : f32
// CHECK: %[[MI:.*]] = arith.bitcast %[[M]] : f32 to i32
// CHECK: %[[LSB:.*]] = arith.andi
// CHECK: %[[INC:.*]] = arith.addi %[[LSB]], %[[BIAS]] : i32
// CHECK: %[[SUM:.*]] = arith.addi %[[MI]], %[[INC]] : i32
// CHECK: %[[HI:.*]] = arith.shrui %[[SUM]], %[[C16]] : i32
// CHECK: %[[T:.*]] = arith.trunci %[[HI]] : i32 to i16
// CHECK: %[[SEL:.*]] = arith.select %[[NAN]], %[[QNAN]], %[[T]] : i16
// CHECK: %[[R:.*]] = arith.bitcast %[[SEL]] : i16 to bf16
// CHECK: return %[[R]] : bf16
func.func @arith(%a: bf16, %b: bf16) -> bf16 {
  %s = arith.addf %a, %b : bf16
  %m = arith.mulf %s, %b : bf16
  return %m : bf16
}

// f32 and f16 code is left alone.
// CHECK-LABEL: func.func @other
// CHECK: arith.addf %{{.*}}, %{{.*}} : f16
// CHECK: arith.extf %{{.*}} : f16 to f32
func.func @other(%a: f16, %b: f16) -> f32 {
  %s = arith.addf %a, %b : f16
  %e = arith.extf %s : f16 to f32
  return %e : f32
}

// Vectors too.
// CHECK-LABEL: func.func @vec
// CHECK: arith.addf %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK: arith.bitcast %{{.*}} : vector<8xi16> to vector<8xbf16>
func.func @vec(%a: vector<8xbf16>, %b: vector<8xbf16>) -> vector<8xbf16> {
  %s = arith.addf %a, %b : vector<8xbf16>
  return %s : vector<8xbf16>
}
