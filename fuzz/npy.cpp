//===- npy.cpp - libFuzzer target: qcrt_npy_read --------------------------===//
//
// Any byte string as a .npy file: qcrt_npy_read returns a status, never
// crashes, never reads out of bounds (ASan), and a tensor it accepts has a
// consistent, checked size.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"
#include "qc/Runtime/qcrt.h"

#include <cstdlib>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  qcfuzz::MemFile file(data, size);
  if (!file.ok())
    return 0;
  qcrt_tensor t;
  if (qcrt_npy_read(file.name().c_str(), &t) != QCRT_OK) {
    if (t.data || !*qcrt_last_error())
      abort(); // a failure leaves no data and always has a message
    return 0;
  }
  uint64_t bytes;
  if (qcrt_tensor_bytes(&t, &bytes) != QCRT_OK || bytes > size)
    abort();
  // Touch every byte (ASan checks the buffer's extent).
  volatile unsigned char sink = 0;
  for (uint64_t i = 0; i < bytes; ++i)
    sink ^= static_cast<unsigned char *>(t.data)[i];
  (void)sink;
  qcrt_tensor_free(&t);
  return 0;
}
