#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with warnings as
# errors, and runs every test through ctest (unit, integration, browser), then
# the unit and integration tests again under AddressSanitizer + UBSan, the sync
# tests under ThreadSanitizer, each fuzz target for a short bounded time, and
# the unit tests cross-built for aarch64 under qemu-aarch64.
#
#   scripts/test.sh                    everything
#   TERRIL_STAGES="main"               only some stages: main asan tsan fuzz arm64
#   TERRIL_BUILD_DIR=dir               main build folder (default build-ci)
set -euo pipefail
cd "$(dirname "$0")/.."
stages=${TERRIL_STAGES:-main asan tsan fuzz arm64}
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
  stamp "AddressSanitizer + UBSan build (build-asan): unit and integration tests, daemons sanitized too"
  scripts/sanitize.sh all
fi

if has tsan; then
  # The one multi-threaded part is the hub's store thread (group commit);
  # sync_tests drives it with a real second thread.
  stamp "ThreadSanitizer build (build-tsan): sync tests"
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTERRIL_TSAN=ON -DTERRIL_BENCH=OFF >/dev/null
  cmake --build build-tsan -j "$jobs" --target sync_tests
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 build-tsan/tests/unit/sync/sync_tests
fi

if has fuzz; then
  stamp "fuzz targets, ${TERRIL_FUZZ_SECONDS:-10} s each"
  scripts/fuzz.sh "${TERRIL_FUZZ_SECONDS:-10}"
fi

if has arm64; then
  stamp "arm64 cross build (build-arm64), unit tests under qemu"
  scripts/build-arm64.sh --test
fi
stamp "all stages passed: $stages ($SECONDS s)"
