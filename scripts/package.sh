#!/usr/bin/env bash
# Builds the Debian packages terril-node and terril-hub into dist/.
#
#   scripts/package.sh [amd64|arm64]     (default: amd64)
#
# amd64: a Release build in build-pkg (tests and benchmarks off).
# arm64: the cross build of scripts/build-arm64.sh (build-arm64), so the
#        packaged binaries are the ones its tests ran on.
# Both are TERRIL_SLIM builds (section GC, cmake/packaging.cmake) and CPack
# strips the binaries. Depends is filled by dpkg-shlibdeps.
# Environment: DIST (default dist), JOBS (default 2), BUILD_DIR, and
# MAINTAINER="Name <mail>": the packages' Maintainer field, the organisation
# that deploys them (default: cmake/packaging.cmake's placeholder
# "terril developers <terril@example.org>"; kept in BUILD_DIR's cache).
# Prints the packages' paths, sizes and Depends; `dpkg-deb -c` lists contents.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
arch=${1:-amd64}
dist=${DIST:-$root/dist}
jobs=${JOBS:-2}

# The Maintainer field, given to cmake (and cached in the build folder).
maint=()
[[ -n "${MAINTAINER:-}" ]] && maint=(-DTERRIL_MAINTAINER="$MAINTAINER")

case "$arch" in
amd64)
  "$root/scripts/deps.sh"
  build=${BUILD_DIR:-$root/build-pkg}
  gen=()
  [[ -f "$build/CMakeCache.txt" ]] || { command -v ninja >/dev/null && gen=(-G Ninja); }
  cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DTERRIL_TESTS=OFF -DTERRIL_BENCH=OFF -DTERRIL_FUZZ=OFF -DTERRIL_SLIM=ON "${maint[@]}" >/dev/null
  start=$(date +%s)
  cmake --build "$build" -j "$jobs" --target terril-node terril-hub
  echo "package: amd64 build took $(($(date +%s) - start)) s"
  ;;
arm64)
  build=${BUILD_DIR:-$root/build-arm64}
  BUILD_DIR=$build JOBS=$jobs SLIM=ON "$root/scripts/build-arm64.sh"
  # build-arm64.sh configures without it: set it in that build's cache.
  if ((${#maint[@]})); then cmake "${maint[@]}" "$build" >/dev/null; fi
  ;;
*)
  echo "usage: $0 [amd64|arm64]" >&2
  exit 2
  ;;
esac

mkdir -p "$dist"
rm -f "$dist"/terril-{node,hub}_*_"$arch".deb
(cd "$build" && cpack -G DEB -D CPACK_OUTPUT_FILE_PREFIX="$dist" >/dev/null)
for p in node hub; do
  deb=$(ls "$dist"/terril-${p}_*_"$arch".deb)
  echo "$deb  $(du -h "$deb" | cut -f1)"
  dpkg-deb -f "$deb" Architecture Maintainer Depends | sed 's/^/  /'
done
