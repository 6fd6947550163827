#!/usr/bin/env bash
# test_runtime.sh - acceptance tests of the runtime engine (issue 6) with the real `weir run`
# binary, real RocksDB and real files: exact window results at parallelism 1 and 4, SIGKILL and
# restore from checkpoints, savepoints with the same, a regenerated and a rescaled plan,
# incremental checkpoints and retention, SQL scripts (UNION ALL inside queries among them) checked
# against independent computations, and specific errors for bad input.
# Needs no Kubernetes; it lives in the integration tier because it runs the real processes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
[[ -x $ROOT/build/bin/weir ]] || { echo "build/bin/weir missing (make build)"; exit 1; }
exec /usr/bin/python3 "$ROOT/e2e/integration/runtime/runtime_test.py" "$@"
