#!/usr/bin/env bash
# bench/sql/run.sh - compile time of each SQL test script, and a compiled query against the
# equivalent hand-written plan (bench.py). Writes bench/results/sql-<date>.json. Not a test.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[[ -x $ROOT/build/bin/weir ]] || make -C "$ROOT" build
/usr/bin/python3 "$ROOT/bench/sql/bench.py" | tee "$ROOT/bench/results/sql-$(date +%F).json"
