#!/usr/bin/env bash
# Per-step overhead of `plinth run`: a pipeline of N no-op command steps (`true` in an approved
# environment), chained, run through the real binary on a fresh home (SQLite), every step
# recorded on the platform (execution, lineage, log artifact, tracked-run metrics). Reports the
# wall time per step of a first run (every step runs) and of a second run (every step cached),
# against the target (<= 50 ms per no-op step) and the anchor for Kubeflow Pipelines and Argo
# (about 10 s per step: a pod per step).
#
#   bench/pipeline_bench.sh [STEPS]     (default 40)
#
# The build folder is PLINTH_BENCH_BUILD_DIR (default build-bench, Release).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${PLINTH_BENCH_BUILD_DIR:-$root/build-bench}
steps=${1:-40}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPLINTH_BUILD_TESTS=OFF >/dev/null
ninja -C "$build" -j2 plinth >/dev/null
plinth=$build/plinth

work=$(mktemp -d "${TMPDIR:-/tmp}/plinth-pipeline-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export PLINTH_HOME=$work/home
"$plinth" init >/dev/null
"$plinth" project create bench >/dev/null
"$plinth" user create bea --role data-scientist --project bench >/dev/null
token=$("$plinth" --json token create --user bea | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

mkdir -p "$work/p"
cat >"$work/p/environments.yaml" <<'YAML'
environments:
  - name: shell
    description: the system's tools
    version: "1"
YAML
{
  echo "name: noop"
  echo "steps:"
  for ((i = 1; i <= steps; i++)); do
    echo "  - name: s$i"
    echo "    run: [sh, -c, \"echo $i > \$0\", \"\${outputs.out}\"]"
    echo "    environment: shell"
    echo "    outputs: [out]"
    if ((i > 1)); then echo "    needs: [s$((i - 1))]"; fi
  done
} >"$work/p/pipeline.yaml"

run() {
  local start end
  start=$(date +%s.%N)
  "$plinth" --token "$token" --json run "$work/p/pipeline.yaml" --project bench --parallel 1 >"$work/out.json"
  end=$(date +%s.%N)
  python3 - "$work/out.json" "$start" "$end" "$steps" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
states = {s["state"] for s in run["steps"]}
wall = float(sys.argv[3]) - float(sys.argv[2])
print(f"{wall / int(sys.argv[4]) * 1000:.1f} {','.join(sorted(states))}")
PY
}

read -r first first_states < <(run)
read -r second second_states < <(run)

echo "| measure | Plinth (ms per step) | target | Kubeflow / Argo anchor | ratio to target |"
echo "|---|---:|---:|---:|---:|"
python3 - "$first" "$second" "$steps" "$first_states" "$second_states" <<'PY'
import sys
first, second, steps = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print(f"| no-op command step, run and recorded ({steps} chained, states {sys.argv[4]}) | {first:.1f} | <= 50 | ~10,000 | {50 / first:.2f}x |")
print(f"| cached step ({steps} chained, states {sys.argv[5]}) | {second:.1f} | <= 50 | - | {50 / second:.2f}x |")
PY
