#!/usr/bin/env bash
# bench/operator/run.sh - the operator burst benchmark on the local control plane
# (up.sh --no-node: the apiserver is what the operator talks to; no pods are started).
#
#   bench/operator/run.sh                 # Weir's operator, N=1000
#   N=200 bench/operator/run.sh           # smaller burst
#   RATE=20 STEADY=300 bench/operator/run.sh   # steady phase: 300 creates at 20/s
#   bench/operator/run.sh -- CMD...       # any other operator's start command
#
# Writes bench/results/operator-<date>.json and prints it. Not a test: no pass/fail on numbers.
# Starts from a fresh control plane (down.sh first): objects left by earlier runs would slow
# the apiserver and etcd and make runs incomparable.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
bash "$ROOT/e2e/cluster/down.sh" >/dev/null 2>&1 || true
eval "$(bash "$ROOT/e2e/cluster/up.sh" --no-node)"
kubectl apply -f "$ROOT/crds/" >/dev/null
N=${N:-1000}
NS=weir-bench-$(date +%s)
PORT=${PORT:-18900}
if [[ ${1:-} == -- ]]; then
    shift
    CMD=("$@")
    READY=()
else
    CMD=(env WATCH_NAMESPACES="$NS" "$ROOT/build/bin/weir-operator"
        -Dkubernetes.operator.health.probe.port="$PORT"
        -Dkubernetes.operator.metrics.reporter.prom.port="$PORT"
        -Dkubernetes.operator.http.bind-address=127.0.0.1
        -Dtaskmanager.numberOfTaskSlots=1 -Dparallelism.default=1)
    READY=(--ready-url "http://127.0.0.1:$PORT/readyz")
fi
mkdir -p "$ROOT/bench/results"
out=$ROOT/bench/results/operator-$(date -u +%Y-%m-%d).json
/usr/bin/python3 "$ROOT/bench/operator/bench.py" --n "$N" --namespace "$NS" "${READY[@]}" \
    --rate "${RATE:-50}" --steady "${STEADY:-200}" \
    -- "${CMD[@]}" | tee "$out.tmp"
{
    echo "{\"machine\": \"$(nproc) cores, $(awk '/MemTotal/ {printf "%d MiB", $2/1024}' /proc/meminfo), $(uname -r)\","
    echo " \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"result\":"
    cat "$out.tmp"
    echo "}"
} >"$out"
rm -f "$out.tmp"
echo "bench: results in ${out#"$ROOT"/}"
