#!/usr/bin/env bash
# CSV ingestion + profiling: Plinth's ReadCsv + a per-column profile against pandas read_csv +
# describe + isna (../shared/peers/ingest_peer.py), side by side on the same files.
#
#   bench/csv_bench.sh [build folder]      (default: build-bench at the top of the repository)
#
# Builds csv_bench if needed (cmake + ninja), writes a CSV of about 1 GiB (set CSV_BENCH_MB to
# change) by repeating the data rows of examples/data/lending_club.csv in a temp folder under
# ${TMPDIR:-/var/tmp}, then runs the pandas peer and csv_bench on that file and on lending_club.csv
# itself, and prints a Markdown table. Each command runs CSV_BENCH_ROUNDS times (default 1 for the
# large file, 3 for the small one; the best run is kept). Seconds are what each side reports for
# read + profile (process start-up and imports excluded); peak RSS is getrusage's maximum resident
# set of the whole process. ratio = pandas seconds / plinth seconds (target >= 3); memory / file =
# plinth peak RSS / file size (target <= 2).
#
# The peer needs Debian's python3-pandas for /usr/bin/python3 (installed here with apt-get if
# missing, which needs root). CSV_BENCH_PEER=/path/to/ingest_peer.py overrides the peer's location;
# CSV_BENCH_BIN=/path/to/csv_bench skips the build. Temp files are removed on exit.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-${repo}/build-bench}"
size_mb="${CSV_BENCH_MB:-1024}"
bin="${CSV_BENCH_BIN:-}"
peer="${CSV_BENCH_PEER:-${repo}/../shared/peers/ingest_peer.py}"
python=/usr/bin/python3
small="${repo}/examples/data/lending_club.csv"

if [[ ! -f "${peer}" ]]; then
  echo "csv_bench.sh: peer not found at ${peer} (set CSV_BENCH_PEER)" >&2
  exit 1
fi
if ! "${python}" -c 'import pandas' 2>/dev/null; then
  if [[ "$(id -u)" != 0 ]]; then
    echo "csv_bench.sh: ${python} lacks pandas; run: apt-get install -y python3-pandas" >&2
    exit 1
  fi
  apt-get install -y -qq python3-pandas >/dev/null
fi

if [[ -z "${bin}" ]]; then
  if [[ ! -f "${build}/build.ninja" ]]; then
    cmake -S "${repo}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  ninja -C "${build}" -j2 csv_bench >/dev/null
  bin="${build}/bench/csv_bench"
fi

work="$(mktemp -d "${TMPDIR:-/var/tmp}/csv-bench.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
large="${work}/lending_club_large.csv"

# The large file: the header once, then data rows repeated in 64 MiB blocks up to the size asked.
head -n 1 "${small}" >"${large}"
tail -n +2 "${small}" >"${work}/rows.csv"
while [[ $(stat -c %s "${work}/rows.csv") -lt $((64 * 1024 * 1024)) && \
  $(stat -c %s "${work}/rows.csv") -lt $((size_mb * 1024 * 1024)) ]]; do
  cat "${work}/rows.csv" "${work}/rows.csv" >"${work}/rows2.csv"
  mv "${work}/rows2.csv" "${work}/rows.csv"
done
while [[ $(stat -c %s "${large}") -lt $((size_mb * 1024 * 1024)) ]]; do
  cat "${work}/rows.csv" >>"${large}"
done
rm -f "${work}/rows.csv"

# The peer under a wrapper that reports its peak RSS the way csv_bench does (getrusage, KiB).
cat >"${work}/peer.py" <<'EOF'
import resource, runpy, sys
sys.argv = [sys.argv[1], sys.argv[2]]
runpy.run_path(sys.argv[0], run_name="__main__")
print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")
EOF

# field TEXT KEY: KEY=value from a report line.
field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1" | tail -n 1; }

# best_of ROUNDS COMMAND...: runs COMMAND ROUNDS times; prints the output of the fastest run.
best_of() {
  local rounds="$1" best="" best_out="" out s
  shift
  for ((i = 0; i < rounds; i++)); do
    out="$("$@")"
    s="$(field "${out}" seconds)"
    if [[ -z "${best}" ]] || awk -v a="${s}" -v b="${best}" 'BEGIN { exit !(a < b) }'; then
      best="${s}"
      best_out="${out}"
    fi
  done
  printf '%s\n' "${best_out}"
}

row() {  # row FILE ROUNDS
  local file="$1" rounds="$2" bytes pandas plinth
  bytes=$(stat -c %s "${file}")
  sync
  pandas="$(best_of "${rounds}" "${python}" "${work}/peer.py" "${peer}" "${file}")"
  plinth="$(best_of "${rounds}" "${bin}" --quiet "${file}")"
  if [[ "$(field "${pandas}" rows)" != "$(field "${plinth}" rows)" ]]; then
    echo "csv_bench.sh: row counts differ on ${file}: pandas ${pandas}, plinth ${plinth}" >&2
    exit 1
  fi
  awk -v name="$(basename "${file}")" -v mb="$(awk -v b="${bytes}" 'BEGIN { printf "%.0f", b / 1048576 }')" \
    -v rows="$(field "${plinth}" rows)" -v ps="$(field "${pandas}" seconds)" \
    -v qs="$(field "${plinth}" seconds)" -v pm="$(field "${pandas}" peak_rss_mb)" \
    -v qm="$(field "${plinth}" peak_rss_mb)" -v bytes="${bytes}" 'BEGIN {
      printf "| %s | %s | %s | %.3f | %.3f | %.1fx | %.0f | %.0f | %.2f | %.2f |\n", name, mb, rows,
        ps, qs, ps / qs, pm, qm, pm * 1048576 / bytes, qm * 1048576 / bytes
    }'
}

small_rounds="${CSV_BENCH_ROUNDS:-3}"
large_rounds="${CSV_BENCH_ROUNDS:-1}"
echo "CSV ingestion + profiling, $(date -u +%Y-%m-%d), $(nproc) cores," \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
  "pandas $("${python}" -c 'import pandas; print(pandas.__version__)'). Warm page cache."
echo "ratio = pandas seconds / plinth seconds (target >= 3); memory / file = peak RSS / file size" \
  "(target <= 2 for plinth; on the 1 MiB file both are dominated by the process's fixed footprint)."
echo
echo "| file | MiB | rows | pandas s | plinth s | ratio | pandas peak RSS MiB | plinth peak RSS MiB | pandas memory / file | plinth memory / file |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
row "${small}" "${small_rounds}"
row "${large}" "${large_rounds}"
