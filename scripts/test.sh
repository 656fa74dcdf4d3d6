#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install packages, build, and run every test — unit
# tests beside the code, the store and audit suites on SQLite and on a real PostgreSQL server
# (started on loopback by the tests themselves), end-to-end tests against the binary — then the
# unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer, then every parser's
# libFuzzer target for a short while (PLINTH_FUZZ_SECONDS each, default 20; 0 skips).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=$(nproc)

echo "== build (release) =="
scripts/build.sh release
echo "== tests (release) =="
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 600

if [ "${PLINTH_SKIP_ASAN:-0}" != "1" ]; then
  echo "== build (ASan + UBSan) =="
  scripts/build.sh asan
  echo "== unit tests (ASan + UBSan) =="
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # Third-party process-wide caches only (fontconfig under Graphviz's text layout).
  export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp"
  ctest --test-dir build-asan -L unit --output-on-failure -j "$jobs" --timeout 900
fi

fuzz_seconds="${PLINTH_FUZZ_SECONDS:-20}"
if [ "$fuzz_seconds" != "0" ]; then
  echo "== fuzzers (${fuzz_seconds}s each) =="
  scripts/fuzz.sh "$fuzz_seconds"
fi
