//===- KernelListing.h - Print the kernel family registry ------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// `quant-compile --list-kernels`: the kernel family registry
// (KernelFamilies.h) as text or JSON, for users, the docs and the benchmark
// harness. Separate from KernelFamilies.h so that tools print it without the
// dialect's headers.
//
//===----------------------------------------------------------------------===//

#ifndef QC_KERNELS_KERNELLISTING_H
#define QC_KERNELS_KERNELLISTING_H

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace qc {

/// How the registry is printed: for people, tools or docs/generated.
enum class KernelListingFormat { Text, Json, Markdown };

/// Prints every kernel family: its ops, builders, tilings, targets and
/// kernel arguments.
void printKernelFamilies(llvm::raw_ostream &os, KernelListingFormat format);

} // namespace qc

#endif // QC_KERNELS_KERNELLISTING_H
