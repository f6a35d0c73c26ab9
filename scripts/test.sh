#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with warnings as
# errors, and runs every test through ctest (unit, integration, browser), then
# the unit and integration tests again under AddressSanitizer + UBSan, the sync
# tests under ThreadSanitizer, each fuzz target for a short bounded time, the
# unit tests and the core end-to-end scenarios cross-built for aarch64 under
# qemu-aarch64, and the packages on fresh Debian roots (amd64, and arm64 under
# qemu). The packages' own tests (lintian, install and purge, upgrade from the
# previous release) run in the Release ctest: packages are made from that build.
#
# The ASan, TSan and arm64 builds use precompiled headers (-DTERRIL_PCH=ON,
# cmake/pch.cmake); the main build does not: it is the -Werror gate, and GCC 12
# reports false -Warray-bounds inside <string> through a PCH. The
# tsan, fuzz and arm64 builds run in the background from the start, at nice 19,
# one after the other: they use only the CPU the foreground leaves idle (the
# link steps and the long Beast files of the main and ASan builds, and above
# all the integration tests, which run one at a time). Each of those stages
# then waits for its build and runs its tests in the foreground. Logs of the
# background builds: $TERRIL_BUILD_DIR/background/*.log (printed on failure).
#
#   scripts/test.sh                    everything
#   TERRIL_STAGES="main"               only some stages: main asan tsan fuzz arm64 roots
#                                      (roots needs main; with arm64 it also checks the arm64 package)
#   TERRIL_BUILD_DIR=dir               main build folder (default build-ci)
set -euo pipefail
cd "$(dirname "$0")/.."
stages=${TERRIL_STAGES:-main asan tsan fuzz arm64 roots}
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
  local pid
  for pid in "${chain_pid:-}" "${roots_pid:-}"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill -- "-$pid" 2>/dev/null || true
    fi
  done
  echo "== stage times (wall clock, $(nproc) cores):"
  printf '   %s\n' "${times[@]}"
  printf '   %-8s %5d s%s\n' total "$SECONDS" "$([[ $rc -ne 0 ]] && echo "  (FAILED, exit $rc)")"
}
trap summary EXIT

begin deps "installing what is missing"
scripts/deps.sh --test

BUILD=${TERRIL_BUILD_DIR:-build-ci}
bg="$BUILD/background"
rm -rf "$bg"
mkdir -p "$bg"
# The background chain: each build NAME writes $bg/NAME.log, then $bg/NAME.rc and
# $bg/NAME.time (seconds); a failed build does not stop the next one.
tsan_build() {
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTERRIL_TSAN=ON -DTERRIL_BENCH=OFF -DTERRIL_PCH=ON \
    >/dev/null
  cmake --build build-tsan -j "$jobs" --target sync_tests
}
fuzz_build() { JOBS=$jobs FUZZ_BUILD_ONLY=1 scripts/fuzz.sh; }
# The arm64 stage only runs tests, so its build skips what packages need
# (-O1, no section GC): the stage the run waits for is this build.
arm64_build() { JOBS=$jobs OPT=-O1 SLIM=OFF scripts/build-arm64.sh --build; }
chain=()
for s in tsan fuzz arm64; do has "$s" && chain+=("$s"); done
if ((${#chain[@]})); then
  set -m # the chain gets its own process group, which summary() stops if a stage fails first
  (
    for s in "${chain[@]}"; do
      t0=$SECONDS
      rc=0
      nice -n 19 bash -c "set -euo pipefail; $(declare -f tsan_build fuzz_build arm64_build); jobs=$jobs; ${s}_build" \
        >"$bg/$s.log" 2>&1 </dev/null || rc=$?
      echo $((SECONDS - t0)) >"$bg/$s.time"
      echo "$rc" >"$bg/$s.rc"
    done
  ) &
  chain_pid=$!
  set +m
  stamp "background builds started (nice 19, in turn): ${chain[*]}"
fi
# The fresh Debian roots (scripts/fresh-root.sh prepare: debootstrap amd64, and
# arm64 with its second stage under qemu) are made from the start too, beside
# the builds (network, then one emulated dpkg): the roots stage uses them.
if has roots; then
  set -m
  nice -n 19 scripts/fresh-root.sh prepare >"$bg/roots.log" 2>&1 </dev/null &
  roots_pid=$!
  set +m
  stamp "background: fresh Debian roots being made (debootstrap), log $bg/roots.log"
fi
# Waits for background build NAME; on failure prints its log's end and fails.
# While the foreground waits, the chain runs at normal priority: renice to 0
# (CI runs as root; elsewhere this may be refused, and the chain stays at 19).
wait_build() {
  local s=$1 t0=$SECONDS
  [[ -n "${chain_pid:-}" ]] && renice -n 0 -g "$chain_pid" >/dev/null 2>&1 || true
  while [[ ! -f "$bg/$s.rc" ]]; do sleep 2; done
  local rc
  rc=$(cat "$bg/$s.rc")
  times+=("$(printf '%-8s %5d s  (background build; waited %d s)' "$s-bld" "$(cat "$bg/$s.time")" \
    $((SECONDS - t0)))")
  if [[ "$rc" != 0 ]]; then
    tail -n 60 "$bg/$s.log" >&2
    echo "test.sh: the background $s build FAILED (exit $rc), see $bg/$s.log" >&2
    exit 1
  fi
}

if has main; then
  begin build "main build ($BUILD, -Werror)"
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTERRIL_WERROR=ON -DTERRIL_PCH=OFF >/dev/null
  cmake --build "$BUILD" -j "$jobs"
  # Each test runs once per configuration it proves something in: the
  # integration tests that scripts/sanitize.sh runs with sanitized daemons
  # (everything labelled integration but the technician's) are left to the
  # asan stage when it is selected; the Release build keeps the unit, tooling
  # and browser tests, the systemd unit check and the technician's tests
  # (packages are made from this build).
  exclude='^$'
  if has asan; then exclude='^(integration_(sync|heal|backup|passwords|hub_api|node_https|systemd_notify|chaos|crash_loop|people|attendance_sheet)|hostile_peers)$'; fi
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
  wait_build tsan
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 build-tsan/tests/unit/sync/sync_tests
fi

if has fuzz; then
  begin fuzz "fuzz targets, ${TERRIL_FUZZ_SECONDS:-10} s each"
  wait_build fuzz
  JOBS=$jobs scripts/fuzz.sh "${TERRIL_FUZZ_SECONDS:-10}"
fi

if has arm64; then
  begin arm64 "arm64 cross build (build-arm64), unit tests under qemu"
  wait_build arm64
  OPT=-O1 SLIM=OFF scripts/build-arm64.sh --test
  # The core scenarios with the arm64 daemons under qemu, on the same build (its
  # build step is a no-op; it installed libfaketime:arm64 for the clock scenario).
  begin arm-e2e "arm64 terril-node and terril-hub end to end under qemu (build-arm64 --e2e)"
  NO_DEPS=1 OPT=-O1 SLIM=OFF scripts/build-arm64.sh --e2e
fi
if has roots && has main; then
  # The packages of these builds on fresh Debian roots: the amd64 ones installed by
  # the root's own apt (Depends complete), the arm64 node in an arm64 root under
  # qemu syncing with the amd64 hub of the main build.
  begin roots "fresh Debian roots: packages installed by apt, daemons as their users, sync, doctor (and lintian on arm64)"
  t0=$SECONDS
  wait "$roots_pid" || { tail -n 40 "$bg/roots.log" >&2; echo "test.sh: making the roots FAILED, see $bg/roots.log" >&2; exit 1; }
  times+=("$(printf '%-8s %5s    (background debootstrap; waited %d s)' roots-mk '' $((SECONDS - t0)))")
  debs=$(mktemp -d /tmp/terril-ci-debs-XXXXXX)
  cpack -G DEB --config "$BUILD/CPackConfig.cmake" -D CPACK_OUTPUT_FILE_PREFIX="$debs" -B "$debs" >/dev/null
  which=amd64
  if has arm64; then
    cpack -G DEB --config build-arm64/CPackConfig.cmake -D CPACK_OUTPUT_FILE_PREFIX="$debs/arm64" -B "$debs/arm64" \
      >/dev/null
    # lintian on the arm64 packages too (the Release ctest checked the amd64 ones);
    # their manual pages come from the arm64 binaries, run under qemu.
    (cd tests/integration && TERRIL_BUILD="$PWD/../../build-arm64" TERRIL_DEB_DIR="$debs/arm64" \
      TERRIL_EMULATOR="/usr/bin/qemu-aarch64-static -L /" python3 -m unittest test_package_lintian)
    cp "$debs"/arm64/*.deb "$debs"/
    which=all
  fi
  TERRIL_HUB_BIN="$BUILD/hub/terril-hub" scripts/fresh-root.sh "$which" "$debs"
  rm -rf "$debs"
fi
finish
stamp "all stages passed: $stages ($SECONDS s)"
