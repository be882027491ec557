#!/usr/bin/env python3
"""Works around a ptxas bug of CUDA 13.1 in a copy of the Marlin anchor.

ptxas 13.1 drops the `createpolicy` of Marlin's `cp_async4_stream` on sm_90
while keeping the `cp.async ... L2::cache_hint` that reads it: the LDGSTS
reads an unset uniform register as its cache descriptor and traps with
"illegal instruction" (`Marlin<256,1,8,8,4,8>+0x1170` on our H100 image;
IST-DASLab/marlin issue 44). The anchor itself is not touched: this copies
ANCHORS to DEST and rewrites that one helper in DEST's kernel source.

  marlin_patch.py ANCHORS DEST policy   createpolicy in its own asm statement,
                                        its 64-bit result passed to cp.async
                                        (same evict_first hint)
  marlin_patch.py ANCHORS DEST nohint   plain cp.async.cg (no L2 hint; the
                                        workaround given in issue 44)
"""
import os
import re
import shutil
import sys

ORIGINAL = re.compile(r"__device__ inline void cp_async4_stream\(.*?\n}\n", re.S)

POLICY = """__device__ inline void cp_async4_stream(void* smem_ptr, const void* glob_ptr) {
  const int BYTES = 16;
  uint32_t smem = static_cast<uint32_t>(__cvta_generic_to_shared(smem_ptr));
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\\n" : "=l"(policy));
  asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], %2, %3;\\n"
               :: "r"(smem), "l"(glob_ptr), "n"(BYTES), "l"(policy));
}
"""

NOHINT = """__device__ inline void cp_async4_stream(void* smem_ptr, const void* glob_ptr) {
  const int BYTES = 16;
  uint32_t smem = static_cast<uint32_t>(__cvta_generic_to_shared(smem_ptr));
  asm volatile("cp.async.cg.shared.global [%0], [%1], %2;\\n"
               :: "r"(smem), "l"(glob_ptr), "n"(BYTES));
}
"""


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("policy", "nohint"):
        sys.exit(__doc__)
    src, dest, how = sys.argv[1:]
    text = open(f"{src}/marlin/marlin_cuda_kernel.cu").read()
    new, n = ORIGINAL.subn(lambda _: POLICY if how == "policy" else NOHINT, text)
    if n != 1:
        sys.exit(f"marlin_patch.py: expected one cp_async4_stream in {src}, found {n}")
    kernel = f"{dest}/marlin/marlin_cuda_kernel.cu"
    if os.path.exists(kernel) and open(kernel).read() == new:
        return  # already there: keep its mtime, so that a finished build is reused
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest)
    open(kernel, "w").write(new)
    print(f"MARLIN_PATCH {how}: cp_async4_stream rewritten in {kernel}")


if __name__ == "__main__":
    main()
