//===- TargetTable.h - The targets quant compiles for -----------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The one home of what quant knows about a compilation target: the chip, the
// PTX version and the instruction features its kernels may use, the SM count
// and shared-memory limits the kernel configs are sized with, and the
// bandwidth and peak figures of the cost model (qc-select-matmul). Every
// pass, tool, the runtime and Python ask this table (Python through
// `quant-compile --list-targets=json`); adding a target is one entry.
//
// Dependency-free C++17 (no LLVM), because the runtime, which is built on
// machines without MLIR, includes it too.
//
//===----------------------------------------------------------------------===//

#ifndef QC_TARGET_TARGETTABLE_H
#define QC_TARGET_TARGETTABLE_H

#include <cstdint>
#include <string>
#include <string_view>

namespace qc {

/// One compilation target.
struct TargetInfo {
  /// The name users pass to --target (`host`, `sm_90`).
  const char *name;
  /// What runs it.
  const char *description;
  /// A CUDA GPU (else the host CPU).
  bool gpu;
  /// CUDA compute capability (GPU targets).
  int ccMajor, ccMinor;
  /// PTX ISA version the kernels are emitted for (e.g. 80 for 8.0).
  int ptxVersion;
  /// Instruction features kernels may use.
  bool cpAsync, ldmatrix, mmaSync, wgmma, tma, fp8;
  /// Thread-block clusters with distributed shared memory (sm_90): the
  /// CTAs of a cluster read each other's shared memory, so split-K partial
  /// sums meet there instead of in a workspace and a second launch.
  bool clusters;
  /// Programmatic dependent launch (sm_90): a kernel may start while the
  /// one before it finishes, and waits for it (griddepcontrol) before
  /// touching memory; hides the launch gap between a step's kernels.
  bool dependentLaunch;
  /// Streaming multiprocessors of the reference part (split-K/stream-K,
  /// flash-decoding chunking size their grids to fill them).
  int smCount;
  /// Static shared memory a kernel may declare, and the opt-in maximum per
  /// block with dynamic shared memory, in bytes.
  int64_t staticSharedBytes, maxSharedBytesPerBlock;
  /// Cost model: DRAM read bandwidth (bytes/s) of the reference part, and
  /// the fraction of it a CUDA-core GEMV and a small-M tensor-core
  /// weight-only kernel stream (measured, docs/passes.md).
  double dramBandwidth, gemvBandwidthEff, mmaBandwidthEff;
  /// Cost model: CUDA-core FMA throughput (flop/s) and the dense fp16
  /// tensor-core throughput reached by mma.sync (flop/s, already times the
  /// efficiency the kernels reach).
  double fp32Flops, fp16TensorFlops;
  /// Cost model, measured small-M behaviour (2026-11-26 H200 notes,
  /// benchmarks/gpu/results/2026-11-26-h200-small-m/NOTES.md): the fraction
  /// of fp32Flops the GEMV family's per-row work reaches (it is issue-bound
  /// from M = 4 on: ~5.5 us per row at 8192 x 8192), and the time one CTA
  /// of the tensor-core kernels' 128 x 128 tile spends per 32-wide K step
  /// (a one-wave grid at M <= 128 is latency-bound: 190 us at K = 8192).
  double gemvFmaEff, mmaKStepSeconds;
  /// Kernel families allowed on this target, comma separated (names of
  /// `#qc.kernel` kinds).
  const char *families;
  /// Cost model: the dense fp16 throughput (flop/s, times the efficiency
  /// reached) of the wgmma kernels; 0 where the target has no wgmma.
  double wgmmaFlops = 0;

  /// The nvvm target features string, e.g. "+ptx80".
  std::string ptxFeatures() const {
    return "+ptx" + std::to_string(ptxVersion);
  }
  /// True when `family` is in `families`.
  bool allows(std::string_view family) const {
    std::string_view all = families;
    while (!all.empty()) {
      size_t comma = all.find(',');
      if (all.substr(0, comma) == family)
        return true;
      if (comma == std::string_view::npos)
        break;
      all.remove_prefix(comma + 1);
    }
    return false;
  }
};

/// Every target, host first. Figures are for the reference part named in
/// the description (SXM boards; the cost model ranks kernels, so a PCIe
/// board of the same chip ranks them the same way).
inline constexpr TargetInfo kTargets[] = {
    {"host",
     "the host CPU (reference; any machine)",
     false,
     0,
     0,
     0,
     /*cpAsync=*/false,
     /*ldmatrix=*/false,
     /*mmaSync=*/false,
     /*wgmma=*/false,
     /*tma=*/false,
     /*fp8=*/false,
     /*clusters=*/false,
     /*dependentLaunch=*/false,
     0,
     0,
     0,
     0,
     0,
     0,
     0,
     0,
     0,
     0,
     "host,adaptive"},
    {"sm_80", "NVIDIA Ampere (A100 SXM 80GB)", true, 8, 0, 70,
     /*cpAsync=*/true,
     /*ldmatrix=*/true,
     /*mmaSync=*/true,
     /*wgmma=*/false,
     /*tma=*/false,
     /*fp8=*/false,
     /*clusters=*/false,
     /*dependentLaunch=*/false, 108, 48 * 1024, 163 * 1024, 1.9e12, 0.9, 0.82,
     19.5e12, 0.9 * 312e12,
     // Not measured on an A100: the H200 figures.
     0.35, 0.74e-6, "gemv,mma,int8_mma,fp16_mma,adaptive,gemv_mma,frag"},
    // wgmma and FP8 tensor cores need the arch-specific sm_90a (its own
    // entry, with the Hopper kernels).
    {"sm_90",
     "NVIDIA Hopper (H100 SXM)",
     true,
     9,
     0,
     80,
     /*cpAsync=*/true,
     /*ldmatrix=*/true,
     /*mmaSync=*/true,
     /*wgmma=*/false,
     /*tma=*/true,
     /*fp8=*/false,
     /*clusters=*/true,
     /*dependentLaunch=*/true,
     132,
     48 * 1024,
     227 * 1024,
     3.08e12,
     0.9,
     0.56,
     67e12,
     0.75 * 989e12,
     0.35,
     0.74e-6,
     "gemv,mma,int8_mma,fp16_mma,adaptive,gemv_mma,frag"},
    // The arch-specific Hopper target (PTX `.target sm_90a`): sm_90's
    // kernels plus the ones that need wgmma (the frag family's large-M
    // variant). Modules run only on compute capability 9.0; `auto` picks it
    // there (the arch-specific entry of a chip comes last).
    {"sm_90a", "NVIDIA Hopper (H100 SXM), arch-specific (wgmma)", true, 9, 0,
     80,
     /*cpAsync=*/true,
     /*ldmatrix=*/true,
     /*mmaSync=*/true,
     /*wgmma=*/true,
     /*tma=*/true,
     /*fp8=*/true,
     /*clusters=*/true,
     /*dependentLaunch=*/true, 132, 48 * 1024, 227 * 1024, 3.08e12, 0.9, 0.56,
     67e12, 0.75 * 989e12, 0.35, 0.74e-6,
     "gemv,mma,int8_mma,fp16_mma,adaptive,gemv_mma,frag",
     // Measured (H100, 2026-12-07, run 6): the weight-only wgmma variant
     // at 517-539 TFLOP/s on the Llama shapes, M = 1024 / 4096.
     0.54 * 989e12},
};

/// Whether a module built for `t` runs on a device of compute capability
/// `major`.`minor` (arch-specific targets such as sm_90a only on their own
/// chip; the others also need exactly their chip: quant embeds PTX for one
/// architecture).
inline bool targetRunsOn(const TargetInfo &t, int major, int minor) {
  return t.gpu && t.ccMajor == major && t.ccMinor == minor;
}

/// The target called `name`, or null.
inline const TargetInfo *lookupTarget(std::string_view name) {
  for (const TargetInfo &t : kTargets)
    if (name == t.name)
      return &t;
  return nullptr;
}

/// The GPU target called `name`, or null (also for `host`).
inline const TargetInfo *lookupGpuTarget(std::string_view name) {
  const TargetInfo *t = lookupTarget(name);
  return t && t->gpu ? t : nullptr;
}

/// The target names for messages: "host, sm_80 or sm_90" (GPU targets only
/// with `gpuOnly`).
inline std::string targetNames(bool gpuOnly = false) {
  std::string out;
  size_t count = 0, total = 0;
  for (const TargetInfo &t : kTargets)
    total += !gpuOnly || t.gpu;
  for (const TargetInfo &t : kTargets) {
    if (gpuOnly && !t.gpu)
      continue;
    if (count)
      out += count + 1 == total ? " or " : ", ";
    out += t.name;
    ++count;
  }
  return out;
}

} // namespace qc

#endif // QC_TARGET_TARGETTABLE_H
