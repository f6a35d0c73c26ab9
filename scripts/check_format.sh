#!/usr/bin/env bash
# Every tracked C++ file follows .clang-format (Google, 120 columns).
# Prints the files that do not and how to fix them; exits 1 if any.
#   scripts/check_format.sh [ROOT]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
command -v clang-format >/dev/null || { echo "format: clang-format not installed (apt-get install clang-format)"; exit 1; }
mapfile -t files < <(git ls-files '*.cpp' '*.h' 2>/dev/null || find common hub node tests bench -name '*.cpp' -o -name '*.h')
bad=()
for f in "${files[@]}"; do
  [[ -f "$f" ]] || continue
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
  printf 'format: not clang-formatted: %s\n' "${bad[@]}"
  echo "format: fix with: clang-format -i ${bad[*]}"
  exit 1
fi
echo "format: ${#files[@]} files follow .clang-format"
