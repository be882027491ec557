#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, docs/reliability.md) in ./build-fuzz
# with clang, coverage instrumentation and ASan + UBSan over the whole tree,
# writes the seed corpora (from the tests) and runs every target for a
# bounded time. The results (executions, coverage, crashes) are printed per
# target and appended to build-fuzz/fuzz-results.txt.
#
#   scripts/fuzz.sh [--time S] [--runs N] [--targets "npy qcw ..."] [--jobs J]
#                   [--build-only] [--release-libs]
#
# --time S: seconds per target (default 60); --runs N: executions per target
# instead (the suite's short runs use test/Fuzz); --jobs J: parallel fuzzing
# processes per target (libFuzzer -fork). Crashes are written to
# build-fuzz/crashes/<target>/ and make the script exit 1.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${QC_FUZZ_BUILD_DIR:-$root/build-fuzz}"
time_s=60 runs="" jobs=1 build_only=0 release_libs=0
targets="npy qcw module-info mlir policy stats"
while [ $# -gt 0 ]; do
  case "$1" in
    --time) time_s="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --targets) targets="$2"; shift 2 ;;
    --build-only) build_only=1; shift ;;
    --release-libs) release_libs=1; shift ;;
    *) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(dirname "$root")}"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
if [ ! -f "$build/build.ninja" ]; then
  flags="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
  cmake -G Ninja -S "$root" -B "$build" "${launcher[@]}" \
    -DCMAKE_BUILD_TYPE=None -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DQC_FUZZ=ON -DQCRT_WITH_CUDA=OFF \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit >/dev/null
fi
bins=()
for t in $targets; do
  case "$t" in
    mlir|policy|stats)
      # --release-libs: the compiler targets linked against ./build's
      # (gcc, uninstrumented) libraries: only the harness is instrumented,
      # so libFuzzer has little coverage feedback inside the passes, but
      # crashes, aborts and hangs are still found. Seconds instead of a
      # full instrumented build of the tree.
      if [ "$release_libs" = 1 ]; then
        mkdir -p "$build/bin"
        rel="$root/build"
        src="$root/fuzz/$t.cpp"
        out="$build/bin/qc-fuzz-$t"
        if [ ! -x "$out" ] || [ "$src" -nt "$out" ] || [ "$rel/lib/libQCInitAll.a" -nt "$out" ]; then
          echo "fuzz.sh: building $out against $rel/lib"
          clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined \
            -fno-sanitize=vptr -fno-rtti -D_GLIBCXX_USE_CXX11_ABI=1 \
            -I/usr/lib/llvm-22/include -I"$root/include" -I"$rel/include" \
            "$src" -o "$out" -Wl,--start-group "$rel"/lib/lib*.a -Wl,--end-group \
            -L/usr/lib/llvm-22/lib -lMLIR -lLLVM -Wl,-rpath,/usr/lib/llvm-22/lib -ldl -lpthread
        fi
        continue
      fi ;;
  esac
  bins+=("qc-fuzz-$t")
done
[ ${#bins[@]} -gt 0 ] && ninja -C "$build" "${bins[@]}"
python3 "$root/fuzz/make_corpus.py" "$root" "$build/corpus"
[ "$build_only" = 1 ] && exit 0

status=0
for t in $targets; do
  corpus="$build/corpus/$t"
  crashes="$build/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  budget=(-max_total_time="$time_s")
  [ -n "$runs" ] && budget=(-runs="$runs")
  log="$build/fuzz-$t.log"
  # ASan: no leak checking (MLIR's context caches), abort on error.
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$build/bin/qc-fuzz-$t" "${budget[@]}" -rss_limit_mb=4096 -timeout=30 \
      -max_len=65536 -artifact_prefix="$crashes/" -print_final_stats=1 \
      $( [ "$jobs" -gt 1 ] && echo "-fork=$jobs -ignore_crashes=1" ) \
      "$corpus" >"$log" 2>&1 || status=1
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  ncrash=$(ls "$crashes" | wc -l)
  line="$(date -u +%FT%TZ) $t: executions=$execs coverage(edges)=${cov:-?} features=${ft:-?} corpus=$(ls "$corpus" | wc -l) crashes=$ncrash"
  echo "$line" | tee -a "$build/fuzz-results.txt"
done
exit $status
