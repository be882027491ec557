#!/usr/bin/env bash
# The one test command: installs dependencies, builds, and runs every test
# (lit regression and integration tests, which include the GoogleTest
# unit tests).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
"$root/scripts/build.sh" check-quant
