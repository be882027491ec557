#!/usr/bin/env bash
# The one test command: installs dependencies, builds, and runs every test
# (lit regression and integration tests, which include the GoogleTest
# unit tests, the ThreadSanitizer test of the runtime and the short runs of
# the runtime's libFuzzer targets; docs/reliability.md).
#
#   scripts/test.sh              the suite on the release build (./build)
#   scripts/test.sh --sanitize   also builds the whole tree with clang,
#                                ASan + UBSan (+ libFuzzer coverage) in
#                                ./build-fuzz and runs the suite there: every
#                                test except the Python-package ones (an
#                                uninstrumented Python cannot load the ASan
#                                runtime through ctypes), plus the short runs
#                                of all six fuzz targets.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
sanitize=0
for a in "$@"; do
  case "$a" in
    --sanitize) sanitize=1 ;;
    *) echo "test.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
# The runtime's fuzz targets (seconds to build): their short runs are part
# of the suite (test/Fuzz).
if command -v clang++ >/dev/null 2>&1; then
  "$root/scripts/fuzz.sh" --build-only --targets "npy qcw module-info"
fi
"$root/scripts/build.sh" check-quant
# `pip install .` into a fresh virtual environment, used from outside the
# tree (the wheel reuses ./build: seconds).
"$root/scripts/pip_check.sh"
if [ "$sanitize" = 1 ]; then
  build="${QC_FUZZ_BUILD_DIR:-$root/build-fuzz}"
  "$root/scripts/fuzz.sh" --build-only
  ninja -C "$build" quant-opt quant-compile quant-run qcrt QCUnitTests qc-docs FileCheck count not 2>/dev/null ||
    ninja -C "$build" quant-opt quant-compile quant-run qcrt QCUnitTests qc-docs
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  QC_SANITIZED=1 QC_FUZZ_BUILD_DIR="$build" \
    /usr/lib/llvm-22/bin/lit -sv "$build/test"
fi
