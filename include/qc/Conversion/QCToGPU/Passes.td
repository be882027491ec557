//===- Passes.td - Whole-program GPU lowering passes -------*- tablegen -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#ifndef QC_CONVERSION_QCTOGPU_PASSES_TD
#define QC_CONVERSION_QCTOGPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def QCLowerGpuLaunches : Pass<"qc-lower-gpu-launches", "mlir::ModuleOp"> {
  let summary = "Replaces GPU-targeted qc matmuls by launches of their kernels";
  let description = [{
    Runs on tensors, after `qc-outline-gpu-kernels`, which records on every
    GPU-targeted op its kernel and launch geometry as a typed, verified
    `qc.launch = #qc.launch<@qc_kernels_<chip>::@k, block, tile_n, tile_m,
    m_tiles, residual>` (the other side of a two-kernel op under
    `qc.mma_launch` / `qc.int8_launch` / `qc.act_quant_launch`; the decode
    attention's `#qc.attention_launch`). The kernel arguments come from the
    kernel family registry (qc/Kernels/KernelFamilies.h, `quant-compile
    --list-kernels`), bound by name. Each kernel launch becomes, at tensor
    level:

    * the activation collapsed to M x K rows (M = product of the leading
      dimensions, dynamic; rank 1 is one row), every input a read-only
      identity-layout buffer (`bufferization.to_buffer`);
    * a fresh buffer per output (`memref.alloc`, dim 0 = M), returned
      through `bufferization.to_tensor restrict writable` and reshaped back
      to the op's result shape;
    * one call of a private stub (`qc.gpu_launch_stub`) on (inputs...,
      outputs...) carrying the launch record `qc.gpu_launch = {kernel,
      block, n, grid, grid_tile, args[, m_tiles]}`: grid dimension d is
      ceil(extent / grid_tile[d]) with extent "n" (static), "m" (rows) or
      "1"; `args` lists the kernel arguments: a call operand index (passed
      as `!llvm.ptr<1>`), "null" or "m" (rows as i32); with `m_tiles` the
      kernel is a family `@k_mt<T>` (smallest T >= M, else the largest; an
      "m" grid dimension is divided by T). `qc-gpu-device-memory` expands the
      stubs (expandGpuLaunchStubs) after bufferization and deallocation: one
      `gpu.launch_func` per record, none when M = 0.

    Per op and kernel kind:

    | op / kind | launches (arguments; grid; block) |
    |---|---|
    | `qc.wo_matmul` gemv | family `@k_mt<T>` (x, w, scales, zeros, bias, y, M[, r]); (ceil(N / tile_n), ceil(M / T)); block |
    | `qc.wo_matmul` mma | (x, w, scales, zeros, bias, y, M[, r]); (ceil(N / tile_n), ceil(M / tile_m)); block |
    | `qc.wo_matmul` gemv_mma | `scf.if` M < threshold: the gemv family; else the mma kernel (`qc.mma_launch`) |
    | `qc.quantize_act` feeding GPU `qc.int8_matmul`s | once, however many matmuls read it: (x, q, scales, M); (M); block |
    | `qc.int8_matmul` int8_mma | (qx, sx, w, sw, bias, y, M); (ceil(N / tile_n), ceil(M / tile_m)); block |
    | `qc.linear` fp16_mma | (x, w, bias, y, M); (ceil(N / tile_n), ceil(M / tile_m)); block |
    | `qc.wo_matmul` adaptive | `scf.if` M < threshold: the gemv family; else per-token act quant (`qc.act_quant_launch`) + INT8 GEMM (`qc.int8_launch`) on the same packed bytes (the host lowering's semantics) |

    An absent zeros/bias is a null pointer; `r` is the residual of a kernel
    recorded with `residual = true` (the add that followed the matmul is
    dropped). A GPU-targeted op without its launch record, a record of the
    wrong shape (a row kernel's on a matmul), or a kind with no launch
    lowering for the op, is an error naming the layer and kind. Inputs of any rank are taken
    (collapsed to rows, the results reshaped back).

    Example:

    ```mlir
    %y = qc.wo_matmul %x, %pw {layer = "up", kernel = #qc.kernel<gemv, target = "sm_90", gemv = ...>,
           qc.launch = #qc.launch<@qc_kernels_sm_90::@up_gemv, block = 128,
                                  tile_n = 8, tile_m = 1, m_tiles = [1, 4]>}
        : tensor<?x64xf16>, !qc.packed<32x64xi4> -> tensor<?x32xf16>
    // becomes (sketch)
    %buf = memref.alloc(%m) : memref<?x32xf16>
    call @__qc_gpu_launch_0(%xb, %wb, %sb, %buf) {qc.gpu_launch = {
        args = [0, 1, 2, "null", "null", 3, "m"], block = 128, grid = ["n", "m"],
        grid_tile = array<i64: 8, 1>, kernel = @qc_kernels_sm_90::@up_gemv,
        m_tiles = array<i64: 1, 4>, n = 32}}
    %y = bufferization.to_tensor %buf restrict writable : memref<?x32xf16> to tensor<?x32xf16>
    // and, after bufferization, in qc-gpu-device-memory:
    scf.if %m_le_1 {
      gpu.launch_func @qc_kernels_sm_90::@up_gemv_mt1 blocks in (%c4, %m, %c1)
          threads in (%c128, %c1, %c1) args(%px : !llvm.ptr<1>, ..., %m32 : i32)
    } else { ... @up_gemv_mt4 ... }
    ```
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::LLVM::LLVMDialect",
                           "mlir::memref::MemRefDialect", "mlir::scf::SCFDialect",
                           "mlir::arith::ArithDialect", "mlir::tensor::TensorDialect",
                           "mlir::bufferization::BufferizationDialect"];
}

def QCGpuDeviceMemory : Pass<"qc-gpu-device-memory", "mlir::ModuleOp"> {
  let summary = "Places every buffer of the host functions in device memory";
  let description = [{
    Runs on bufferized IR (after `qc-externalize-weights`), before the
    linalg -> GPU mapping, on functions outside `gpu.module`s:

    * `memref.alloc` / `memref.dealloc` become `gpu.alloc` / `gpu.dealloc`
      (async on a fresh token, then waited: the runtime serializes them on
      the run's stream);
    * `memref.copy` becomes `linalg.copy`, which is then mapped to a GPU
      kernel like any other linalg op;
    * `memref.get_global` of an externalized weight (a global recorded in the
      `qc.weights` module attribute) reads the device pointer from an 8-byte
      slot of the same name (`llvm.mlir.global external @w : !llvm.ptr`),
      which the runtime fills at load time with the weight's device copy;
      the memref.global is erased.

    Buffers of `index` elements (shape operands of `memref.reshape`, written
    and read by the host) stay in host memory. Any other `memref.get_global`
    or a `memref.alloca` in host code is an error: the device could not read
    it.

    Example:

    ```mlir
    %w = memref.get_global @__constant_64xf32 : memref<64xf32>
    %a = memref.alloc(%m) : memref<?x64xf32>
    // becomes
    %s = llvm.mlir.addressof @__constant_64xf32 : !llvm.ptr
    %p = llvm.load %s : !llvm.ptr -> !llvm.ptr
    %w = builtin.unrealized_conversion_cast %desc : !llvm.struct<...> to memref<64xf32>
    %t = gpu.wait async
    %a, %t1 = gpu.alloc async [%t] (%m) : memref<?x64xf32>
    gpu.wait [%t1]
    ```
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::LLVM::LLVMDialect",
                           "mlir::linalg::LinalgDialect"];
}

def QCGpuCheckHostCode : Pass<"qc-gpu-check-host-code", "mlir::ModuleOp"> {
  let summary = "Rejects host code that would touch device memory";
  let description = [{
    Runs after `convert-parallel-loops-to-gpu`. In a GPU module every buffer
    is device memory, so a function outside `gpu.module`s must not load,
    store, copy or compute on buffer contents (memref.load/store,
    vector transfers, linalg ops, memref.copy; host shape buffers of `index`
    elements excepted): such an op (a loop nest the
    GPU mapping could not take, e.g. a full reduction to a scalar) is an
    error naming it.

    Example: a `memref.load %buf[%i]` left in `@main` after the mapping
    gives "host code would read or write device memory: memref.load".
  }];
}

def QCGpuLowerFloatLinear : Pass<"qc-gpu-lower-float-linear", "mlir::ModuleOp"> {
  let summary = "Lowers unquantized qc.linear to linalg for the GPU glue path";
  let description = [{
    Runs on tensors, before `convert-qc-to-linalg` (whose host matmul
    kernels are vector loops the GPU mapping cannot take). Every
    `qc.linear` left (a layer the policy keeps in floating point, e.g. the
    LM head) becomes, on its input collapsed to rows, a `linalg.fill` of an
    f32 accumulator and a `linalg.generic` (m, n parallel, k reduction)
    accumulating x[m, k] * w[n, k] in f32, then an elementwise generic
    adding the bias and casting to the result type (when there is a bias or
    the result is not f32). The GPU path maps the rows and columns to
    threads; each thread runs the K loop.
    Example:
    ```mlir
    %y = qc.linear %x, %w {layer = "output"}
        : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
    // becomes
    %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<?x32xf32>)
    %y = linalg.generic {iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<?x64xf32>, tensor<32x64xf32>) outs(%acc : tensor<?x32xf32>)
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def QCExpandDynamicReshapes
    : Pass<"qc-expand-dynamic-reshapes", "mlir::ModuleOp"> {
  let summary = "Rewrites memref.expand_shape with several dynamic sizes in "
                "one group as memref.reinterpret_cast";
  let description = [{
    Works around an upstream crash: `expand-strided-metadata` (MLIR 22)
    aborts on a `memref.expand_shape` that splits one dimension into two or
    more dynamic ones (`[B * T, d] -> [B, T, d]`, which a batched decode
    step has wherever the tokens of B sequences of T tokens are unflattened).
    For a source with the identity layout the expanded buffer is the same
    contiguous memory with row-major strides, so such an expand_shape becomes
    a `memref.reinterpret_cast` of the source at offset 0 with the expanded
    sizes and their suffix-product strides. Other expand_shapes are left to
    `expand-strided-metadata`. Runs before it.
    Example:
    ```mlir
    %e = memref.expand_shape %m [[0, 1], [2]] output_shape [%b, %t, 576]
        : memref<?x576xf32> into memref<?x?x576xf32>
    // becomes
    %s = arith.muli %t, %c576 : index
    %e = memref.reinterpret_cast %m to offset: [0], sizes: [%b, %t, 576],
        strides: [%s, 576, 1] : memref<?x576xf32> to memref<?x?x576xf32>
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

def QCGpuFuseGlue : Pass<"qc-gpu-fuse-glue", "mlir::ModuleOp"> {
  let summary = "Fuses elementwise glue into its consumers without "
                "recomputation";
  let description = [{
    `linalg-fuse-elementwise-ops` with a control that only fuses a producer
    into a consumer that reads each of its elements once (the consumer's
    indexing map of the fused operand is a permutation) and has no other
    user. The upstream default also fuses producers into consumers that
    broadcast them: RoPE of the queries fused into the attention scores
    recomputes every rotated element once per key (S times), which on the
    GPU glue path cost more than the whole step. Reshape folding and the
    linalg canonicalizations run as in the upstream pass.
    Example: a producer `%r = linalg.generic` (elementwise over [B, T, H, D])
    stays separate from a consumer indexing it as `(b, t, h, s, d) ->
    (b, t, h, d)` (S-fold reuse), but fuses into an elementwise consumer.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::affine::AffineDialect"];
}

def QCGpuSerialGlue : Pass<"qc-gpu-serial-glue", "mlir::ModuleOp"> {
  let summary = "Runs linalg ops without parallel loops on one GPU thread";
  let description = [{
    Runs on buffers, before `convert-linalg-to-parallel-loops`. A linalg op
    of a host function with no parallel iterator (a full reduction to a
    scalar, e.g. the sum of squares of an L2 normalization, or a rank-0
    fill) would become host loops on device memory; it is wrapped in a
    one-iteration `scf.parallel`, so the GPU mapping launches it as a
    kernel of one thread (its reduction runs sequentially there).
    Example:
    ```mlir
    linalg.generic {iterator_types = ["reduction"]} ins(%v : memref<384xf32>) outs(%s : memref<f32>)
    // becomes
    scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
      linalg.generic {iterator_types = ["reduction"]} ...
    }
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::scf::SCFDialect"];
}

def QCGpuFuseSiblingLoops
    : Pass<"qc-gpu-fuse-sibling-loops", "mlir::ModuleOp"> {
  let summary = "Runs independent neighbouring glue loops as one kernel";
  let description = [{
    Runs on the host functions' `scf.parallel` loops after
    `convert-linalg-to-parallel-loops`, before `qc-gpu-tile-glue`: each
    loop becomes one glue kernel, and a decode step of a Llama block has
    two loops back to back that do not depend on each other (the queries'
    RoPE; the keys' RoPE with the K and V cache writes). Every launch costs
    a few microseconds of a step, so such neighbours become one loop (one
    kernel):

    - both are outermost `scf.parallel` loops of one block with lower
      bounds 0, steps 1, no reductions and no nested `scf.parallel`, of
      the same rank;
    - their trip counts are equal in every dimension (shown equal through
      constants, `memref.dim` and the sizes of allocations and views) but
      at most one; the fused loop runs over the sum of that dimension and
      an `scf.if` picks the first loop's body below its trip count and the
      second's (index shifted) above; with all counts equal the bodies run
      one after the other;
    - neither writes a buffer the other reads or writes (buffers compared
      by the allocation or argument under their views: allocations are
      distinct from everything else, so are in-place arguments, which the
      module ABI forbids to overlap another argument), and the first
      may move down to the second: the operations between them only
      allocate, synchronize (`gpu.wait`) or touch other buffers.

    Chains fuse one after the other. Example (queries' RoPE, 32 heads, and
    the cache writes, 8 KV heads):

    ```mlir
    scf.parallel (%b, %t, %h, %d) = (%c0, %c0, %c0, %c0) to (%B, %T, %c32, %c128) step (...) { Q }
    scf.parallel (%b, %t, %h, %d) = (%c0, %c0, %c0, %c0) to (%B, %T, %c8, %c128) step (...) { KV }
    // becomes
    scf.parallel (%b, %t, %h, %d) = (%c0, %c0, %c0, %c0) to (%B, %T, %c40, %c128) step (...) {
      %q = arith.cmpi ult, %h, %c32 : index
      scf.if %q { Q } else { %h2 = arith.subi %h, %c32 : index  KV(%h2) }
    }
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::scf::SCFDialect"];
}

def QCGpuTileGlue : Pass<"qc-gpu-tile-glue", "mlir::ModuleOp"> {
  let summary = "Tiles the glue's parallel loops into blocks of threads";
  let description = [{
    Runs after `convert-linalg-to-parallel-loops`, before
    `gpu-map-parallel-loops` (which maps an outer `scf.parallel` to the grid
    and a nested one to the threads of a block). Every outermost
    `scf.parallel` of a host function without a nested `scf.parallel` and
    without reductions is tiled (`scf::tileParallelLoop`, constant inner
    bounds and an `scf.if` guard) so that a block has at most `block-size`
    threads: the innermost dimension first, each dimension taking the
    smallest power of two that covers its constant trip count (all that is
    left for a dynamic one). Only dimensions 0-2 become threads (x, y, z;
    gpu-map-parallel-loops runs further ones sequentially) and z takes at
    most 64 (the hardware limit). Sequential loops inside (the reduction of a
    norm, the K loop of a float linear) stay in the thread. A block-size
    outside [1, 1024] is an error.
    Example (block-size 256):
    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%m, %c576) step (%c1, %c1) { ... }
    // becomes
    scf.parallel (%i, %j) = (%c0, %c0) to (%m, %c576) step (%c1, %c256) {
      scf.parallel (%ti, %tj) = (%c0, %c0) to (%c1, %c256) step (%c1, %c1) {
        scf.if %in_bounds { ... }
      }
    }
    ```
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Most threads of a block">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::scf::SCFDialect"];
}

def QCGpuMergeKernelModules
    : Pass<"qc-gpu-merge-kernel-modules", "mlir::ModuleOp"> {
  let summary = "Merges the outlined glue kernels into one gpu.module, "
                "keeping one copy of identical kernels";
  let description = [{
    Runs after `gpu-kernel-outlining`, which puts every glue kernel in a
    `gpu.module` of its own: a model's blocks repeat the same norms,
    activations and attention steps, so most of those kernels are
    identical, and every module is later compiled and assembled (LLVM NVPTX
    back end + ptxas) on its own. This pass moves each kernel of a
    single-kernel module into one `gpu.module @qc_glue_kernels`; a kernel
    whose body, signature and attributes print the same as one already
    moved is dropped and its launches (`gpu.launch_func`) are redirected to
    the kept copy. Modules holding anything else (globals, several
    functions) and the hand-built kernels' `@qc_kernels_<chip>` module are
    left alone. `-mlir-pass-statistics` reports how many kernels were
    kept and merged.

    Example:

    ```mlir
    gpu.module @f_kernel { gpu.func @f_kernel(...) kernel { BODY } }
    gpu.module @f_kernel_0 { gpu.func @f_kernel(...) kernel { BODY } }
    gpu.launch_func @f_kernel::@f_kernel ...
    gpu.launch_func @f_kernel_0::@f_kernel ...
    // becomes
    gpu.module @qc_glue_kernels { gpu.func @f_kernel(...) kernel { BODY } }
    gpu.launch_func @qc_glue_kernels::@f_kernel ...
    gpu.launch_func @qc_glue_kernels::@f_kernel ...
    ```
  }];
  let statistics = [
    Statistic<"numKept", "kept", "Kernels moved into @qc_glue_kernels">,
    Statistic<"numMerged", "merged",
              "Kernels dropped as identical to a kept one">,
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect"];
}

def QCGpuTensorMapParams
    : Pass<"qc-gpu-tensor-map-params", "mlir::gpu::GPUModuleOp"> {
  let summary = "Makes the TMA tensor-map arguments of kernels grid constants";
  let description = [{
    A kernel that issues TMA copies (the warp-specialized wgmma GEMMs,
    `MmaTileConfig::tma`) takes each tensor map as a 128-byte
    `!llvm.array<16 x i64>` argument, which the host passes by value, and
    lists those arguments in `qc.tensor_map_args`; its body reads each map
    only through `builtin.unrealized_conversion_cast %map to !llvm.ptr` (its
    address). A TMA instruction needs that address in the parameter space:
    after `convert-gpu-to-nvvm`, this pass turns each listed argument of the
    `llvm.func` into a `!llvm.ptr` with `llvm.byval`, `llvm.align = 64` and
    `nvvm.grid_constant` (PTX `.param .align 64 .b8 p[128]`, addressed in
    place) and drops the casts. The host side (`gpu.launch_func`) keeps
    passing the 128 bytes; the driver lays them out the same way.

    Example:

    ```mlir
    llvm.func @k(%m: !llvm.array<16 x i64>) attributes {qc.tensor_map_args = array<i32: 0>} {
      %p = builtin.unrealized_conversion_cast %m : !llvm.array<16 x i64> to !llvm.ptr
      ...
    // becomes
    llvm.func @k(%m: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<16 x i64>, nvvm.grid_constant}) {
    ```
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect"];
}

def QCGpuDropBinaryTimings
    : Pass<"qc-gpu-drop-binary-timings", "mlir::ModuleOp"> {
  let summary = "Removes the compile-time measurements from gpu.binary objects";
  let description = [{
    `gpu-module-to-binary` records how long the NVPTX back end and ptxas
    took (`ISAToBinaryTimeInMs`, `LLVMIRToISATimeInMs`) in each object's
    `properties`. They differ from one compile to the next, so the emitted
    module (and the module identity hashed from it, docs/module-format.md)
    would too. This pass drops every `*TimeInMs` property and keeps the
    rest, so that the same input gives the same module bit for bit.

    Example:

    ```mlir
    gpu.binary @k [#gpu.object<#nvvm.target, properties = {ISAToBinaryTimeInMs = 264 : i64}, "...">]
    // becomes
    gpu.binary @k [#gpu.object<#nvvm.target, "...">]
    ```
  }];
}

def QCGpuDependentLaunch
    : Pass<"qc-gpu-dependent-launch", "mlir::ModuleOp"> {
  let summary = "Lets every GPU kernel start while the kernel before it "
                "finishes (programmatic dependent launch, sm_90)";
  let description = [{
    Inside a decode step the kernels run back to back, and each launch
    costs ~2 us between the end of one kernel and the start of the next
    (H100 run 3 profile: ~115 us of a 561 us 7B-shaped step). With
    programmatic dependent launch (sm_90), a kernel launched with the
    programmatic-stream-serialization attribute may start before the
    kernel it follows has finished, as long as it waits for it before
    touching memory.

    This pass makes every kernel of every `gpu.module` safe for that: its
    first operations are `griddepcontrol.wait` (wait until the previous
    grid has completed and its writes are visible: nothing is read or
    written before) and `griddepcontrol.launch_dependents` (the next kernel
    may be scheduled once every CTA of this one has started). The runtime
    (qcrt) launches with the attribute exactly the kernels whose PTX waits
    (docs/gpu-module.md), so a module without this pass, or one loaded as a
    cubin, keeps plain launches. A kernel whose entry block has an operation marked
    `qc.dependent_wait_after` (the matmul builders' L2 prefetch of their
    weights, which no kernel writes) gets the wait right after that
    operation instead, and the mark is removed. Run it only for targets with dependent
    launch (TargetInfo::dependentLaunch); qc-lower-to-gpu does.

    Example:

    ```mlir
    gpu.func @k(%a: !llvm.ptr<1>) kernel { BODY }
    // becomes
    gpu.func @k(%a: !llvm.ptr<1>) kernel {
      nvvm.griddepcontrol wait
      nvvm.griddepcontrol launch_dependents
      BODY
    }
    ```
  }];
  let statistics = [
    Statistic<"numKernels", "kernels", "Kernels that wait on their predecessor">,
  ];
  let dependentDialects = ["mlir::NVVM::NVVMDialect"];
}

#endif // QC_CONVERSION_QCTOGPU_PASSES_TD
