//===- InitAll.cpp - Register everything quant tools need -------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/InitAll.h"
#include "qc/Conversion/Passes.h"
#include "qc/Conversion/QCToGPU/Pipeline.h"
#include "qc/Conversion/QCToNVVM/Passes.h"
#include "qc/Dialect/QC/IR/QC.h"
#include "qc/Dialect/QC/Transforms/BufferizableOpInterfaceImpl.h"
#include "qc/Dialect/QC/Transforms/Limits.h"
#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Pipelines/Pipelines.h"
#include "qc/Target/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void qc::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<mlir::qc::QCDialect, mlir::arith::ArithDialect,
                  mlir::bufferization::BufferizationDialect,
                  mlir::func::FuncDialect, mlir::gpu::GPUDialect,
                  mlir::LLVM::LLVMDialect, mlir::NVVM::NVVMDialect,
                  mlir::linalg::LinalgDialect, mlir::math::MathDialect,
                  mlir::memref::MemRefDialect, mlir::quant::QuantDialect,
                  mlir::scf::SCFDialect, mlir::tensor::TensorDialect,
                  mlir::vector::VectorDialect>();
  // Interfaces (bufferization, inlining, LLVM conversion, ...) and
  // translations of the upstream dialects; the NVVM target attribute.
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  mlir::qc::registerBufferizableOpInterfaceExternalModels(registry);
}

void qc::registerAllPasses() {
  mlir::registerAllPasses();
  mlir::qc::registerQCPasses();
  qc::registerCheckLimitsPass();
  qc::registerQCPipelines();
  qc::registerQCConversionPasses();
  mlir::qc::registerQCToNVVMPasses();
  qc::registerQCTargetPasses();
  qc::registerGpuLoweringPipeline();
}
