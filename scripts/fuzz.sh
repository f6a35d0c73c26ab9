#!/usr/bin/env bash
# Build the libFuzzer targets with clang into build-fuzz/ and run each for N seconds.
#
#   scripts/fuzz.sh [SECONDS]        (default 20 per target)
#
# Needs clang and libclang-rt-14-dev. Seeds are read from tests/fuzz/corpus/<target>/ and never
# written; new inputs go to build-fuzz/corpus/<target>/, crashes to build-fuzz/<target>-crash-*.
# Env: FUZZ_BUILD_DIR (default build-fuzz), JOBS (ninja -j, default 1), FUZZ_BUILD_ONLY=1 (build, do
# not run). No precompiled headers here: clang refuses a shared PCH whose macros differ, and the
# fuzz build is small.
set -euo pipefail

secs="${1:-20}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
targets=(fuzz_frame fuzz_change_merge fuzz_csv fuzz_http_request fuzz_config)

if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found: apt-get install -y clang libclang-rt-14-dev" >&2
  exit 2
fi

cmake -S "$root" -B "$build" -G Ninja -DTERRIL_FUZZ=ON -DTERRIL_BENCH=OFF \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" -j"${JOBS:-1}" "${targets[@]}"
[[ -n "${FUZZ_BUILD_ONLY:-}" ]] && exit 0

status=0
summary=()
for t in "${targets[@]}"; do
  work="$build/corpus/$t"
  log="$build/$t.log"
  mkdir -p "$work"
  echo "fuzz.sh: running $t for ${secs}s"
  if ! "$build/tests/fuzz/$t" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$build/$t-" \
      "$work" "$root/tests/fuzz/corpus/$t" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz.sh: $t FAILED, see $log" >&2
    status=1
  fi
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)"
  summary+=("$(printf '%-18s %10s execs in %ss  %s' "$t" "${execs:-?}" "$secs" "$cov")")
done
printf '%s\n' "${summary[@]}"
exit "$status"
