#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with warnings as
# errors, and runs every test through ctest (unit, integration, browser).
#   scripts/test.sh                 full suite
#   TERRIL_BUILD_DIR=dir            build folder (default build-ci)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
BUILD=${TERRIL_BUILD_DIR:-build-ci}
jobs=$(nproc)
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTERRIL_WERROR=ON >/dev/null
cmake --build "$BUILD" -j "$jobs"
ctest --test-dir "$BUILD" --output-on-failure -j "$jobs" --timeout 900
