#!/usr/bin/env bash
# bench/distributed/run.sh - the distributed runtime benchmark: JobManager start -> REST ready,
# TaskManager idle and loaded RSS, rows per CPU-second at parallelism 2 across two
# TaskManagers (keyed shuffle over TCP) against the same job in one process. Writes
# bench/results/distributed-<date>.json. Not a test: no pass/fail on numbers.
#
#   bench/distributed/run.sh                   # 20 M rows
#   ROWS=2000000 bench/distributed/run.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[[ -x $ROOT/build/bin/weir ]] || make -C "$ROOT" build
exec /usr/bin/python3 "$ROOT/bench/distributed/bench.py" --rows "${ROWS:-20000000}" \
    --out "$ROOT/bench/results/distributed-$(date +%F).json" "$@"
