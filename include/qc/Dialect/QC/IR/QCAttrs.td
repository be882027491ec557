//===- QCAttrs.td - qc attributes and enums ----------------*- tablegen -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_IR_QCATTRS_TD
#define QC_DIALECT_QC_IR_QCATTRS_TD

include "qc/Dialect/QC/IR/QCDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def QC_Granularity : I32EnumAttr<"Granularity",
    "granularity of weight scales", [
      I32EnumAttrCase<"PerTensor", 0, "per_tensor">,
      I32EnumAttrCase<"PerChannel", 1, "per_channel">,
      I32EnumAttrCase<"PerGroup", 2, "per_group">
    ]> {
  let cppNamespace = "::mlir::qc";
  let genSpecializedAttr = 0;
}

def QC_ActMode : I32EnumAttr<"ActMode",
    "how activations are quantized", [
      I32EnumAttrCase<"None", 0, "none">,
      I32EnumAttrCase<"StaticPerTensor", 1, "static_per_tensor">,
      I32EnumAttrCase<"DynamicPerToken", 2, "dynamic_per_token">
    ]> {
  let cppNamespace = "::mlir::qc";
  let genSpecializedAttr = 0;
}

def QC_LayoutKind : I32EnumAttr<"LayoutKind",
    "storage layout of quantized weight data", [
      I32EnumAttrCase<"Unpacked", 0, "unpacked">,
      I32EnumAttrCase<"RowMajor", 1, "row_major">,
      I32EnumAttrCase<"Tiled", 2, "tiled">
    ]> {
  let cppNamespace = "::mlir::qc";
  let genSpecializedAttr = 0;
}

def QC_KernelKind : I32EnumAttr<"KernelKind",
    "matmul kernel family chosen by qc-select-matmul", [
      I32EnumAttrCase<"Host", 0, "host">,
      I32EnumAttrCase<"Gemv", 1, "gemv">,
      I32EnumAttrCase<"Mma", 2, "mma">,
      I32EnumAttrCase<"Int8Mma", 3, "int8_mma">,
      I32EnumAttrCase<"Fp16Mma", 4, "fp16_mma">,
      I32EnumAttrCase<"Adaptive", 5, "adaptive">,
      I32EnumAttrCase<"GemvMma", 6, "gemv_mma">
    ]> {
  let cppNamespace = "::mlir::qc";
  let genSpecializedAttr = 0;
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

class QC_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<QC_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def QC_ActModeAttr : EnumAttr<QC_Dialect, QC_ActMode, "act_mode"> {
  let assemblyFormat = "$value";
}

def QC_SchemeAttr : QC_Attr<"Scheme", "scheme"> {
  let summary = "How one linear layer is quantized";
  let description = [{
    A quantization scheme for one linear layer:

    - `weight`: the stored weight element type: `i4`, `i8`, `f16` (no
      quantization) or an 8-bit float type (`f8E4M3FN`).
    - `granularity`: `per_tensor`, `per_channel` (one scale per output
      channel) or `per_group` (one scale per `group_size` consecutive input
      channels of each output channel).
    - `group_size`: the group size; required with `per_group`, forbidden
      otherwise. It must divide K (checked where K is known).
    - `symmetric`: `true` stores no zero point; `false` stores one per scale.
    - `act`: `none` (weight-only), `static_per_tensor` (INT8 activations with a
      calibrated scale) or `dynamic_per_token` (INT8 activations, one scale per
      token computed at run time).
    - `alpha`: the optional SmoothQuant migration strength in [0, 1]; only
      meaningful with INT8 activations.

    Example:

    ```mlir
    #w4g128 = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>
    #w8a8 = #qc.scheme<weight = i8, granularity = per_channel,
                       act = dynamic_per_token, alpha = 0.5>
    ```
  }];
  let parameters = (ins
    "::mlir::Type":$weight,
    DefaultValuedParameter<"::mlir::qc::Granularity",
        "::mlir::qc::Granularity::PerChannel">:$granularity,
    DefaultValuedParameter<"int64_t", "0">:$group_size,
    DefaultValuedParameter<"bool", "true">:$symmetric,
    DefaultValuedParameter<"::mlir::qc::ActMode",
        "::mlir::qc::ActMode::None">:$act,
    OptionalParameter<"::mlir::FloatAttr">:$alpha
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bits per stored weight element (4, 8 or 16).
    unsigned getWeightBits() const;
    /// True when weights are stored as integers (and carry scales).
    bool isIntegerWeight() const;
    /// True when activations are quantized to INT8 (W8A8).
    bool quantizesActivations() const {
      return getAct() != ::mlir::qc::ActMode::None;
    }
    /// Number of scale columns for a weight with `k` input channels.
    int64_t getNumGroups(int64_t k) const;
    /// Checks the scheme against a weight of `n` x `k`; on failure returns
    /// the reason.
    ::llvm::LogicalResult checkShape(int64_t n, int64_t k,
                                     std::string &reason) const;
  }];
}

def QC_LayoutAttr : QC_Attr<"Layout", "layout"> {
  let summary = "Storage layout of a packed quantized weight";
  let description = [{
    - `unpacked`: one integer per byte, data shaped N x K (i8). The form
      `qc-quantize-weights` produces.
    - `row_major`: data is a flat byte vector of N x K values in row-major
      order; INT4 values are packed two per byte along K, the even element
      in the low nibble.
    - `tiled`: the N x K matrix is cut into `tile_n` x `tile_k` tiles stored
      contiguously in row-major tile order; inside a tile, row-major packing
      as above. Kernels read whole tiles with wide loads.

    Example: `#qc.layout<tiled, tile_n = 16, tile_k = 64>`
  }];
  let parameters = (ins
    "::mlir::qc::LayoutKind":$kind,
    DefaultValuedParameter<"int64_t", "1">:$tile_n,
    DefaultValuedParameter<"int64_t", "1">:$tile_k
  );
  let assemblyFormat = "`<` $kind (`,` struct($tile_n, $tile_k)^)? `>`";
  let genVerifyDecl = 1;
}

def QC_KernelAttr : QC_Attr<"Kernel", "kernel"> {
  let summary = "The matmul kernel chosen for a fused quantized matmul";
  let description = [{
    Set by `qc-select-matmul`. `kind` is the kernel family; `target` the
    target it was chosen for (`host`, `sm_80`, `sm_90`). For `adaptive`, the
    kernel switches at run time: rows M < `threshold` take the weight-only
    (W8A16) path and M >= `threshold` the W8A8 path, reading one weight copy.
    For `gemv_mma` (a weight-only matmul with f16 activations), rows M <
    `threshold` run the GEMV family and M >= `threshold` the weight-only
    tensor-core kernel: the same arithmetic (one packed weight, the same
    scales), a different kernel per batch size, so that one function serves
    batch-1 decode and a 512-token prefill.

    Example: `#qc.kernel<gemv, target = "sm_90">`,
    `#qc.kernel<adaptive, target = "sm_90", threshold = 64>`,
    `#qc.kernel<gemv_mma, target = "sm_90", threshold = 48>`
  }];
  let parameters = (ins
    "::mlir::qc::KernelKind":$kind,
    StringRefParameter<"compilation target", "\"host\"">:$target,
    DefaultValuedParameter<"int64_t", "0">:$threshold
  );
  let assemblyFormat = "`<` $kind (`,` struct($target, $threshold)^)? `>`";
  let genVerifyDecl = 1;
}

def QC_FusedLayerAttr : QC_Attr<"FusedLayer", "fused_layer"> {
  let summary = "One original layer inside a horizontally fused matmul";
  let description = [{
    Set by `qc-fuse-sibling-matmuls` on a `qc.wo_matmul` / `qc.int8_matmul`
    that computes several layers reading the same input at once (q/k/v,
    gate/up): the layer `name` owns the output channels
    [`offset`, `offset + size`) of the fused result (and the same rows of
    its packed weight, scales, zero points and bias). `quant_error` and
    `output_error` are the layer's `qc.quant_error` / `qc.output_error`
    (qc-quantize-weights `record-errors`), kept for the per-layer report.

    Example: `#qc.fused_layer<"blk0.attn.k", offset = 576, size = 192>`
  }];
  let parameters = (ins
    "::mlir::StringAttr":$name,
    "int64_t":$offset,
    "int64_t":$size,
    OptionalParameter<"::mlir::FloatAttr">:$quant_error,
    OptionalParameter<"::mlir::FloatAttr">:$output_error
  );
  let assemblyFormat = "`<` $name `,` struct($offset, $size, $quant_error, "
                       "$output_error) `>`";
}

def QC_FusedLayerArrayAttr
    : TypedArrayAttrBase<QC_FusedLayerAttr, "array of #qc.fused_layer">;

#endif // QC_DIALECT_QC_IR_QCATTRS_TD
