//===- QCOps.td - qc operations ----------------------------*- tablegen -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_IR_QCOPS_TD
#define QC_DIALECT_QC_IR_QCOPS_TD

include "qc/Dialect/QC/IR/QCDialect.td"
include "qc/Dialect/QC/IR/QCAttrs.td"
include "qc/Dialect/QC/IR/QCTypes.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/OpBase.td"

class QC_Op<string mnemonic, list<Trait> traits = []>
    : Op<QC_Dialect, mnemonic, traits>;

def QC_FloatTensor : RankedTensorOf<[F16, BF16, F32]>;
def QC_I8Tensor : RankedTensorOf<[I8]>;
/// Quantized activations: INT8 codes or FP8 E4M3 values.
def QC_QuantActTensor : RankedTensorOf<[I8, F8E4M3FN]>;

//===----------------------------------------------------------------------===//
// Model-level ops
//===----------------------------------------------------------------------===//

def QC_LinearOp : QC_Op<"linear", [Pure]> {
  let summary = "A named linear layer, y = x * W^T (+ b), annotated for quantization";
  let description = [{
    The linear layer the quantization passes consume. `input` has any number
    of leading dimensions, which may be dynamic (the number of tokens is only
    known at run time), and a static last dimension K. `weight` is N x K,
    `bias` (optional) has N elements; the result has the input's leading
    dimensions and N columns.

    `layer` is the stable name that policies, statistics files and reports
    use. `scheme` says how the layer is to be quantized; without it the layer
    stays in floating point.

    The weight may be any tensor value: a constant (`arith.constant` with
    dense or `dense_resource` data, or `qc.external_weight` for weights that
    live in a file) or a function argument.

    `kernel` is set by `qc-select-matmul` on an unquantized f16 layer that
    runs the fp16 tensor-core GEMM on a GPU (`fp16_mma`).

    Example:

    ```mlir
    %y = qc.linear %x, %w, %b {layer = "blk0.attn.q",
                               scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 128>}
        : (tensor<?x?x4096xf16>, tensor<4096x4096xf16>, tensor<4096xf16>) -> tensor<?x?x4096xf16>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input, QC_FloatTensor:$weight,
                   Optional<QC_FloatTensor>:$bias, StrAttr:$layer,
                   OptionalAttr<QC_SchemeAttr>:$scheme,
                   OptionalAttr<QC_KernelAttr>:$kernel);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def QC_RMSNormOp : QC_Op<"rms_norm", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "RMSNorm over the last dimension: x / rms(x) * weight";
  let description = [{
    y = x / sqrt(mean(x^2) + epsilon) * weight, over the last dimension.
    Recognized by `qc-smoothquant`, which folds smoothing factors into
    `weight`.

    Example:

    ```mlir
    %y = qc.rms_norm %x, %g {epsilon = 1.0e-5 : f64} : tensor<?x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input, QC_FloatTensor:$weight,
                   DefaultValuedAttr<F64Attr, "1.0e-5">:$epsilon);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat =
      "$input `,` $weight attr-dict `:` type($input) `,` type($weight)";
  let hasVerifier = 1;
}

def QC_ArgMaxOp : QC_Op<"argmax", [Pure]> {
  let summary = "Index of the largest element along the last dimension";
  let description = [{
    Greedy token choice on the device: for every row of `input` (all
    dimensions but the last), the index of its largest element, as an i64
    in a result of the input's shape with the last dimension 1 (ready to be
    the next decode step's `tokens [B, 1]`). Ties and NaN follow numpy's
    `argmax`: the first index of the maximum wins, and a NaN counts as
    larger than every number (the first NaN wins). A row of only -inf gives
    0. On GPU targets `qc-outline-gpu-kernels` builds it as one CTA per row
    (buildRowArgmaxKernel); on the host it is two row reductions.

    Example:

    ```mlir
    %next = qc.argmax %logits : tensor<?x32000xf32> -> tensor<?x1xi64>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input);
  let results = (outs RankedTensorOf<[I64]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def QC_SampleOp : QC_Op<"sample", [Pure]> {
  let summary = "Temperature / top-k sampling of one token per row";
  let description = [{
    The next token of each of B sequences drawn from its logits [B, V] on
    the device, as an i64 [B, 1] (the next decode step's `tokens`).
    `temperature`, `top_k` and `seed` are 0-d tensors read at run time (one
    compiled function serves every setting); `pos` [B] is each sequence's
    position, so every step and every sequence draws fresh noise.

    - `temperature <= 0` (or NaN): greedy, exactly `qc.argmax`.
    - Otherwise the Gumbel-max trick: with `k' = top_k` when `0 < top_k <
      V`, else V, and `tau` the k'-th largest logit of the row (by the
      IEEE total order of the bits: -0 < +0, NaN above +inf), the token is
      the first index of the maximum of `l_i / temperature - log(-log(u_i))`
      over the i with `l_i >= tau` (ties at tau all stay in). This draws i
      with probability softmax(l / temperature) restricted to the top k'.
    - `u_i` in (0, 1) comes from a counter-based hash (splitmix64,
      `mix(z) = splitmix64 finalizer of z + 0x9E3779B97F4A7C15`):
      `r_b = mix(mix(seed) ^ (b << 32 | pos_b))`, `h = mix(r_b ^ i)`,
      `u_i = ((h >> 41) + 0.5) * 2^-23`: the same bits on every target,
      so a module samples the same tokens on the host and on a GPU up to
      the last-ulp differences of log().

    On GPU targets `qc-outline-gpu-kernels` builds it as one CTA per row
    (buildRowSampleKernel: a 4-pass 8-bit radix select of tau, then the
    masked Gumbel argmax); on the host it lowers to linalg (a 32-step
    bisection of tau over the ordered keys, then qc.argmax's reductions).

    Example:

    ```mlir
    %next = qc.sample %logits, %temperature, %top_k, %seed, %pos
        : tensor<?x32000xf32>, tensor<f32>, tensor<i64>, tensor<i64>,
          tensor<?xi64> -> tensor<?x1xi64>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$logits,
                   RankedTensorOf<[F32]>:$temperature,
                   RankedTensorOf<[I64]>:$top_k, RankedTensorOf<[I64]>:$seed,
                   RankedTensorOf<[I64]>:$pos);
  let results = (outs RankedTensorOf<[I64]>:$result);
  let assemblyFormat = "$logits `,` $temperature `,` $top_k `,` $seed `,` "
                       "$pos attr-dict `:` type($logits) `,` "
                       "type($temperature) `,` type($top_k) `,` type($seed) "
                       "`,` type($pos) `->` type($result)";
  let hasVerifier = 1;
}

def QC_LayerNormOp : QC_Op<"layer_norm", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "LayerNorm over the last dimension";
  let description = [{
    y = (x - mean(x)) / sqrt(var(x) + epsilon) * weight + bias, over the last
    dimension. Recognized by `qc-smoothquant`, which folds smoothing factors
    into `weight` and `bias`.

    Example:

    ```mlir
    %y = qc.layer_norm %x, %g, %b {epsilon = 1.0e-12 : f64}
        : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input, QC_FloatTensor:$weight,
                   QC_FloatTensor:$bias,
                   DefaultValuedAttr<F64Attr, "1.0e-5">:$epsilon);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight `,` $bias attr-dict `:` "
                       "type($input) `,` type($weight) `,` type($bias)";
  let hasVerifier = 1;
}

def QC_ExternalWeightOp : QC_Op<"external_weight", [Pure]> {
  let summary = "A constant weight stored in an external file";
  let description = [{
    A constant tensor whose raw little-endian bytes live in `path` starting
    at byte `offset`. Weights of multi-gigabyte models stay out of the IR
    text: importers write one blob file and reference it. A relative `path`
    is resolved against the directory of the IR file being compiled.
    Besides float and i8 weights, an i32 tensor holds integer indices (the
    column permutation of an act-order GPTQ checkpoint's linear, gathered
    from the activations by a `linalg.generic`).

    Example:

    ```mlir
    %w = qc.external_weight "model.bin" offset 4096 : tensor<4096x4096xf16>
    ```
  }];
  let arguments = (ins StrAttr:$path, I64Attr:$offset);
  let results = (outs RankedTensorOf<[F16, BF16, F32, I8, I32]>:$result);
  let assemblyFormat = "$path `offset` $offset attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Calibration
//===----------------------------------------------------------------------===//

def QC_ObserveOp : QC_Op<"observe", [MemoryEffects<[MemWrite]>]> {
  let summary = "Records per-input-channel statistics of an activation";
  let description = [{
    Inserted by `qc-insert-observers` in the calibration variant of a
    program. Every execution folds the rows of `input` (all leading
    dimensions flattened into tokens) into the statistics of `layer`:
    the per-channel absolute maximum, a per-channel histogram when
    `percentile` is set, and X^T X (for GPTQ) when `hessian` is set. The
    runtime writes the statistics file described in docs/formats.md.

    Example:

    ```mlir
    qc.observe %x {layer = "blk0.attn.q", hessian = true} : tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input, StrAttr:$layer,
                   OptionalAttr<F64Attr>:$percentile,
                   UnitAttr:$hessian);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Activation ops
//===----------------------------------------------------------------------===//

def QC_SmoothOp : QC_Op<"smooth", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Divides each input channel by its SmoothQuant factor";
  let description = [{
    y[..., j] = x[..., j] / scale[j]. Inserted by `qc-smoothquant` when the
    factors cannot be folded into a preceding normalization.

    Example:

    ```mlir
    %y = qc.smooth %x, %s : tensor<?x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input, RankedTensorOf<[F32]>:$scale);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat = "$input `,` $scale attr-dict `:` type($input) `,` type($scale)";
  let hasVerifier = 1;
}

def QC_QuantizeActOp : QC_Op<"quantize_act", [Pure]> {
  let summary = "Quantizes activations to INT8 or FP8 E4M3 (static per-tensor or dynamic per-token)";
  let description = [{
    Symmetric 8-bit quantization; the output element type says which:

    - `i8`: q = clamp(roundeven(x / s), -127, 127); the scale's range is
      127.
    - `f8E4M3FN`: q = e4m3(x / s), rounded to nearest even and saturated to
      +-448 (NaN stays NaN); the scale's range is 448.

    The scale:

    - `static_per_tensor`: s is the calibrated attribute `scale`; `scales`
      has one element.
    - `dynamic_per_token`: s = max|x_row| / range for every row (token), 1
      for a row of zeros; `scales` has the input's leading shape.

    Example:

    ```mlir
    %q, %s = qc.quantize_act %x dynamic_per_token
        : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<?xf32>
    %f, %t = qc.quantize_act %x static_per_tensor scale 0.5 : tensor<?x64xf16>
        -> tensor<?x64xf8E4M3FN>, tensor<1xf32>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input, QC_ActModeAttr:$mode,
                   OptionalAttr<F32Attr>:$scale);
  let results = (outs QC_QuantActTensor:$output, RankedTensorOf<[F32]>:$scales);
  let assemblyFormat = "$input $mode (`scale` $scale^)? attr-dict `:` type($input) `->` type($output) `,` type($scales)";
  let hasVerifier = 1;
}

def QC_DequantizeActOp : QC_Op<"dequantize_act", [Pure]> {
  let summary = "Dequantizes INT8 or FP8 activations: y = q * scale";
  let description = [{
    The inverse of `qc.quantize_act` (`q` INT8 codes or E4M3 values);
    `scales` has one element (per-tensor) or the input's leading shape
    (per-token).

    Example:

    ```mlir
    %y = qc.dequantize_act %q, %s : tensor<?x64xi8>, tensor<?xf32> -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins QC_QuantActTensor:$input, RankedTensorOf<[F32]>:$scales);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat = "$input `,` $scales attr-dict `:` type($input) `,` type($scales) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Weight ops
//===----------------------------------------------------------------------===//

def QC_PackedWeightOp : QC_Op<"packed_weight", [Pure]> {
  let summary = "Bundles quantized weight data, scales and zero points";
  let description = [{
    A quantized N x K weight. `data` holds the integers in `layout`:
    `unpacked` is an N x K i8 tensor with one value per byte; `row_major` and
    `tiled` are flat i8 tensors of N * K * bits / 8 bytes (INT4 two per byte,
    so K must be even). `scales` is N x G (G = 1 per channel, K / group_size
    per group; 1 x 1 per tensor) in f32 or f16. Symmetric schemes store
    signed integers and no `zeros`; asymmetric schemes store unsigned
    integers (the bit pattern in i8) and `zeros` shaped like `scales`.
    The dequantized weight is (q - z) * s. With a float minimum (scheme
    `minimum = f16` or `f32`), `zeros` holds the minimum m of each group in
    that type and the dequantized weight is q * s + m.

    Example:

    ```mlir
    %pw = qc.packed_weight %data, %scales {
            scheme = #qc.scheme<weight = i4, granularity = per_group, group_size = 32>,
            layout = #qc.layout<row_major>}
        : tensor<1024xi8>, tensor<32x2xf32> -> !qc.packed<32x64xi4>
    ```
  }];
  let arguments = (ins QC_I8Tensor:$data, RankedTensorOf<[F16, F32]>:$scales,
                   Optional<RankedTensorOf<[I8, F16, F32]>>:$zeros,
                   QC_SchemeAttr:$scheme,
                   QC_LayoutAttr:$layout);
  let results = (outs QC_PackedWeightType:$result);
  let assemblyFormat = "$data `,` $scales (`,` $zeros^)? attr-dict `:` type($data) `,` "
                       "type($scales) (`,` type($zeros)^)? `->` qualified(type($result))";
  let hasVerifier = 1;
}

def QC_DequantizeWeightOp : QC_Op<"dequantize_weight", [Pure]> {
  let summary = "Materializes a packed weight as a float N x K tensor";
  let description = [{
    w[n, k] = (q[n, k] - z[n, g]) * s[n, g] with g the group of k. Produced
    by `qc-quantize-weights`; `qc-fuse-dequant` folds it into the consuming
    matmul so that no float copy of a quantized weight survives.

    Example:

    ```mlir
    %w = qc.dequantize_weight %pw : !qc.packed<32x64xi4> -> tensor<32x64xf32>
    ```
  }];
  let arguments = (ins QC_PackedWeightType:$weight);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat = "$weight attr-dict `:` qualified(type($weight)) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Fused matmuls
//===----------------------------------------------------------------------===//

def QC_WeightOnlyMatmulOp : QC_Op<"wo_matmul", [Pure]> {
  let summary = "Weight-only quantized matmul with dequantization fused inside";
  let description = [{
    y = x * dequant(W)^T (+ b) with the dequantization done inside the
    kernel: no float copy of the weight exists. `input` has any leading
    shape and K columns; the result has N columns.

    With `kernel = #qc.kernel<adaptive, threshold = T>` (INT8 symmetric
    per-channel weights only) the op switches at run time on the number of
    rows M: M < T runs the weight-only path, M >= T quantizes activations
    per token and runs the INT8 path, from the same weight.

    `fused_layers` (set by `qc-fuse-sibling-matmuls`) lists the layers a
    horizontally fused matmul computes, each with its range of output
    channels; the ranges are contiguous, start at 0 and cover N. `layer` is
    then the names joined with `+`.

    Example:

    ```mlir
    %y = qc.wo_matmul %x, %pw {layer = "blk0.mlp.up"}
        : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input, QC_PackedWeightType:$weight,
                   Optional<QC_FloatTensor>:$bias, StrAttr:$layer,
                   OptionalAttr<QC_KernelAttr>:$kernel,
                   OptionalAttr<QC_FusedLayerArrayAttr>:$fused_layers);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,` "
                       "qualified(type($weight)) (`,` type($bias)^)? `->` type($result)";
  let hasVerifier = 1;
}

def QC_Int8MatmulOp : QC_Op<"int8_matmul", [Pure]> {
  let summary = "W8A8 matmul (INT8 or FP8 E4M3) with a fused dequantization epilogue";
  let description = [{
    y[m, n] = (sum_k q_x[m, k] * q_w[n, k]) * s_x[m] * s_w[n] (+ b[n]).
    INT8 (`i8` input, `i8` weight) accumulates in i32; FP8 (`f8E4M3FN`
    input and weight) multiplies the E4M3 values and accumulates in f32.
    `input_scales` has one element (per-tensor) or the input's leading shape
    (per-token). The weight must be symmetric with per-channel or per-tensor
    scales, of the input's element type. The result element type is the
    output type of the layer. `fused_layers`: as for `qc.wo_matmul`.

    Example:

    ```mlir
    %y = qc.int8_matmul %q, %s, %pw {layer = "blk0.attn.o"}
        : tensor<?x64xi8>, tensor<?xf32>, !qc.packed<32x64xi8> -> tensor<?x32xf32>
    ```
  }];
  let arguments = (ins QC_QuantActTensor:$input, RankedTensorOf<[F32]>:$input_scales,
                   QC_PackedWeightType:$weight, Optional<QC_FloatTensor>:$bias,
                   StrAttr:$layer, OptionalAttr<QC_KernelAttr>:$kernel,
                   OptionalAttr<QC_FusedLayerArrayAttr>:$fused_layers);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat = "$input `,` $input_scales `,` $weight (`,` $bias^)? attr-dict `:` "
                       "type($input) `,` type($input_scales) `,` qualified(type($weight)) "
                       "(`,` type($bias)^)? `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// KV cache and attention (device-resident decode)
//===----------------------------------------------------------------------===//

def QC_CacheFloatTensorOrMemRef
    : AnyTypeOf<[RankedTensorOf<[F16, BF16, F32]>, MemRefOf<[F16, BF16, F32]>],
                "f16, bf16 or f32 tensor or memref">;
def QC_RowsTensorOrMemRef
    : AnyTypeOf<[RankedTensorOf<[AnyFloat]>, MemRefOf<[AnyFloat]>],
                "float tensor or memref">;
def QC_PosTensorOrMemRef
    : AnyTypeOf<[RankedTensorOf<[I64]>, MemRefOf<[I64]>],
                "i64 tensor or memref">;

def QC_CacheWriteOp : QC_Op<"cache_write", [
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<InferTypeOpInterface>,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "Writes new key or value rows into one layer of a KV cache, in place";
  let description = [{
    `rows` (B x T x KV x D: keys or values of T new tokens, already RoPE'd),
    `pos` (B x i64: the start position of each sequence) and `cache`
    (L x B x KV x S x D, the destination) give a cache equal to `cache`
    except

        result[layer, b, h, pos[b] + t, d] = rows[b, t, h, d]

    (converted to the cache's element type) for every b, t, h, d with
    0 <= pos[b] + t < S. Rows that would land outside [0, S) are dropped;
    callers guarantee pos[b] + T <= S. `0 <= layer < L` when L is static.

    The op is in destination-passing style: `cache` is the init operand and
    bufferization (one-shot, `BufferizableOpInterface`) writes the cache
    buffer in place; a cache that is a writable function argument is
    updated without a copy (see the in-place ABI in docs/module-format.md).

    Tensor form (one result, the cache type):

    ```mlir
    %kc2 = qc.cache_write %rows into %k_cache at %pos {layer = 3 : i64}
        : tensor<?x?x3x64xf32>, tensor<?xi64> -> tensor<30x?x3x512x64xf32>
    ```

    Buffer form (after bufferization: memref operands, no result; the type
    after `->` is the cache buffer's, which is updated):

    ```mlir
    qc.cache_write %rows into %k_cache at %pos {layer = 3 : i64}
        : memref<?x?x3x64xf32>, memref<?xi64> -> memref<30x?x3x512x64xf32>
    ```

    `qc-lower-cache-writes` lowers the buffer form to an `scf.parallel` over
    (b, t, h, d) that loads pos[b] and stores under the bounds guard (a
    glue kernel on the GPU path; pos is never read by host code).
  }];
  let arguments = (ins QC_RowsTensorOrMemRef:$rows, QC_PosTensorOrMemRef:$pos,
                   QC_CacheFloatTensorOrMemRef:$cache, I64Attr:$layer);
  let results = (outs Variadic<RankedTensorOf<[F16, BF16, F32]>>:$result);
  let assemblyFormat =
      "$rows `into` $cache `at` $pos attr-dict `:` type($rows) `,` type($pos) "
      "`->` type($cache)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getCacheMutable();
    }
    /// True for the buffer form (memref operands, no result).
    bool hasBufferSemantics() {
      return ::mlir::isa<::mlir::MemRefType>(getCache().getType());
    }
  }];
}

def QC_CacheAttentionOp : QC_Op<"cache_attention", [Pure]> {
  let summary = "Causal grouped-query attention over one layer of a KV cache";
  let description = [{
    `query` is B x T x H x D, `k_cache` and `v_cache` are L x B x KV x S x D
    (the same type), `pos` is B x i64. Query (b, t, h) sits at the absolute
    position p = pos[b] + t and attends to the keys j = 0 .. min(p, S - 1)
    (causal, inclusive) of layer `layer`, sequence b, KV head h / (H / KV)
    (grouped-query attention; H and KV are static and H % KV == 0):

        out[b, t, h, :] = sum_j softmax_j(scale * <q[b, t, h], k_j>) * v_j

    accumulated in f32 with a max-subtracted softmax. The result has the
    query's shape and element type. `pos` is read by the computation only
    (never to size anything), so the op runs without a host read of `pos`.

    Example:

    ```mlir
    %o = qc.cache_attention %q, %kc2, %vc2, %pos {layer = 3 : i64, scale = 0.125 : f32}
        : tensor<?x?x9x64xf32>, tensor<30x?x3x512x64xf32>,
          tensor<30x?x3x512x64xf32>, tensor<?xi64> -> tensor<?x?x9x64xf32>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$query, QC_FloatTensor:$k_cache,
                   QC_FloatTensor:$v_cache, RankedTensorOf<[I64]>:$pos,
                   I64Attr:$layer, F32Attr:$scale);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat =
      "$query `,` $k_cache `,` $v_cache `,` $pos attr-dict `:` type($query) `,` "
      "type($k_cache) `,` type($v_cache) `,` type($pos) `->` type($result)";
  let hasVerifier = 1;
}

#endif // QC_DIALECT_QC_IR_QCOPS_TD
