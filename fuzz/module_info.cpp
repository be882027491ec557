//===- module_info.cpp - libFuzzer target: the module-info JSON -----------===//
//
// Any byte string as qc_module_info(): the JSON reader and the module-info
// checks return a status, never crash; an accepted module has sane
// signatures (rank <= QCRT_MAX_RANK, known dtypes).
//
//===----------------------------------------------------------------------===//

#include "../lib/Runtime/Module.cpp"

// Entry points the fuzzed info may name (-rdynamic: dlsym finds them).
extern "C" __attribute__((visibility("default"))) void qc_entry_f(void **) {}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static void *self = dlopen(nullptr, RTLD_NOW);
  qcrt_module m;
  m.handle = self;
  m.infoJson.assign(reinterpret_cast<const char *>(data), size);
  qcrt_status s = parseModuleInfo(m, "fuzz.so");
  if (s != QCRT_OK) {
    if (!*qcrt_last_error())
      abort();
  } else {
    for (const Function &f : m.functions)
      for (int io = 0; io < 2; ++io)
        for (const TensorSig &sig : io ? f.outputs : f.inputs)
          if (sig.shape.size() > QCRT_MAX_RANK ||
              qcrt_dtype_size(sig.dtype) == 0)
            abort();
  }
  m.handle = nullptr;
  return 0;
}
