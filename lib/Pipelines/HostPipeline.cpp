//===- HostPipeline.cpp - The qc-lower-to-host pipeline ---------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc (and linalg/tensor glue) on tensors -> LLVM dialect for the CPU host:
//
//   convert-qc-to-linalg        qc ops -> blocked vector kernels + generics
//   qc-host-prepare-functions   C interface, read-only args, decompose softmax
//   qc-host-approximate-exp     f32 math.exp -> polynomial (vectorizable)
//   canonicalize, cse (no linalg elementwise fusion: its reshape propagation
//   creates multi-dynamic expand_shapes that LLVM 22 cannot lower)
//   one-shot-bufferize          function boundaries, identity layouts
//   qc-drop-inplace-results     in-place arguments (KV caches): result dropped
//   qc-lower-cache-writes       buffer-form qc.cache_write -> scf.parallel
//   buffer-deallocation-pipeline  temporaries freed; results owned by caller
//   convert-bufferization-to-memref  clones of returned aliases -> copies
//   qc-host-lower-strided-copies  no memrefCopy runtime dependency
//   convert-linalg-to-loops, vector-to-scf, expand-strided-metadata,
//   lower-affine, scf-to-cf
//   math/vector/memref/func/arith/cf/index -> llvm, reconcile-unrealized-casts
//
// With `parallel`, the matmul kernels are outlined in destination-passing
// style over a range of column panels, their equivalent results dropped after
// bufferization, and their calls finally routed through qcrt_parallel_for
// (qc-host-parallelize-calls).
//
//===----------------------------------------------------------------------===//

#include "qc/Conversion/Passes.h"
#include "qc/Pipelines/Pipelines.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void qc::buildHostLoweringPipeline(OpPassManager &pm,
                                   const HostLoweringPipelineOptions &options) {
  qc::ConvertQCToLinalgOptions qcOpts;
  qcOpts.parallelKernels = options.parallel;
  pm.addPass(qc::createConvertQCToLinalg(qcOpts));
  pm.addPass(qc::createQCHostPrepareFunctions());
  pm.addPass(qc::createQCHostApproximateExp());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  bufferization::OneShotBufferizePassOptions bufOpts;
  bufOpts.bufferizeFunctionBoundaries = true;
  bufOpts.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  // Identity layouts everywhere: no strided copies that would need the MLIR
  // C runner library (memrefCopy) at run time.
  bufOpts.unknownTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufOpts));
  // The in-place ABI: results equivalent to a qc.inplace argument (a KV
  // cache updated by qc.cache_write) are dropped; then the buffer-form
  // cache writes become loops.
  pm.addPass(qc::createQCDropInPlaceResults());
  pm.addPass(qc::createQCLowerCacheWrites());
  // Parallel kernels write their output argument in place and return it:
  // drop that result, so the call is a plain store into the caller's buffer
  // (qc-host-parallelize-calls needs void callees). The canonicalizer first
  // folds the loops' memref iter_args, so the returned value is the argument
  // itself.
  if (options.parallel) {
    pm.addPass(createCanonicalizerPass());
    pm.addPass(bufferization::createDropEquivalentBufferResultsPass());
  }
  // Temporaries are freed; returned buffers are owned (and freed with free())
  // by the caller.
  bufferization::BufferDeallocationPipelineOptions deallocOpts;
  bufferization::buildBufferDeallocationPipeline(pm, deallocOpts);
  // bufferization.clone (results that alias arguments or globals) -> copies.
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(createCanonicalizerPass());

  pm.addNestedPass<func::FuncOp>(qc::createQCHostLowerStridedCopies());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  // bf16 arithmetic in f32, bf16 <-> f32 conversions as bit operations
  // (LLVM's CPU backends would call __truncsfbf2).
  pm.addPass(qc::createQCHostLowerBF16());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  if (options.parallel)
    pm.addPass(qc::createQCHostParallelizeCalls());
}
