//===- PtxEntries.h - Which PTX kernels wait for their predecessor -*- C++
//-*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qcrt launches a kernel with programmatic dependent launch (sm_90: it may
// start while the kernel before it finishes) only when the kernel's own code
// waits for that kernel first (`griddepcontrol.wait`, inserted by
// qc-gpu-dependent-launch). The PTX of a module is the ground truth for
// that, so qcrt reads it from the PTX it JIT-loads: a module compiled without
// the pass, or a hand-written kernel, keeps plain launches. Header only and
// dependency free (the runtime has no LLVM); tested in
// unittests/RuntimeTest.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef QC_RUNTIME_PTXENTRIES_H
#define QC_RUNTIME_PTXENTRIES_H

#include <string>
#include <string_view>
#include <vector>

namespace qc {

/// The names of the `.entry` functions of `ptx` whose body (up to the next
/// `.entry`, `.func` or the end) executes `griddepcontrol.wait` before any
/// load, store, atomic or asynchronous copy. An L2 prefetch
/// (`cp.async.bulk.prefetch`, the matmul kernels' weight prologue) may come
/// first: it produces no value and L2 is coherent, so it cannot observe a
/// predecessor's write early. Comments are not parsed: the text comes from
/// the NVPTX back end.
inline std::vector<std::string>
kernelsWaitingForPredecessor(std::string_view ptx) {
  std::vector<std::string> names;
  auto isSpace = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  };
  size_t pos = 0;
  while ((pos = ptx.find(".entry", pos)) != std::string_view::npos) {
    size_t at = pos + 6;
    pos = at;
    if (at >= ptx.size() || !isSpace(ptx[at]))
      continue;
    while (at < ptx.size() && isSpace(ptx[at]))
      ++at;
    size_t nameEnd = at;
    while (nameEnd < ptx.size() && !isSpace(ptx[nameEnd]) &&
           ptx[nameEnd] != '(')
      ++nameEnd;
    if (nameEnd == at)
      continue;
    size_t bodyEnd =
        std::min(ptx.find(".entry", nameEnd), ptx.find(".func", nameEnd));
    std::string_view body = ptx.substr(
        nameEnd, bodyEnd == std::string_view::npos ? std::string_view::npos
                                                   : bodyEnd - nameEnd);
    size_t wait = body.find("griddepcontrol.wait");
    if (wait == std::string_view::npos)
      continue;
    // Nothing touches memory before the wait.
    std::string_view before = body.substr(0, wait);
    bool early = false;
    for (std::string_view op : {"ld.", "st.", "atom.", "red.", "cp.async"}) {
      for (size_t i = before.find(op); i != std::string_view::npos;
           i = before.find(op, i + 1))
        if (i == 0 || isSpace(before[i - 1])) {
          // `ld.param` reads the launch parameters, not device memory; an
          // L2 prefetch reads nothing into the kernel.
          if (before.substr(i, 8) != "ld.param" &&
              before.substr(i, 22) != "cp.async.bulk.prefetch")
            early = true;
        }
    }
    if (!early)
      names.emplace_back(ptx.substr(at, nameEnd - at));
  }
  return names;
}

} // namespace qc

#endif // QC_RUNTIME_PTXENTRIES_H
