#!/usr/bin/env bash
# Every benchmark of the platform, one after the other, each printing a Markdown table with
# the peer's or target's figure and the ratio. Copy the tables into docs/benchmarks.md with the date.
#   bench/run.sh            (about 12 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "# Plinth benchmarks, $(date -u +%Y-%m-%d), $(nproc) cores"
echo
echo "## Audited state changes per second"
bench/audit_bench.sh
echo
echo "## Artifact put and get against sha256sum + cp"
bench/artifact_bench.sh
echo
echo "## Authenticated GET requests (wrk)"
bench/http_bench.sh 10
echo
echo "## CSV ingest + profile against pandas"
bench/csv_bench.sh
echo
echo "## Point-in-time training sets against pandas (10M spine rows)"
bench/pit_bench.sh
echo
echo "## Online feature lookup in process"
bench/online_bench.sh
echo
echo "## Online feature lookup over HTTP"
bench/feature_http_bench.sh 10
echo
echo "## Experiment tracking: log_batch and search (SQLite and PostgreSQL)"
bench/tracking_bench.sh
echo
echo "## XGBoost training against the Python peer"
bench/train_bench.sh
echo
echo "## Logistic regression and the scorecard against scikit-learn"
bench/linear_bench.sh
echo
echo "## In-process scoring: compiled trees against XGBoost's C API"
bench/compiled_bench.sh
echo; echo "## Serving over HTTP against the Python peer (wrk)"; bench/serving_bench.sh 10 3
echo; echo "## Rows by entity id: online lookup in plinth serve (wrk)"; bench/serving_lookup_bench.sh 10 3
echo
echo "## Per-step overhead of plinth run"
bench/pipeline_bench.sh
echo
echo "## Tuning with trials in parallel processes"
bench/tune_bench.sh
echo
echo "## Fuzzing the parsers (JSON bodies, audit exports, expressions, feature definitions), 60 s each"
scripts/fuzz.sh 60
