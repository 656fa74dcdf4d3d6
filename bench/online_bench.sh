#!/usr/bin/env bash
# Online feature lookup latency in process: FeatureLookup::Get over a LocalOnlineStore view of
# 100,000 entities x 50 features, 1,000,000 single-entity Gets on one thread (10% unknown keys).
#
#   bench/online_bench.sh [build folder]      (default: build-bench at the top of the repository)
#
# Builds online_bench if needed (cmake + ninja) and runs it; it writes the view to a temp folder
# under ${TMPDIR:-/tmp} (about 45 MB, removed on exit) and prints the write and load times, one
# report line per lookup path, then a Markdown table. Each Get is timed on its own with
# steady_clock (the empty measurement's cost is printed as clock_overhead_ns and not subtracted).
# ratio to target = p99 / 5 us (<= 1 meets the target). ONLINE_BENCH_ENTITIES and
# ONLINE_BENCH_GETS change the sizes; ONLINE_BENCH_BIN=/path/to/online_bench skips the build.
# The HTTP lookup path is not measured here.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-${repo}/build-bench}"
bin="${ONLINE_BENCH_BIN:-}"

if [[ -z "${bin}" ]]; then
  if [[ ! -f "${build}/build.ninja" ]]; then
    cmake -S "${repo}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  ninja -C "${build}" -j2 online_bench >/dev/null
  bin="${build}/bench/online_bench"
fi

echo "Online lookup in process, $(date -u +%Y-%m-%d), $(nproc) cores," \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)." \
  "One thread, each Get timed on its own (steady_clock)."
echo
"${bin}" --entities "${ONLINE_BENCH_ENTITIES:-100000}" --gets "${ONLINE_BENCH_GETS:-1000000}"
