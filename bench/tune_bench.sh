#!/usr/bin/env bash
# Hyper-parameter tuning with trials in parallel processes (bench/tune_bench.cc): the same random
# search of 16 XGBoost trials on examples/data/lending_club.csv (target Class, positive "bad"),
# each trial a bench/tune_trial process (read the CSV, stratified 80/20 split with seed 42,
# preprocess, train 100 trees with nthread=1, evaluate), run by the process evaluator at
# parallelism 1 and 2, and the speed-up of 2 over 1.
#
#   bench/tune_bench.sh [build folder] [--repeat N] [--trials N] [--trees N]
#
# The two parallelisms run alternately N times (default 3; TUNE_BENCH_REPEAT or --repeat) and each
# reports its fastest run, since the machine is shared. Wall seconds are the whole tuning as
# RunTuning sees it: process start-up, reading and preprocessing the CSV in every trial, training
# and evaluation. "same" says whether the run gave the same trials and the same chosen trial as
# parallelism 1 (it must: docs/tuning.md, "Reproducibility").
#
# XGBoost's OpenMP threads spin at barriers unless OMP_WAIT_POLICY=passive (src/train/
# xgboost_model.h); the script sets it (TUNE_BENCH_OMP_WAIT_POLICY to change it), and the process
# evaluator passes it through to the trials. TUNE_BENCH_BIN=/folder/with/tune_bench/and/tune_trial
# skips the build. Temp files are removed on exit.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${repo}/build-bench"
repeat="${TUNE_BENCH_REPEAT:-3}"
trials=16
trees=100
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repeat)
      repeat="$2"
      shift 2
      ;;
    --trials)
      trials="$2"
      shift 2
      ;;
    --trees)
      trees="$2"
      shift 2
      ;;
    *)
      build="$1"
      shift
      ;;
  esac
done
export OMP_WAIT_POLICY="${TUNE_BENCH_OMP_WAIT_POLICY:-passive}"

bin="${TUNE_BENCH_BIN:-}"
if [[ -z "${bin}" ]]; then
  if [[ ! -f "${build}/build.ninja" ]]; then
    cmake -S "${repo}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  ninja -C "${build}" -j2 tune_bench tune_trial >/dev/null
  bin="${build}/bench"
fi

work="$(mktemp -d "${TMPDIR:-/var/tmp}/tune-bench.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

# field LINE KEY: KEY=value from a report line.
field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1" | tail -n 1; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }

best1="" best2="" line1="" line2=""
for ((i = 0; i < repeat; ++i)); do
  out="$("${bin}/tune_bench" --trial-bin "${bin}/tune_trial" \
    --csv "${repo}/examples/data/lending_club.csv" --target Class --positive bad \
    --trials "${trials}" --trees "${trees}" --parallelism 1,2 --scratch "${work}/scratch")"
  l1="$(grep '^parallelism=1 ' <<<"${out}")"
  l2="$(grep '^parallelism=2 ' <<<"${out}")"
  w1="$(field "${l1}" wall_seconds)"
  w2="$(field "${l2}" wall_seconds)"
  if [[ "$(min "${best1}" "${w1}")" == "${w1}" ]]; then
    best1="${w1}"
    line1="${l1}"
  fi
  if [[ "$(min "${best2}" "${w2}")" == "${w2}" ]]; then
    best2="${w2}"
    line2="${l2}"
  fi
done

row() {
  local line="$1"
  awk -v p="$(field "${line}" parallelism)" -v n="$(field "${line}" trials)" \
    -v ok="$(field "${line}" succeeded)" -v w="$(field "${line}" wall_seconds)" \
    -v base="${best1}" -v t="$(field "${line}" mean_trial_seconds)" \
    -v c="$(field "${line}" chosen)" -v auc="$(field "${line}" test_auc)" \
    -v same="$(field "${line}" same_as_first)" 'BEGIN {
      printf "| %s | %s/%s | %.2f | %.2f | %.2fx | %.2f | %s | %.4f | %s |\n",
        p, ok, n, w, n / w, base / w, t, c, auc, same
    }'
}

echo "Tuning speed-up, $(date -u +%Y-%m-%d), $(nproc) cores," \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
  "fastest of ${repeat} alternating runs each, OMP_WAIT_POLICY=${OMP_WAIT_POLICY}."
echo "${trials} random-search trials (seed 7) of XGBoost on lending_club, ${trees} trees," \
  "nthread=1 (fixed by the guardrails), each trial a child process."
echo
echo "| parallelism | trials ok | wall s | trials/s | speed-up | mean trial s | chosen trial |" \
  "test AUC | same trials and choice |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|"
row "${line1}"
row "${line2}"
