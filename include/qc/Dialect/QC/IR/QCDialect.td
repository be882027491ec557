//===- QCDialect.td - The qc quantization dialect ----------*- tablegen -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_IR_QCDIALECT_TD
#define QC_DIALECT_QC_IR_QCDIALECT_TD

include "mlir/IR/OpBase.td"

def QC_Dialect : Dialect {
  let name = "qc";
  let summary = "Quantization annotations and quantized linear algebra for LLMs";
  let description = [{
    The `qc` dialect carries a model's linear layers from their float form to
    quantized kernels. `qc.linear` is the annotated linear layer the passes
    consume; a `#qc.scheme` attribute says how to quantize it (weight-only
    INT4/INT8 per-channel or per-group, W8A8 with optional SmoothQuant, or
    FP16). Later stages materialize the quantized form with explicit ops:
    activation smoothing, activation quantize/dequantize, packed weights, the
    fused weight-only matmul and the INT8 matmul with a fused epilogue.

    The dialect coexists with upstream's `quant` dialect: `qc` describes a
    compilation recipe per layer and the kernels that implement it, while
    `quant` describes quantized element types.
  }];
  let cppNamespace = "::mlir::qc";
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
  let extraClassDeclaration = [{
    void registerAttributes();
    void registerTypes();
    /// The context's weight store (WeightStore.h).
    ::mlir::qc::WeightStore &getWeightStore() { return *weightStore; }

  private:
    std::unique_ptr<::mlir::qc::WeightStore> weightStore;

  public:
  }];
}

#endif // QC_DIALECT_QC_IR_QCDIALECT_TD
