//===- qcw.cpp - libFuzzer target: the .qcw weights loader ----------------===//
//
// Any byte string as the .qcw file of a fixed module (two weights, exported
// by this binary): the loader returns a status, never crashes or writes
// past a weight global (ASan), and accepts only files whose identity,
// layout and checksums are right.
//
//===----------------------------------------------------------------------===//

// The loader is internal to Module.cpp: compiled into this target.
#include "../lib/Runtime/Module.cpp"

#include "FuzzSupport.h"

extern "C" {
// The module's weight globals (-rdynamic: dlsym finds them).
__attribute__((visibility("default"),
               aligned(64))) unsigned char qc_fuzz_w0[64];
__attribute__((visibility("default"),
               aligned(64))) unsigned char qc_fuzz_w1[100];
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static void *self = dlopen(nullptr, RTLD_NOW);
  qcfuzz::MemFile file(data, size);
  if (!file.ok())
    return 0;
  qcrt_module m;
  m.handle = self;
  m.target = "host";
  m.identity = 0x0123456789abcdefULL;
  m.identityHex = "0123456789abcdef";
  m.weights = {{"qc_fuzz_w0", 64}, {"qc_fuzz_w1", 100}};
  bool verify = size % 2 == 0; // both paths
  qcrt_status s = loadWeights(m, file.name(), "fuzz.so", verify);
  if (s != QCRT_OK && !*qcrt_last_error())
    abort();
  m.handle = nullptr; // not ours to close
  return 0;
}
