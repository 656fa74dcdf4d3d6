#!/usr/bin/env bash
# Builds and runs the experiment tracking benchmark: LogBatch of 1,000 metrics in one durable
# transaction (target <= 10 ms) and SearchRuns over 100,000 runs with a filter and an order
# (target <= 100 ms), on SQLite and on PostgreSQL.
#
#   bench/tracking_bench.sh [tracking_bench options, e.g. --runs 30000 --searches 50]
#
# PostgreSQL: the server PLINTH_BENCH_PG_URL names, else a throwaway one started (and stopped) with
# scripts/pg-test-server.sh. That server runs with fsync off, so its log_batch figure is an upper
# bound. The build folder is PLINTH_BENCH_BUILD_DIR (default build-bench, Release).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${PLINTH_BENCH_BUILD_DIR:-$root/build-bench}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPLINTH_BUILD_TESTS=OFF >/dev/null
ninja -C "$build" -j2 tracking_bench >/dev/null

args=()
if [[ -n ${PLINTH_BENCH_PG_URL:-} ]]; then
  args+=(--pg-url "$PLINTH_BENCH_PG_URL")
elif [[ -x $root/scripts/pg-test-server.sh ]]; then
  pg_parent=$(mktemp -d "${TMPDIR:-/tmp}/plinth-tracking-bench-pg.XXXXXX")
  pg_dir=$pg_parent/pg  # the script creates (and on stop removes) this folder itself
  trap '"$root/scripts/pg-test-server.sh" stop "$pg_dir"; rmdir "$pg_parent"' EXIT
  "$root/scripts/pg-test-server.sh" start "$pg_dir"
  args+=(--pg-url "$(cat "$pg_dir/url")" --pg-label "PostgreSQL 15 (throwaway server, fsync off)")
fi

"$build/bench/tracking_bench" "${args[@]}" "$@"
