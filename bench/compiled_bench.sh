#!/usr/bin/env bash
# In-process scoring: the compiled tree ensemble against XGBoost's C API on the same model
# (bench/compiled_bench.cc: 300 trees of depth 6 on examples/data/lending_club.csv).
#
#   bench/compiled_bench.sh [build folder] [compiled_bench flags]
#
# COMPILED_BENCH_BIN=/path/to/compiled_bench skips the build. Under a minute on 2 cores.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${repo}/build-bench"
if [[ $# -gt 0 && "$1" != --* ]]; then
  build="$1"
  shift
fi
bin="${COMPILED_BENCH_BIN:-}"
if [[ -z "${bin}" ]]; then
  if [[ ! -f "${build}/build.ninja" ]]; then
    cmake -S "${repo}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  ninja -C "${build}" -j2 compiled_bench >/dev/null
  bin="${build}/bench/compiled_bench"
fi
echo "Compiled trees against XGBoost's C API, $(date -u +%Y-%m-%d), $(nproc) cores," \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)."
# XGBoost's OpenMP threads otherwise spin between calls (src/train/xgboost_model.h).
OMP_WAIT_POLICY=passive "${bin}" --csv "${repo}/examples/data/lending_club.csv" "$@"
