#!/usr/bin/env bash
# Linear models: Plinth's L2 logistic regression (bench/linear_bench.cc: PreprocessSpec one-hot +
# LogisticModel, standardised inside) against scikit-learn (bench/linear_peer.py: OneHotEncoder +
# StandardScaler + LogisticRegression(lbfgs)), same C, on the same split; and Plinth's credit
# scorecard (Scorecard::Fit on the raw columns, default options) on the same split.
#
#   bench/linear_bench.sh [build folder] [--repeat N] [--C X]
#
# Data: examples/data/lending_club.csv (target Class, positive "bad"). The split: linear_bench
# writes Plinth's stratified 80/20 split (seed 42, split.h) as row numbers, which the peer reads,
# so both sides train and test on the same rows. Both sides learn the one-hot levels on the
# training rows and standardise with the training mean and population standard deviation, so they
# minimise the same objective, C * sum(logloss) + 0.5 * ||b||^2; the extra columns show each
# side's objective at its solution (lower is closer to the optimum) and the largest difference
# between the two sides' standardised coefficients. lbfgs stops early (its tol 1e-4 is loose), so
# the coefficients differ by up to about 1e-2 with the peer's objective a little higher; with
# solver="newton-cholesky" and tol 1e-12 instead, the peer reaches Plinth's objective and agrees
# with Plinth's coefficients (at --tol 1e-10) to 1e-12, in about 1 s.
#
# Seconds are each side's own timing of training alone: standardisation + fit (the peer times
# StandardScaler.fit/transform + LogisticRegression.fit; Plinth times LogisticModel::Train, which
# standardises inside). Reading, splitting and one-hot encoding are not timed on either side. The
# scorecard row times binning, WoE, IV selection and the regression; scikit-learn has no
# scorecard, so it has no peer. The sides run alternately N times (default 3; LINEAR_BENCH_REPEAT
# or --repeat) and each reports its fastest run. ratio = Plinth s / peer s. AUCs are on the test
# rows: Plinth's from its own evaluation code, the peer's from roc_auc_score.
#
# Needs Debian's python3-pandas and python3-sklearn for /usr/bin/python3 (installed here with
# apt-get if missing, which needs root). LINEAR_BENCH_BIN=
# /path/to/linear_bench skips the build. Under a minute on 2 cores. Temp files are removed on exit.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${repo}/build-bench"
repeat="${LINEAR_BENCH_REPEAT:-3}"
c="${LINEAR_BENCH_C:-1.0}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repeat)
      repeat="$2"
      shift 2
      ;;
    --C)
      c="$2"
      shift 2
      ;;
    *)
      build="$1"
      shift
      ;;
  esac
done
bin="${LINEAR_BENCH_BIN:-}"
python=/usr/bin/python3
peer="${repo}/bench/linear_peer.py"
csv="${repo}/examples/data/lending_club.csv"

if ! "${python}" -c 'import pandas, sklearn' 2>/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "linear_bench.sh: ${python} lacks pandas or sklearn; run:" \
      "apt-get install -y python3-pandas python3-sklearn" >&2
    exit 1
  fi
  apt-get install -y -qq python3-pandas python3-sklearn >/dev/null
fi
if [[ -z "${bin}" ]]; then
  if [[ ! -f "${build}/build.ninja" ]]; then
    cmake -S "${repo}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  ninja -C "${build}" -j2 linear_bench >/dev/null
  bin="${build}/bench/linear_bench"
fi

work="$(mktemp -d "${TMPDIR:-/var/tmp}/linear-bench.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

# field LINE KEY: KEY=value from a report line.
field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1" | tail -n 1; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }

"${bin}" --csv "${csv}" --target Class --positive bad --write-split "${work}" >/dev/null

lr_s="" card_s="" peer_s="" p="" q=""
for ((i = 0; i < repeat; ++i)); do
  p="$("${bin}" --csv "${csv}" --target Class --positive bad --train-rows "${work}/train.txt" \
    --test-rows "${work}/test.txt" --C "${c}" --save-model "${work}/plinth.json")"
  q="$("${python}" "${peer}" "${csv}" Class bad "${work}" "${c}" "${work}/plinth.json")"
  lr="$(grep '^model=logistic_l2' <<<"${p}")"
  card="$(grep '^model=scorecard' <<<"${p}")"
  lr_s="$(min "${lr_s}" "$(field "${lr}" train_seconds)")"
  card_s="$(min "${card_s}" "$(field "${card}" train_seconds)")"
  peer_s="$(min "${peer_s}" "$(field "${q}" train_seconds)")"
done

echo "Linear models on lending_club.csv, $(date -u +%Y-%m-%d), $(nproc) cores," \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
  "scikit-learn $("${python}" -c 'import sklearn; print(sklearn.__version__)')," \
  "fastest of ${repeat} alternating runs each."
echo "$(field "${lr}" rows) rows, Plinth's stratified 80/20 split (seed 42) on both sides;" \
  "logistic regression: L2, C=${c}, standardised one-hot features ($(field "${lr}" features))," \
  "peer lbfgs (tol 1e-4, max_iter 1000); scorecard: default options," \
  "$(field "${card}" features) features kept."
echo
echo "| model | Plinth s | peer s | ratio | Plinth AUC | peer AUC | Plinth objective |" \
  "peer objective | max coef diff |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
awk -v ps="${lr_s}" -v qs="${peer_s}" -v pa="$(field "${lr}" test_auc)" \
  -v qa="$(field "${q}" test_auc)" -v po="$(field "${lr}" objective)" \
  -v qo="$(field "${q}" objective)" -v d="$(field "${q}" max_coef_diff)" 'BEGIN {
    printf "| L2 logistic regression | %.3f | %.3f | %.2fx | %.4f | %.4f | %.4f | %.4f | %s |\n",
      ps, qs, ps / qs, pa, qa, po, qo, d
  }'
awk -v ps="${card_s}" -v pa="$(field "${card}" test_auc)" 'BEGIN {
    printf "| scorecard (WoE + L2 logistic) | %.3f | - | - | %.4f | - | - | - | - |\n", ps, pa
  }'
