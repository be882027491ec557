// One loaded module run concurrently from several threads must give the
// same results as sequential runs (docs/module-format.md "Threads").
// Built by test/Integration/threads.test, also under ThreadSanitizer with
// the runtime sources compiled in.
#include "qc/Runtime/qcrt.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

static void check(qcrt_status s, const char *what) {
  if (s != QCRT_OK) {
    fprintf(stderr, "%s: %s\n", what, qcrt_last_error());
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc < 3)
    return 2;
  const char *fn = argv[2];
  int nThreads = argc > 3 ? atoi(argv[3]) : 8;
  int reps = argc > 4 ? atoi(argv[4]) : 20;
  qcrt_module *m;
  check(qcrt_module_load(argv[1], &m), "load");
  qcrt_tensor desc;
  check(qcrt_module_signature(m, fn, 0, 0, &desc), "signature");
  const int kInputs = 6;
  std::vector<std::vector<float>> data(kInputs);
  std::vector<qcrt_tensor> inputs(kInputs);
  for (int i = 0; i < kInputs; ++i) {
    qcrt_tensor t = desc;
    for (int d = 0; d < t.rank; ++d)
      if (t.shape[d] < 0)
        t.shape[d] = 3 + i; // several token counts
    int64_t n = qcrt_tensor_numel(&t);
    data[i].resize(n);
    for (int64_t k = 0; k < n; ++k)
      data[i][k] = static_cast<float>(((k * 37 + i * 11) % 23) - 11) / 7.0f;
    t.data = data[i].data();
    t.owner = nullptr;
    t.device = QCRT_DEVICE_HOST;
    inputs[i] = t;
  }
  // Sequential reference.
  std::vector<std::vector<char>> ref(kInputs);
  for (int i = 0; i < kInputs; ++i) {
    qcrt_tensor out;
    check(qcrt_module_run(m, fn, &inputs[i], 1, &out, 1), "run");
    uint64_t bytes;
    check(qcrt_tensor_bytes(&out, &bytes), "bytes");
    ref[i].assign(static_cast<char *>(out.data),
                  static_cast<char *>(out.data) + bytes);
    qcrt_tensor_free(&out);
  }
  // Concurrent runs, plus errors on some threads (per-thread messages).
  std::vector<int> mismatches(nThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < nThreads; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < reps; ++r) {
        int i = (t + r) % kInputs;
        qcrt_tensor out;
        if (qcrt_module_run(m, fn, &inputs[i], 1, &out, 1) != QCRT_OK) {
          ++mismatches[t];
          continue;
        }
        uint64_t bytes = 0;
        qcrt_tensor_bytes(&out, &bytes);
        if (bytes != ref[i].size() ||
            memcmp(out.data, ref[i].data(), bytes) != 0)
          ++mismatches[t];
        qcrt_tensor_free(&out);
        if (r % 5 == 0) {
          qcrt_tensor bad = inputs[i];
          bad.rank = 7;
          qcrt_tensor o2;
          if (qcrt_module_run(m, fn, &bad, 1, &o2, 1) == QCRT_OK ||
              !strstr(qcrt_last_error(), "wrong rank"))
            ++mismatches[t];
        }
      }
    });
  for (std::thread &th : threads)
    th.join();
  int total = 0;
  for (int v : mismatches)
    total += v;
  qcrt_module_unload(m);
  printf("threads=%d runs=%d mismatches=%d\n", nThreads, nThreads * reps,
         total);
  return total ? 1 : 0;
}
