/* A C program using the qcrt API: loads a module, lists it, checks the
 * runtime's input validation and error reporting, runs a function on .npy
 * inputs and writes its outputs; then checks calibration errors.
 * usage: run_module PREFIX FUNCTION OUTDIR IN.npy... */
#include "qc/Runtime/qcrt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                            \
  do {                                                                         \
    qcrt_status s_ = (call);                                                   \
    if (s_ != QCRT_OK) {                                                       \
      fprintf(stderr, "%s failed: %s: %s\n", #call, qcrt_status_name(s_),      \
              qcrt_last_error());                                              \
      return 1;                                                                \
    }                                                                          \
  } while (0)

int main(int argc, char **argv) {
  if (argc < 4)
    return 2;
  qcrt_module *m = NULL;
  CHECK(qcrt_module_load(argv[1], &m));
  printf("target %s, %d functions\n", qcrt_module_target(m),
         qcrt_module_function_count(m));
  const char *fn = argv[2];
  int32_t nin = 0, nout = 0;
  CHECK(qcrt_module_function_arity(m, fn, &nin, &nout));
  printf("%s: %d inputs, %d outputs\n", fn, nin, nout);
  if (nin != argc - 4 || nin > 8 || nout > 8)
    return 2;
  qcrt_tensor in[8], out[8];
  for (int i = 0; i < nin; ++i)
    CHECK(qcrt_npy_read(argv[4 + i], &in[i]));

  /* Errors come back as status + message, never abort. */
  qcrt_status s = qcrt_module_run(m, "nope", in, nin, out, nout);
  printf("unknown function: %s: %s\n", qcrt_status_name(s), qcrt_last_error());
  s = qcrt_module_run(m, fn, in, nin - 1, out, nout);
  printf("missing input: %s: %s\n", qcrt_status_name(s), qcrt_last_error());
  qcrt_tensor bad[8];
  memcpy(bad, in, sizeof(qcrt_tensor) * nin);
  bad[0].dtype = QCRT_F16;
  s = qcrt_module_run(m, fn, bad, nin, out, nout);
  printf("wrong dtype: %s: %s\n", qcrt_status_name(s), qcrt_last_error());
  bad[0].dtype = in[0].dtype;
  bad[nin - 1].shape[bad[nin - 1].rank - 1] += 1;
  s = qcrt_module_run(m, fn, bad, nin, out, nout);
  printf("wrong static dim: %s: %s\n", qcrt_status_name(s), qcrt_last_error());
  bad[nin - 1] = in[nin - 1];
  bad[0].rank = 2;
  s = qcrt_module_run(m, fn, bad, nin, out, nout);
  printf("wrong rank: %s: %s\n", qcrt_status_name(s), qcrt_last_error());
  qcrt_run_options opts;
  memset(&opts, 0, sizeof(opts));
  opts.struct_size = sizeof(opts);
  opts.device = QCRT_DEVICE_CUDA;
  s = qcrt_module_run_ex(m, fn, in, nin, out, nout, &opts);
  printf("device: %s: %s\n", qcrt_status_name(s), qcrt_last_error());

  /* Twice: outputs are fresh allocations each time. */
  for (int rep = 0; rep < 2; ++rep) {
    CHECK(qcrt_module_run(m, fn, in, nin, out, nout));
    for (int o = 0; o < nout; ++o) {
      if (rep == 1) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/out_%d.npy", argv[3], o);
        CHECK(qcrt_npy_write(path, &out[o]));
        printf("output %d: %s rank %d\n", o, qcrt_dtype_name(out[o].dtype),
               out[o].rank);
      }
      qcrt_tensor_free(&out[o]);
    }
  }
  for (int i = 0; i < nin; ++i)
    qcrt_tensor_free(&in[i]);
  qcrt_module_unload(m);

  /* Calibration: the channel count of a layer must not change. */
  float rows[8] = {1, -2, 3, -4, 5, -6, 7, -8};
  qcrt_observe("layer.a", rows, 2, 4, 1, -1.0);
  qcrt_observe("layer.a", rows, 4, 2, 1, -1.0);
  s = qcrt_stats_write("/dev/null/never-written.json");
  printf("calibration: %s: %s\n", qcrt_status_name(s), qcrt_last_error());
  return 0;
}
