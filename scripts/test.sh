#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with warnings as
# errors, and runs every test through ctest (unit, integration, browser), then
# the unit tests again under AddressSanitizer + UBSan, and each fuzz target for
# a short bounded time.
#
#   scripts/test.sh                    everything
#   TERRIL_STAGES="main"               only some stages: main asan fuzz arm64
#   TERRIL_BUILD_DIR=dir               main build folder (default build-ci)
set -euo pipefail
cd "$(dirname "$0")/.."
stages=${TERRIL_STAGES:-main asan fuzz}
jobs=$(nproc)
has() { [[ " $stages " == *" $1 "* ]]; }
stamp() { echo "== $(date -u +%H:%M:%S) $*"; }

scripts/deps.sh --test

if has main; then
  BUILD=${TERRIL_BUILD_DIR:-build-ci}
  stamp "main build ($BUILD, -Werror)"
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTERRIL_WERROR=ON >/dev/null
  cmake --build "$BUILD" -j "$jobs"
  stamp "ctest: unit, integration, browser"
  ctest --test-dir "$BUILD" --output-on-failure -j "$jobs" --timeout 900
fi

if has asan; then
  stamp "AddressSanitizer + UBSan build (build-asan), unit tests"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTERRIL_SANITIZE=ON -DTERRIL_BENCH=OFF >/dev/null
  cmake --build build-asan -j "$jobs" --target core_tests store_tests net_tests node_api_tests hub_unit_tests
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" -L unit --timeout 600
fi

if has fuzz; then
  stamp "fuzz targets, ${TERRIL_FUZZ_SECONDS:-10} s each"
  scripts/fuzz.sh "${TERRIL_FUZZ_SECONDS:-10}"
fi

if has arm64; then
  stamp "arm64 cross build, unit tests under qemu"
  scripts/build-arm64.sh --test
fi
stamp "all stages passed: $stages"
