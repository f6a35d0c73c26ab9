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
# Each stage's wall time, printed at the end (also when a stage fails).
times=()
stage_start=0
stage_name=""
begin() {
  finish
  stage_name=$1
  stage_start=$SECONDS
  stamp "$2"
}
finish() {
  if [[ -n "$stage_name" ]]; then times+=("$(printf '%-8s %5d s' "$stage_name" $((SECONDS - stage_start)))"); fi
  stage_name=""
}
summary() {
  local rc=$?
  finish
  echo "== stage times (wall clock, $(nproc) cores):"
  printf '   %s\n' "${times[@]}"
  printf '   %-8s %5d s%s\n' total "$SECONDS" "$([[ $rc -ne 0 ]] && echo "  (FAILED, exit $rc)")"
}
trap summary EXIT

begin deps "installing what is missing"
scripts/deps.sh --test

if has main; then
  BUILD=${TERRIL_BUILD_DIR:-build-ci}
  begin build "main build ($BUILD, -Werror)"
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTERRIL_WERROR=ON >/dev/null
  cmake --build "$BUILD" -j "$jobs"
  # Each test runs once per configuration it proves something in: the
  # integration tests that scripts/sanitize.sh runs with sanitized daemons
  # (everything labelled integration but the technician's) are left to the
  # asan stage when it is selected; the Release build keeps the unit, tooling
  # and browser tests, the systemd unit check and the technician's tests
  # (packages are made from this build).
  exclude='^$'
  if has asan; then exclude='^(integration_(sync|heal|backup|passwords|hub_api|systemd_notify|chaos|crash_loop)|hostile_peers)$'; fi
  begin ctest "ctest on the Release build: unit, tooling, browser, technician (the rest runs under ASan)"
  ctest --test-dir "$BUILD" --output-on-failure -j "$jobs" --timeout 900 -E "$exclude"
fi

if has asan; then
  begin asan "AddressSanitizer + UBSan build (build-asan): unit and integration tests, daemons sanitized too"
  scripts/sanitize.sh all
fi

if has tsan; then
  # The one multi-threaded part is the hub's store thread (group commit);
  # sync_tests drives it with a real second thread.
  begin tsan "ThreadSanitizer build (build-tsan): sync tests"
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTERRIL_TSAN=ON -DTERRIL_BENCH=OFF >/dev/null
  cmake --build build-tsan -j "$jobs" --target sync_tests
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 build-tsan/tests/unit/sync/sync_tests
fi

if has fuzz; then
  begin fuzz "fuzz targets, ${TERRIL_FUZZ_SECONDS:-10} s each"
  JOBS=$jobs scripts/fuzz.sh "${TERRIL_FUZZ_SECONDS:-10}"
fi

if has arm64; then
  begin arm64 "arm64 cross build (build-arm64), unit tests under qemu"
  scripts/build-arm64.sh --test
fi
finish
stamp "all stages passed: $stages ($SECONDS s)"
