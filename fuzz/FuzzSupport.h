//===- FuzzSupport.h - Helpers shared by the libFuzzer targets --*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#ifndef QC_FUZZ_FUZZSUPPORT_H
#define QC_FUZZ_FUZZSUPPORT_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace qcfuzz {

/// The fuzz input as a file (an anonymous memory file, no disk I/O) for
/// readers that take a path; closed (and gone) at scope exit.
class MemFile {
public:
  MemFile(const uint8_t *data, size_t size) {
    fd = memfd_create("qc-fuzz", 0);
    if (fd < 0)
      return;
    size_t done = 0;
    while (done < size) {
      ssize_t n = write(fd, data + done, size - done);
      if (n <= 0)
        break;
      done += static_cast<size_t>(n);
    }
    path = "/proc/self/fd/" + std::to_string(fd);
  }
  ~MemFile() {
    if (fd >= 0)
      close(fd);
  }
  bool ok() const { return fd >= 0; }
  const std::string &name() const { return path; }

private:
  int fd = -1;
  std::string path;
};

} // namespace qcfuzz

#endif // QC_FUZZ_FUZZSUPPORT_H
