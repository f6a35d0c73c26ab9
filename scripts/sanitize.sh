#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (issue 6):
# configures build-asan with -DTERRIL_SANITIZE=ON (the same configuration as
# the asan stage of scripts/test.sh, so they share one build), builds, and
# runs the unit tests (label `unit`) and the integration tests (label
# `integration`: real daemons, themselves built with the sanitizers).
#
#   scripts/sanitize.sh                 unit + integration
#   scripts/sanitize.sh unit            unit only
#   scripts/sanitize.sh integration     integration only
#   scripts/sanitize.sh build           configure and build only (timed)
#
# What is built: the default target, which with TERRIL_BENCH=OFF (and fuzz
# off) is exactly what the two labels run: the unit test executables, both
# daemons and hostile_tests. Each run builds once; a second run over a
# built tree is a no-op for ninja.
#
# Env: ASAN_BUILD_DIR (default build-asan), JOBS (build parallelism, default
# nproc), TERRIL_PCH (default ON: precompiled headers, cmake/pch.cmake), CTEST_JOBS (default 1: the daemons' tests share ports and CPU),
# SANITIZE_EXCLUDE (ctest -E regex, default: the technician's tests; the
# packages' tests, label `package`, are always left out: they package the
# Release build and prove nothing about sanitizers).
#
# A daemon's sanitizer report does not always fail the Python test that ran
# it (a report at exit, a leak), so every report goes to
# $ASAN_BUILD_DIR/sanitizer-logs/ and any file there fails this script.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
build="${ASAN_BUILD_DIR:-build-asan}"
jobs="${JOBS:-$(nproc)}"
# Left to the Release build (scripts/test.sh runs it there): the technician's
# tests (packages are made from that build), and the L6 test, which runs the
# listener with no file descriptor left: UBSan then checks virtual calls by
# probing memory through a pipe it cannot open, and reports a false "invalid
# vptr" inside Asio.
exclude="${SANITIZE_EXCLUDE:-integration_technician|L6: out of file descriptors}"

case "$what" in
  all | unit | integration | build) ;;
  *)
    echo "sanitize.sh: unknown mode '$what' (all, unit, integration, build)" >&2
    exit 2
    ;;
esac

b0=$(date +%s)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTERRIL_SANITIZE=ON -DTERRIL_BENCH=OFF \
  -DTERRIL_PCH="${TERRIL_PCH:-ON}" >/dev/null
cmake --build "$build" -j "$jobs"
echo "sanitize.sh: build of $build in $(($(date +%s) - b0)) s"
[[ "$what" == build ]] && exit 0

logs="$(cd "$build" && pwd)/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
# halt_on_error: the first report fails the process (and so its test).
export ASAN_OPTIONS="log_path=$logs/asan:halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$(pwd)/tests/sanitizer/lsan.supp"
# Sanitized daemons are 2-3x slower: give the integration waits room.
export TERRIL_CHAOS_SECONDS="${TERRIL_CHAOS_SECONDS:-30}"
export TERRIL_WAIT_SCALE="${TERRIL_WAIT_SCALE:-3}"

status=0
t0=$(date +%s)
if [[ "$what" == all || "$what" == unit ]]; then
  ctest --test-dir "$build" --output-on-failure -L unit -E "$exclude" -j "${CTEST_JOBS:-$jobs}" \
    --timeout 900 || status=1
fi
if [[ "$what" == all || "$what" == integration ]]; then
  # -j2: the heavy tests hold the "daemons" lock (one at a time), the LIGHT
  # ones run beside them (tests/integration/CMakeLists.txt).
  # -LE package: the packages' tests (lintian, install, upgrade) package the
  # Release build and prove nothing about sanitizers.
  ctest --test-dir "$build" --output-on-failure -L integration -LE package -E "$exclude" -j "${CTEST_JOBS:-2}" \
    --timeout 1800 || status=1
fi
t1=$(date +%s)

shopt -s nullglob
reports=("$logs"/*)
if ((${#reports[@]})); then
  echo "sanitize.sh: ${#reports[@]} sanitizer report(s) in $logs:" >&2
  for r in "${reports[@]}"; do
    echo "---- $r" >&2
    head -n 60 "$r" >&2
  done
  status=1
fi
echo "sanitize.sh: $what under ASan+UBSan: $([[ $status == 0 ]] && echo PASSED || echo FAILED) in $((t1 - t0)) s"
exit "$status"
