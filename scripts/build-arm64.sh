#!/usr/bin/env bash
# Cross-builds terril for aarch64 (Raspberry Pi-class boxes) on Debian 12
# amd64, against Debian's arm64 packages (multiarch), with the host's protoc.
# Tests run under qemu-aarch64 user-mode emulation (no binfmt needed).
#
#   scripts/build-arm64.sh              install deps (once), configure, build
#   scripts/build-arm64.sh --test       ... only the daemons and unit tests, run under qemu (ctest)
#   scripts/build-arm64.sh --build      ... build what --test runs, and stop (scripts/test.sh builds
#                                       it in the background, then runs --test, whose build is a no-op)
#   scripts/build-arm64.sh --e2e        ... build the daemons (a no-op after --build), then the
#                                       core integration scenarios with the arm64 terril-node and
#                                       terril-hub under qemu (E2E_TESTS below; CI runs it after --test)
#   scripts/build-arm64.sh --full       ... then unit + integration tests under qemu
#
# Environment: BUILD_DIR (default build-arm64), JOBS (default 2),
#   BUILD_TYPE (default Release), OPT (default -O2: the Release optimisation
#   flag; CI's test-only build uses -O1), SLIM (default ON: section GC, see
#   cmake/packaging.cmake), PCH (default ON: precompiled headers, cmake/pch.cmake),
#   NO_DEPS=1 skips the apt step, UNIT_TARGETS (what
#   --test builds besides the daemons; default unit_tests, every unit-test executable),
#   E2E_TESTS (what --e2e runs: unittest names, one scenario each, under tests/integration),
#   TERRIL_WAIT_SCALE (default 5 under --e2e and --full: every bound of the harness scaled).
# Run as root (or with sudo available) the first time: it adds the arm64
# architecture and installs packages. Installing :arm64 libraries may upgrade
# the amd64 ones to the same version; that is expected.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-arm64}
jobs=${JOBS:-2}
build_type=${BUILD_TYPE:-Release}
mode=${1:-}
case "$mode" in "" | --test | --build | --e2e | --full) ;; *)
  echo "usage: $0 [--test|--build|--e2e|--full]" >&2
  exit 2
  ;;
esac

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO=sudo

install_deps() {
  "$root/scripts/deps.sh"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "build-arm64: adding the arm64 architecture"
    $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -qq
  fi
  local pkgs=(crossbuild-essential-arm64 qemu-user-static file
    libfaketime:arm64 pkgconf:arm64 libboost1.81-dev:arm64 libsqlite3-dev:arm64 libprotobuf-dev:arm64
    libspdlog-dev:arm64 libssl-dev:arm64 libsodium-dev:arm64 libqrencode-dev:arm64
    libtomlplusplus-dev:arm64 nlohmann-json3-dev libcli11-dev catch2)
  local missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "build-arm64: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

[[ -n "${NO_DEPS:-}" ]] || install_deps

start=$(date +%s)
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
[[ -f "$build/CMakeCache.txt" ]] && gen=()  # the generator is fixed at the first configure
cmake -S "$root" -B "$build" "${gen[@]}" \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE="$build_type" -DTERRIL_BENCH=OFF -DTERRIL_FUZZ=OFF -DTERRIL_SLIM="${SLIM:-ON}" \
  -DTERRIL_OPT="${OPT:--O2}" \
  -DTERRIL_PCH="${PCH:-ON}" >/dev/null
# --test and --build (the CI stage) build the daemons and the unit-test
# executables only: the hostile-peer tests (C++ integration tests, which no mode
# here runs) are left out. --e2e needs only the daemons.
targets=()
if [[ $mode == --test || $mode == --build ]]; then
  targets=(--target terril-node terril-hub ${UNIT_TARGETS:-unit_tests})
elif [[ $mode == --e2e ]]; then
  targets=(--target terril-node terril-hub)
fi
cmake --build "$build" -j "$jobs" "${targets[@]}"
end=$(date +%s)
echo "build-arm64: built in $((end - start)) s"
file "$build/node/terril-node" "$build/hub/terril-hub"
for b in "$build/node/terril-node" "$build/hub/terril-hub"; do
  file -L "$b" | grep -q 'ARM aarch64' || {
    echo "build-arm64: $b is not an aarch64 binary" >&2
    exit 1
  }
done

# The unit tests: every Catch2 case registered by catch_discover_tests with
# the label "unit" (tests/unit/*/CMakeLists.txt), run under qemu by ctest
# through CMAKE_CROSSCOMPILING_EMULATOR.

# Guests run with `-L /` (cmake/aarch64-linux-gnu.cmake says why): with the
# cross loader and the multiarch libc mixed, a second guest thread or process
# hung. Two 5-second probes still decide, so a host where qemu-user cannot
# start one says so and leaves out only what needs it:
#  - fork: the unit cases that fork (the crash test kills a forked writer, the
#    read-only test opens as nobody in a child; FORK_TESTS, a regex on ctest
#    names) are left out;
#  - threads: the unit cases that start a thread (the hub's store thread of
#    group commit; THREAD_TESTS) are left out, and the daemons cannot run
#    (Asio resolves the hub's name on a thread), so --full stops before the
#    integration tests, saying why.
fork_tests=${FORK_TESTS:-'killed while applying|cannot write is refused at open'}
thread_tests=${THREAD_TESTS:-'group commit|event loop: post|worker thread|ws link|sync client: walks'}
qemu_probe() { # qemu_probe NAME C-SOURCE [CFLAGS...]
  local name=$1 src=$2
  shift 2
  printf '%s\n' "$src" | aarch64-linux-gnu-gcc -x c "$@" -o "$build/qemu-probe-$name" - || return 1
  timeout -k 1 5 /usr/bin/qemu-aarch64-static -L / "$build/qemu-probe-$name"
}
fork_works() {
  qemu_probe fork '#include <unistd.h>
#include <sys/wait.h>
int main(void) { pid_t p = fork(); if (p == 0) _exit(7); int s = 0; waitpid(p, &s, 0); return WEXITSTATUS(s) == 7 ? 0 : 1; }'
}
threads_work() {
  qemu_probe thread '#include <pthread.h>
static void *f(void *a) { return a; }
int main(void) { pthread_t t; if (pthread_create(&t, 0, f, 0)) return 1; return pthread_join(t, 0); }' -pthread
}

count_tests() { ctest --test-dir "$build" -N -L '^unit$' "$@" | awk '/^Total Tests:/ { print $3 }'; }
run_unit_tests() {
  local exclude='^$'
  if fork_works; then
    echo "build-arm64: fork probe passed under qemu-aarch64 -L /: the $(count_tests -R "$fork_tests") cases" \
      "that fork (/$fork_tests/) run"
  else
    exclude+="|$fork_tests"
    echo "build-arm64: fork() hangs under qemu-aarch64 on this host: not running the" \
      "$(count_tests -R "$fork_tests") cases /$fork_tests/ (they fork):"
    ctest --test-dir "$build" -N -L '^unit$' -R "$fork_tests" | grep 'Test *#'
  fi
  if threads_work; then
    echo "build-arm64: thread probe passed under qemu-aarch64 -L /: the $(count_tests -R "$thread_tests") cases" \
      "that start a thread (/$thread_tests/) run"
  else
    exclude+="|$thread_tests"
    echo "build-arm64: pthread_create hangs under qemu-aarch64 on this host: not running the" \
      "$(count_tests -R "$thread_tests") cases /$thread_tests/ (they start a thread):"
    ctest --test-dir "$build" -N -L '^unit$' -R "$thread_tests" | grep 'Test *#'
  fi
  local n
  n=$(count_tests -E "$exclude")
  if [[ -z "$n" || "$n" == 0 ]]; then
    echo "build-arm64: no unit tests registered with ctest" >&2
    exit 1
  fi
  echo "build-arm64: unit tests under qemu-aarch64 ($n cases)"
  # The two randomised cases that took most of this stage (the seats property
  # test, 1,000 cases, 112 s; the hub killed while applying, 12 forked rounds,
  # 131 s) run smaller here: on arm64 they look for what the ISA changes, the
  # amd64 stages run them in full. Set the variables to change that.
  export TERRIL_SEATS_CASES=${TERRIL_SEATS_CASES:-250} TERRIL_CRASH_ROUNDS=${TERRIL_CRASH_ROUNDS:-4}
  echo "build-arm64: TERRIL_SEATS_CASES=$TERRIL_SEATS_CASES TERRIL_CRASH_ROUNDS=$TERRIL_CRASH_ROUNDS under emulation"
  local t0=$(date +%s)
  ctest --test-dir "$build" -L '^unit$' -E "$exclude" -j "$jobs" --output-on-failure --timeout 600
  echo "build-arm64: unit tests took $(($(date +%s) - t0)) s"
}

# The integration tests start the daemons by path ($TERRIL_BUILD/hub/terril-hub,
# .../node/terril-node): give them wrappers that run the arm64 binaries under
# qemu (exec: the test's SIGTERM or SIGKILL reaches qemu, which is the guest).
# Emulation is ~10x slower: every bound of the harness is scaled
# (TERRIL_WAIT_SCALE), and the workloads with a size knob are kept small. A
# preloaded library (libfaketime for the clock tests) must be the arm64 one and
# reach the guest's loader, not the wrapper's /bin/sh: harness.preload_env
# passes it as QEMU_SET_ENV=LD_PRELOAD=... (libfaketime:arm64, installed above).
# Prints the wrappers' folder, for TERRIL_BUILD.
qemu_wrappers() {
  local wrap="$build/qemu-wrap" b
  mkdir -p "$wrap/hub" "$wrap/node"
  for b in hub/terril-hub node/terril-node; do
    printf '#!/bin/sh\nexec /usr/bin/qemu-aarch64-static -L / %q "$@"\n' "$build/$b" >"$wrap/$b"
    chmod +x "$wrap/$b"
  done
  echo "$wrap"
}
emulated() { # emulated COMMAND...: runs it in tests/integration against the emulated daemons
  (cd "$root/tests/integration" &&
    TERRIL_BUILD="$(qemu_wrappers)" TERRIL_EMULATED=1 TERRIL_WAIT_SCALE=${TERRIL_WAIT_SCALE:-5} \
      TERRIL_OFFLINE_WRITES=${TERRIL_OFFLINE_WRITES:-500} \
      PYTHONDONTWRITEBYTECODE=1 "$@")
}
# The daemons start threads (Asio resolves the hub's name on one, the hub's
# store thread): without them nothing here can run.
daemons_can_run() { # daemons_can_run WHAT-IS-NOT-RUN
  threads_work && return 0
  echo "build-arm64: qemu-aarch64 hangs on pthread_create on this host: the daemons cannot run under" \
    "emulation here (Asio resolves on a thread), so $1 NOT run" >&2
  return 1
}

# The core scenarios of issue 16 with the arm64 daemons, one unittest method
# each (the rest of those modules runs on amd64 in the main stage):
#   - three nodes converge, and registrations reach only their centres (routing);
#   - a node offline catches up TERRIL_OFFLINE_WRITES registrations through a hub
#     started late, no gap, no duplicate;
#   - the hub killed with kill -9 in the middle of 3,000 queued registrations
#     (the test's size: a batch holds at most 2,048 changes, wire::kMaxBatchChanges,
#     so with fewer the first batch would hold them all and the kill would come
#     after the last one), nothing lost or duplicated;
#   - a dead box replaced (`node replace`): the new box restores the centre, the
#     old one is refused;
#   - clocks with the arm64 libfaketime in the guest: nodes enrolled in 1970 and
#     2040 keep the hub's order; a box rebooting offline in 2040, then fixed.
e2e_tests=${E2E_TESTS:-"test_sync.SyncTest.test_three_nodes_converge_and_registrations_reach_only_their_centres
test_sync.SyncTest.test_offline_node_catches_up_and_hub_started_late
test_sync.SyncTest.test_hub_killed_mid_batch_loses_and_duplicates_nothing
test_technician.ReplacementTest.test_replaced_box_restores_the_centre_and_the_old_box_is_refused
test_technician.ClockTest.test_nodes_enrolled_in_1970_and_2040_keep_the_hubs_order
test_technician.ClockTest.test_box_rebooting_in_2040_offline_then_fixed_does_not_win_forever"}
run_e2e_tests() {
  daemons_can_run "the end-to-end scenarios ($(tr '\n' ' ' <<<"$e2e_tests")) are" || return 0
  local faketime=${TERRIL_FAKETIME_LIB:-/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1}
  if [[ ! -e $faketime ]]; then
    echo "build-arm64: $faketime is missing (apt-get install libfaketime:arm64): the clock scenarios skip themselves" >&2
  fi
  local n=0 failed=() t0 t test log=$build/e2e.log times=() start
  : >"$log"
  echo "build-arm64: end-to-end scenarios, arm64 terril-node and terril-hub under qemu-aarch64"
  start=$(date +%s)
  for test in $e2e_tests; do
    t0=$(date +%s)
    echo "== $test"
    if emulated python3 -m unittest -v "$test" 2>&1 | tee -a "$log"; then :; else failed+=("$test"); fi
    t=$(($(date +%s) - t0))
    times+=("$(printf '%5d s  %s' "$t" "$test")")
    n=$((n + 1))
  done
  echo "build-arm64: end-to-end scenario times (wall clock, $(nproc) cores):"
  printf '  %s\n' "${times[@]}"
  printf '  %5d s  total, %d scenarios\n' $(($(date +%s) - start)) "$n"
  grep -o 'hub held [0-9]* registrations when killed' "$log" | sed 's/^/build-arm64: kill -9: /' || true
  local skipped
  skipped=$(awk -F'skipped=' '/^OK \(skipped=/ { n += $2 + 0 } END { print n + 0 }' "$log")
  ((skipped == 0)) || echo "build-arm64: $skipped scenario(s) skipped themselves, saying why above"
  if ((${#failed[@]})); then
    echo "build-arm64: end-to-end scenarios FAILED under qemu: ${failed[*]}" >&2
    exit 1
  fi
}

run_integration_tests() {
  daemons_can_run "the integration tests are" || exit 1
  echo "build-arm64: integration tests under qemu-aarch64"
  local t0
  t0=$(date +%s)
  # Fewer offline writes (TERRIL_OFFLINE_WRITES); the package test needs amd64 packages.
  emulated python3 -m unittest -v test_sync test_technician.ReplacementTest test_technician.ClockTest
  echo "build-arm64: integration tests took $(($(date +%s) - t0)) s"
}

case "$mode" in
  --test) run_unit_tests ;;
  --build) ;;
  --e2e) run_e2e_tests ;;
  --full)
    run_unit_tests
    run_integration_tests
    ;;
esac
