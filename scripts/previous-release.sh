#!/usr/bin/env bash
# Rebuilds the previous release's amd64 packages, the fixture of the upgrade test
# (tests/integration/test_upgrade.py), into tests/fixtures/packages/.
#
#   scripts/previous-release.sh [TAG]      (default: the newest v* tag before HEAD's version)
#
# The tag is checked out in a temporary git worktree and built as scripts/package.sh
# builds a release (Release, TERRIL_SLIM, daemons only), then packaged with cpack. The
# fixture is committed, so CI never builds an old release: run this once per release, when
# the previous release changes (after tagging a new one), and commit the result with its
# SHA256SUMS. Needs the build dependencies (scripts/deps.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tag=${1:-$(git -C "$root" describe --tags --abbrev=0 --match 'v*' HEAD)}
out=$root/tests/fixtures/packages
work=$(mktemp -d /tmp/terril-previous-XXXXXX)
trap 'git -C "$root" worktree remove --force "$work/src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git -C "$root" worktree add -q --detach "$work/src" "$tag"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$work/src" -B "$work/build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DTERRIL_TESTS=OFF -DTERRIL_BENCH=OFF -DTERRIL_FUZZ=OFF -DTERRIL_SLIM=ON >/dev/null
cmake --build "$work/build" -j "${JOBS:-2}" --target terril-node terril-hub
(cd "$work/build" && cpack -G DEB -D CPACK_OUTPUT_FILE_PREFIX="$work/debs" >/dev/null)
mkdir -p "$out"
rm -f "$out"/terril-*.deb
cp "$work"/debs/terril-{node,hub}_*_amd64.deb "$out/"
(cd "$out" && sha256sum terril-*.deb >SHA256SUMS)
echo "previous release $tag ($(git -C "$root" rev-parse --short "$tag^{commit}")) packaged into $out:"
ls -l "$out"
