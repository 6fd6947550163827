#!/usr/bin/env bash
# bench/runtime/run.sh - the runtime engine benchmark: rows per CPU-second, peak RSS, first-row
# latency and checkpoint cost of `weir run` (bench.py has the job shapes). Writes
# bench/results/runtime-<date>.json. Not a test: no pass/fail on numbers.
#
#   bench/runtime/run.sh                       # all cases, 20 M rows each
#   ROWS=2000000 bench/runtime/run.sh passthrough
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[[ -x $ROOT/build/bin/weir ]] || make -C "$ROOT" build
exec /usr/bin/python3 "$ROOT/bench/runtime/bench.py" --rows "${ROWS:-20000000}" \
    --out "$ROOT/bench/results/runtime-$(date +%F).json" "$@"
