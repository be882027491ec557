//===- Passes.td - qc GPU kernel passes --------------------*- tablegen -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#ifndef QC_CONVERSION_QCTONVVM_PASSES_TD
#define QC_CONVERSION_QCTONVVM_PASSES_TD

include "mlir/Pass/PassBase.td"

def QCOutlineGpuKernels : Pass<"qc-outline-gpu-kernels", "ModuleOp"> {
  let summary = "Builds the device kernels of GPU-targeted matmuls and their activation quantization";
  let description = [{
    For every `qc.wo_matmul` / `qc.int8_matmul` / `qc.linear` whose `#qc.kernel` targets
    sm_80, sm_90 or sm_90a, builds the kernel the attribute names, with the tiling
    it carries (`#qc.gemv_tiling` / `#qc.mma_tiling`, set by
    `qc-select-matmul`; the family's defaults when absent), with the named
    kernel builders (KernelBuilders.h) into a `gpu.module @qc_kernels` carrying
    an `#nvvm.target` for the chip, and records on the op the kernel and its
    launch geometry as a typed `qc.launch = #qc.launch<...>`. The config of
    each kernel from the op, the launch record and the kernel arguments are
    the kernel family registry's (qc/Kernels/KernelFamilies.h); a tiling
    the layer's shape cannot take (e.g. shared memory over 48 KiB, block K
    not a multiple of the mma K) is an error naming the layer. Serializing
    the module with `gpu-module-to-binary` yields PTX/cubin.

    Kernels built (KernelBuilders.h):
    - `gemv` on `qc.wo_matmul`: buildWeightOnlyGemvKernel; when the
      matmul's only user is a residual add (`r + y`, a linalg.generic:
      EpilogueFusion.h), the kernel adds r in its epilogue and the launch
      record says `residual = true` (qc-lower-gpu-launches then passes r and
      drops the add; `fuse-residual=false` keeps the add);
    - `qc.argmax` (glue, see below): buildRowArgmaxKernel;
    - `mma` on `qc.wo_matmul`: buildWeightOnlyMmaKernel (weights dequantized
      to f16 in shared memory, mma.sync m16n8k16);
    - `int8_mma` on `qc.int8_matmul`: buildInt8GemmKernel (mma.sync
      m16n8k32 s8), and, when its input comes from a `qc.quantize_act`,
      buildActQuantKernel for that op too (the op gets its own
      `qc.launch = #qc.launch<@..., block = B>`, grid = M rows);
    - `fp16_mma` on `qc.linear`: buildFp16GemmKernel (mma.sync m16n8k16);
    - `gemv_mma` on `qc.wo_matmul`: the gemv family (`qc.launch`) and the
      weight-only mma kernel (`qc.mma_launch`);
    - with `norm-prologue`, on a gemv / gemv_mma `qc.wo_matmul` whose input
      is a GPU `qc.rms_norm` read by it alone: a second gemv family
      `<layer>_gemv_norm_mt<T>` (GemvKernelConfig::normPrologue: each CTA
      normalizes its M tile's rows into shared memory first; the norm
      weight is the last argument) for the M tile 1 when K <= 1024
      (EpilogueFusion.h normProloguePays: where it measured faster),
      recorded as `qc.norm_launch`;
    - with `swiglu-epilogue`, on a gemv / gemv_mma `qc.wo_matmul` whose
      output (gate and up fused by qc-fuse-sibling-matmuls) feeds only the
      gated MLP's SiLU * mul (EpilogueFusion.h swiGluUser): the gemv
      family (and its norm variants) writes silu(gate) * up itself
      (GemvKernelConfig::swiGlu; `swiglu = true` in its `#qc.launch`); the
      mma side of gemv_mma keeps the glue;
    - `frag` on `qc.wo_matmul`: buildWeightOnlyFragKernel per M tile and,
      with split_k > 1, buildFragReduceKernel;
    - `adaptive` on `qc.wo_matmul`: both kernel sets: the gemv family
      (`qc.launch`), the INT8 GEMM for per-token activations
      (`qc.int8_launch`) and a dynamic per-token activation quantization of
      the op's input (`qc.act_quant_launch`).
    The tensor-core kernels record `tile_n = block_n, tile_m = block_m`:
    grid = (ceil(N / block_n), ceil(M / block_m)).

    Glue ops, which carry no `#qc.kernel`, get kernels when the module
    targets a GPU: the `chip` option, else the chip of the module's
    GPU-targeted matmuls (all must agree); with neither nothing is built
    for them.
    - `qc.rms_norm` / `qc.layer_norm`: buildRowNormKernel, recorded as
      `qc.launch = #qc.launch<@..., block = B>` (grid = M rows). A norm the kernel cannot take
      (a row longer than 16 vectors per thread of a 1024-thread CTA) keeps
      the linalg glue, with a remark; `norm-kernels=false` keeps the glue
      for every norm (the reference path).
    - `qc.cache_attention`: buildCacheAttentionKernels (flash-decoding:
      `<k>_partial` per key chunk, `<k>_combine`), recorded as `qc.launch =
      #qc.attention_launch<@..., chunks, kv_heads, heads, head_dim, record,
      max_split_t[, prefill_tokens]>` (see qc-lower-gpu-launches); shapes the kernels do not take (D not
      32 x a power of two, dynamic H/KV/S/D) keep the linalg glue with a
      remark; `attention-kernels=false` keeps it for all. Where
      CacheAttentionKernelConfig::usesPrefillKernel (16-bit queries and
      caches of one type, D in {64, 128}) also
      buildPrefillAttentionKernel (`<k>_prefill`, FlashAttention-2 on
      tensor cores), run for T > max_split_t (`prefill_tokens` tokens per
      CTA); `attention-prefill=false` leaves it out.

    Example:

    ```mlir
    %y = qc.wo_matmul %x, %pw {layer = "up", kernel = #qc.kernel<gemv, target = "sm_90",
        gemv = #qc.gemv_tiling<warps = 4, rows_per_warp = 2, chunks = 1, m_tiles = [1, 2, 4, 8]>>} ...
    // becomes
    %y = qc.wo_matmul %x, %pw {layer = "up", kernel = ...,
        qc.launch = #qc.launch<@qc_kernels_sm_90::@up_gemv, block = 128, tile_n = 8,
                               tile_m = 1, m_tiles = [1, 2, 4, 8]>} ...
    gpu.module @qc_kernels_sm_90 [#nvvm.target<chip = "sm_90", O = 3>] {
      gpu.func @up_gemv_mt1(...) kernel { ... }
      gpu.func @up_gemv_mt2(...) kernel { ... }
      gpu.func @up_gemv_mt4(...) kernel { ... }
      gpu.func @up_gemv_mt8(...) kernel { ... }
    }
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect", "::mlir::math::MathDialect"];
  let options = [
    Option<"actQuantThreads", "act-quant-threads", "int64_t", "128",
           "Threads per row of the activation quantization kernel">,
    Option<"chip", "chip", "std::string", "\"\"",
           "GPU target (sm_80, sm_90) of glue ops without a #qc.kernel "
           "(norms); empty: the chip of the module's GPU matmuls, if any">,
    Option<"normKernels", "norm-kernels", "bool", "true",
           "Build the row normalization kernel for qc.rms_norm and "
           "qc.layer_norm on a GPU target (false: keep the linalg glue)">,
    Option<"attentionKernels_", "attention-kernels", "bool", "true",
           "Build the decode attention kernels for qc.cache_attention on a "
           "GPU target (false: keep the linalg glue)">,
    Option<"attentionPrefill", "attention-prefill", "bool", "true",
           "Also build the tensor-core prefill attention kernel where it "
           "applies (CacheAttentionKernelConfig::usesPrefillKernel) and run "
           "it for queries of more than max_split_t tokens (false: the "
           "partial / combine pair for every T)">,
    Option<"fuseNormQuant", "fuse-norm-quant", "bool", "true",
           "A GPU qc.rms_norm / qc.layer_norm whose only user is the "
           "activation quantization of W8A8 matmuls writes the codes and "
           "scales itself (RowNormKernelConfig::quantize; recorded on the "
           "qc.quantize_act with qc.fused_norm; false: two kernels)">,
    Option<"fuseResidual", "fuse-residual", "bool", "true",
           "Fuse a residual add that is the only user of a gemv matmul "
           "into its epilogue (EpilogueFusion.h; false: keep the glue add)">,
    Option<"normPrologue", "norm-prologue", "bool", "false",
           "Also build GEMV variants that normalize their input in a "
           "prologue when a GPU qc.rms_norm feeds only this matmul "
           "(EpilogueFusion.h normProducer; recorded as qc.norm_launch; "
           "off until measured on a GPU)">,
    Option<"swiGluEpilogue", "swiglu-epilogue", "bool", "false",
           "GEMV families whose output feeds only the gated MLP's SiLU * "
           "mul write silu(gate) * up themselves (EpilogueFusion.h "
           "swiGluUser; off until measured on a GPU)">,
    Option<"weightPrefetch", "weight-prefetch", "bool", "false",
           "On targets with dependent launch (sm_90), GEMV and frag kernels "
           "prefetch their CTA's weights into L2 before waiting for the "
           "previous kernel (WeightOnlyWeightConfig::l2Prefetch; off until "
           "measured on a GPU)">,
  ];
}

#endif // QC_CONVERSION_QCTONVVM_PASSES_TD
