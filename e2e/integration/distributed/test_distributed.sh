#!/usr/bin/env bash
# test_distributed.sh - acceptance tests of the distributed runtime (issue 7): a real JobManager
# and real TaskManagers on loopback — results equal to the one-process engine, a TaskManager
# SIGKILLed mid-run, savepoints and stop-with-savepoint through REST, restore in a new
# JobManager and through /jars/:id/run, the REST conformance suite, a UNION ALL / UNION job whose
# union consumers read producers in both TaskManagers, malformed frames and oversized bodies.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
[[ -x $ROOT/build/bin/weir ]] || { echo "build/bin/weir missing (make build)"; exit 1; }
exec /usr/bin/python3 "$ROOT/e2e/integration/distributed/distributed_test.py" "$@"
