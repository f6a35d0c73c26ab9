#!/usr/bin/env bash
# Footprint of the daemons: stripped binary sizes (amd64, and arm64 when
# build-arm64 exists) and terril-node's idle memory (amd64), against the
# targets of issue 7: <= 8 MiB binary, <= 10 MiB idle RSS.
#
#   bench/footprint.sh [--detail]
#
# BUILD (default: build-pkg if it exists, else build) and BUILD_ARM64
# (default: build-arm64) are the build folders. --detail also prints what
# dominates: the largest sections and symbols of the binary, and the
# mappings that make up the resident set.
# Idle = started with no enrolment (`serve --listen 127.0.0.1:0` on an empty
# data folder), measured 2 s after it printed "listening"; the median of RUNS
# (default 5) starts. The hub is
# measured the same way after `init` (plain ws on loopback). arm64 memory is
# not measured: under qemu it would be the emulator's.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
detail=${1:-}
if [[ -z "${BUILD:-}" ]]; then
  BUILD=$root/build
  [[ -x $root/build-pkg/node/terril-node ]] && BUILD=$root/build-pkg
fi
BUILD_ARM64=${BUILD_ARM64:-$root/build-arm64}
MIB=$((1 << 20))
tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }
verdict() { (($1 <= $2)) && echo "ok (target <= $(mib "$2"))" || echo "OVER (target <= $(mib "$2"))"; }

# stripped_size ARCH STRIP BINARY: strips a copy (as the packages do) and prints its size.
stripped_size() {
  local arch=$1 strip=$2 bin=$3 out
  out=$tmp/$arch-$(basename "$bin")
  "$strip" --strip-unneeded -o "$out" "$bin"
  local bytes
  bytes=$(stat -c %s "$out")
  printf '%-6s %-12s %10s stripped (%s unstripped)  %s\n' "$arch" "$(basename "$bin")" "$(mib "$bytes")" \
    "$(mib "$(stat -c %s "$bin")")" "$(verdict "$bytes" $((8 * MIB)))"
}

echo "== binary size (build: $BUILD)"
for b in node/terril-node hub/terril-hub; do
  [[ -x $BUILD/$b ]] || { echo "missing $BUILD/$b: build first" >&2; exit 1; }
  stripped_size amd64 strip "$BUILD/$b"
done
if [[ -x $BUILD_ARM64/node/terril-node ]] && command -v aarch64-linux-gnu-strip >/dev/null; then
  for b in node/terril-node hub/terril-hub; do
    stripped_size arm64 aarch64-linux-gnu-strip "$BUILD_ARM64/$b"
  done
else
  echo "arm64: no $BUILD_ARM64 build (scripts/build-arm64.sh)"
fi
for deb in "$root"/dist/terril-*.deb; do
  [[ -f $deb ]] && printf '%-40s %s\n' "$(basename "$deb")" "$(mib "$(stat -c %s "$deb")")"
done

# start_daemon NAME ARGS...: starts a daemon, waits for its "listening" line,
# sets started_pid (not run in $(...): the cleanup trap must know the pid).
start_daemon() {
  local name=$1
  shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do
    grep -q '^listening ' "$tmp/$name.out" 2>/dev/null && { started_pid=$pid; return; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not start:" >&2
  cat "$tmp/$name.err" >&2
  exit 1
}

# sample PID: "VmRSS VmHWM RssAnon RssFile Pss private" in bytes, 2 s after start.
sample() {
  local pid=$1
  sleep 2
  # PSS shares each shared-library page among the processes mapping it;
  # private = pages only this process holds (what a second daemon would add).
  {
    awk '/^(VmRSS|VmHWM|RssAnon|RssFile):/ { v[$1] = $2 * 1024 }
         END { printf "%d %d %d %d ", v["VmRSS:"], v["VmHWM:"], v["RssAnon:"], v["RssFile:"] }' "/proc/$pid/status"
    awk '/^Pss:/ { pss = $2 * 1024 } /^Private_(Clean|Dirty):/ { priv += $2 * 1024 }
         END { printf "%d %d\n", pss, priv }' "/proc/$pid/smaps_rollup"
  }
}

# memory NAME RUNS CMD...: starts the daemon RUNS times, prints the median
# sample (by VmRSS) and the spread. File-backed pages depend on the page
# cache (the first start of a freshly written binary maps more), so one
# sample can be off by 0.5-1 MiB; the median of 5 is stable to ~0.1 MiB.
memory() {
  local name=$1 runs=$2
  shift 2
  local samples=() i
  for ((i = 0; i < runs; i++)); do
    start_daemon "$name" "$@"
    samples+=("$(sample "$started_pid")")
    if [[ $detail == --detail && $i == $((runs - 1)) ]]; then
      echo "  resident by mapping (KiB, last run; shared libraries are shared with other processes):"
      awk '/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "[anon]" : $6) } /^Rss:/ { rss[name] += $2 }
           END { for (n in rss) if (rss[n] > 0) printf "%8d  %s\n", rss[n], n }' "/proc/$started_pid/smaps" |
        sort -rn | head -12
    fi
    kill "$started_pid" && wait "$started_pid" 2>/dev/null || true
  done
  local sorted rss hwm anon file pss priv
  sorted=$(printf '%s\n' "${samples[@]}" | sort -n)
  read -r rss hwm anon file pss priv <<<"$(sed -n "$(((runs + 1) / 2))p" <<<"$sorted")"
  printf '%-12s idle VmRSS %s, VmHWM %s (anonymous %s, file-backed %s)  %s\n' "$name" "$(mib "$rss")" \
    "$(mib "$hwm")" "$(mib "$anon")" "$(mib "$file")" "$(verdict "$rss" $((10 * MIB)))"
  printf '%-12s      PSS %s, private %s; median of %d starts, VmRSS from %s to %s\n' "" "$(mib "$pss")" \
    "$(mib "$priv")" "$runs" "$(mib "$(head -1 <<<"$sorted" | cut -d' ' -f1)")" \
    "$(mib "$(tail -1 <<<"$sorted" | cut -d' ' -f1)")"
}

runs=${RUNS:-5}
echo "== idle memory (amd64, stripped binaries)"
rm -rf "$tmp/node"
memory terril-node "$runs" "$tmp/amd64-terril-node" serve --data-dir "$tmp/node" --config /dev/null --listen 127.0.0.1:0
"$tmp/amd64-terril-hub" init --data-dir "$tmp/hub" --config /dev/null </dev/null >/dev/null
memory terril-hub "$runs" "$tmp/amd64-terril-hub" serve --data-dir "$tmp/hub" --config /dev/null --insecure \
  --listen 127.0.0.1:0

if [[ $detail == --detail ]]; then
  for b in node/terril-node hub/terril-hub; do
    echo "== largest sections of $b (amd64)"
    size -A "$BUILD/$b" | awk '$1 ~ /^\./ && $1 !~ /debug/ && $2 > 65536 { printf "%10d  %s\n", $2, $1 }' | sort -rn
    echo "== code and data of $b by library (amd64, bytes; from the symbol table)"
    nm -C -S -t d "$BUILD/$b" | awk '
      NF >= 4 && $3 ~ /^[tTwWrRdDbBuV]$/ {
        name = $0; sub(/^[0-9]+ [0-9]+ . /, "", name)
        best = 0; lib = "other"
        n = split("nlohmann:: toml:: CLI:: fmt:: spdlog:: boost::beast:: boost::asio:: boost:: google::protobuf:: terril::v1:: terril:: std::", ns, " ")
        for (i = 1; i <= n; i++) { p = index(name, ns[i]); if (p > 0 && (best == 0 || p < best)) { best = p; lib = ns[i] } }
        bytes[lib] += $2 + 0
      }
      END { for (l in bytes) printf "%10d  %s\n", bytes[l], l }' | sort -rn
    echo "== largest symbols of $b (amd64)"
    nm --size-sort -C -S -t d "$BUILD/$b" | tail -12 | cut -c18- | awk '{ size = $1 + 0; $1 = ""; printf "%10d %s\n", size, substr($0, 1, 110) }'
  done
fi
