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
      I32EnumAttrCase<"Tiled", 2, "tiled">,
      I32EnumAttrCase<"MmaFrag", 3, "mma_frag">
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
      I32EnumAttrCase<"GemvMma", 6, "gemv_mma">,
      I32EnumAttrCase<"Frag", 7, "frag">
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
      quantization) or `f8E4M3FN` (FP8 E4M3: W8A8 with FP8 activations,
      scale = max|w| / 448 per channel or per tensor).
    - `granularity`: `per_tensor`, `per_channel` (one scale per output
      channel) or `per_group` (one scale per `group_size` consecutive input
      channels of each output channel).
    - `group_size`: the group size; required with `per_group`, forbidden
      otherwise. It must divide K (checked where K is known).
    - `symmetric`: `true` stores no zero point; `false` stores one per scale.
    - `minimum`: absent (the default) for integer zero points,
      w = (q - z) * s with z an unsigned code in an i8 tensor; `f16` or `f32`
      for a float minimum per scale instead (GGUF Q4_1 / K-quant style):
      w = q * s + m, with m held in an f16 / f32 tensor shaped like the
      scales and q unsigned. Needs `symmetric = false` and integer weights.
    - `act`: `none` (weight-only), `static_per_tensor` (8-bit activations
      with a calibrated scale) or `dynamic_per_token` (8-bit activations, one
      scale per token computed at run time). The activations take the
      weight's 8-bit type: INT8 with `i8` weights, E4M3 with `f8E4M3FN`
      weights (which need quantized activations).
    - `alpha`: the optional SmoothQuant migration strength in [0, 1]; only
      meaningful with quantized activations.

    Example:

    ```mlir
    #w4g128 = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>
    #w8a8 = #qc.scheme<weight = i8, granularity = per_channel,
                       act = dynamic_per_token, alpha = 0.5>
    #fp8 = #qc.scheme<weight = f8E4M3FN, granularity = per_channel,
                      act = dynamic_per_token>
    #q4_1 = #qc.scheme<weight = i4, granularity = per_group, group_size = 32,
                       symmetric = false, minimum = f16>
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
    OptionalParameter<"::mlir::FloatAttr">:$alpha,
    OptionalParameter<"::mlir::Type">:$minimum
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bits per stored weight element (4, 8 or 16).
    unsigned getWeightBits() const;
    /// True when weights are stored as integers (and carry scales).
    bool isIntegerWeight() const;
    /// True when weights are FP8 E4M3 (f8E4M3FN) codes with scales.
    bool isFp8Weight() const;
    /// True when weights are stored as 8- or 4-bit codes with scales
    /// (integer or FP8): everything but f16.
    bool isQuantizedWeight() const {
      return isIntegerWeight() || isFp8Weight();
    }
    /// True when the zero points are float minima (w = q * s + m; the
    /// `minimum` parameter) rather than integer codes.
    bool hasFloatMinimum() const { return static_cast<bool>(getMinimum()); }
    /// The element type of the `zeros` operand of a packed weight: the
    /// float minimum's type, else i8; null for symmetric schemes.
    ::mlir::Type getZeroType() const;
    /// True when activations are quantized (W8A8: INT8 or FP8).
    bool quantizesActivations() const {
      return getAct() != ::mlir::qc::ActMode::None;
    }
    /// The element type of quantized activations: i8 (INT8) or f8E4M3FN
    /// (FP8); null without activation quantization.
    ::mlir::Type getActType() const;
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
    - `mma_frag`: the order in which the `frag` kernel's threads consume
      the weight as mma.sync m16n8k16 B fragments (qc/Dialect/QC/IR/
      FragLayout.h, docs/weight-layouts.md): the matrix is cut into units of
      16 output channels x 64 (INT4) or 32 (INT8) input channels, 512 bytes
      each, stored unit row by unit row (all K units of channels 0-15
      first); inside a unit, lane l of a warp owns bytes [16 l, 16 l + 16):
      one 16-byte load is directly its B fragments for the unit, the pairs
      of each f16x2 register in the two 4-bit (8-bit) fields that one
      shift-and-mask extracts. Needs N % 16 == 0 and K a multiple of the
      unit.

    Example: `#qc.layout<tiled, tile_n = 16, tile_k = 64>`,
    `#qc.layout<mma_frag>`
  }];
  let parameters = (ins
    "::mlir::qc::LayoutKind":$kind,
    DefaultValuedParameter<"int64_t", "1">:$tile_n,
    DefaultValuedParameter<"int64_t", "1">:$tile_k
  );
  let assemblyFormat = "`<` $kind (`,` struct($tile_n, $tile_k)^)? `>`";
  let genVerifyDecl = 1;
}

/// A list of i64 printed and parsed in square brackets (`[1, 2, 4]`), so that
/// it can sit inside a `struct(...)` assembly format.
def QC_I64ListParameter : ArrayRefParameter<"int64_t", "list of i64"> {
  let parser = "::mlir::qc::parseI64List($_parser)";
  let printer = "::mlir::qc::printI64List($_printer, $_self)";
}

def QC_OptionalI64ListParameter
    : OptionalArrayRefParameter<"int64_t", "optional list of i64"> {
  let parser = "::mlir::qc::parseI64List($_parser)";
  let printer = "::mlir::qc::printI64List($_printer, $_self)";
}

def QC_GemvTilingAttr : QC_Attr<"GemvTiling", "gemv_tiling"> {
  let summary = "Tiling of the weight-only GEMV kernel family";
  let description = [{
    How `buildWeightOnlyGemvKernel` cuts one layer (KernelConfigs.h,
    `GemvKernelConfig`): `warps` warps per CTA, each owning `rows_per_warp`
    output channels; `chunks` weight load chunks in flight per lane and loop
    iteration; one kernel variant per M tile of `m_tiles` (the launch picks
    the smallest tile >= M, else the largest, and walks M in tiles).
    Chosen by `qc-select-matmul` (options `gemv-*`), read by
    `qc-outline-gpu-kernels`.

    Example: `#qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1,
    m_tiles = [1, 2, 4, 8]>`
  }];
  let parameters = (ins "int64_t":$warps, "int64_t":$rows_per_warp,
                        "int64_t":$chunks, QC_I64ListParameter:$m_tiles);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def QC_MmaTilingAttr : QC_Attr<"MmaTiling", "mma_tiling"> {
  let summary = "Tiling of the tensor-core (mma.sync) kernel families";
  let description = [{
    How the tensor-core builders cut one layer (KernelConfigs.h,
    `MmaTileConfig`): a CTA computes a `block_m` x `block_n` tile of the
    result with `warps_m` x `warps_n` warps, staging `block_k` K elements
    per step (f16 elements for the fp16 and weight-only kernels, bytes for
    INT8) through a `stages`-deep cp.async pipeline. Chosen by
    `qc-select-matmul` (options `mma-*`), read by `qc-outline-gpu-kernels`,
    which also checks it against the layer's K. `tma` (the wgmma GEMMs on
    sm_90a): the stages are filled by TMA tensor copies that a producer
    warpgroup issues, one more warpgroup than `warps_m` x `warps_n`, with an
    mbarrier pair per stage (warp-specialized pipeline); `persistent` (with
    `tma`): one CTA per SM walks the output tiles, its producer filling the
    next tile's stages during the epilogue.

    Example: `#qc.mma_tiling<block_m = 128, block_n = 128, block_k = 32,
    warps_m = 2, warps_n = 4, stages = 2>`
  }];
  let parameters = (ins "int64_t":$block_m, "int64_t":$block_n,
                        "int64_t":$block_k, "int64_t":$warps_m,
                        "int64_t":$warps_n, "int64_t":$stages,
                        DefaultValuedParameter<"bool", "false">:$tma,
                        DefaultValuedParameter<"bool", "false">:$persistent);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def QC_FragTilingAttr : QC_Attr<"FragTiling", "frag_tiling"> {
  let summary = "Tiling of the weight-only fragment-layout tensor-core family";
  let description = [{
    How `buildWeightOnlyFragKernel` cuts one layer (KernelConfigs.h,
    `WeightOnlyFragKernelConfig`): a CTA of `warps_k` warps owns
    `n_blocks` x 16 output channels; its warps take consecutive K units
    (one 16-byte weight load per lane and 16-channel block each) and add
    their partial sums through shared memory at the end; `split_k` CTAs
    share one channel block's K range (their f32 partial sums are added by
    a second, reduction kernel); activations reach shared memory through a
    `stages`-deep cp.async pipeline; each warp keeps the weights of
    `prefetch` steps of weight units in flight in registers and multiplies
    `step_units` units per step (one barrier per step). One kernel variant
    per M tile of
    `m_tiles` (16, 32 or 64 rows: tensor cores; 1, 2, 4 or 8 rows: the
    CUDA-core dot path on the same bytes, for decode; the launch picks the
    smallest tile >= M, else the largest, and walks M in tiles). Chosen by `qc-select-matmul`
    (options `frag-*`; `split_k` from the target's SM count).

    Example: `#qc.frag_tiling<warps_k = 4, n_blocks = 4, stages = 3,
    split_k = 2, prefetch = 1, step_units = 1, m_tiles = [16, 32, 64]>`
  }];
  let parameters = (ins "int64_t":$warps_k, "int64_t":$n_blocks,
                        "int64_t":$stages, "int64_t":$split_k,
                        "int64_t":$prefetch, "int64_t":$step_units,
                        QC_I64ListParameter:$m_tiles);
  let assemblyFormat = "`<` struct(params) `>`";
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
    batch-1 decode and a 512-token prefill. `frag` (a weight-only matmul
    whose weight is packed `#qc.layout<mma_frag>`) runs every M on the
    fragment-layout tensor-core kernel.

    `gemv` and `mma` are the tilings of the GEMV side and of the
    tensor-core side (gemv: `gemv`; mma, int8_mma, fp16_mma: `mma`;
    gemv_mma and adaptive: both; frag: `frag`), chosen per layer by `qc-select-matmul`;
    a kernel without them (hand-written IR) is built with the kernel
    family's defaults (qc/Kernels/KernelFamilies.h).

    Example: `#qc.kernel<gemv, target = "sm_90">`,
    `#qc.kernel<adaptive, target = "sm_90", threshold = 64>`,
    `#qc.kernel<gemv_mma, target = "sm_90", threshold = 48,
    gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1,
    m_tiles = [1, 2, 4, 8]>, mma = #qc.mma_tiling<block_m = 128,
    block_n = 128, block_k = 32, warps_m = 2, warps_n = 4, stages = 2>>`
  }];
  let parameters = (ins
    "::mlir::qc::KernelKind":$kind,
    StringRefParameter<"compilation target", "\"host\"">:$target,
    DefaultValuedParameter<"int64_t", "0">:$threshold,
    OptionalParameter<"::mlir::qc::GemvTilingAttr">:$gemv,
    OptionalParameter<"::mlir::qc::MmaTilingAttr">:$mma,
    OptionalParameter<"::mlir::qc::FragTilingAttr">:$frag
  );
  let assemblyFormat =
      "`<` $kind (`,` struct($target, $threshold, $gemv, $mma, $frag)^)? `>`";
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "::mlir::qc::KernelKind":$kind, "::llvm::StringRef":$target,
                     CArg<"int64_t", "0">:$threshold), [{
      return $_get($_ctxt, kind, target, threshold, GemvTilingAttr(),
                   MmaTilingAttr(), FragTilingAttr());
    }]>
  ];
}

def QC_LaunchAttr : QC_Attr<"Launch", "launch"> {
  let summary = "A kernel built for an op and its launch geometry";
  let description = [{
    Recorded by `qc-outline-gpu-kernels` on each op it built a kernel for
    (`qc.launch`; the large-M side of gemv_mma under `qc.mma_launch`, the
    adaptive kernel's INT8 GEMM and activation quantization under
    `qc.int8_launch` / `qc.act_quant_launch`), read by
    `qc-lower-gpu-launches`. `kernel` is `@<gpu.module>::@<kernel>`;
    `block` threads per CTA. Matmul kernels: each CTA covers `tile_n`
    output channels and `tile_m` rows (grid ceil(N / tile_n) x ceil(M /
    tile_m)); a GEMV family names `<kernel>_mt<T>` variants, one per M tile
    of `m_tiles` (then the grid's M extent is ceil(M / T)). Row kernels
    (norms, activation quantization, argmax, sampling) have no tile: one
    CTA per row. `residual` says the kernel's epilogue adds the residual
    that follows the matmul (an extra last argument). `split_k` > 1 (the
    frag family): `split_k` CTAs per channel tile write f32 partial sums
    [split_k, M, N] and `<kernel>_reduce` adds them (grid x ceil(N / tile_n)
    * split_k). `shared_bytes` > 0: the kernel's dynamic shared memory (the
    launch raises the function's limit past 48 KiB). `swiglu` (a GEMV
    family): the matmul's 2F output channels are
    the gate [0, F) and up [F, 2F) halves of a gated MLP, and the epilogue
    writes silu(gate) * up, F channels (`tile_n` of them per CTA), in place
    of the glue that followed (EpilogueFusion.h swiGluUser). `tma` (the
    wgmma GEMMs' warp-specialized pipeline): the kernel's last two
    arguments are the TMA tensor maps of its input and weight, which the
    launch encodes (qcrtEncodeTensorMap) and passes by value. `ctas` > 0 (a
    persistent kernel): the grid is `ctas` CTAs along x whatever M is, and
    each walks the tiles itself.

    Example: `#qc.launch<@qc_kernels_sm_90::@up_gemv, block = 128,
    tile_n = 8, tile_m = 1, m_tiles = [1, 2, 4, 8], residual = true>`
  }];
  let parameters = (ins
    "::mlir::SymbolRefAttr":$kernel,
    "int64_t":$block,
    DefaultValuedParameter<"int64_t", "0">:$tile_n,
    DefaultValuedParameter<"int64_t", "0">:$tile_m,
    QC_OptionalI64ListParameter:$m_tiles,
    DefaultValuedParameter<"bool", "false">:$residual,
    DefaultValuedParameter<"int64_t", "1">:$split_k,
    DefaultValuedParameter<"bool", "false">:$swiglu,
    DefaultValuedParameter<"int64_t", "0">:$shared_bytes,
    DefaultValuedParameter<"bool", "false">:$tma,
    DefaultValuedParameter<"int64_t", "0">:$ctas
  );
  let assemblyFormat =
      "`<` $kernel `,` struct($block, $tile_n, $tile_m, $m_tiles, $residual, "
      "$split_k, $swiglu, $shared_bytes, $tma, $ctas) `>`";
  let genVerifyDecl = 1;
}

def QC_AttentionLaunchAttr : QC_Attr<"AttentionLaunch", "attention_launch"> {
  let summary = "The decode attention kernels built for a qc.cache_attention";
  let description = [{
    Recorded by `qc-outline-gpu-kernels` (`qc.launch`) on a
    qc.cache_attention it built `<kernel>_partial` and `<kernel>_combine`
    for (KernelConfigs.h, `CacheAttentionKernelConfig`): `chunks` key chunks
    per sequence for queries of at most `max_split_t` tokens (else one),
    `kv_heads` and `heads`, the head dimension `head_dim` (the combine
    kernel's CTA size) and `record`, the f32 workspace record per query head
    and chunk. The partial kernel runs one warp per CTA. A nonzero
    `prefill_tokens` says that `<kernel>_prefill` (the tensor-core prefill
    kernel, buildPrefillAttentionKernel) was built too and runs queries of
    more than `max_split_t` tokens instead of the pair, `prefill_tokens`
    tokens per CTA (grid (kv_heads, ceil(T / prefill_tokens), B), 128
    threads).

    Example: `#qc.attention_launch<@qc_kernels_sm_90::@cache_attention_l0,
    chunks = 32, kv_heads = 8, heads = 32, head_dim = 128, record = 132,
    max_split_t = 16, prefill_tokens = 16>`
  }];
  let parameters = (ins
    "::mlir::SymbolRefAttr":$kernel,
    "int64_t":$chunks, "int64_t":$kv_heads, "int64_t":$heads,
    "int64_t":$head_dim, "int64_t":$record, "int64_t":$max_split_t,
    DefaultValuedParameter<"int64_t", "0">:$prefill_tokens
  );
  let builders = [
    // Without the prefill kernel.
    AttrBuilder<(ins "::mlir::SymbolRefAttr":$kernel, "int64_t":$chunks,
                     "int64_t":$kv_heads, "int64_t":$heads,
                     "int64_t":$head_dim, "int64_t":$record,
                     "int64_t":$max_split_t), [{
      return $_get($_ctxt, kernel, chunks, kv_heads, heads, head_dim, record,
                   max_split_t, /*prefill_tokens=*/0);
    }]>
  ];
  let assemblyFormat = "`<` $kernel `,` struct($chunks, $kv_heads, $heads, "
                       "$head_dim, $record, $max_split_t, $prefill_tokens) "
                       "`>`";
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
