/* A hand-written module exercising qcrt's result ownership rules
 * (docs/module-format.md): f(x: f32[?, 4]) returns
 *   r0: x itself (allocated == the input's pointer): copied, not freed;
 *   r1: a static constant marked 0xdeadbeef: copied, not freed;
 *   r2: a fresh malloc'd buffer 2*x: taken over;
 *   r3: the same buffer as r2 again: copied, freed once;
 *   r4: 3*x transposed, a strided view of a malloc'd buffer (rank 2,
 *       sizes [4, n], strides [1, 4]): copied, then freed. */
#include <stdint.h>
#include <stdlib.h>

typedef struct {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} d2;

const char *qc_module_info(void) {
  return "{\"format\":\"qc-module\",\"version\":2,\"identity\":\"0000000000000000\",\"target\":\"host\","
         "\"functions\":[{\"name\":\"f\",\"inputs\":[{\"dtype\":\"f32\","
         "\"shape\":[-1,4]}],\"outputs\":["
         "{\"dtype\":\"f32\",\"shape\":[-1,4]},{\"dtype\":\"f32\",\"shape\":[2,2]},"
         "{\"dtype\":\"f32\",\"shape\":[-1,4]},{\"dtype\":\"f32\",\"shape\":[-1,4]},"
         "{\"dtype\":\"f32\",\"shape\":[4,-1]}]}],\"weights\":[]}";
}

static float constant[4] = {1.5f, -2.0f, 3.25f, 4.0f};

void qc_entry_f(void **args) {
  d2 *x = (d2 *)args[0];
  d2 *r = (d2 *)args[1];
  int64_t n = x->sizes[0];
  r[0] = *x;
  d2 c = {(float *)(uintptr_t)0xdeadbeef, constant, 0, {2, 2}, {2, 1}};
  r[1] = c;
  float *twice = malloc(sizeof(float) * n * 4);
  for (int64_t i = 0; i < n * 4; ++i)
    twice[i] = 2 * x->aligned[i];
  d2 t = {twice, twice, 0, {n, 4}, {4, 1}};
  r[2] = t;
  r[3] = t;
  float *thrice = malloc(sizeof(float) * (n * 4 + 1));
  for (int64_t i = 0; i < n * 4; ++i)
    thrice[1 + i] = 3 * x->aligned[i];
  d2 v = {thrice, thrice, 1, {4, n}, {1, 4}};
  r[4] = v;
}
