#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, then runs a hub
# and two centre nodes on loopback with embedded SQLite, enrols the nodes,
# writes a registration at one centre and shows it reaching the other.
# Leaves everything running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
BUILD=${TERRIL_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target terril-hub terril-node
HUB="$BUILD/hub/terril-hub"
NODE="$BUILD/node/terril-node"
DEMO=${TERRIL_DEMO_DIR:-$(mktemp -d /tmp/terril-demo.XXXXXX)}
HUB_PORT=${HUB_PORT:-8443}
A_PORT=${A_PORT:-8081}
B_PORT=${B_PORT:-8082}
ADMIN_PW=${ADMIN_PW:-demo-admin-2026}
STAFF_PW=${STAFF_PW:-demo-accueil-2026}
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

wait_port() { # wait until the daemon printed its "listening" line
  for _ in $(seq 100); do grep -q '^listening' "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "demo: $2 did not start; see ${1%.out}.log" >&2; exit 1
}

echo "== Hub: init (TLS certificate, 19 centres, admin password)"
echo "$ADMIN_PW" | "$HUB" init --data-dir "$DEMO/hub" --config /dev/null --password-stdin
"$HUB" serve --data-dir "$DEMO/hub" --config /dev/null --listen "127.0.0.1:$HUB_PORT" >"$DEMO/hub.out" 2>"$DEMO/hub.log" &
pids+=($!)
wait_port "$DEMO/hub.out" hub

enrol() { # node_id centre port
  local added code fp
  added=$("$HUB" node add "$1" --centre "$2" --data-dir "$DEMO/hub" --config /dev/null --json)
  code=$(sed -n 's/.*"code":"\([^"]*\)".*/\1/p' <<<"$added")
  fp=$(sed -n 's/.*"hub_fingerprint":"\([^"]*\)".*/\1/p' <<<"$added")
  echo "== Node $1 ($2): enrol with one-time code $code, checking the hub's certificate $fp"
  "$NODE" enrol --hub "wss://127.0.0.1:$HUB_PORT" --code "$code" --fingerprint "$fp" --data-dir "$DEMO/$1" \
    --config /dev/null >/dev/null
  echo "$STAFF_PW" | "$NODE" passwd --data-dir "$DEMO/$1" --config /dev/null >/dev/null
  "$NODE" serve --data-dir "$DEMO/$1" --config /dev/null --listen "127.0.0.1:$3" >"$DEMO/$1.out" 2>"$DEMO/$1.log" &
  pids+=($!)
  wait_port "$DEMO/$1.out" "$1"
}
enrol denain-tonini denain-tonini "$A_PORT"
enrol valenciennes-beaujardin valenciennes-beaujardin "$B_PORT"

api() { # port method path [json]
  curl -sS -b "$DEMO/cookies-$1" -c "$DEMO/cookies-$1" -X "$2" -H 'Content-Type: application/json' \
    ${4:+--data "$4"} "http://127.0.0.1:$1$3"
}
api "$A_PORT" POST /api/v1/login "{\"password\":\"$STAFF_PW\"}" >/dev/null
api "$B_PORT" POST /api/v1/login "{\"password\":\"$STAFF_PW\"}" >/dev/null

echo "== Beaujardin creates the temps fort; Denain registers an inhabitant for it"
start=$(date -u -d '+14 days' +%Y-%m-%dT14:00:00Z)
event=$(api "$B_PORT" POST /api/v1/events \
  "{\"title\":\"Temps fort numérique\",\"kind\":\"temps-fort\",\"starts_at\":\"$start\",\"place\":\"Beaujardin\",\"capacity\":120}")
event_id=$(echo "$event" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
for _ in $(seq 100); do
  api "$A_PORT" GET "/api/v1/events/$event_id" | grep -q '"title"' && break; sleep 0.1
done
reg=$(api "$A_PORT" POST /api/v1/registrations \
  "{\"event_id\":\"$event_id\",\"first_name\":\"Camille\",\"last_name\":\"Demo\",\"phone\":\"06 00 00 00 00\",\"role\":\"habitant\",\"consent\":true}")
reg_id=$(echo "$reg" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
t0=$(date +%s%N)
for _ in $(seq 200); do
  api "$B_PORT" GET "/api/v1/registrations/$reg_id" | grep -q '"first_name"' && break; sleep 0.05
done
t1=$(date +%s%N)
echo "   registration $reg_id reached the hosting centre in $(( (t1 - t0) / 1000000 )) ms"
"$NODE" status --data-dir "$DEMO/denain-tonini" --config /dev/null

cat <<TXT

terril is running (data in $DEMO):
  hub dashboard   https://127.0.0.1:$HUB_PORT/   admin password: $ADMIN_PW   (self-signed certificate)
  Denain node     http://127.0.0.1:$A_PORT/       staff password: $STAFF_PW
  Beaujardin node http://127.0.0.1:$B_PORT/       staff password: $STAFF_PW
Press Ctrl-C to stop.
TXT
wait
