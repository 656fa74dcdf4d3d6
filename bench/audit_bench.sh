#!/usr/bin/env bash
# Builds and runs the audit benchmark: durable audited state changes per second (one row insert +
# one audit record per transaction) from 1 and 8 threads, on SQLite and on PostgreSQL.
#
#   bench/audit_bench.sh [audit_bench options, e.g. --seconds 5]
#
# PostgreSQL: the server PLINTH_BENCH_PG_URL names, else a throwaway one started (and stopped) with
# scripts/pg-test-server.sh. That server runs with fsync off, so its figures are an upper bound.
# The build folder is PLINTH_BENCH_BUILD_DIR (default build-bench, Release).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${PLINTH_BENCH_BUILD_DIR:-$root/build-bench}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPLINTH_BUILD_TESTS=OFF >/dev/null
ninja -C "$build" -j2 audit_bench >/dev/null

args=()
if [[ -n ${PLINTH_BENCH_PG_URL:-} ]]; then
  args+=(--pg-url "$PLINTH_BENCH_PG_URL")
elif [[ -x $root/scripts/pg-test-server.sh ]]; then
  pg_parent=$(mktemp -d "${TMPDIR:-/tmp}/plinth-audit-bench-pg.XXXXXX")
  pg_dir=$pg_parent/pg  # the script creates (and on stop removes) this folder itself
  trap '"$root/scripts/pg-test-server.sh" stop "$pg_dir"; rmdir "$pg_parent"' EXIT
  "$root/scripts/pg-test-server.sh" start "$pg_dir"
  args+=(--pg-url "$(cat "$pg_dir/url")" --pg-label "PostgreSQL 15 (throwaway server, fsync off)")
fi

"$build/bench/audit_bench" "${args[@]}" "$@"
