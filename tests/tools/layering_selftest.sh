#!/usr/bin/env bash
# scripts/check_layering.sh finds each kind of forbidden include (a tree of
# bad files made here) and passes a tree that keeps the rules.
set -euo pipefail
check=$(cd "$(dirname "$0")/../.." && pwd)/scripts/check_layering.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mk() { mkdir -p "$tmp/$1/$(dirname "$2")"; printf '%s\n' "$3" >"$tmp/$1/$2"; }

# A clean tree.
mk good common/core/a.h '#include <vector>'
mk good common/core/a.cpp '#include "common/core/a.h"'
mk good common/store/s.cpp '#include <sqlite3.h>'
mk good common/wire/w.cpp '#include "terril/v1/sync.pb.h"'
mk good common/net/n.cpp '#include <boost/asio.hpp>'
mk good hub/h.cpp '#include "common/store/store.h"'
"$check" "$tmp/good" >/dev/null || { echo "FAIL: clean tree reported"; exit 1; }

# One violation per rule.
mk bad common/core/x.cpp '#include <boost/asio.hpp>'
mk bad common/core/y.cpp '#include "common/net/http.h"'
mk bad hub/z.cpp '#include <sqlite3.h>'
mk bad node/p.cpp '#include "terril/v1/sync.pb.h"'
mk bad node/q.cpp '#include <boost/beast.hpp>'
mk bad common/store/r.cpp '#include "hub/admin.h"'
mk bad hub/t.cpp '#include "node/api.h"'
set +e
out=$("$check" "$tmp/bad")
rc=$?
set -e
[[ $rc -eq 1 ]] || { echo "FAIL: bad tree exit $rc"; exit 1; }
for want in "common/core/x.cpp:1" "common/core/y.cpp:1" "hub/z.cpp:1: SQLite" "node/p.cpp:1: generated protobuf" \
  "node/q.cpp:1: Boost" "common/store/r.cpp:1: common/ never" "hub/t.cpp:1: node/ and hub/"; do
  grep -qF "$want" <<<"$out" || { echo "FAIL: not reported: $want"; echo "$out"; exit 1; }
done
echo "layering self-test: 7 violations found, clean tree passed"
