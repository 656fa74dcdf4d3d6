#!/usr/bin/env bash
# Installs the Debian packages Plinth builds, tests and benchmarks with. Does nothing when they
# are all present; otherwise runs apt-get (as root, or through sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libabsl-dev libsqlite3-dev libpq-dev libsodium-dev libssl-dev
  nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libfast-float-dev libyaml-cpp-dev libre2-dev
  libxgboost-dev libmstch-dev libgraphviz-dev libzip-dev libboost-dev libhiredis-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql redis-server sqlite3 wrk curl
  python3-fastapi python3-uvicorn python3-xgboost python3-numpy
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing Debian packages: ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
