#!/usr/bin/env bash
# Builds the libFuzzer targets with clang 14 (ASan + UBSan) into build-fuzz/ and runs each for
# SECONDS (default 60) on a corpus in build-fuzz/corpus/ (starting from fuzz/seeds/NAME where there
# is one). Exits non-zero on the first crash.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
scripts/setup.sh
for p in clang-14 libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ -n "${missing:-}" ]; then
  sudo_cmd=(); [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPLINTH_BUILD_FUZZERS=ON -DPLINTH_BUILD_TESTS=OFF -DPLINTH_BUILD_BENCH=OFF >/dev/null
ninja -C build-fuzz -j "$(nproc)" json_fuzzer audit_export_fuzzer expr_fuzzer feature_def_fuzzer pipeline_spec_fuzzer \
  tuning_spec_fuzzer model_manifest_fuzzer pickle_scan_fuzzer attestation_fuzzer policy_fuzzer \
  compiled_model_fuzzer
for f in json_fuzzer audit_export_fuzzer expr_fuzzer feature_def_fuzzer pipeline_spec_fuzzer \
  tuning_spec_fuzzer model_manifest_fuzzer pickle_scan_fuzzer attestation_fuzzer policy_fuzzer \
  compiled_model_fuzzer; do
  mkdir -p "build-fuzz/corpus/$f"
  echo "== $f: ${seconds}s =="
  seeds=()
  [ -d "fuzz/seeds/$f" ] && seeds=("fuzz/seeds/$f")  # read-only starting points
  "build-fuzz/fuzz/$f" -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
    "build-fuzz/corpus/$f" "${seeds[@]}" 2>&1 | tail -5
done
