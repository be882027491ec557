//===- GpuModule.h - GPU (sm_80/sm_90) quant modules ------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// What a GPU module adds to the host module format (docs/module-format.md,
// "GPU modules"): the device code format chosen from the CUDA toolkit found,
// the module info fields and the header note.
//
//===----------------------------------------------------------------------===//

#ifndef QC_TARGET_GPUMODULE_H
#define QC_TARGET_GPUMODULE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace qc {

struct EntryPoint;

/// Module attribute (an array of function names) that qc-gpu-device-memory
/// sets on the lowered module: the functions whose host code reads device
/// memory mid-run (a scalar that sizes loops). Their runs synchronize, so
/// they cannot be captured as CUDA graphs; the module info's "host_sync"
/// says it per entry point.
constexpr llvm::StringLiteral kHostSyncAttr = "qc.host_sync";

/// Sets EntryPoint::hostSync from the kHostSyncAttr list of the lowered
/// `module`, and removes the attribute.
void takeHostSyncFunctions(mlir::ModuleOp module,
                           std::vector<EntryPoint> &entryPoints);

/// True for the GPU targets quant-compile accepts (sm_80, sm_90).
bool isGpuTarget(llvm::StringRef target);

/// The CUDA toolkit used for device code: `explicitPath` if non-empty, else
/// $CUDA_HOME, $CUDA_PATH, /usr/local/cuda. Returns "" when none has
/// nvvm/libdevice/libdevice.10.bc (the math functions kernels call).
std::string findCudaToolkit(llvm::StringRef explicitPath);

/// gpu-module-to-binary format for a toolkit: "fatbin" (cubin + PTX) when
/// ptxas and fatbinary are there, "isa" (PTX only, JIT-compiled by the
/// driver at load) otherwise.
std::string gpuBinaryFormat(llvm::StringRef toolkit);

/// Adds the GPU fields to a qc_module_info JSON object: "weight_storage":
/// "device", "device_code": format and "dependent_launch": whether every
/// kernel waits for its predecessor first (qc-gpu-dependent-launch ran), so
/// that qcrt may launch them early (docs/gpu-module.md).
std::string addGpuModuleInfo(llvm::StringRef infoJson, llvm::StringRef format,
                             bool dependentLaunch);

/// The header comment of a GPU module, placed before the generated header.
std::string gpuHeaderNote(llvm::StringRef target, llvm::StringRef format);

} // namespace qc

#endif // QC_TARGET_GPUMODULE_H
