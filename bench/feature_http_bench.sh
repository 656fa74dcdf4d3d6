#!/usr/bin/env bash
# Online feature lookup over HTTP: 1 entity x 50 features from `plinth server`, at a fixed rate of
# 1,000 requests/s (and 2,000/s), on keep-alive connections, latency measured from each request's
# scheduled time (bench/feature_http_bench.cc). Target: p99 <= 1 ms at 1,000 req/s on 2 cores.
# Peer: Feast's Python feature server, p99 1.7-4.6 ms as published (no Feast install here).
#
# Setup, through the CLI as a user would: synthetic transactions for CUSTOMERS customers,
# registered; a definition of 50 window aggregations (count|sum|mean|min|max of amount over ten
# windows) applied and materialized; then the server and the load.
# Usage: bench/feature_http_bench.sh [seconds per run, default 10] [customers, default 10000]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
customers="${2:-10000}"
scripts/setup.sh >/dev/null
scripts/build.sh release plinth feature_http_bench >/dev/null

tmp=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

plinth=build/plinth
p() { "$plinth" --home "$tmp/home" "$@"; }
token=$(p init --json | sed -n 's/.*"token": "\(plt_[0-9a-f]*\)".*/\1/p')
p project create bench >/dev/null
p user create dana --role data-scientist --project bench >/dev/null
dana=$(p token create --user dana --json | sed -n 's/.*"token": "\(plt_[0-9a-f]*\)".*/\1/p')
p data synth transactions --customers "$customers" --days 30 --seed 1 --out "$tmp/tx.csv" >/dev/null
p --token "$dana" data register transactions "$tmp/tx.csv" --project bench >/dev/null

{
  echo "entities:"
  echo "  - name: customer"
  echo "    join_key: customer_id"
  echo "sources:"
  echo "  - name: tx"
  echo "    dataset: transactions"
  echo "    timestamp: timestamp"
  echo "feature_views:"
  echo "  - name: spend"
  echo "    entity: customer"
  echo "    source: tx"
  echo "    features:"
  for w in 1h 3h 6h 12h 24h 2d 3d 7d 14d 30d; do
    for a in count sum mean min max; do
      echo "      - name: ${a}_${w}"
      echo "        aggregation: $a"
      [ "$a" = count ] || echo "        expr: amount"
      echo "        window: $w"
    done
  done
  echo "feature_services:"
  echo "  - name: scoring"
  echo "    features: [spend]"
} >"$tmp/features.yaml"
p --token "$dana" features apply "$tmp/features.yaml" --project bench >/dev/null
p --token "$dana" features materialize spend --project bench --until 2026-01-31T00:00:00Z >/dev/null

p server --listen 127.0.0.1:0 --threads 16 >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 50); do
  grep -q "listening on" "$tmp/server.log" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$tmp/server.log")
[ -n "$url" ] || { echo "server did not start:"; cat "$tmp/server.log"; exit 1; }

path=/api/v1/projects/bench/online/scoring
# Warm up (connections, caches), then measure.
build/bench/feature_http_bench --url "$url" --token "$token" --path "$path" \
  --entities "$customers" --rate 500 --seconds 2 --connections 4 >/dev/null || true

echo "Online feature lookup over HTTP, 1 entity x 50 features ($(date -u +%Y-%m-%d), $(nproc) cores, ${duration}s per run, $customers entities online)"
echo
echo "| rate req/s | connections | requests | errors | p50 us | p90 us | p99 us | p99.9 us | target p99 | ratio to target | Feast p99 (published) | ratio to Feast |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for spec in "1000 4" "2000 8"; do
  read -r rate conns <<<"$spec"
  json=$(build/bench/feature_http_bench --url "$url" --token "$token" --path "$path" \
    --entities "$customers" --rate "$rate" --seconds "$duration" --connections "$conns" || true)
  field() { echo "$json" | sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p"; }
  p99=$(field p99_us)
  ratio=$(awk -v a="$p99" 'BEGIN { printf "%.1fx", (a > 0 ? 1000 / a : 0) }')
  feast=$(awk -v a="$p99" 'BEGIN { printf "%.1fx", (a > 0 ? 1700 / a : 0) }')
  echo "| $rate | $conns | $(field requests) | $(field errors) | $(field p50_us) | $(field p90_us) | $p99 | $(field p999_us) | 1000 | $ratio | 1,700-4,600 | $feast (vs 1.7 ms) |"
done
