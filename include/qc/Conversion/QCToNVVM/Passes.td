//===- Passes.td - qc GPU kernel passes --------------------*- tablegen -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#ifndef QC_CONVERSION_QCTONVVM_PASSES_TD
#define QC_CONVERSION_QCTONVVM_PASSES_TD

include "mlir/Pass/PassBase.td"

def QCOutlineGpuKernels : Pass<"qc-outline-gpu-kernels", "ModuleOp"> {
  let summary = "Builds the device kernel of every GPU-targeted quantized matmul";
  let description = [{
    For every `qc.wo_matmul` / `qc.int8_matmul` whose `#qc.kernel` targets
    sm_80 or sm_90, builds the kernel the attribute names with the named
    kernel builders (KernelBuilders.h) into a `gpu.module @qc_kernels` carrying
    an `#nvvm.target` for the chip, and records on the op the kernel symbol
    and its launch geometry (`qc.kernel_symbol`, `qc.launch`). Serializing
    the module with `gpu-module-to-binary` yields PTX/cubin.

    Example:

    ```mlir
    %y = qc.wo_matmul %x, %pw {layer = "up", kernel = #qc.kernel<gemv, target = "sm_90">} ...
    // becomes
    %y = qc.wo_matmul %x, %pw {layer = "up", kernel = ...,
                               qc.kernel_symbol = @qc_kernels::@up_gemv,
                               qc.launch = {block = 128, rows_per_block = 8, m_tiles = [1, 2, 4]}} ...
    gpu.module @qc_kernels_sm_90 [#nvvm.target<chip = "sm_90", O = 3>] {
      gpu.func @up_gemv_mt1(...) kernel { ... }
      gpu.func @up_gemv_mt2(...) kernel { ... }
      gpu.func @up_gemv_mt4(...) kernel { ... }
    }
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect", "::mlir::math::MathDialect"];
  let options = [
    Option<"warpsPerBlock", "warps-per-block", "int64_t", "4",
           "Warps per block of the GEMV kernel">,
    Option<"rowsPerWarp", "rows-per-warp", "int64_t", "2",
           "Output channels per warp of the GEMV kernel">,
    ListOption<"mTiles", "m-tiles", "int64_t",
               "GEMV variants to build, one per activation-row tile; the "
               "launcher picks the smallest tile >= M, else the largest">,
  ];
}

#endif // QC_CONVERSION_QCTONVVM_PASSES_TD
