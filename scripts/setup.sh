#!/usr/bin/env bash
# Installs every system and Python dependency of quant. Idempotent: a second
# run installs nothing. Needs root (or sudo) for apt-get on a fresh machine.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

APT_PKGS=(cmake ninja-build g++ python3 python3-pip
          llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
          libgtest-dev
          # GPTQ's blocked linear algebra (BLAS + LAPACK).
          libopenblas-dev
          # clang with its runtimes: libFuzzer targets, ASan/UBSan/TSan
          # builds (scripts/fuzz.sh, scripts/test.sh; docs/reliability.md).
          clang libclang-rt-dev)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  # LLVM/MLIR 22 come from bookworm-security on Debian 12.
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

# scikit-build-core: `pip install .` (pyproject.toml; scripts/pip_check.sh).
PY_PKGS=(numpy pyyaml ml_dtypes scikit-build-core)
py_missing=()
for p in "${PY_PKGS[@]}"; do
  mod="$p"; [ "$p" = pyyaml ] && mod=yaml
  [ "$p" = scikit-build-core ] && mod=scikit_build_core
  python3 -c "import $mod" >/dev/null 2>&1 || py_missing+=("$p")
done
if [ ${#py_missing[@]} -gt 0 ]; then
  echo "setup: pip installing ${py_missing[*]}"
  python3 -m pip install -q "${py_missing[@]}" 2>/dev/null ||
    python3 -m pip install -q --break-system-packages "${py_missing[@]}"
fi

# Python layer (python/quant): model import, tokenizers, progress bars, chat
# templates of Hugging Face checkpoints (jinja2).
QUANT_PY_PKGS=(gguf tokenizers safetensors tqdm jinja2)
quant_py_missing=()
for p in "${QUANT_PY_PKGS[@]}"; do
  python3 -c "import $p" >/dev/null 2>&1 || quant_py_missing+=("$p")
done
if [ ${#quant_py_missing[@]} -gt 0 ]; then
  echo "setup: pip installing ${quant_py_missing[*]}"
  python3 -m pip install -q "${quant_py_missing[@]}" 2>/dev/null ||
    python3 -m pip install -q --break-system-packages "${quant_py_missing[@]}"
fi

# Optional: `python -m quant report --plot` draws with matplotlib.
if ! python3 -c "import matplotlib" >/dev/null 2>&1; then
  echo "setup: pip installing matplotlib (optional: report plots)"
  python3 -m pip install -q matplotlib 2>/dev/null ||
    python3 -m pip install -q --break-system-packages matplotlib 2>/dev/null ||
    echo "setup: WARNING: matplotlib not installed; report plots unavailable" >&2
fi

# Real models and text (SmolLM2-135M, all-MiniLM-L6-v2, Jane Austen), cached
# under ~/.cache/quant (or $QUANT_CACHE); a second run downloads nothing. The
# test/Python tests that need them are UNSUPPORTED when this step failed.
QUANT_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! PYTHONPATH="$QUANT_SRC/python" python3 -c \
    "import sys, quant.data as d; sys.exit(0 if d.models_available() else 1)"; then
  echo "setup: fetching models and texts into ${QUANT_CACHE:-$HOME/.cache/quant}"
  PYTHONPATH="$QUANT_SRC/python" python3 -m quant fetch ||
    echo "setup: WARNING: model fetch failed; model tests will be UNSUPPORTED" >&2
fi
