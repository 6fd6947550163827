#!/usr/bin/env bash
# test_operator_node.sh - weir-operator on the full local Kubernetes (with a node): a
# JobManager pod that cannot start (an image that is not on the node, pull policy Never) turns
# into jobManagerDeploymentStatus ERROR with the container's reason in status.error and a
# Warning event; fixing nothing but deleting the resource removes its pods too.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
source "$ROOT/e2e/tests/lib.sh"
eval "$(bash "$ROOT/e2e/cluster/up.sh")" || { echo "FAIL cluster up"; exit 1; }
OP=${WEIR_OPERATOR:-$ROOT/build/bin/weir-operator}
[[ -x $OP ]] || { echo "FAIL $OP not built"; exit 1; }
NS=weir-e2e-op-$$
PORT=$((18600 + $$ % 300))
kubectl apply -f "$ROOT/crds/" >/dev/null || { echo "FAIL install CRDs"; exit 1; }
kubectl create namespace "$NS" >/dev/null
mkdir -p "$ROOT/build/test-logs"
WATCH_NAMESPACES=$NS "$OP" -Dkubernetes.operator.health.probe.port="$PORT" \
    -Dkubernetes.operator.metrics.reporter.prom.port="$PORT" \
    -Dkubernetes.operator.http.bind-address=127.0.0.1 \
    -Dkubernetes.operator.observer.progress-check.interval=2s \
    >>"$ROOT/build/test-logs/operator-node.log" 2>&1 &
OPPID=$!
cleanup() {
    kill -TERM "$OPPID" 2>/dev/null
    wait "$OPPID" 2>/dev/null
    kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1
}
trap cleanup EXIT
check "operator ready" retry 30 curl -sf "http://127.0.0.1:$PORT/readyz"

kubectl -n "$NS" apply -f - >/dev/null <<'YAML'
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata: {name: no-image}
spec:
  image: weir-e2e/not-on-this-node:1
  imagePullPolicy: Never
  flinkVersion: v1_20
  serviceAccount: default
  flinkConfiguration: {taskmanager.numberOfTaskSlots: "1"}
  jobManager: {resource: {memory: 1g, cpu: 0.2}}
  taskManager: {resource: {memory: 1g, cpu: 0.2}}
  job: {jarURI: "local:///opt/flink/usrlib/job.sql", parallelism: 1}
YAML
st() { kubectl -n "$NS" get flinkdep no-image -o jsonpath="{.status.$1}" 2>/dev/null; }
is_error() { [[ $(st jobManagerDeploymentStatus) == ERROR ]]; }
if retry 90 is_error; then
    pass "JobManager pod that cannot start -> jobManagerDeploymentStatus ERROR"
else
    fail "status: $(st jobManagerDeploymentStatus); pods: $(kubectl -n "$NS" get pods 2>&1 | tail -3)"
fi
check "status.error carries the container's reason" bash -c "[[ \"\$(kubectl -n $NS get flinkdep no-image -o jsonpath='{.status.error}')\" == *ErrImageNeverPull* ]]"
ev() { [[ -n $(kubectl -n "$NS" get events --field-selector reason=ErrImageNeverPull,involvedObject.kind=FlinkDeployment,type=Warning -o name) ]]; }
check "a Warning event with the container's reason" retry 20 ev

kubectl -n "$NS" delete flinkdep no-image --wait=false >/dev/null
gone() { ! kubectl -n "$NS" get flinkdep no-image >/dev/null 2>&1; }
check "deletion completes (finalizer released)" retry 60 gone
nopods() { [[ -z $(kubectl -n "$NS" get pods -l app=no-image -o name 2>/dev/null) ]]; }
check "its pods are gone" retry 90 nopods
finish
