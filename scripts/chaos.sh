#!/usr/bin/env bash
# The long fault runs of issue 6, with their figures:
#   - chaos: a hub and 19 nodes through the fault proxy, writing for 10 min,
#     then heal and converge (tests/integration/test_chaos.py);
#   - crash loop: 200 kill -9 of the hub and random nodes during sync
#     (tests/integration/test_crash_loop.py).
#
#   scripts/chaos.sh            both
#   scripts/chaos.sh chaos      the chaos run only
#   scripts/chaos.sh crash      the crash loop only
#
# Env: TERRIL_BUILD (build folder holding hub/terril-hub and node/terril-node,
# default build), TERRIL_CHAOS_SECONDS (default 600), TERRIL_CRASH_KILLS
# (default 200), TERRIL_SEED (replay a run: the seed is printed).
# CI runs the short versions through ctest (integration_chaos,
# integration_crash_loop).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
what="${1:-all}"
export TERRIL_BUILD="${TERRIL_BUILD:-$root/build}"
export TERRIL_CHAOS_SECONDS="${TERRIL_CHAOS_SECONDS:-600}"
export TERRIL_CRASH_KILLS="${TERRIL_CRASH_KILLS:-200}"
export TERRIL_CHAOS_CONVERGE_TIMEOUT="${TERRIL_CHAOS_CONVERGE_TIMEOUT:-600}"
export PYTHONDONTWRITEBYTECODE=1
for b in hub/terril-hub node/terril-node; do
  [[ -x "$TERRIL_BUILD/$b" ]] || { echo "chaos.sh: $TERRIL_BUILD/$b not built" >&2; exit 2; }
done
ulimit -n 8192 2>/dev/null || true
out="$(mktemp -d)"
status=0

run() {  # name module
  local t0=$(date +%s)
  echo "chaos.sh: running $1 (log $out/$1.log)"
  if ! (cd "$root/tests/integration" && python3 -m unittest -v "$2") >"$out/$1.log" 2>&1; then
    tail -n 60 "$out/$1.log" >&2
    echo "chaos.sh: $1 FAILED" >&2
    status=1
  fi
  echo "chaos.sh: $1 took $(( $(date +%s) - t0 )) s"
}

[[ "$what" == all || "$what" == chaos ]] && run chaos test_chaos
[[ "$what" == all || "$what" == crash ]] && run crash test_crash_loop

python3 - "$out" <<'EOF'
import glob, json, sys
for path in sorted(glob.glob(sys.argv[1] + "/*.log")):
    for line in open(path, errors="replace"):
        if line.startswith("CHAOS "):
            f = json.loads(line[6:])
            fl = f["faults"]
            print(f"\nchaos  seed {f['seed']}: {f['nodes']} nodes, {f['write_seconds'] / 60:.1f} min of writes under faults")
            print(f"  faults   {fl['connections']} connections, {fl['cuts_rst']} RST + {fl['cuts_fin']} FIN cuts, "
                  f"{fl['stalls']} stalls, {fl['throttled']} 2G throttles, {fl['truncations']} truncations, "
                  f"{fl['delayed_connects']} delayed connects, {fl['refusal_windows']} refusal windows "
                  f"({fl['refused_seconds']} s)")
            print(f"  writes   {f['writes_acked']} acked {f['acked_by_kind']}, {f['in_doubt']} in doubt, "
                  f"{f['refused']} refused; at the hub {f['records_at_hub']}")
            print(f"  result   lost {f['lost']}, duplicated {f['duplicated']}, converged {f['converge_seconds']} s after heal")
        if line.startswith("CRASH "):
            f = json.loads(line[6:])
            print(f"\ncrash  seed {f['seed']}: {f['nodes']} nodes, {f['kills']} kill -9 ({f['hub_kills']} hub, "
                  f"{f['node_kills']} node) in {f['loop_seconds']} s")
            print(f"  writes   {f['writes_acked']} acked {f['acked_by_kind']}, {f['in_doubt']} in doubt "
                  f"({f['in_doubt_at_hub']} of them committed), {f['not_sent']} not sent (node down)")
            print(f"  result   lost {f['lost']}, duplicated {f['duplicated']}, integrity failures "
                  f"{f['integrity_failures']}, converged {f['converge_seconds']} s after the last kill")
EOF
echo "chaos.sh: logs in $out"
exit "$status"
