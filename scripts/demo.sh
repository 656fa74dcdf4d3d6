#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install packages, build, run `plinth demo`.
# Extra arguments go to `plinth demo` (e.g. --home DIR to keep the home afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release plinth
exec build/plinth demo "$@"
