/* Calls a module through its generated header only (no qcrt): fills the
 * weight global from raw bytes, calls proj through _mlir_ciface_proj and
 * through the packed qc_entry_proj, checks both agree, writes the result
 * and frees the callee-allocated buffers as docs/module-format.md says.
 * usage: direct_abi W.raw X.raw ROWS OUT.raw */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int readAll(const char *path, void *dst, size_t bytes) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0;
  size_t n = fread(dst, 1, bytes, f);
  fclose(f);
  return n == bytes;
}

int main(int argc, char **argv) {
  if (argc != 5)
    return 2;
  if (!readAll(argv[1], __constant_64x256xf32, sizeof(__constant_64x256xf32)))
    return 3;
  int64_t rows = atoll(argv[3]);
  float *x = malloc(rows * 64 * sizeof(float));
  if (!readAll(argv[2], x, rows * 64 * sizeof(float)))
    return 4;
  qc_memref_f32_2d in = {x, x, 0, {rows, 64}, {64, 1}};
  qc_proj_results direct, packed;
  _mlir_ciface_proj(&direct, &in);
  void *args[2] = {&in, &packed};
  qc_entry_proj(args);
  printf("sizes %lld x %lld strides %lld %lld\n",
         (long long)direct.r0.sizes[0], (long long)direct.r0.sizes[1],
         (long long)direct.r0.strides[0], (long long)direct.r0.strides[1]);
  size_t bytes = rows * 256 * sizeof(float);
  const float *a = direct.r0.aligned + direct.r0.offset;
  const float *b = packed.r0.aligned + packed.r0.offset;
  printf("packed == direct: %s\n", memcmp(a, b, bytes) == 0 ? "yes" : "no");
  FILE *f = fopen(argv[4], "wb");
  if (!f || fwrite(a, 1, bytes, f) != bytes)
    return 5;
  fclose(f);
  free(direct.r0.allocated);
  free(packed.r0.allocated);
  free(x);
  return 0;
}
