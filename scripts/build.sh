#!/usr/bin/env bash
# Builds Plinth. Usage: scripts/build.sh [release|asan] [ninja targets...]
#   release (default): build/, RelWithDebInfo
#   asan:              build-asan/, Debug with AddressSanitizer and UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-release}"
shift || true
case "$kind" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DPLINTH_SANITIZE=ON -DPLINTH_BUILD_BENCH=OFF) ;;
  *) echo "usage: scripts/build.sh [release|asan] [targets...]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
ninja -C "$dir" "$@"
