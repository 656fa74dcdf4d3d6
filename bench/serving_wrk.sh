# Shared by the serving benchmarks (sourced): the plinth binary, and wrk runs POSTing a body to an
# infer endpoint with bench/serving_post.lua. The caller sets repo, tmp (a scratch folder),
# duration (seconds per run) and infer (the endpoint's path).

# Sets plinth: $PLINTH_BIN when given, else the release build.
plinth_binary() {
  if [ -n "${PLINTH_BIN:-}" ]; then
    plinth=$(cd "$(dirname "$PLINTH_BIN")" && pwd)/$(basename "$PLINTH_BIN")
  else
    "$repo/scripts/build.sh" release plinth >/dev/null
    plinth=$repo/build/plinth
  fi
}
lua=$repo/bench/serving_post.lua

# wrk's --latency output -> "req/s p50_ms p99_ms errors" (errors: non-2xx and socket errors).
parse_wrk() {
  grep -q "Requests/sec" "$tmp/wrk.txt" || cat "$tmp/wrk.txt" >&2
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad += $NF }
    /Socket errors/ { gsub(",", ""); bad += $4 + $6 + $8 + $10 }
    END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, bad }' "$tmp/wrk.txt"
}
# saturate OUT URL BODY CONNECTIONS [wrk args]: wrk at saturation, a parse_wrk line appended to OUT.
saturate() {
  local out=$1 url=$2 body=$3 conns=$4
  shift 4
  wrk -t2 -c"$conns" -d"${duration}s" --timeout 10s --latency "$@" -s "$lua" "$url$infer" -- "$body" \
    >"$tmp/wrk.txt" 2>&1 || true
  parse_wrk >>"$out"
}
# paced OUT URL BODY RATE: wrk at a fixed rate over 8 connections, "achieved_req/s p50_ms p99_ms
# errors" appended to OUT.
paced() {
  local out=$1 url=$2 body=$3 rate=$4
  wrk -t8 -c8 -d"${duration}s" --timeout 10s -s "$lua" "$url$infer" -- "$body" "$rate" 8 \
    >"$tmp/wrk.txt" 2>&1 || true
  grep -q "^paced" "$tmp/wrk.txt" || cat "$tmp/wrk.txt" >&2
  awk '
    /^paced/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    /Socket errors/ { gsub(",", ""); bad += $4 + $6 + $8 + $10 }
    END { printf "%.0f %.3f %.3f %d\n", v["rate"], v["p50_us"] / 1000, v["p99_us"] / 1000, v["errors"] + bad }' \
    "$tmp/wrk.txt" >>"$out"
}
# Column $2 of file $1 -> "min max median".
col_stats() {
  cut -d' ' -f"$2" "$1" | sort -g |
    awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print v[1], v[NR], m }'
}
