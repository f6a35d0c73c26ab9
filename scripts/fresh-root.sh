#!/usr/bin/env bash
# The packages on fresh Debian roots (issue 16, items 3 and 4), run as root:
#
#   amd64  a minimal bookworm amd64 root (debootstrap --variant=minbase); inside
#          it (chroot), the root's own apt installs terril-node and terril-hub
#          from their .debs with --no-install-recommends: this proves each
#          package's Depends is complete. Then, as their units' User=, the hub
#          is initialised and started (its unit's ExecStart), the node enrolled,
#          given a staff password and started (ExecStart), one registration
#          written through the node's API reaches the hub, `terril-node doctor`
#          passes and `terril-hub node list` shows the node.
#   arm64  a minimal bookworm arm64 root (debootstrap --foreign, then the second
#          stage in the chroot under qemu-aarch64-static through binfmt_misc);
#          the root's apt installs the arm64 terril-node .deb, its ExecStart
#          runs as terril-node under emulation and syncs with an amd64 hub
#          running on this machine's loopback (TERRIL_HUB_BIN): one registration
#          through the node's API reaches the hub, and doctor passes.
#
#   scripts/fresh-root.sh [amd64|arm64|all] [DEB_DIR]     (default: all)
#   scripts/fresh-root.sh prepare    only make the cached roots (no .debs needed:
#                                    CI can run it in the background during the builds)
#
# DEB_DIR (or TERRIL_DEB_DIR) holds terril-{node,hub}_*_amd64.deb and/or
# terril-node_*_arm64.deb, e.g. made from a build folder without rebuilding:
#   cpack -G DEB --config build/CPackConfig.cmake -D CPACK_OUTPUT_FILE_PREFIX=DIR -B DIR
# (the same from build-arm64/ for the arm64 one). The daemons listen on
# 127.0.0.1:0 (ExecStart plus --listen 127.0.0.1:0: other tests may hold 8080).
#
# Environment:
#   TERRIL_ROOT_CACHE  pristine roots kept between runs (default /var/cache/terril-roots):
#                      SUITE-ARCH/ (made once per machine, never modified after; each
#                      check runs in a copy) and apt-ARCH/ (apt's package lists and the
#                      .debs it fetched for the Depends, reused by later runs). Remove a
#                      folder to renew it.
#   TERRIL_HUB_BIN     the amd64 hub the arm64 node syncs with (default build/hub/terril-hub)
#   TERRIL_MIRROR      Debian mirror (default http://deb.debian.org/debian, as this
#                      machine's apt); TERRIL_SECURITY_MIRROR (default
#                      http://deb.debian.org/debian-security); TERRIL_SUITE (bookworm)
#   TERRIL_ROOT_WORK   where each run makes its folder for the copies, the logs and the
#                      hub's data (default /var/tmp; the folder is removed at exit,
#                      TERRIL_KEEP_ROOTS=1 keeps it to look inside)
#
# Mounts /proc in each copy (debootstrap made /dev's nodes; /sys is not needed)
# and apt's caches; registers qemu-aarch64 with binfmt_misc (flag F, so the
# emulator needs no copy in the root) only when no aarch64 entry is there. All
# of that is undone at exit, also on failure. Prints each step's time and the
# package sizes. Where qemu-user cannot fork or start a thread on this host
# (5-second probes, as scripts/build-arm64.sh), the arm64 check says exactly
# what it did not run and the script still exits 0; TERRIL_ARM64_REQUIRED=1
# makes that a failure. Exit status: 0 when every check that ran passed.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-all}
case "$mode" in amd64 | arm64 | all | prepare) ;; *)
  echo "usage: $0 [amd64|arm64|all] [DEB_DIR] | $0 prepare" >&2
  exit 2
  ;;
esac
deb_dir=${2:-${TERRIL_DEB_DIR:-}}
if [[ $mode != prepare ]]; then
  [[ -n "$deb_dir" && -d "$deb_dir" ]] || {
    echo "fresh-root: give the folder of .deb files (argument or TERRIL_DEB_DIR)" >&2
    exit 2
  }
  deb_dir=$(cd "$deb_dir" && pwd)
fi
[[ $(id -u) -eq 0 ]] || {
  echo "fresh-root: run as root (debootstrap, chroot, mount)" >&2
  exit 2
}
suite=${TERRIL_SUITE:-bookworm}
mirror=${TERRIL_MIRROR:-http://deb.debian.org/debian}
security=${TERRIL_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
cache=${TERRIL_ROOT_CACHE:-/var/cache/terril-roots}
hub_bin=${TERRIL_HUB_BIN:-$repo/build/hub/terril-hub}
centre=valenciennes-beaujardin
# The integration harness's passwords (tests/integration/harness.py).
staff_password=accueil-centre-2026
admin_password=admin-hub-2026-secret
mkdir -p "$cache"
mkdir -p "${TERRIL_ROOT_WORK:-/var/tmp}"
work=$(mktemp -d "${TERRIL_ROOT_WORK:-/var/tmp}/terril-fresh-root.XXXXXX")

say() { echo "fresh-root: $*"; }
fail() {
  echo "fresh-root: FAILED: $*" >&2
  exit 1
}
# Step times, printed again at the end.
times=()
# Step lines go to the script's own standard output (fd 3), also from a step
# whose output is redirected to a log.
exec 3>&1
now_ds() { local t=${EPOCHREALTIME/./}; echo $((t / 100000)); } # tenths of a second
since() { local d=$(($(now_ds) - $1)); echo "$((d / 10)).$((d % 10))"; }
timed() { # timed LABEL CMD...: runs CMD, records and prints its wall time, returns its status
  local label=$1 t0 rc=0 took
  t0=$(now_ds)
  shift
  "$@" || rc=$?
  took=$(since "$t0")
  times+=("$(printf '%-36s %7s s' "$label" "$took")")
  say "$label: $took s$([[ $rc == 0 ]] || echo " (exit $rc)")" >&3
  return "$rc"
}

# --- Cleanup: daemons, mounts, binfmt entry, copies (in that order) -----------
pids=()
mounts=()
binfmt=/proc/sys/fs/binfmt_misc
binfmt_entry=""    # the entry this run registered
binfmt_mounted=""  # this run mounted binfmt_misc
building=""        # the root this run's debootstrap is making
cleanup() {
  local rc=$? p m i
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null || true
  done
  local d
  [[ -z "$building" ]] || umount_debootstrap "$building"
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    m=${mounts[i]}
    umount "$m" 2>/dev/null || umount -l "$m" || echo "fresh-root: could not unmount $m" >&2
  done
  if [[ -n "$binfmt_entry" && -e "$binfmt/$binfmt_entry" ]]; then echo -1 >"$binfmt/$binfmt_entry" || true; fi
  if [[ -n "$binfmt_mounted" ]]; then
    local left=""
    for d in "$binfmt"/*; do [[ ${d##*/} == register || ${d##*/} == status ]] || left=1; done
    [[ -n "$left" ]] || umount "$binfmt" || true
  fi
  if [[ -z "${TERRIL_KEEP_ROOTS:-}" ]]; then
    # Never delete through a mount that is still there (a bound /proc or cache).
    if findmnt -rn -o TARGET | grep -q "^$work/"; then
      echo "fresh-root: something is still mounted under $work: left in place" >&2
    else
      rm -rf --one-file-system "$work"
    fi
  else
    echo "fresh-root: kept $work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- Roots ----------------------------------------------------------------------
# root_argv ROOT [USER]: sets $argv to the words that run a command in the
# chroot ROOT, with a clean environment, as USER if given (setpriv, as a
# unit's User=). Each word execs the next: a background $! is the command's pid.
root_argv() {
  argv=(chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8
    DEBIAN_FRONTEND=noninteractive)
  [[ -z "${2:-}" ]] || argv+=(setpriv --reuid "$2" --regid "$2" --init-groups --)
}
in_root() { # in_root ROOT CMD...
  local argv
  root_argv "$1"
  shift
  "${argv[@]}" "$@"
}
as_user() { # as_user ROOT USER CMD...
  local argv
  root_argv "$1" "$2"
  shift 2
  "${argv[@]}" "$@"
}
mount_in() { # mount_in ARGS... TARGET: mount, remembered for the cleanup
  mount "$@"
  mounts+=("${!#}")
}

# The sources a Debian install has: the release, its updates and security.
write_sources() {
  cat >"$1/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
EOF
}

# binfmt_misc: an enabled entry for aarch64 ELF executables, registered by
# this run (flag F: the kernel opens the emulator now, so the chroot needs no
# copy of it) unless one is there. Entries of other runs of this script
# (terril-aarch64-PID) do not count: they go away when their run ends.
aarch64_magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
aarch64_mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
binfmt_interp=""  # an existing entry's emulator without flag F: copied into each root
ensure_binfmt() {
  [[ -x /usr/bin/qemu-aarch64-static ]] || fail "no /usr/bin/qemu-aarch64-static (apt install qemu-user-static)"
  if ! mountpoint -q "$binfmt"; then
    mount -t binfmt_misc binfmt_misc "$binfmt"
    binfmt_mounted=1
  fi
  local e
  for e in "$binfmt"/*; do
    case ${e##*/} in register | status | terril-aarch64-*) continue ;; esac
    if grep -qx enabled "$e" && grep -q '^magic 7f454c460201010000000000000000000200b700' "$e"; then
      say "binfmt_misc: using the existing entry ${e##*/} ($(sed -n 's/^interpreter //p' "$e"))"
      grep -q '^flags:.*F' "$e" || binfmt_interp=$(sed -n 's/^interpreter //p' "$e")
      return
    fi
  done
  binfmt_entry=terril-aarch64-$$
  echo ":$binfmt_entry:M::$aarch64_magic:$aarch64_mask:/usr/bin/qemu-aarch64-static:F" >"$binfmt/register"
  say "binfmt_misc: registered $binfmt_entry (qemu-aarch64-static, flag F; removed at exit)"
}

# qemu-user on some hosts cannot fork or start a thread in a guest: two
# 5-second probes (static aarch64 programs, so no loader is involved) decide.
# shellcheck disable=SC2034 # read through ${!src}
probe_src_fork='#include <unistd.h>
#include <sys/wait.h>
int main(void) { pid_t p = fork(); if (p == 0) _exit(7); int s = 0; waitpid(p, &s, 0); return WEXITSTATUS(s) == 7 ? 0 : 1; }'
# shellcheck disable=SC2034
probe_src_thread='#include <pthread.h>
static void *f(void *a) { return a; }
int main(void) { pthread_t t; if (pthread_create(&t, 0, f, 0)) return 1; return pthread_join(t, 0); }'
qemu_works() { # qemu_works fork|thread: 0 when the probe passes (or cannot be built: then say so)
  local name=$1 src
  src=probe_src_$1
  if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
    say "no aarch64-linux-gnu-gcc: the $name probe is not run (the steps below would time out instead)"
    return 0
  fi
  printf '%s\n' "${!src}" | aarch64-linux-gnu-gcc -x c -static -pthread -o "$work/probe-$name" - ||
    fail "cannot build the $name probe"
  timeout -k 1 5 /usr/bin/qemu-aarch64-static "$work/probe-$name"
}

# cached_root ARCH: prints the pristine root's path, made once (under a lock:
# two runs at once make it once). A root is only used once its stamp is there.
cached_root() {
  local arch=$1
  local dir="$cache/$suite-$arch"
  exec {lock}>"$cache/.lock-$suite-$arch"
  flock "$lock"
  if [[ ! -f "$dir/.terril-root-ok" ]]; then
    rm -rf --one-file-system "$dir" "$dir.new"
    building=$dir.new
    if [[ $arch == amd64 ]]; then
      timed "debootstrap amd64" debootstrap --variant=minbase "$suite" "$dir.new" "$mirror" >"$work/debootstrap-$arch.log" 2>&1 ||
        { tail -20 "$work/debootstrap-$arch.log" >&2; fail "debootstrap $arch"; }
    else
      timed "debootstrap arm64 (first stage)" debootstrap --foreign --arch arm64 --variant=minbase "$suite" "$dir.new" \
        "$mirror" >"$work/debootstrap-$arch.log" 2>&1 || { tail -20 "$work/debootstrap-$arch.log" >&2; fail "debootstrap $arch"; }
      copy_interp "$dir.new"
      local rc=0
      timed "second stage arm64 (qemu)" timeout 3600 chroot "$dir.new" /debootstrap/debootstrap --second-stage \
        >>"$work/debootstrap-$arch.log" 2>&1 || rc=$?
      umount_debootstrap "$dir.new"
      [[ $rc == 0 ]] || { tail -20 "$work/debootstrap-$arch.log" >&2; fail "second stage $arch"; }
    fi
    # The .debs debootstrap fetched are not part of the system.
    rm -f "$dir.new"/var/cache/apt/archives/*.deb
    write_sources "$dir.new"
    touch "$dir.new/.terril-root-ok"
    mv "$dir.new" "$dir"
    building=""
    say "cached the $suite $arch root in $dir ($(du -sh "$dir" | cut -f1))" >&2
  else
    say "reusing the cached $suite $arch root $dir (made $(date -r "$dir/.terril-root-ok" +%F))" >&2
    times+=("$(printf '%-36s %7s' "debootstrap $arch" cached)")
  fi
  exec {lock}>&-
}
umount_debootstrap() { # what a second stage (killed, or failed) left mounted in ROOT
  local m
  for m in $(findmnt -rn -o TARGET | grep "^$1/" | sort -r); do umount "$m" || umount -l "$m" || true; done
}
copy_interp() { # an existing binfmt entry without flag F needs its emulator inside the root
  [[ -z "$binfmt_interp" ]] && return 0
  mkdir -p "$1$(dirname "$binfmt_interp")"
  cp "$binfmt_interp" "$1$binfmt_interp"
}

# new_root ARCH: a copy of the pristine root in $work/ARCH, /proc and the apt
# caches mounted, the host's resolver, the .debs in /tmp/debs.
new_root() {
  local arch=$1 r="$work/$1"
  cached_root "$arch"
  timed "copy the $arch root" cp -a --reflink=auto "$cache/$suite-$arch" "$r"
  copy_interp "$r"
  mount_in -t proc proc "$r/proc"
  # apt's package lists and downloads, kept for later runs: an update then
  # only fetches what changed (under emulation, gpgv on fresh lists is slow).
  mkdir -p "$cache/apt-$arch/cache/archives/partial" "$cache/apt-$arch/lists/partial"
  mount_in --bind "$cache/apt-$arch/cache" "$r/var/cache/apt"
  mount_in --bind "$cache/apt-$arch/lists" "$r/var/lib/apt/lists"
  cp -L /etc/resolv.conf "$r/etc/resolv.conf"
  mkdir -p "$r/tmp/debs"
}

one_deb() { # one_deb PKG ARCH: the newest DEB_DIR/PKG_*_ARCH.deb
  local f
  f=$(ls "$deb_dir/$1"_*_"$2".deb 2>/dev/null | sort -V | tail -1)
  [[ -n "$f" ]] || fail "no $1_*_$2.deb in $deb_dir"
  echo "$f"
}
sizes() { # sizes DEB...: file size and Installed-Size of each package
  local d
  for d in "$@"; do
    say "package $(basename "$d"): $(($(stat -c %s "$d") / 1024)) KiB, installed $(dpkg-deb -f "$d" Installed-Size) KiB"
    say "  Depends: $(dpkg-deb -f "$d" Depends)"
  done
}
apt_install() { # apt_install ROOT ARCH DEB...: the root's own apt resolves the Depends from the mirror
  local r=$1 arch=$2 d args=()
  shift 2
  for d in "$@"; do
    cp "$d" "$r/tmp/debs/"
    args+=("/tmp/debs/$(basename "$d")")
  done
  timed "apt-get update ($arch)" in_root "$r" apt-get update -qq >"$work/apt-$arch.log" 2>&1 ||
    { tail -20 "$work/apt-$arch.log" >&2; fail "apt-get update in the $arch root"; }
  timed "apt-get install ($arch)" in_root "$r" apt-get install -y -q --no-install-recommends "${args[@]}" \
    >>"$work/apt-$arch.log" 2>&1 || { tail -30 "$work/apt-$arch.log" >&2; fail "apt-get install in the $arch root"; }
  grep -E '^(Setting up|terril-.* is installed)' "$work/apt-$arch.log" | sed 's/^/fresh-root:   /'
}

# start_daemon NAME TIMEOUT CMD...: starts CMD (a program, not a shell
# function: its pid is remembered for the cleanup) in the background, waits
# for its "listening HOST:PORT" line, sets $port.
port=""
start_daemon() {
  local name=$1 limit=$2 out="$work/$1.out" i
  shift 2
  : >"$out"
  "$@" >"$out" 2>"$work/$name.log" 3>&- &
  pids+=($!)
  local pid=$!
  for ((i = 0; i < limit * 10; i++)); do
    port=$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$out" | head -1)
    [[ -n "$port" ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -20 "$work/$name.log" >&2
  fail "$name did not print 'listening' within $limit s"
}
stop_daemon() { # stop_daemon NAME PID: SIGTERM, then its exit status must be 0
  local rc=0
  kill -TERM "$2"
  wait "$2" || rc=$?
  [[ $rc == 0 ]] || { tail -20 "$work/$1.log" >&2; fail "$1 exited $rc on SIGTERM"; }
}
exec_start() { # exec_start ROOT UNIT: the unit's ExecStart, as words
  sed -n 's/^ExecStart=//p' "$1/usr/lib/systemd/system/$2"
}
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# How each check runs terril-hub's commands: in the amd64 root as its user
# (the packaged config), or the host's amd64 hub with its own data folder.
hub_cli_root() { as_user "$work/amd64" terril-hub terril-hub "$@"; }
hub_cli_host() { "$hub_bin" "$@" --data-dir "$work/hub" --config /dev/null; }

# enrol_and_sync ROOT HUB_CLI HUB_PORT NODE_ID START_S WAIT_S: adds NODE_ID on
# the hub, enrols it in ROOT as terril-node, sets the staff password, starts
# the unit's ExecStart as terril-node (within START_S), writes one registration
# that must reach the hub (each wait WAIT_S), then doctor must pass and the
# hub's node list show the node seen. Sets $node_pid.
node_pid=""
enrol_and_sync() {
  local r=$1 hub=$2 hub_port=$3 node_id=$4 start_s=$5 wait_s=$6
  local add code fp
  add=$($hub node add "$node_id" --centre "$centre" --json)
  code=$(json_field code <<<"$add")
  fp=$(json_field hub_fingerprint <<<"$add")
  timed "enrol ($node_id)" as_user "$r" terril-node terril-node enrol --hub "wss://127.0.0.1:$hub_port" \
    --code "$code" --fingerprint "$fp" >"$work/enrol-$node_id.log" 2>&1 ||
    { cat "$work/enrol-$node_id.log" >&2; fail "enrol $node_id"; }
  grep -q "Enrolled: node $node_id" "$work/enrol-$node_id.log" || fail "enrol printed: $(cat "$work/enrol-$node_id.log")"
  as_user "$r" terril-node terril-node passwd <<<"$staff_password" >/dev/null
  # What `systemctl enable --now terril-node` runs, as the unit's User=.
  local cmd
  read -ra cmd <<<"$(exec_start "$r" terril-node.service)"
  [[ ${cmd[0]} == /usr/bin/terril-node ]] || fail "terril-node.service: unexpected ExecStart ${cmd[*]}"
  local argv
  root_argv "$r" terril-node
  timed "node start ($node_id)" start_daemon "node-$node_id" "$start_s" \
    "${argv[@]}" "${cmd[@]}" --listen 127.0.0.1:0 || exit 1
  node_pid=${pids[-1]}
  local node_port=$port
  timed "sync one registration ($node_id)" python3 "$repo/tests/tools/root_sync.py" \
    --node "http://127.0.0.1:$node_port" --hub "https://127.0.0.1:$hub_port" --timeout "$wait_s" ||
    { tail -20 "$work/node-$node_id.log" >&2; fail "sync from $node_id"; }
  local doctor rc=0
  doctor=$(as_user "$r" terril-node terril-node doctor 2>&1) || rc=$?
  [[ $rc == 0 && $doctor == *"Everything looks fine."* ]] || { echo "$doctor" >&2; fail "doctor exited $rc"; }
  say "doctor ($node_id): $(grep -c '\[ ok \]' <<<"$doctor") checks ok, \"Everything looks fine.\""
  $hub node list --json | python3 -c '
import json, sys
nodes = [n for n in json.load(sys.stdin) if n["node_id"] == sys.argv[1]]
sys.exit(0 if nodes and nodes[0]["last_seen"] else f"terril-hub node list: {sys.argv[1]} not seen: {nodes}")' "$node_id"
  say "hub node list: $node_id seen"
}

# --- amd64: Depends complete, both daemons start and answer ------------------
check_amd64() {
  say "== amd64: fresh $suite minbase root, apt-get install of both packages"
  local node_deb hub_deb r=$work/amd64
  node_deb=$(one_deb terril-node amd64)
  hub_deb=$(one_deb terril-hub amd64)
  sizes "$node_deb" "$hub_deb"
  new_root amd64
  apt_install "$r" amd64 "$node_deb" "$hub_deb"
  local pkg v
  for pkg in terril-node terril-hub; do
    v=$(in_root "$r" dpkg-query -W -f='${Version}' "$pkg")
    [[ $(in_root "$r" "$pkg" --version) == *"$v"* ]] || fail "$pkg --version does not say $v"
  done
  as_user "$r" terril-hub terril-hub init --password-stdin <<<"$admin_password" >"$work/hub-init.log" 2>&1 ||
    { cat "$work/hub-init.log" >&2; fail "terril-hub init"; }
  local cmd
  read -ra cmd <<<"$(exec_start "$r" terril-hub.service)"
  [[ ${cmd[0]} == /usr/bin/terril-hub ]] || fail "terril-hub.service: unexpected ExecStart ${cmd[*]}"
  local argv
  root_argv "$r" terril-hub
  timed "hub start (amd64 root)" start_daemon hub-amd64 30 "${argv[@]}" "${cmd[@]}" --listen 127.0.0.1:0 || exit 1
  local hub_pid=${pids[-1]} hub_port=$port
  enrol_and_sync "$r" hub_cli_root "$hub_port" fresh-amd64 30 30
  stop_daemon node-fresh-amd64 "$node_pid"
  stop_daemon hub-amd64 "$hub_pid"
  say "amd64: PASSED (Depends complete; hub and node started as their users, synced, doctor ok)"
}

# --- arm64: the arm64 node in an arm64 root, syncing with an amd64 hub --------
check_arm64() {
  say "== arm64: $suite minbase arm64 root under qemu-aarch64, the arm64 node with an amd64 hub"
  local node_deb r=$work/arm64
  node_deb=$(one_deb terril-node arm64)
  sizes "$node_deb"
  [[ -x "$hub_bin" ]] || fail "no amd64 hub at $hub_bin (TERRIL_HUB_BIN)"
  file -L "$hub_bin" | grep -q 'x86-64' || fail "$hub_bin is not an amd64 binary"
  arm64_emulation_works "apt-get install of $(basename "$node_deb") into the arm64 root, terril-node enrol, its start (ExecStart) and the sync with the amd64 hub" ||
    return 0
  new_root arm64
  apt_install "$r" arm64 "$node_deb"
  say "in the root: /usr/bin/terril-node is $(file -b "$r/usr/bin/terril-node" | cut -d, -f1-2)"
  local v
  v=$(in_root "$r" dpkg-query -W -f='${Version} ${Architecture}' terril-node)
  [[ $v == *" arm64" ]] || fail "installed terril-node is $v"
  [[ $(in_root "$r" terril-node --version) == *"${v% *}"* ]] || fail "terril-node --version does not say ${v% *}"
  # The amd64 hub, on this machine, with its own data folder.
  local hub_dir=$work/hub
  "$hub_bin" init --data-dir "$hub_dir" --password-stdin <<<"$admin_password" >"$work/hub-init-host.log" 2>&1 ||
    { cat "$work/hub-init-host.log" >&2; fail "terril-hub init (host)"; }
  timed "hub start (amd64, host)" start_daemon hub-host 30 \
    "$hub_bin" serve --data-dir "$hub_dir" --config /dev/null --listen 127.0.0.1:0 || exit 1
  local hub_pid=${pids[-1]} hub_port=$port
  enrol_and_sync "$r" hub_cli_host "$hub_port" fresh-arm64 120 180
  stop_daemon node-fresh-arm64 "$node_pid"
  stop_daemon hub-host "$hub_pid"
  say "arm64: PASSED (arm64 root, the package's Depends, node under emulation synced with the amd64 hub, doctor ok)"
}
# arm64_emulation_works WHAT: binfmt_misc set up and qemu-user able to fork and
# start threads (dpkg and the maintainer scripts fork; the daemons resolve
# names on a thread, Asio; apt and dpkg may decompress on threads). Else says
# that the second stage and WHAT were not run, and fails.
arm64_emulation_works() {
  ensure_binfmt
  local p what=$1
  [[ -f "$cache/$suite-arm64/.terril-root-ok" ]] || what="the arm64 root's second stage${what:+, $what}"
  for p in fork thread; do
    if ! qemu_works $p; then
      arm64_not_run "$([[ $p == fork ]] && echo "fork()" || echo pthread_create) in a guest hangs or fails under qemu-aarch64 on this host (5-second probe)" "$what"
      return 1
    fi
  done
}
arm64_result=""
arm64_not_run() { # arm64_not_run REASON WHAT
  say "arm64: NOT RUN on this host: $2. Reason: $1."
  arm64_result="not run: $1"
  [[ -z "${TERRIL_ARM64_REQUIRED:-}" ]] || fail "TERRIL_ARM64_REQUIRED is set"
}

t_all=$SECONDS
if [[ $mode == prepare ]]; then
  cached_root amd64
  if arm64_emulation_works ""; then cached_root arm64; fi
fi
if [[ $mode == amd64 || $mode == all ]]; then check_amd64; fi
if [[ $mode == arm64 || $mode == all ]]; then check_arm64; fi
say "== step times (wall clock):"
((${#times[@]} == 0)) || printf 'fresh-root:   %s\n' "${times[@]}"
say "all checks of '$mode' done in $((SECONDS - t_all)) s${arm64_result:+ (arm64 $arm64_result)}"
