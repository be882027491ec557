//===- Policy.h - Policy checks for tools -----------------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The qc-policy file (docs/formats.md) as the tools and the Python package
// see it: qc-apply-policy's reader is the one schema; these functions let a
// caller check a policy against a model and read back what each layer got.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_TRANSFORMS_POLICY_H
#define QC_DIALECT_QC_TRANSFORMS_POLICY_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"

namespace qc {

/// Applies the policy file at `policyPath` to `module` with qc-apply-policy
/// (strict: a rule that matches no layer is an error) and returns, per
/// qc.linear, {"layer", "scheme" (a qc-policy scheme mapping, or "none"),
/// "batch_threshold"} plus "needs_stats" (a
/// scheme with SmoothQuant or static activation scales needs calibration
/// statistics). Problems are reported as diagnostics (then failure).
mlir::FailureOr<llvm::json::Value> checkPolicy(mlir::ModuleOp module,
                                               llvm::StringRef policyPath);

} // namespace qc

#endif // QC_DIALECT_QC_TRANSFORMS_POLICY_H
