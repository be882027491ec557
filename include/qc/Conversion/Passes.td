//===- Passes.td - qc conversion passes --------------------*- tablegen -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#ifndef QC_CONVERSION_PASSES_TD
#define QC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertQCToLinalg : Pass<"convert-qc-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower every qc op to linalg/tensor/vector/arith/math/scf on tensors";
  let description = [{
    Host lowering of the qc dialect with reference semantics (see
    docs/host-lowering.md). Activations with any leading shape are collapsed
    to [M, K] (M dynamic), computed, and expanded back.

    - `qc.linear`, `qc.wo_matmul`, `qc.int8_matmul` become explicit
      register-blocked, vectorized scf loops over tensors (see
      `qc/Conversion/QCToLinalg/QCToLinalg.h`): the quantized weight is
      dequantized chunk by chunk inside the loop, never materialized.
      `#qc.kernel<adaptive, threshold = T>` becomes an `scf.if` on M.
    - norms, smooth, quantize/dequantize of activations and
      `qc.dequantize_weight` become `linalg.generic` ops.
    - `qc.external_weight` becomes a public `memref.global` (uninitialized;
      the loader fills it from the file) read through
      `bufferization.to_tensor`.
    - `qc.observe` becomes a call to the runtime's `qcrt_observe` on a
      contiguous f32 copy of the rows.

    Example:

    ```mlir
    %y = qc.wo_matmul %x, %pw {layer = "up"}
        : tensor<?x64xf32>, !qc.packed<32x64xi4> -> tensor<?x32xf32>
    // becomes scf.for loops over N blocks, M rows and K chunks whose body
    // loads vector<8xi8>, unpacks two nibbles per byte, converts, scales
    // and accumulates with vector.fma.
    ```
  }];
  let options = [
    Option<"parallelKernels", "parallel-kernels", "bool", /*default=*/"false",
           "Outline matmul kernels in destination-passing style with a range "
           "of column panels (`qc.parallel_range`), for "
           "qc-host-parallelize-calls">
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::bufferization::BufferizationDialect",
    "mlir::func::FuncDialect", "mlir::LLVM::LLVMDialect",
    "mlir::linalg::LinalgDialect", "mlir::math::MathDialect",
    "mlir::memref::MemRefDialect", "mlir::scf::SCFDialect",
    "mlir::tensor::TensorDialect", "mlir::vector::VectorDialect"
  ];
}

def QCHostPrepareFunctions : Pass<"qc-host-prepare-functions", "mlir::ModuleOp"> {
  let summary = "Give public functions a C interface and read-only tensor arguments";
  let description = [{
    Run before bufferization by `qc-lower-to-host`. Every public
    `func.func` definition gets `llvm.emit_c_interface` (so the C entry
    point is `_mlir_ciface_<name>`), and each of its tensor arguments gets
    `bufferization.writable = false` so the lowered code never writes into
    caller buffers, except the in-place arguments: a tensor argument that a
    returned value is made from through `qc.cache_write`s (the argument is
    the init of the chain) stays writable and gets `qc.inplace`, so
    one-shot bufferization updates the caller's buffer and
    `qc-drop-inplace-results` can drop the equivalent result. Aggregated linalg ops (`linalg.softmax`) are decomposed
    into generics here so that they bufferize and lower to loops, and
    `tensor.expand_shape` ops with several dynamic sizes in one group become
    `tensor.reshape` (LLVM 22 cannot lower the former after bufferization);
    when such an expand splits the rows of a column slice (the q / k / v
    columns of a fused projection), the row split moves onto the sliced
    tensor and the slice stays a strided view, so nothing is copied.
    `linalg.matmul` and `linalg.batch_matmul` are generalized with the
    reduction loop moved outside the output-column loop, so their loops
    (from `convert-linalg-to-loops`) stream rows of B and C and vectorize.

    Example:

    ```mlir
    func.func @f(%x: tensor<?x4xf32>) -> tensor<?x4xf32>
    // becomes
    func.func @f(%x: tensor<?x4xf32> {bufferization.writable = false})
        -> tensor<?x4xf32> attributes {llvm.emit_c_interface}
    ```
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::math::MathDialect",
                           "mlir::tensor::TensorDialect"];
}

def QCDropInPlaceResults : Pass<"qc-drop-inplace-results", "mlir::ModuleOp"> {
  let summary = "Drop results of entry points that update an argument in place";
  let description = [{
    Run right after one-shot bufferization (function boundaries) by both
    `qc-lower-to-host` and `qc-lower-to-gpu`. A public function result whose
    returned buffer is an argument marked `qc.inplace` (by
    `qc-host-prepare-functions`), possibly through `memref.cast`, is
    equivalent to that argument: the function wrote it in place. The
    result is removed from the function, and the module attribute
    `qc.inplace = {<function> = {args = array<i64: ...>,
    results = array<i64: ...>}}` records which arguments are updated in
    place and which results (original numbering) were dropped; quant-compile
    turns it into the module info's `"inplace"` list (docs/module-format.md).
    `qc.inplace` arguments whose result was not found equivalent (one-shot
    bufferization had to copy) lose the mark and keep their result. Functions
    with callers in the module are left alone. Like upstream
    `drop-equivalent-buffer-results`, restricted to the in-place ABI.

    Example:

    ```mlir
    func.func @step(%c: memref<2x8xf32> {qc.inplace}, ...) -> memref<2x8xf32> {
      qc.cache_write ... into %c ...
      return %c : memref<2x8xf32>
    }
    // becomes
    func.func @step(%c: memref<2x8xf32>, ...) { ...; return }
    // module attributes {qc.inplace = {step = {args = array<i64: 0>,
    //                                          results = array<i64: 0>}}}
    ```
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect"];
}

def QCLowerCacheWrites : Pass<"qc-lower-cache-writes", "mlir::ModuleOp"> {
  let summary = "Lower buffer-form qc.cache_write to a guarded scf.parallel";
  let description = [{
    After bufferization, each `qc.cache_write` on memrefs becomes

    ```mlir
    scf.parallel (%b, %t, %h, %d) = (0, 0, 0, 0) to (B, T, KV, D) step (1, 1, 1, 1) {
      %p = memref.load %pos[%b]          // i64
      %s = %p + %t                       // as index
      scf.if (0 <= %s < S) {
        %v = memref.load %rows[%b, %t, %h, %d]   // converted to the cache type
        memref.store %v, %cache[layer, %b, %h, %s, %d]
      }
    }
    ```

    `pos` is loaded inside the loop: on the GPU path the loop becomes a glue
    kernel (`qc-gpu-tile-glue`, `gpu-map-parallel-loops`) and the host never
    reads `pos`; on the host it is an ordinary loop nest. A tensor-form
    `qc.cache_write` left at this point is an error.

    Two fusions save a loop (a GPU kernel) each: an elementwise producer of
    `rows` (the keys' RoPE: a `linalg.generic` whose only output is `rows`,
    identity output map, projected-permutation input maps, none of its
    inputs written before the cache write) is computed inside the loop in
    place of the load, and its buffer disappears; and a following cache
    write with the same `pos` and layer, a cache of the same type, rows of
    provably equal extents and no memory write in between stores from the
    same loop (the V cache next to the K cache).
  }];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect"];
}

def QCHostLowerStridedCopies
    : Pass<"qc-host-lower-strided-copies", "mlir::func::FuncOp"> {
  let summary = "Turn memref.copy between strided buffers into linalg.copy";
  let description = [{
    Run after bufferization by `qc-lower-to-host`. A `memref.copy` whose
    source or target does not have the identity layout (e.g. the copy an
    `tensor.insert_slice` bufferizes to) would lower to a call of
    `memrefCopy` from the MLIR C runner library; as a `linalg.copy` it
    becomes plain loops, so lowered modules need only libc (malloc, free)
    and libm. Copies between identity-layout buffers stay `memref.copy`
    (a memcpy).

    Example:

    ```mlir
    memref.copy %a, %sub : memref<?x32xf32> to memref<?x32xf32, strided<[64, 1], offset: 32>>
    // becomes
    linalg.copy ins(%a : ...) outs(%sub : ...)
    ```
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def QCHostApproximateExp : Pass<"qc-host-approximate-exp", "mlir::ModuleOp"> {
  let summary = "Replace f32 math.exp by its polynomial approximation";
  let description = [{
    Run by `qc-lower-to-host` before bufferization. Every f32 `math.exp`
    (scalar or vector) becomes MLIR's polynomial approximation
    (`populateMathPolynomialApproximationPatterns`: range reduction to
    [0, ln 2), a degree-5 polynomial, 2^k by exponent arithmetic; exact
    +-inf and underflow handling), a few ulp from libm's `expf`. The loops
    around it (softmax, SiLU) then vectorize instead of calling `expf` once
    per element. Other math ops are left to libm.

    Example:

    ```mlir
    %e = math.exp %x : f32
    // becomes arith.mulf/math.floor/math.fma/arith.bitcast ... on f32
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::math::MathDialect",
                           "mlir::vector::VectorDialect"];
}

def QCHostLowerBF16 : Pass<"qc-host-lower-bf16", "mlir::ModuleOp"> {
  let summary = "Compute bf16 arithmetic in f32 and expand bf16 conversions";
  let description = [{
    Run by `qc-lower-to-host` before the conversion to LLVM. LLVM's CPU
    backends have no bf16 arithmetic and convert f32 to bf16 through a
    libcall (`__truncsfbf2`) that qcrt cannot resolve, so every bf16 value
    is handled here, with PyTorch's semantics (bf16 storage, f32 compute,
    round-to-nearest-even on every store):

    - every `arith` op on bf16 operands (`addf`, `mulf`, `maximumf`,
      `cmpf`, ...) computes in f32: its operands are widened with
      `arith.extf` and a bf16 result is rounded back with `arith.truncf`
      (`populateEmulateUnsupportedFloatsPatterns`);
    - `arith.extf` bf16 -> f32 becomes a 16-bit shift, `arith.truncf`
      f32 -> bf16 integer round-to-nearest-even with NaN kept quiet
      (`populateExpandBFloat16Patterns`).

    Example:

    ```mlir
    %s = arith.addf %a, %b : bf16
    // becomes
    %a32 = arith.extf %a : bf16 to f32   // then: bitcast, shli 16, bitcast
    %b32 = arith.extf %b : bf16 to f32
    %s32 = arith.addf %a32, %b32 : f32
    %s = arith.truncf %s32 : f32 to bf16 // then: + 0x7fff + lsb, shrui 16
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::vector::VectorDialect"];
}

def QCHostParallelizeCalls
    : Pass<"qc-host-parallelize-calls", "mlir::ModuleOp"> {
  let summary = "Run calls of qc.parallel_range functions through qcrt_parallel_for";
  let description = [{
    Run on the LLVM dialect at the end of `qc-lower-to-host{parallel=true}`.
    A function marked `qc.parallel_range` (the matmul kernels of
    `convert-qc-to-linalg{parallel-kernels=true}`) computes the iterations
    [begin, end) given by its last two (i64) arguments and returns nothing
    (its output buffer is an argument). Every call of one is replaced by

    ```
    store the other arguments into a stack struct (ctx)
    qcrt_parallel_for(@<callee>__par, ctx, begin, end)
    ```

    where `@<callee>__par(ptr ctx, i64 b, i64 e)` (created once per callee)
    loads the arguments back and calls the function on [b, e). The runtime
    splits the range statically over its threads; as each iteration writes
    only its own outputs, the result equals the serial call's bit for bit.
    Calls whose callee returns values are left alone.

    Example:

    ```mlir
    llvm.call @__qc_kernel_1(%p, %q, %c0, %c9) : (!llvm.ptr, !llvm.ptr, i64, i64) -> ()
    // becomes
    llvm.store %p, ...; llvm.store %q, ...
    llvm.call @qcrt_parallel_for(@__qc_kernel_1__par, %ctx, %c0, %c9)
    ```
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

#endif // QC_CONVERSION_PASSES_TD
