#!/usr/bin/env bash
# The include rules that keep terril's layers one-way (docs/design.md,
# "Parts and layers"), checked on every C++ file of the product:
#   - common/core includes the standard library only (and common/core itself);
#   - <sqlite3.h> only in common/store;
#   - generated protobuf (*.pb.h, google/protobuf) only in common/wire;
#   - Boost (Asio, Beast) only in common/net;
#   - common/ never includes node/ or hub/; node/ and hub/ never include each other.
# Tests (tests/), benchmarks (bench/) and generated files may include anything.
# Prints every violation as file:line: rule, exits 1 if there is one.
#   scripts/check_layering.sh [ROOT]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
bad=0
report() { echo "$1: $2"; bad=1; }

# file:line:text of every #include in the product sources.
dirs=()
for d in common hub node; do [[ -d $d ]] && dirs+=("$d"); done
mapfile -t lines < <(grep -rnE '^[[:space:]]*#[[:space:]]*include' --include='*.h' --include='*.cpp' "${dirs[@]}" || true)
for l in "${lines[@]}"; do
  file=${l%%:*}
  rest=${l#*:}
  lineno=${rest%%:*}
  text=${rest#*:}
  inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1/' <<<"$text")
  where="$file:$lineno"
  case "$file" in
    common/core/*)
      if [[ "$text" == *'"'* && "$inc" != common/core/* ]]; then report "$where" "common/core includes only the standard library and common/core ($inc)"; fi
      if [[ "$text" == *'<'* && "$inc" == */* ]]; then report "$where" "common/core includes only the standard library ($inc)"; fi
      ;;
  esac
  if [[ "$inc" == sqlite3.h || "$inc" == sqlite3ext.h ]] && [[ "$file" != common/store/* ]]; then
    report "$where" "SQLite only in common/store"
  fi
  if [[ "$inc" == *.pb.h || "$inc" == google/protobuf/* ]] && [[ "$file" != common/wire/* ]]; then
    report "$where" "generated protobuf only in common/wire"
  fi
  if [[ "$inc" == boost/* ]] && [[ "$file" != common/net/* ]]; then
    report "$where" "Boost (Asio/Beast) only in common/net"
  fi
  if [[ "$file" == common/* && ( "$inc" == node/* || "$inc" == hub/* ) ]]; then
    report "$where" "common/ never includes node/ or hub/"
  fi
  if [[ "$file" == node/* && "$inc" == hub/* ]] || [[ "$file" == hub/* && "$inc" == node/* ]]; then
    report "$where" "node/ and hub/ never include each other"
  fi
done
if ((bad)); then
  echo "layering: violations found (rules at the top of scripts/check_layering.sh)"
  exit 1
fi
echo "layering: ${#lines[@]} includes checked, all within the rules"
