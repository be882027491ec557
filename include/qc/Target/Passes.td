//===- Passes.td - Module emission passes ------------------*- tablegen -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#ifndef QC_TARGET_PASSES
#define QC_TARGET_PASSES

include "mlir/Pass/PassBase.td"

def ExternalizeWeights : Pass<"qc-externalize-weights", "mlir::ModuleOp"> {
  let summary = "Moves large constant globals out of the code into a weights "
                "table";
  let description = [{
    Weights are not compiled into a module's shared object: they go to the
    module's `.qcw` file and the runtime copies them into the globals at
    load time (docs/module-format.md).

    A `qc.external_weight` op (any stage before bufferization) becomes a
    `memref.get_global` + `bufferization.to_tensor restrict` of a new
    `memref.global` tagged with its path and offset (one global per
    path/offset/type), which is then externalized as below.

    Runs after bufferization, on `memref.global` or (after lowering)
    `llvm.mlir.global` ops. A constant global whose initializer is a dense
    or `dense_resource` elements attribute of at least `threshold-bytes`
    bytes, or any global tagged with `qc.external_path` (string) and
    `qc.external_offset` (integer) attributes (the lowering of
    `qc.external_weight`), becomes a public, mutable, zero-initialized
    (`.bss`) global aligned to 64 bytes. Its bytes are recorded in the
    `qc.weights` module attribute, an array of dictionaries
    `{symbol, bytes, value}` or `{symbol, bytes, path, offset}` that the
    module writer turns into the `.qcw` file. Relative paths are resolved
    against `base-dir`.

    Example (threshold 1024):

    ```mlir
    llvm.mlir.global private constant @__constant_64x32xf32(dense<...> :
        tensor<64x32xf32>) {alignment = 64 : i64} : !llvm.array<...>
    ```

    becomes

    ```mlir
    module attributes {qc.weights = [
        {bytes = 8192 : i64, symbol = "__constant_64x32xf32",
         value = dense<...>} ]} {
      llvm.mlir.global external @__constant_64x32xf32()
          {alignment = 64 : i64} : !llvm.array<...> {
        %0 = llvm.mlir.zero : !llvm.array<...>
        llvm.return %0 : !llvm.array<...>
      }
    }
    ```
  }];
  let options = [
    Option<"thresholdBytes", "threshold-bytes", "int64_t", "1024",
           "Constant globals of at least this many bytes are externalized">,
    Option<"baseDir", "base-dir", "std::string", "\"\"",
           "Directory relative qc.external_path values are resolved against">,
  ];
  let dependentDialects = ["mlir::LLVM::LLVMDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::bufferization::BufferizationDialect"];
}

#endif // QC_TARGET_PASSES
