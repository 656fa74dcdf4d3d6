#!/usr/bin/env bash
# Point-in-time training sets: Plinth's BuildTrainingSet (bench/pit_bench.cc) against the same
# join written with pandas (bench/pit_peer.py: merge_asof + per-customer rolling windows), side by
# side on the same CSV files.
#
#   bench/pit_bench.sh [build folder] [--spine-rows N]
#
# Builds pit_bench if needed (cmake + ninja; default build folder: build-bench at the top of the
# repository), writes SYNTHETIC transactions (PIT_BENCH_CUSTOMERS customers, default 100,000, over
# PIT_BENCH_DAYS days, default 30: about 5.7 million rows) and a spine of N label events (default
# 10,000,000; PIT_BENCH_SPINE_ROWS or --spine-rows) as CSV in a temp folder under
# ${TMPDIR:-/var/tmp}, then runs pit_bench and the pandas peer on them, checks that both computed
# the same features (counts equal, float sums within 1e-6 relative), and prints a Markdown
# table. Seconds are what each side reports for building the training set (reading the CSV files
# is not timed); "full" includes the latest features again. ratio = pandas seconds / Plinth
# seconds. Peak RSS is getrusage's maximum resident set of each whole process, CSV tables
# included. About 3 minutes on 2 cores, most of it pandas.
#
# The peer needs Debian's python3-pandas for /usr/bin/python3 (installed here with apt-get if
# missing, which needs root). PIT_BENCH_BIN=/path/to/pit_bench skips the build. Temp files are
# removed on exit.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${repo}/build-bench"
spine_rows="${PIT_BENCH_SPINE_ROWS:-10000000}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --spine-rows)
      spine_rows="$2"
      shift 2
      ;;
    *)
      build="$1"
      shift
      ;;
  esac
done
customers="${PIT_BENCH_CUSTOMERS:-100000}"
days="${PIT_BENCH_DAYS:-30}"
bin="${PIT_BENCH_BIN:-}"
peer="${repo}/bench/pit_peer.py"
python=/usr/bin/python3

if ! "${python}" -c 'import pandas' 2>/dev/null; then
  if [[ "$(id -u)" != 0 ]]; then
    echo "pit_bench.sh: ${python} lacks pandas; run: apt-get install -y python3-pandas" >&2
    exit 1
  fi
  apt-get install -y -qq python3-pandas >/dev/null
fi

if [[ -z "${bin}" ]]; then
  if [[ ! -f "${build}/build.ninja" ]]; then
    cmake -S "${repo}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  ninja -C "${build}" -j2 pit_bench >/dev/null
  bin="${build}/bench/pit_bench"
fi

work="$(mktemp -d "${TMPDIR:-/var/tmp}/pit-bench.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
"${bin}" --write "${work}" --spine-rows "${spine_rows}" --customers "${customers}" \
  --days "${days}" >"${work}/write.txt"
transactions="$(sed -n 's/.*transactions=\([0-9]*\).*/\1/p' "${work}/write.txt")"

# The peer under a wrapper that reports its peak RSS the way pit_bench does (getrusage, KiB).
cat >"${work}/peer.py" <<'EOF'
import resource, runpy, sys
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")
EOF

sync
plinth="$("${bin}" --source "${work}/transactions.csv" --spine "${work}/spine.csv")"
pandas="$("${python}" "${work}/peer.py" "${peer}" "${work}/transactions.csv" "${work}/spine.csv")"

# line TEXT WORKLOAD: the report line of WORKLOAD. field LINE KEY: KEY=value from it.
line() { grep "workload=$2 " <<<"$1"; }
field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1" | tail -n 1; }

# Both sides must have computed the same features.
for workload in latest full; do
  p="$(line "${plinth}" "${workload}")"
  q="$(line "${pandas}" "${workload}")"
  for key in $(grep -o '[a-z0-9_]*_\(nonnull\|sum\)=' <<<"${p}" | tr -d '='); do
    a="$(field "${p}" "${key}")"
    b="$(field "${q}" "${key}")"
    # Counts (integers) must be equal; float sums within 1e-6 relative (summation order differs).
    if ! awk -v a="${a}" -v b="${b}" 'BEGIN {
        if (a ~ /^-?[0-9]+$/ && b ~ /^-?[0-9]+$/) exit !(a == b)
        d = a - b; if (d < 0) d = -d; m = (a < 0 ? -a : a); exit !(d <= 1e-6 * m + 1e-9) }'; then
      echo "pit_bench.sh: ${workload}: ${key} differs: plinth ${a}, pandas ${b}" >&2
      exit 1
    fi
  done
done

echo "Point-in-time training sets, $(date -u +%Y-%m-%d), $(nproc) cores," \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
  "pandas $("${python}" -c 'import pandas; print(pandas.__version__)')."
echo "Spine of ${spine_rows} label events (half at a transaction's own second) over" \
  "${transactions} synthetic transactions of ${customers} customers, ${days} days. latest:" \
  "last_amount, last_category (ttl 7d); full: + txn_count_24h, spend_24h, avg_amount_7d," \
  "max_amount_7d. Both sides computed the same values (checksums compared)."
echo
echo "| workload | rows | Plinth s | Plinth rows/s | pandas s | ratio |"
echo "|---|---:|---:|---:|---:|---:|"
for workload in latest full; do
  p="$(line "${plinth}" "${workload}")"
  q="$(line "${pandas}" "${workload}")"
  awk -v name="${workload}" -v rows="$(field "${p}" rows)" -v ps="$(field "${p}" seconds)" \
    -v qs="$(field "${q}" seconds)" 'BEGIN {
      printf "| %s | %s | %.3f | %.0f | %.3f | %.1fx |\n", name, rows, ps, rows / ps, qs, qs / ps
    }'
done
echo
echo "Peak RSS: Plinth $(field "${plinth}" peak_rss_mb) MiB, pandas $(field "${pandas}" peak_rss_mb) MiB."
