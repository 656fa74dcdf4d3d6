#!/usr/bin/env bash
# Rows by entity id over HTTP: `plinth serve` scoring card payments that carry only the customer's
# id and the payment's own fields (amount, merchant category, channel, country), the customer's 10
# features read from the online store at request time, against the same payments carrying every
# feature in the request (the form a client must send when the server has no online store, as the
# Python peer of bench/serving_bench.sh). Both answers are checked equal before anything is timed.
#
# Setup, through the CLI as a user would: a fresh home; `plinth new fraud`, its pipeline run with
# 30 trees of depth 2; the model registered, approved for staging by a validator, promoted and
# deployed by a deployer; `features materialize customer_spend` up to the end of the data; `plinth
# serve --env staging` with its defaults (decision records on, inputs included).
#
# Cases, each run `runs` times, best and median reported: saturation with 8 keep-alive connections
# (wrk -t2), and a fixed 2,000 req/s over 8 connections (bench/serving_post.lua paces each
# connection and measures from the scheduled time). Target: p99 <= 1 ms at 2,000 req/s with the
# lookup, as for every served row; the lookup should cost no more than the JSON it saves.
#
# Usage: bench/serving_lookup_bench.sh [seconds per run, default 10] [runs per case, default 3]
# PLINTH_BIN=/path/to/plinth skips the build (otherwise scripts/build.sh release plinth).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
duration="${1:-10}"
runs="${2:-3}"
scripts/setup.sh >/dev/null
source bench/serving_wrk.sh
plinth_binary
py=/usr/bin/python3

tmp=$(mktemp -d)
serve_pid=""
cleanup() {
  if [ -n "$serve_pid" ]; then
    kill "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

p() { "$plinth" --home "$tmp/home" "$@"; }
token_of() { "$py" -c 'import json, sys; print(json.load(sys.stdin)["token"])'; }
admin=$("$plinth" init --home "$tmp/home" --json | token_of)
p --token "$admin" project create fraud >/dev/null
for user in "ana data-scientist" "val validator" "dep deployer"; do
  set -- $user
  p --token "$admin" user create "$1" --role "$2" --project fraud >/dev/null
done
ana=$(p --token "$admin" --json token create --user ana | token_of)
val=$(p --token "$admin" --json token create --user val | token_of)
dep=$(p --token "$admin" --json token create --user dep | token_of)
in_fraud() { local token=$1; shift; p --token "$token" "$@" --project fraud >/dev/null; }

p --token "$ana" new fraud "$tmp/fraud" --project fraud >/dev/null
run=$(p --token "$ana" --json run "$tmp/fraud/pipeline.yaml" --param trees=30 --param max_depth=2 |
  "$py" -c 'import json, sys; print(json.load(sys.stdin)["run_id"])')
in_fraud "$ana" models register fraud --run "$run" --step train
in_fraud "$ana" models request-approval fraud@1 --stage staging
in_fraud "$val" models approve fraud@1 --stage staging
in_fraud "$ana" models promote fraud@1 --stage staging
in_fraud "$dep" deploy fraud@1 --env staging
# Materialized up to the last payment of the data, so that the windows hold values.
last=$(tail -1 "$tmp/fraud/data/transactions.csv")
until=$(echo "$last" | cut -d, -f3)
entities=$(p --token "$ana" --json features materialize customer_spend --until "$until" \
  --project fraud | "$py" -c 'import json, sys; print(json.load(sys.stdin)["entities"])')
customer=$(echo "$last" | cut -d, -f2)

p --token "$dep" serve --env staging --listen 127.0.0.1:0 >"$tmp/serve.out" 2>"$tmp/serve.err" &
serve_pid=$!
for _ in $(seq 1 100); do
  grep -q "^plinth serve: staging on" "$tmp/serve.out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^plinth serve: staging on \(http:[^ ]*\) .*/\1/p' "$tmp/serve.out")
[ -n "$url" ] || { echo "plinth serve did not start:"; cat "$tmp/serve.out" "$tmp/serve.err"; exit 1; }
infer=/v2/models/fraud/infer

# The two bodies: by id, and with every feature `features get` shows for that customer.
p --token "$ana" --json features get fraud_detection --entity "$customer" --project fraud >"$tmp/got.json"
"$py" - "$last" "$tmp/got.json" "$tmp/key.json" "$tmp/full.json" <<'EOF'
import json, sys
cells = sys.argv[1].split(",")
def tensor(name, value):
    return {"name": name, "datatype": "BYTES" if isinstance(value, str) else "FP64",
            "shape": [1], "data": [value]}
payment = [tensor("amount", float(cells[3])), tensor("merchant_category", cells[4]),
           tensor("channel", cells[5]), tensor("country", cells[6])]
features = json.load(open(sys.argv[2]))["features"]
json.dump({"id": "b", "inputs": [tensor("customer_id", cells[1])] + payment}, open(sys.argv[3], "w"))
json.dump({"id": "b", "inputs": payment + [tensor(k, v) for k, v in features.items()]},
          open(sys.argv[4], "w"))
EOF
post() { curl -sf -X POST -H 'Content-Type: application/json' --data-binary "@$1" "$url$infer"; }
score() { "$py" -c 'import json, sys; print(json.load(sys.stdin)["outputs"][0]["data"][0])'; }
a=$(post "$tmp/key.json" | score)
b=$(post "$tmp/full.json" | score)
[ "$a" = "$b" ] || { echo "by id $a != with features $b"; exit 1; }

saturate "$tmp/warm" "$url" "$tmp/key.json" 8
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for _ in $(seq 1 "$runs"); do
  saturate "$tmp/sat.key" "$url" "$tmp/key.json" 8
  saturate "$tmp/sat.full" "$url" "$tmp/full.json" 8
  paced "$tmp/rate.key" "$url" "$tmp/key.json" 2000
  paced "$tmp/rate.full" "$url" "$tmp/full.json" 2000
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
lookups=$(curl -sf "$url/metrics" | awk '/^plinth_feature_lookups_total/ { print $2 }')
misses=$(curl -sf "$url/metrics" | awk '/^plinth_feature_lookup_misses_total/ { print $2 }')

row() {
  local name=$1 target=$2 key=$3 full=$4 kind=$5
  # Best: the highest req/s, the lowest latency; then the median.
  read -r _ kr krm < <(col_stats "$key" 1)
  read -r k50 _ k50m < <(col_stats "$key" 2)
  read -r k99 _ k99m < <(col_stats "$key" 3)
  read -r _ fr frm < <(col_stats "$full" 1)
  read -r f50 _ f50m < <(col_stats "$full" 2)
  read -r f99 _ f99m < <(col_stats "$full" 3)
  kerr=$(cut -d' ' -f4 "$key" | sort -g | tail -1)
  ferr=$(cut -d' ' -f4 "$full" | sort -g | tail -1)
  awk -v n="$name" -v t="$target" -v kind="$kind" -v kr="$kr" -v krm="$krm" -v k50="$k50" \
    -v k50m="$k50m" -v k99="$k99" -v k99m="$k99m" -v fr="$fr" -v frm="$frm" -v f50="$f50" \
    -v f50m="$f50m" -v f99="$f99" -v f99m="$f99m" -v kerr="$kerr" -v ferr="$ferr" 'BEGIN {
      ratio = kind == "rps" ? sprintf("%.2fx (%.2fx)", kr / fr, krm / frm) \
                            : sprintf("%.2fx (%.2fx) p99", f99 / k99, f99m / k99m)
      printf "| %s | %.0f (%.0f) | %.0f (%.0f) | %s | %s | %.2f / %.2f (%.2f / %.2f) | %.2f / %.2f (%.2f / %.2f) | %d / %d |\n",
        n, kr, krm, fr, frm, ratio, t, k50, k99, k50m, k99m, f50, f99, f50m, f99m, kerr, ferr }'
}

echo "Rows by entity id over HTTP ($(date -u +%Y-%m-%d), $(nproc) cores; load average $load_before" \
  "before, $load_after after; ${duration}s per run, $runs runs per case)"
echo
echo "Model fraud@1 (30 trees of depth 2, 14 inputs, 10 of them the customer's features from" \
  "customer_spend, $entities customers online); both forms score $a for customer $customer."
echo "Cells: best (median); ratio = by id / with features for req/s, with features p99 / by id p99" \
  "at the fixed rate. Lookups served: $lookups ($misses entities unknown)."
echo
echo "| case | by id req/s | with features req/s | ratio | target | by id p50 / p99 ms | with features p50 / p99 ms | errors by id / with features |"
echo "|---|---:|---:|---:|---|---:|---:|---:|"
row "saturation, 8 keep-alive connections" ">= 1x" "$tmp/sat.key" "$tmp/sat.full" rps
row "fixed 2,000 req/s, 8 connections" "p99 <= 1 ms" "$tmp/rate.key" "$tmp/rate.full" p99
