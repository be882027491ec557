//===- QCTypes.td - qc types -------------------------------*- tablegen -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_IR_QCTYPES_TD
#define QC_DIALECT_QC_IR_QCTYPES_TD

include "qc/Dialect/QC/IR/QCDialect.td"
include "mlir/IR/AttrTypeBase.td"

def QC_PackedWeightType : TypeDef<QC_Dialect, "PackedWeight"> {
  let mnemonic = "packed";
  let summary = "A quantized N x K weight: integer data, scales, zero points";
  let description = [{
    The value produced by `qc.packed_weight`: an N x K weight (N output
    channels, K input channels) stored as `elementType` integers (`i4` or
    `i8`) with their scales and optional zero points. The storage layout and
    scheme live on the producing op.

    Example: `!qc.packed<4096x11008xi4>`
  }];
  let parameters = (ins "int64_t":$n, "int64_t":$k, "::mlir::Type":$elementType);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // QC_DIALECT_QC_IR_QCTYPES_TD
