#!/usr/bin/env bash
# Builds the C client and runs its tests (under valgrind) against a real kilnd.
# Installs its Debian libraries if missing (the generated protobuf-c code is
# committed, so protoc-c is not needed). Needs .build/debug/kilnd
# (swift build --product kilnd, or swift build --build-tests).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for pkg in libnghttp2-dev libprotobuf-c-dev valgrind; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}"
fi
exec make -C clients/c test "$@"
