#!/usr/bin/env bash
# The end-to-end decode benchmark on the GPU machine, from a folder made by
# prepare_e2e.py: builds qcrt, puts each model's weights file together (parts
# sent by earlier calls to this warm machine wait in /tmp; a sampled .qcw is
# expanded) and runs e2e_decode.py with the gpt-fast baselines when the
# anchors came along. Extra arguments go to e2e_decode.py.
#   usage: run_e2e.sh [--stash] [e2e_decode.py options]
#     --stash: only copy this folder's weight parts to /tmp (an earlier call)
#   PROFILE=1: also the ncu per-kernel breakdown of one decode step and a
#   memcheck of a short decode; PROFILE_MATCH=REGEX: profile only the
#   modules whose label matches; PROFILE_ONLY=1: only that;
#   NO_ANCHOR=1: skip the gpt-fast baselines; MODULES=REGEX: only the
#   modules whose label matches; QCRT_DEPENDENT_LAUNCH=0: every kernel
#   launched plainly (the A/B of programmatic dependent launch).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ "${1:-}" = --stash ]; then
  cp "$here"/*.qcwpart* /tmp/ 2>/dev/null; ls -la /tmp/*.qcwpart*; exit 0
fi
export OUT="${OUT:-$here/out}"
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader
date -u
build=/tmp/qcrt-e2e-build-$(basename "$here")
cmake -S "$here/rt/lib/Runtime" -B "$build" -DCMAKE_BUILD_TYPE=Release >/tmp/qcrt-cmake.log 2>&1 \
  || { cat /tmp/qcrt-cmake.log; exit 1; }
cmake --build "$build" -j16 2>&1 | grep -E "error|warning"
lib=$(find "$build" -name libqcrt.so | head -1)
[ -n "$lib" ] || { echo "runtime build failed (no libqcrt.so)"; exit 1; }
export QCRT_LIB="$lib" PYTHONPATH="$here/python${PYTHONPATH:+:$PYTHONPATH}"
args=()
python3 - "$here" <<'PY' > /tmp/e2e-modules.txt || exit 1
import json, os, subprocess, sys
here = sys.argv[1]
for m in json.load(open(os.path.join(here, "manifest.json"))):
    q = os.path.join(here, m["prefix"] + ".qcw")
    if "parts" in m:
        with open(q, "wb") as out:
            for p in m["parts"]:
                src = os.path.join(here, p) if os.path.exists(os.path.join(here, p)) else "/tmp/" + p
                out.write(open(src, "rb").read())
        import hashlib
        h = hashlib.sha256(open(q, "rb").read()).hexdigest()
        assert h == m["sha256"], f"{q}: checksum mismatch"
    else:
        subprocess.run([sys.executable, os.path.join(here, "qcw_sample.py"), "expand",
                        os.path.join(here, m["sample"]), q], check=True, stdout=sys.stderr)
    print(f"--module {m['label']}={os.path.join(here, m['prefix'])}")
PY
# MODULES=REGEX: only the modules whose label matches.
while read -r a b; do
  label="${b%%=*}"
  [[ "$label" =~ ${MODULES:-.} ]] && args+=("$a" "$b")
done < /tmp/e2e-modules.txt
# A weights file expanded from a sample keeps the original's section
# checksums (qcw_sample.py): skip the check for these speed runs.
grep -q '"sample"' "$here/manifest.json" && export QCRT_VERIFY_WEIGHTS=0
anchor=()
[ -d "$here/anchors" ] && [ "${NO_ANCHOR:-0}" != 1 ] && anchor=(--anchor "$here/anchors")
expect=(--expect-dir "$here")
if [ "${PROFILE:-0}" = 1 ]; then
  # Per-kernel time of one decode step and of a 512-token prefill (ncu,
  # caches not flushed between kernels, as in a real step) for every module,
  # and a memcheck of a short decode on the first.
  for ((i = 1; i < ${#args[@]}; i += 2)); do
    label="${args[i]%%=*}" prefix="${args[i]#*=}"
    [[ "$label" =~ ${PROFILE_MATCH:-.} ]] || continue
    ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv \
      python3 "$here/step_profile.py" run "$prefix" --steps 1 > "$OUT/ncu-$label.csv" 2>"$OUT/ncu-$label.err"
    echo "## $label: one decode step (batch 1)" | tee -a "$OUT/profile.md"
    python3 "$here/step_profile.py" table "$OUT/ncu-$label.csv" --calls 2 | tee -a "$OUT/profile.md"
    ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv \
      python3 "$here/step_profile.py" run "$prefix" --steps 0 --prefill 512 > "$OUT/ncu-$label-prefill.csv" 2>>"$OUT/ncu-$label.err"
    echo "## $label: prefill of 512 tokens" | tee -a "$OUT/profile.md"
    python3 "$here/step_profile.py" table "$OUT/ncu-$label-prefill.csv" --calls 1 | tee -a "$OUT/profile.md"
  done
  compute-sanitizer --tool memcheck --leak-check full \
    python3 "$here/step_profile.py" run "${args[1]#*=}" --steps 2 2>&1 | tail -4
  [ "${PROFILE_ONLY:-0}" = 1 ] && exit 0
fi
export TORCHINDUCTOR_COMPILE_THREADS=1
PYTHONUNBUFFERED=1 python3 "$here/e2e_decode.py" "${args[@]}" "${anchor[@]}" "${expect[@]}" "$@"
