#!/usr/bin/env bash
# Authenticated GET requests per second against `plinth server`, measured with wrk on loopback.
# Each authenticated request checks the bearer token against the metadata store (hash lookup,
# expiry, revocation, role bindings) and runs a read transaction; the unauthenticated health
# endpoint is the HTTP layer's own ceiling on the same machine, and the ratio shows what
# authentication and the store cost.
# Usage: bench/http_bench.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
scripts/setup.sh
scripts/build.sh release plinth >/dev/null

tmp=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

plinth=build/plinth
token=$("$plinth" --home "$tmp/home" init --json | sed -n 's/.*"token": "\(plt_[0-9a-f]*\)".*/\1/p')
"$plinth" --home "$tmp/home" project create bench >/dev/null
"$plinth" --home "$tmp/home" server --listen 127.0.0.1:0 --threads 128 >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 50); do
  grep -q "listening on" "$tmp/server.log" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$tmp/server.log")
[ -n "$url" ] || { echo "server did not start:"; cat "$tmp/server.log"; exit 1; }

# wrk's --latency output -> "req/s p50 p99" (latencies in ms).
measure() {
  local conns=$1 path=$2 auth=$3
  local args=(-t2 -c"$conns" -d"${duration}s" --latency)
  [ "$auth" = yes ] && args+=(-H "Authorization: Bearer $token")
  wrk "${args[@]}" "$url$path" >"$tmp/wrk.txt" 2>&1
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad = $NF }
    END { printf "%.0f %.2f %.2f %s\n", rps, p50, p99, (bad == "" ? 0 : bad) }' "$tmp/wrk.txt"
}

echo "Authenticated GET requests on loopback ($(date -u +%Y-%m-%d), $(nproc) cores, ${duration}s per run, wrk -t2)"
echo
echo "| endpoint | connections | req/s | p50 ms | p99 ms | non-2xx | ceiling req/s (GET /api/v1/health, no auth) | ratio to ceiling |"
echo "|---|---|---|---|---|---|---|---|"
for conns in 8 64; do
  read -r c_rps c_p50 c_p99 c_bad < <(measure "$conns" /api/v1/health no)
  for path in /api/v1/whoami /api/v1/projects; do
    read -r rps p50 p99 bad < <(measure "$conns" "$path" yes)
    ratio=$(awk -v a="$rps" -v b="$c_rps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    echo "| GET $path | $conns | $rps | $p50 | $p99 | $bad | $c_rps | $ratio |"
  done
done
