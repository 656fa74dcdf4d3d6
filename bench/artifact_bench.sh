#!/usr/bin/env bash
# Artifact store throughput against its peers, on one file of random data, in one run.
#
#   bench/artifact_bench.sh [build folder]      (default: build-bench at the top of the repository)
#
# Builds artifact_bench if needed (cmake + ninja), writes a file of random data (1 GiB; set
# ARTIFACT_BENCH_MB to change; the run needs 10 times that in free space) in a temp folder under
# ${TMPDIR:-/var/tmp}, then times each of these twice (two interleaved rounds), keeping the better
# run:
#   sha256sum FILE                       the peer named by docs (coreutils)
#   openssl dgst -sha256 FILE            SHA-256 with SHA-NI, the same code the store hashes with
#   sha256sum FILE && cp FILE DEST       hash then copy, not durable
#   cp FILE DEST && sync DEST            a durable copy: the disk's limit for a durable put
#   plinth put                           hash + write + fsync + rename into a fresh store
#   plinth get                           read + verify + write to a file
# and prints a Markdown table. ratio = peer seconds / plinth seconds (throughput relative to the
# peer; the put target is >= 0.8 against sha256sum). The page cache is warm for every run (no
# cache drop: that needs root), and `sync` runs before each timed command so that no run pays for
# the previous one's writeback; outputs are deleted only at the end, so that no run pays for
# freeing the previous one's blocks either. Peak RSS: getrusage in artifact_bench, GNU time for the peers.
# ARTIFACT_BENCH_BIN=/path/to/artifact_bench skips the build. Temp files are removed on exit.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-${repo}/build-bench}"
size_mb="${ARTIFACT_BENCH_MB:-1024}"
bin="${ARTIFACT_BENCH_BIN:-}"

if [[ -z "${bin}" ]]; then
  if [[ ! -f "${build}/build.ninja" ]]; then
    cmake -S "${repo}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  ninja -C "${build}" -j2 artifact_bench >/dev/null
  bin="${build}/bench/artifact_bench"
fi

work="$(mktemp -d "${TMPDIR:-/var/tmp}/artifact-bench.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
file="${work}/input.bin"
bytes=$((size_mb * 1024 * 1024))
head -c "${bytes}" /dev/urandom >"${file}"
sync

have_gnu_time=0
if /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then have_gnu_time=1; fi

# measure NAME COMMAND...: runs COMMAND once, after a sync. Keeps the best wall time in
# seconds[NAME], with that run's peak RSS in MB in rss[NAME] and its stdout in out[NAME].
declare -A seconds rss out
measure() {
  local name="$1" start end elapsed
  shift
  sync
  start=$(date +%s.%N)
  if [[ ${have_gnu_time} == 1 ]]; then
    /usr/bin/time -f %M -o "${work}/rss" "$@" >"${work}/stdout"
  else
    "$@" >"${work}/stdout"
  fi
  end=$(date +%s.%N)
  elapsed=$(awk -v a="${start}" -v b="${end}" 'BEGIN { printf "%.3f", b - a }')
  if [[ -z "${seconds[${name}]:-}" ]] ||
    awk -v e="${elapsed}" -v b="${seconds[${name}]}" 'BEGIN { exit !(e < b) }'; then
    seconds[${name}]="${elapsed}"
    out[${name}]="$(cat "${work}/stdout")"
    rss[${name}]="-"
    if [[ ${have_gnu_time} == 1 ]]; then
      rss[${name}]=$(awk '{ printf "%.1f", $1 / 1024 }' "${work}/rss")
    fi
  fi
}

# field NAME KEY: KEY=value from artifact_bench's report line.
field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"${out[$1]}"; }

# The get runs read from their own store, filled once.
"${bin}" put "${work}/store-get" "${file}" >"${work}/stdout"
digest="$(sed -n 's/.* digest=\(sha256:[0-9a-f]*\).*/\1/p' "${work}/stdout")"

# Two rounds, each running every command once, so that a burst of load from elsewhere on the
# machine does not fall on one command's runs only. Every run writes to new files, removed only at
# the end: deleting a 1 GiB file just before a run makes that run pay for freeing its blocks.
for round in 1 2; do
  out_dir="${work}/round-${round}"
  mkdir "${out_dir}"
  measure sha256sum sha256sum "${file}"
  measure openssl openssl dgst -sha256 "${file}"
  # shellcheck disable=SC2016  # $1 and $2 are expanded by the inner shell
  measure sha256sum_cp sh -c 'sha256sum "$1" && cp "$1" "$2"' sh "${file}" "${out_dir}/copy"
  # shellcheck disable=SC2016
  measure cp_sync sh -c 'cp "$1" "$2" && sync "$2"' sh "${file}" "${out_dir}/durable-copy"
  measure put "${bin}" put "${out_dir}/store" "${file}"
  measure get "${bin}" get "${work}/store-get" "${digest}" "${out_dir}/got.bin"
done

expected="sha256:$(cut -d' ' -f1 <<<"${out[sha256sum]}")"
if [[ "$(field put digest)" != "${expected}" || "${digest}" != "${expected}" ]]; then
  echo "artifact_bench.sh: plinth put returned $(field put digest), sha256sum ${expected}" >&2
  exit 1
fi
if ! cmp -s "${file}" "${work}/round-2/got.bin"; then
  echo "artifact_bench.sh: plinth get did not return the stored bytes" >&2
  exit 1
fi
rss[put]="$(field put peak_rss_mb)"
rss[get]="$(field get peak_rss_mb)"

mbps() { awk -v s="$1" -v b="${bytes}" 'BEGIN { printf "%.0f", b / 1e6 / s }'; }
ratio() { awk -v p="$1" -v s="$2" 'BEGIN { printf "%.2fx", p / s }'; }
row() {  # row LABEL NAME [PEER_LABEL PEER_NAME]
  local peer="" r=""
  if [[ $# -ge 4 ]]; then
    peer="$3"
    r="$(ratio "${seconds[$4]}" "${seconds[$2]}")"
  fi
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "${seconds[$2]}" "$(mbps "${seconds[$2]}")" \
    "${peer}" "${r}" "${rss[$2]}"
}

echo "Artifact store, ${size_mb} MiB of random data, $(date -u +%Y-%m-%d), $(nproc) cores," \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
  "$(findmnt -no FSTYPE -T "${work}") at ${TMPDIR:-/var/tmp}. Best of 2 runs, warm page cache."
echo "ratio = peer seconds / plinth seconds (>= 1: plinth is faster)."
echo
echo "| operation | seconds | MB/s | peer | ratio | peak RSS MB |"
echo "|---|---:|---:|---|---:|---:|"
row 'sha256sum FILE' sha256sum
row 'openssl dgst -sha256 FILE (SHA-NI)' openssl
row 'sha256sum FILE && cp FILE DEST' sha256sum_cp
row 'cp FILE DEST && sync DEST (durable copy)' cp_sync
row 'plinth put (hash, write, fsync, rename)' put 'sha256sum' sha256sum
row 'plinth put' put 'sha256sum && cp' sha256sum_cp
row 'plinth put' put 'openssl dgst' openssl
row 'plinth put' put 'cp && sync' cp_sync
row 'plinth get (verify while reading, write file)' get 'sha256sum && cp' sha256sum_cp
