//===- Passes.td - qc quantization passes ------------------*- tablegen -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The passes that take `qc.linear` layers from float to quantized kernels:
// policy -> observers (calibration) -> SmoothQuant -> weight quantization ->
// packing -> dequantization fusion -> sibling fusion -> kernel selection. docs/passes.md gives
// the arithmetic every pass implements.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_TRANSFORMS_PASSES_TD
#define QC_DIALECT_QC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def QCApplyPolicyPass : Pass<"qc-apply-policy", "::mlir::ModuleOp"> {
  let summary = "Sets the #qc.scheme of every qc.linear from a policy file";
  let description = [{
    Reads a `qc-policy` file (JSON or YAML, docs/formats.md) and gives every
    `qc.linear` the scheme of the first rule whose glob (`match`) or regex
    (`regex`, full match) matches its `layer` name, else the `default`.
    `scheme: none` removes the scheme (the layer stays in floating point).
    A `by_batch` rule sets the scheme (INT8 symmetric per-channel weights) and
    `qc.batch_threshold = T : i64`, which `qc-select-matmul` turns into the
    batch-adaptive kernel. Layers no rule matched (without a default) get a
    remark and keep their scheme; rules that matched no layer get a warning
    (an error with `strict`: the policy cannot be meant for this model).

    A malformed policy is one error naming the file, line and column; a rule
    whose scheme does not fit a layer (group size not dividing K) is an error
    naming the layer and the rule.

    Example (`policy=p.yaml`, `rules: [{match: "*.q", scheme: {weight: i4,
    granularity: per_group, group_size: 32}}]`):

    ```mlir
    %y = qc.linear %x, %w {layer = "blk0.q"} : ...
    // becomes
    %y = qc.linear %x, %w {layer = "blk0.q", scheme = #qc.scheme<weight = i4,
                           granularity = per_group, group_size = 32>} : ...
    ```
  }];
  let options = [
    Option<"policy", "policy", "std::string", /*default=*/"\"\"",
           "Policy file (JSON or YAML, format qc-policy version 1)">,
    Option<"strict", "strict", "bool", /*default=*/"false",
           "A rule that matches no layer is an error (naming some layers), "
           "not a warning (quant-compile --check-policy)">,
  ];
  let dependentDialects = ["::mlir::qc::QCDialect"];
}

def QCInsertObserversPass : Pass<"qc-insert-observers", "::mlir::ModuleOp"> {
  let summary = "Creates calibration variants of public functions with "
                "qc.observe on every linear input";
  let description = [{
    For every public function `@f` with a body, adds a public clone
    `@f_calibrate` (the original is kept unchanged) in which every
    quantizable `qc.linear` (no scheme or an integer scheme) first feeds its
    input to a `qc.observe` keyed by the layer name. Every layer gets its own
    observer, so layers reading the same activation (q/k/v) each get an entry
    in the statistics file the runtime writes (docs/formats.md).

    Example:

    ```mlir
    func.func @f(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
      %y = qc.linear %x, %w {layer = "l0"} : ...
    }
    // adds
    func.func @f_calibrate(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
      qc.observe %x {layer = "l0", hessian} : tensor<?x64xf32>
      %y = qc.linear %x, %w {layer = "l0"} : ...
    }
    ```
  }];
  let options = [
    Option<"percentile", "percentile", "double", /*default=*/"0.0",
           "Also record the per-channel percentile of |x| (0 = off)">,
    Option<"hessian", "hessian", "bool", /*default=*/"false",
           "Also accumulate X^T X for GPTQ">,
  ];
  let dependentDialects = ["::mlir::qc::QCDialect",
                           "::mlir::func::FuncDialect"];
}

def QCSmoothQuantPass : Pass<"qc-smoothquant", "::mlir::ModuleOp"> {
  let summary = "Migrates activation outliers into the weights (SmoothQuant)";
  let description = [{
    For every `qc.linear` whose scheme quantizes activations to INT8:
    s_j = max|X_j|^alpha / max|W_j|^(1-alpha), clamped to [1e-5, 1e5]
    (s_j = 1 where either maximum is zero). Linears reading the same
    activation share s (max|W_j| over all of them). The weight columns are
    multiplied by s (a new constant); the activation is divided by s, folded
    into a preceding `qc.rms_norm`/`qc.layer_norm` with constant parameters
    when the norm feeds only the smoothed linears, else by a `qc.smooth`.
    Each smoothed linear gets `qc.smooth_factors` (s, f32) and
    `qc.act_absmax` (max_j of the smoothed activation maximum, f64) so later
    passes need not re-derive them. `alpha` of the scheme wins over the
    option.

    Example:

    ```mlir
    %n = qc.rms_norm %x, %g : tensor<?x64xf32>, tensor<64xf32>
    %y = qc.linear %n, %w {layer = "q", scheme = #qc.scheme<weight = i8, act = dynamic_per_token>} : ...
    // becomes (g' = g / s, w' = w * s)
    %n = qc.rms_norm %x, %g2 : tensor<?x64xf32>, tensor<64xf32>
    %y = qc.linear %n, %w2 {layer = "q", qc.act_absmax = ..., qc.smooth_factors = dense<...>, scheme = ...} : ...
    ```
  }];
  let options = [
    Option<"stats", "stats", "std::string", /*default=*/"\"\"",
           "Calibration statistics file (qc-stats version 1)">,
    Option<"alpha", "alpha", "double", /*default=*/"0.5",
           "Migration strength for schemes without alpha">,
  ];
  let dependentDialects = ["::mlir::qc::QCDialect",
                           "::mlir::arith::ArithDialect"];
}

def QCAwqPass : Pass<"qc-awq", "::mlir::ModuleOp"> {
  let summary = "Activation-aware weight scaling before weight-only "
                "quantization (AWQ), strength searched per layer group";
  let description = [{
    For every group of `qc.linear`s with a weight-only integer scheme (i4 /
    i8, no activation quantization) that read the same activation x (q/k/v,
    gate/up), scales input channel j of their weights by
    s_j = absmax(x_j)^a / sqrt(max s * min s) (f32; channels never active
    keep 1) and x by 1/s_j: folded into the RMSNorm / LayerNorm producing x
    when only the group reads it, else a `qc.smooth` (as qc-smoothquant).
    The strength a is the one of {0, 1/grid, ..., 1} with the smallest
    output error of round-to-nearest on the scaled weights, measured with
    each layer's calibration Hessian H = X^T X on `rows` evenly spaced
    weight rows: sum d H d^T, d = Q(w * s) / s - w (the error AWQ measures
    on sample activations). a = 0 (no scaling) is a candidate, so the
    measured error never grows. Each layer records `qc.awq_alpha` and
    `qc.awq_loss_ratio` (best error / error without scaling). Composes with
    both roundings of qc-quantize-weights (RTN, GPTQ).

    Needs statistics with Hessians (`quant-run --calibrate` of a module
    compiled with hessian observers; `python -m quant calibrate --hessian`).

    Example (`stats=s.json`):

    ```mlir
    %n = qc.rms_norm %x, %g ...
    %q = qc.linear %n, %wq {layer = "q", scheme = #qc.scheme<weight = i4,
           granularity = per_group, group_size = 32>} : ...
    // becomes: %g / s, %wq * s (f32), {qc.awq_alpha = 0.35 : f64, ...}
    ```
  }];
  let options = [
    Option<"stats", "stats", "std::string", /*default=*/"\"\"",
           "Calibration statistics with Hessians">,
    Option<"grid", "grid", "int64_t", /*default=*/"20",
           "Strengths tried: 0, 1/grid, ..., 1">,
    Option<"rows", "rows", "int64_t", /*default=*/"256",
           "Weight rows per layer (evenly spaced) the error is measured on">,
  ];
  let dependentDialects = ["::mlir::qc::QCDialect",
                           "::mlir::arith::ArithDialect"];
}

def QCQuantizeWeightsPass : Pass<"qc-quantize-weights", "::mlir::ModuleOp"> {
  let summary = "Quantizes constant weights (RTN or GPTQ) and inserts "
                "activation quantization";
  let description = [{
    For every `qc.linear` with an integer scheme and a constant weight,
    computes integers, scales and zero points (docs/passes.md gives the exact
    arithmetic) and rewrites the weight into
    `qc.packed_weight` (layout `unpacked`) -> `qc.dequantize_weight`. The
    linear loses its `scheme` (the packed weight carries it) and gets the
    unit attribute `qc.quantized`. With INT8 activations it also inserts
    `qc.quantize_act` + `qc.dequantize_act` before the linear (static scales
    come from `qc.act_absmax` or the statistics file). `f16` schemes cast the
    constant weight to f16. `algorithm=gptq` uses the Hessians of the
    statistics file. Linears that read the same weight (the same
    `qc.external_weight` file, offset and type, or the same constant) under
    the same scheme, smoothing factors and layer name, like the importers'
    `@forward` and `@decode`, share one quantization (`remarks` reports each
    reuse).

    Example:

    ```mlir
    %y = qc.linear %x, %w {layer = "l", scheme = #qc.scheme<weight = i8>} : ...
    // becomes
    %pw = qc.packed_weight %q, %s {layout = #qc.layout<unpacked>, scheme = #qc.scheme<weight = i8>} : ...
    %wd = qc.dequantize_weight %pw : !qc.packed<32x64xi8> -> tensor<32x64xf32>
    %y = qc.linear %x, %wd {layer = "l", qc.quantized} : ...
    ```
  }];
  let options = [
    Option<"algorithm", "algorithm", "std::string", /*default=*/"\"rtn\"",
           "Rounding algorithm: rtn or gptq">,
    Option<"stats", "stats", "std::string", /*default=*/"\"\"",
           "Calibration statistics (GPTQ Hessians, static activation scales)">,
    Option<"gptqDamp", "gptq-damp", "double", /*default=*/"0.01",
           "GPTQ dampening, as a fraction of mean(diag(H))">,
    Option<"gptqBlockSize", "gptq-block-size", "int64_t", /*default=*/"128",
           "GPTQ lazy-update block size (columns)">,
    Option<"gptqActOrder", "gptq-act-order", "bool", /*default=*/"false",
           "GPTQ: quantize columns in order of decreasing diag(H)">,
    Option<"gptqPrecision", "gptq-precision", "std::string",
           /*default=*/"\"f64\"",
           "GPTQ's linear algebra (factor and column updates): f64, or f32 "
           "(about twice as fast; codes may differ where a value sits on a "
           "rounding boundary)">,
    Option<"recordErrors", "record-errors", "bool", /*default=*/"false",
           "Record qc.quant_error (and qc.output_error with Hessians) on "
           "each quantized linear, for the per-layer report">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark on every linear that reuses another's "
           "quantization of the same weight">,
    Option<"weightStore", "weight-store", "std::string", /*default=*/"\"\"",
           "Directory of the weight store: the codes of at least "
           "weight-store-min-bytes go to a scratch file there and the IR "
           "holds dense_resource elements mapped from it (empty: inline "
           "dense constants)">,
    Option<"weightStoreMinBytes", "weight-store-min-bytes", "int64_t",
           /*default=*/"0", "Smaller codes stay inline">,
  ];
  let dependentDialects = ["::mlir::qc::QCDialect",
                           "::mlir::arith::ArithDialect"];
}

def QCPackWeightsPass : Pass<"qc-pack-weights", "::mlir::ModuleOp"> {
  let summary = "Packs unpacked quantized weights into the kernels' byte "
                "layout";
  let description = [{
    Rewrites every `qc.packed_weight` with layout `unpacked` and constant data
    into the flat byte layout of `#qc.layout<row_major>` or
    `#qc.layout<tiled, tile_n, tile_k>` (QCAttrs.td): INT4 two values per
    byte, the even k in the low nibble; tiles in row-major tile order. A
    weight the tiles do not divide falls back to row_major with a warning.
    `layout=auto` gives row_major for every weight: the GPU kernels (gemv,
    mma, int8_mma, fp16_mma, adaptive; KernelBuilders.h) read row_major
    bytes, and the host kernels read every layout.

    A weight whose every consumer runs the `frag` kernel (`#qc.kernel<frag,
    ...>`, set by `qc-select-matmul`) is stored `#qc.layout<mma_frag>`
    whatever `layout` says, repacked from row_major or tiled bytes if it was
    packed before selection (qc-quantize-pipeline runs this pass again after
    `qc-select-matmul` for that); `layout=mma_frag` stores every weight that
    is whole 16 x 64 (INT4) / 16 x 32 (INT8) units so (a warning and
    row_major for others).

    Example:

    ```mlir
    %pw = qc.packed_weight %q, %s {layout = #qc.layout<unpacked>, ...}
        : tensor<32x64xi8>, tensor<32x2xf32> -> !qc.packed<32x64xi4>
    // becomes
    %pw = qc.packed_weight %bytes, %s {layout = #qc.layout<row_major>, ...}
        : tensor<1024xi8>, tensor<32x2xf32> -> !qc.packed<32x64xi4>
    ```
  }];
  let options = [
    Option<"layout", "layout", "std::string", /*default=*/"\"row_major\"",
           "Target layout: row_major, tiled, mma_frag, or auto (row_major, "
           "mma_frag for weights of frag kernels)">,
    Option<"tileN", "tile-n", "int64_t", /*default=*/"16",
           "Tile rows (output channels) for the tiled layout">,
    Option<"tileK", "tile-k", "int64_t", /*default=*/"64",
           "Tile columns (input channels, even) for the tiled layout">,
    Option<"weightStore", "weight-store", "std::string", /*default=*/"\"\"",
           "Directory of the weight store: the packed bytes of at least "
           "weight-store-min-bytes go to a scratch file there and the IR "
           "holds dense_resource elements mapped from it (empty: inline "
           "dense constants)">,
    Option<"weightStoreMinBytes", "weight-store-min-bytes", "int64_t",
           /*default=*/"0", "Smaller packed bytes stay inline">,
  ];
  let dependentDialects = ["::mlir::qc::QCDialect",
                           "::mlir::arith::ArithDialect"];
}

def QCFuseDequantPass : Pass<"qc-fuse-dequant", "::mlir::ModuleOp"> {
  let summary = "Fuses weight/activation dequantization into quantized "
                "matmuls";
  let description = [{
    Greedy patterns (`populateFuseDequantPatterns`):
    `qc.linear(x, qc.dequantize_weight(pw)[, b])` -> `qc.wo_matmul x, pw[, b]`
    and `qc.linear(qc.dequantize_act(q, s), qc.dequantize_weight(pw)[, b])`
    -> `qc.int8_matmul q, s, pw[, b]` (symmetric INT8 per-channel/per-tensor
    weights). The layer name and `qc.*` attributes are kept. A
    `qc.dequantize_weight` left with users afterwards is an error: no float
    copy of a quantized weight may survive.

    Example:

    ```mlir
    %w = qc.dequantize_weight %pw : !qc.packed<32x64xi4> -> tensor<32x64xf32>
    %y = qc.linear %x, %w {layer = "l"} : ...
    // becomes
    %y = qc.wo_matmul %x, %pw {layer = "l"} : ...
    ```
  }];
  let dependentDialects = ["::mlir::qc::QCDialect"];
}

def QCFuseSiblingMatmulsPass
    : Pass<"qc-fuse-sibling-matmuls", "::mlir::ModuleOp"> {
  let summary = "Merges quantized matmuls that read the same input into one "
                "matmul over the concatenated output channels";
  let description = [{
    Horizontal fusion for launch-bound decoding: per transformer block, q/k/v
    read one normalized activation, gate/up another. Greedy patterns
    (`populateFuseSiblingMatmulsPatterns`) replace two or more sibling
    `qc.wo_matmul`s (or `qc.int8_matmul`s with the same quantized input and
    activation scales) in one block by one matmul whose packed weight,
    scales, zero points and bias are the row-wise (output-channel)
    concatenation of theirs, followed by one `tensor.extract_slice` of the
    last dimension per original layer. Every output channel is computed as
    before (same weights, same K order), so results are bit-identical.

    Siblings fuse when they have the same input (and input scales), result
    element type, scheme (weight type, granularity, group size, symmetry,
    activation mode), `#qc.layout` (kind and tiles), scale and zero-point
    element types, bias presence and element type, and the same discardable
    `qc.*` attributes (e.g. `qc.batch_threshold`) apart from the per-layer
    `qc.quant_error` / `qc.output_error`. Refused: per_tensor scales (one
    scale per layer cannot be concatenated), weights, scales, zero points or
    biases that are not compile-time constants (dense, dense_resource or
    `qc.external_weight`), a matmul whose kernel is already selected (run
    before `qc-select-matmul`), a tiled layout whose tile_n does not divide
    N, and already fused matmuls.

    The fused op's `layer` is the names joined with `+`; `fused_layers`
    lists every layer with its output-channel range and recorded errors, so
    the per-layer report still lists every layer.

    Example:

    ```mlir
    %q = qc.wo_matmul %x, %pq {layer = "q"} : tensor<?x64xf32>, !qc.packed<64x64xi4> -> tensor<?x64xf32>
    %k = qc.wo_matmul %x, %pk {layer = "k"} : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
    // becomes
    %y = qc.wo_matmul %x, %pqk {fused_layers = [#qc.fused_layer<"q", offset = 0, size = 64>,
                                                #qc.fused_layer<"k", offset = 64, size = 32>],
                                layer = "q+k"} : tensor<?x64xf32>, !qc.packed<96x64xi4> -> tensor<?x96xf32>
    %q = tensor.extract_slice %y[0, 0] [%m, 64] [1, 1] : tensor<?x96xf32> to tensor<?x64xf32>
    %k = tensor.extract_slice %y[0, 64] [%m, 32] [1, 1] : tensor<?x96xf32> to tensor<?x32xf32>
    ```
  }];
  let options = [
    Option<"maxN", "max-n", "int64_t", /*default=*/"0",
           "Largest N of a fused matmul (0: no limit); siblings that would "
           "exceed it are left out, in program order">,
    Option<"int8", "int8", "bool", /*default=*/"true",
           "Also fuse qc.int8_matmul siblings">,
    Option<"weightStore", "weight-store", "std::string", /*default=*/"\"\"",
           "Directory of the weight store: the fused packed bytes of at least "
           "weight-store-min-bytes go to a scratch file there and the IR "
           "holds dense_resource elements mapped from it (empty: inline "
           "dense constants)">,
    Option<"weightStoreMinBytes", "weight-store-min-bytes", "int64_t",
           /*default=*/"0", "Smaller fused packed bytes stay inline">,
  ];
  let dependentDialects = ["::mlir::qc::QCDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def QCSelectMatmulPass : Pass<"qc-select-matmul", "::mlir::ModuleOp"> {
  let summary = "Chooses a kernel for every fused quantized matmul";
  let description = [{
    Sets `kernel = #qc.kernel<...>` on every `qc.wo_matmul` and
    `qc.int8_matmul` (and on unquantized f16 `qc.linear`s for GPUs): `host`
    on the host target. On GPUs the kernel carries its tiling
    (`#qc.gemv_tiling` / `#qc.mma_tiling`, from the `gemv-*` / `mma-*`
    options), and only kernels the kernel family registry
    (qc/Kernels/KernelFamilies.h) says fit the layer are chosen:

    - weight-only layers: `gemv` (CUDA cores, best at small M), `mma`
      (tensor cores) or `gemv_mma` (GEMV for M below a threshold, the
      tensor-core kernel from it on: decode and prefill through one
      function) by a roofline cost model over the expected batch range
      [min-batch, max-batch] (docs/passes.md); `gemv_mma` wins when the
      range spans the two kernels' crossover, which becomes its threshold.
      `mma` and `gemv_mma` only with f16 activations and a shape
      WeightOnlyMmaKernelConfig accepts (K * bits / 8 a multiple of 16
      bytes, group size a multiple of 8), else `gemv`.
      `weight-only-kernel=gemv|mma|gemv_mma` forces the kind (an error
      where `mma` cannot be built; a forced `gemv_mma` keeps its threshold
      inside (min-batch, max-batch]); `weight-only-kernel=frag` gives every
      weight-only layer the frag kernel can run (f16 activations and scales,
      N % 16, K % 64 for INT4 or 32 for INT8, group size % 16, a weight
      read by no other op) the `frag` kind with its `#qc.frag_tiling`
      (options `frag-*`; split_k from the target's SM count), the others
      the cost model's choice; their weights are then repacked mma_frag by
      qc-pack-weights. (`auto` does not choose `frag` yet: its cost model
      is not calibrated.)
    - `qc.int8_matmul`: `int8_mma` (there is no INT8 GEMV); a shape the
      INT8 GEMM cannot run (K % 16 != 0) is an error;
    - `adaptive` with the threshold of `qc.batch_threshold` (set by a
      `by_batch` policy rule): GEMV for M < threshold, INT8 GEMM above, so
      on GPUs the weight must also suit `int8_mma`;
    - unquantized `qc.linear` with f16 activations, weight and bias and
      K % 8 == 0: `fp16_mma`; other
      unquantized linears (f32) stay on the glue path.

    Example:

    ```mlir
    %y = qc.wo_matmul %x, %pw {layer = "l"} : ...
    // with target=sm_90 max-batch=1 becomes
    %y = qc.wo_matmul %x, %pw {kernel = #qc.kernel<gemv, target = "sm_90",
        gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 2, 4, 8]>>,
        layer = "l"} : ...
    // with f16 activations and target=sm_90 max-batch=512 becomes
    %y = qc.wo_matmul %x, %pw {kernel = #qc.kernel<gemv_mma, target = "sm_90", threshold = 40,
        gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 2, 4, 8]>,
        mma = #qc.mma_tiling<block_m = 128, block_n = 128, block_k = 32, warps_m = 2, warps_n = 4, stages = 2>>,
        layer = "l"} : ...
    ```
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"host\"",
           "Target: host, sm_80, sm_90 or sm_90a">,
    Option<"minBatch", "min-batch", "int64_t", /*default=*/"1",
           "Smallest expected number of rows M">,
    Option<"maxBatch", "max-batch", "int64_t", /*default=*/"512",
           "Largest expected number of rows M (batch x tokens per call: a "
           "prompt's prefill is M = its length)">,
    Option<"weightOnlyKernel", "weight-only-kernel", "std::string",
           /*default=*/"\"auto\"",
           "Weight-only kernel on GPUs: auto (cost model), gemv, mma, "
           "gemv_mma or frag">,
    Option<"fragInAuto", "frag-in-auto", "bool", /*default=*/"true",
           "Let `auto` choose the frag family where it fits (f16 "
           "activations, whole mma_frag units, a weight read by this layer "
           "only) and the cost model prefers it (H100 run 5: 7B-shaped "
           "layers over M = 1..512; false keeps gemv / mma / gemv_mma)">,
    Option<"gemvWarps", "gemv-warps", "int64_t", "4",
           "GEMV tiling: warps per CTA">,
    Option<"gemvRowsPerWarp", "gemv-rows-per-warp", "int64_t", "2",
           "GEMV tiling: output channels per warp">,
    Option<"gemvChunks", "gemv-chunks", "int64_t", "1",
           "GEMV tiling: weight load chunks per lane per loop iteration">,
    ListOption<"gemvMTiles", "gemv-m-tiles", "int64_t",
               "GEMV tiling: one variant per activation-row tile; the "
               "launch picks the smallest tile >= M, else the largest "
               "(default 1,2,4,8)">,
    Option<"mmaBlockM", "mma-block-m", "int64_t", "128",
           "Tensor-core tiling: rows of y per CTA">,
    Option<"mmaBlockN", "mma-block-n", "int64_t", "128",
           "Tensor-core tiling: columns of y per CTA">,
    Option<"mmaBlockKBytes", "mma-block-k-bytes", "int64_t", "64",
           "Tensor-core tiling: bytes of each K row per pipeline stage (64: "
           "K 64 for INT8, K 32 for fp16 and weight-only)">,
    Option<"mmaWarpsM", "mma-warps-m", "int64_t", "2",
           "Tensor-core tiling: warps along M per CTA">,
    Option<"mmaWarpsN", "mma-warps-n", "int64_t", "4",
           "Tensor-core tiling: warps along N per CTA">,
    Option<"mmaStages", "mma-stages", "int64_t", "2",
           "Tensor-core tiling: cp.async pipeline stages">,
    Option<"fragWarpsK", "frag-warps-k", "int64_t", "4",
           "Frag tiling: warps per CTA, splitting the CTA's K units">,
    Option<"fragNBlocks", "frag-n-blocks", "int64_t", "0",
           "Frag tiling: 16-channel blocks per CTA (1, 2 or 4; 0: the widest "
           "that divides N)">,
    Option<"fragStages", "frag-stages", "int64_t", "3",
           "Frag tiling: cp.async stages of the activations">,
    Option<"fragSplitK", "frag-split-k", "int64_t", "0",
           "Frag tiling: CTAs per channel tile along K (0: from the target's "
           "SM count)">,
    Option<"fragPrefetch", "frag-prefetch", "int64_t", "1",
           "Frag tiling: steps of weight units each warp keeps in flight "
           "(1-4)">,
    Option<"fragStepUnits", "frag-step-units", "int64_t", "1",
           "Frag tiling: units each warp multiplies per pipeline step "
           "(1-4)">,
    ListOption<"fragMTiles", "frag-m-tiles", "int64_t",
               "Frag tiling: one variant per M tile of 16, 32 or 64 rows "
               "(default 16,32)">,
    Option<"wgmmaTokens", "wgmma-tokens", "int64_t", "0",
           "The frag family's wgmma variant (sm_90a): tokens per CTA, the "
           "wgmma N (64, 128 or 256; 0: 128)">,
    Option<"wgmmaChannels", "wgmma-channels", "int64_t", "0",
           "The wgmma variant: output channels per CTA, 64 per warpgroup (64 "
           "or 128; 0: 128 where N allows)">,
    Option<"wgmmaStages", "wgmma-stages", "int64_t", "0",
           "The wgmma kernels: stages (0: 3 for the weight-only variant, 4 "
           "for the GEMMs)">,
    Option<"wgmmaInt8", "wgmma-int8", "bool", "true",
           "INT8 W8A8 layers on the wgmma INT8 GEMM on targets with wgmma "
           "(false: the mma.sync GEMM); FP8 layers always use wgmma">,
    Option<"wgmmaTma", "wgmma-tma", "bool", "false",
           "The wgmma GEMMs (W8A8 INT8 / FP8, fp16) on the warp-specialized "
           "pipeline: a producer warpgroup fills the stages with TMA copies, "
           "mbarriers per stage (false: cp.async by every thread)">,
    Option<"wgmmaTmaFp8", "wgmma-tma-fp8", "bool", "true",
           "FP8 GEMMs on the TMA pipeline whatever wgmma-tma says (faster "
           "than cp.async for FP8 on an H100, equal for INT8 / fp16; false: "
           "FP8 follows wgmma-tma)">,
    Option<"wgmmaPersistent", "wgmma-persistent", "bool", "false",
           "The wgmma GEMMs on the TMA pipeline with a persistent tile "
           "scheduler (one CTA per SM walks the output tiles; implies "
           "wgmma-tma)">,
  ];
  let dependentDialects = ["::mlir::qc::QCDialect"];
}

#endif // QC_DIALECT_QC_TRANSFORMS_PASSES_TD
