#!/usr/bin/env bash
# Installs what terril needs to build and test on Debian 12 (bookworm).
# Idempotent and quiet when everything is there. Run as root (or with sudo).
#   scripts/deps.sh            build dependencies (help2man: the packages' manual pages)
#   scripts/deps.sh --test     + what the tests need (browser, python, clang for fuzzing,
#                              lintian for the packages)
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libsqlite3-dev sqlite3 libprotobuf-dev protobuf-compiler libspdlog-dev catch2
  libssl-dev openssl nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libsodium-dev libqrencode-dev
  help2man)
if [[ "${1:-}" == "--test" ]]; then
  pkgs+=(python3 chromium systemd faketime clang libclang-rt-14-dev clang-format procps curl lintian debootstrap)
  # Node.js may come from elsewhere (e.g. NodeSource, which bundles npm);
  # Debian's packages only when there is none.
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then pkgs+=(nodejs npm); fi
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
