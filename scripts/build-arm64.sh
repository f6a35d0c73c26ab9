#!/usr/bin/env bash
# Cross-builds terril for aarch64 (Raspberry Pi-class boxes) on Debian 12
# amd64, against Debian's arm64 packages (multiarch), with the host's protoc.
# Tests run under qemu-aarch64 user-mode emulation (no binfmt needed).
#
#   scripts/build-arm64.sh              install deps (once), configure, build
#   scripts/build-arm64.sh --test       ... only the daemons and unit tests, run under qemu (ctest)
#   scripts/build-arm64.sh --build      ... build what --test runs, and stop (scripts/test.sh builds
#                                       it in the background, then runs --test, whose build is a no-op)
#   scripts/build-arm64.sh --full       ... then unit + integration tests under qemu
#
# Environment: BUILD_DIR (default build-arm64), JOBS (default 2),
#   BUILD_TYPE (default Release), OPT (default -O2: the Release optimisation
#   flag; CI's test-only build uses -O1), SLIM (default ON: section GC, see
#   cmake/packaging.cmake), PCH (default ON: precompiled headers, cmake/pch.cmake),
#   NO_DEPS=1 skips the apt step, UNIT_TARGETS (what
#   --test builds besides the daemons; default unit_tests, every unit-test executable).
# Run as root (or with sudo available) the first time: it adds the arm64
# architecture and installs packages. Installing :arm64 libraries may upgrade
# the amd64 ones to the same version; that is expected.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-arm64}
jobs=${JOBS:-2}
build_type=${BUILD_TYPE:-Release}
mode=${1:-}
case "$mode" in "" | --test | --build | --full) ;; *)
  echo "usage: $0 [--test|--build|--full]" >&2
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
    pkgconf:arm64 libboost1.81-dev:arm64 libsqlite3-dev:arm64 libprotobuf-dev:arm64
    libspdlog-dev:arm64 libssl-dev:arm64 libsodium-dev:arm64 libqrencode-dev:arm64
    libtomlplusplus-dev:arm64 nlohmann-json3-dev libcli11-dev catch2)
  local missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "build-arm64: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
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
# --test (the CI stage) builds the daemons and the unit-test executables only:
# the hostile-peer tests (integration, cannot run under this qemu) are left out.
targets=()
if [[ $mode == --test || $mode == --build ]]; then
  targets=(--target terril-node terril-hub ${UNIT_TARGETS:-unit_tests})
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

run_unit_tests() {
  local exclude='^$'
  if ! fork_works; then
    exclude+="|$fork_tests"
    echo "build-arm64: fork() hangs under qemu-aarch64 on this host: not running /$fork_tests/ (they fork)"
  fi
  if ! threads_work; then
    exclude+="|$thread_tests"
    echo "build-arm64: pthread_create hangs under qemu-aarch64 on this host: not running /$thread_tests/" \
      "(they start a thread)"
  fi
  local n
  n=$(ctest --test-dir "$build" -N -L '^unit$' -E "$exclude" | awk '/^Total Tests:/ { print $3 }')
  if [[ -z "$n" || "$n" == 0 ]]; then
    echo "build-arm64: no unit tests registered with ctest" >&2
    exit 1
  fi
  echo "build-arm64: unit tests under qemu-aarch64 ($n cases)"
  local t0=$(date +%s)
  ctest --test-dir "$build" -L '^unit$' -E "$exclude" -j "$jobs" --output-on-failure --timeout 600
  echo "build-arm64: unit tests took $(($(date +%s) - t0)) s"
}

# The integration tests start the daemons by path ($TERRIL_BUILD/hub/terril-hub,
# .../node/terril-node): give them wrappers that run the arm64 binaries under qemu.
run_integration_tests() {
  local wrap="$build/qemu-wrap"
  mkdir -p "$wrap/hub" "$wrap/node"
  local b
  for b in hub/terril-hub node/terril-node; do
    printf '#!/bin/sh\nexec /usr/bin/qemu-aarch64-static -L / %q "$@"\n' "$build/$b" >"$wrap/$b"
    chmod +x "$wrap/$b"
  done
  if ! threads_work; then
    echo "build-arm64: qemu-aarch64 hangs on pthread_create on this host: the daemons cannot run under" \
      "emulation here (Asio resolves on a thread), so the integration tests are NOT run" >&2
    exit 1
  fi
  echo "build-arm64: integration tests under qemu-aarch64"
  local t0=$(date +%s)
  # Fewer offline writes: emulation is ~10x slower. faketime cannot reach
  # through qemu (it would fake the emulator's clock calls, not the guest's), so
  # the clock tests skip themselves; the package test needs amd64 packages.
  (cd "$root/tests/integration" &&
    TERRIL_BUILD="$wrap" TERRIL_EMULATED=1 TERRIL_OFFLINE_WRITES=${TERRIL_OFFLINE_WRITES:-500} \
      python3 -m unittest -v test_sync test_technician.ReplacementTest)
  echo "build-arm64: integration tests took $(($(date +%s) - t0)) s"
}

case "$mode" in
  --test) run_unit_tests ;;
  --build) ;;
  --full)
    run_unit_tests
    run_integration_tests
    ;;
esac
