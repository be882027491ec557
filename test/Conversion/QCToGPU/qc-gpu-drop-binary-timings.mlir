// RUN: quant-opt %s --qc-gpu-drop-binary-timings | FileCheck %s

// The compile times gpu-module-to-binary records are dropped (they change
// from one compile to the next); other properties and the object stay.

// CHECK-LABEL: gpu.binary @timed
// CHECK-SAME: [#gpu.object<#nvvm.target<chip = "sm_90">, "PTX">]
gpu.binary @timed [#gpu.object<#nvvm.target<chip = "sm_90">, properties = {ISAToBinaryTimeInMs = 264 : i64, LLVMIRToISATimeInMs = 61 : i64}, "PTX">]

// CHECK-LABEL: gpu.binary @kept
// CHECK-SAME: properties = {note = "kept"}
// CHECK-NOT: TimeInMs
gpu.binary @kept [#gpu.object<#nvvm.target<chip = "sm_90">, properties = {ISAToBinaryTimeInMs = 5 : i64, note = "kept"}, "PTX">]
