#!/usr/bin/env bash
# test_nonblocking.sh - issue 10's "no worker is held by a savepoint": 50 FlinkDeployments with
# Weir runtime pods take savepoints at once (savepointTriggerNonce; each savepoint takes tens of
# seconds because the job's sink is slow), and while they are in progress a spec change to a
# 51st FlinkDeployment is reconciled within one reconcile interval (15 s), with ONE reconcile
# worker (kubernetes.operator.reconcile.parallelism: 1). Then every savepoint completes.
# Prints the measured times (also used by bench/lifecycle).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
source "$ROOT/e2e/tests/lib.sh"
eval "$(bash "$ROOT/e2e/cluster/up.sh")" || { echo "FAIL cluster up"; exit 1; }
N=${WEIR_NONBLOCKING_N:-50}
REL=weir-nb-$$
OPNS=weir-nbop-$$
NS=weir-nb-$$
STATE=/tmp/weir-e2e-nb-$$
LOGS=$ROOT/build/test-logs
cleanup() {
    kubectl -n "$OPNS" logs "$(kubectl -n "$OPNS" get deploy -o name | head -1)" --tail=2000 >"$LOGS/nonblocking-operator.log" 2>&1
    flink_cleanup "$NS"
    # the pods count against the node's maxPods: wait until they are gone for the next test
    for ((i = 0; i < 180; i++)); do
        [[ -z $(kubectl -n "$NS" get pods -o name 2>/dev/null) ]] && break
        sleep 1
    done
    helm uninstall "$REL" -n "$OPNS" >/dev/null 2>&1
    kubectl delete namespace "$OPNS" --wait=false >/dev/null 2>&1
    rm -rf "$STATE"
}
trap cleanup EXIT
mkdir -p "$STATE" "$LOGS"
if ! TAG=dev bash "$ROOT/scripts/images.sh" 2>"$LOGS/nonblocking-images.log"; then
    fail "make images"; finish; exit 1
fi
kubectl create namespace "$NS" >/dev/null
if ! helm install "$REL" "$ROOT/helm/weir-operator" -n "$OPNS" --create-namespace --force-conflicts \
    --set image.pullPolicy=Never --set "watchNamespaces={$NS}" \
    --set defaultConfiguration.config\\.yaml="kubernetes.operator.reconcile.interval: 15 s
kubernetes.operator.observer.progress-check.interval: 5 s
kubernetes.operator.reconcile.parallelism: 1" \
    --wait --timeout 3m >/dev/null 2>"$LOGS/nonblocking-helm.log"; then
    fail "helm install"; cat "$LOGS/nonblocking-helm.log"; finish; exit 1
fi
kubectl -n "$NS" create configmap job-sql --from-file=job.sql="$ROOT/e2e/tests/lifecycle/slow-savepoints.sql" >/dev/null
fd_yaml() {
    cat <<YAML
---
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata: {name: $1}
spec:
  image: weir/runtime:dev
  imagePullPolicy: Never
  flinkVersion: v1_20
  serviceAccount: flink
  flinkConfiguration:
    taskmanager.numberOfTaskSlots: "1"
    state.checkpoints.dir: file:///state/checkpoints
    state.savepoints.dir: file:///state/savepoints
  jobManager: {resource: {memory: 128m}}
  taskManager: {resource: {memory: 128m}}
  podTemplate:
    spec:
      initContainers:
        - name: state-dir
          image: weir/runtime:dev
          imagePullPolicy: Never
          securityContext: {runAsUser: 0}
          command: [/bin/sh, -c, "chown 9999:9999 /state"]
          volumeMounts: [{name: state, mountPath: /state}]
      containers:
        - name: flink-main-container
          volumeMounts:
            - {name: job, mountPath: /opt/flink/usrlib}
            - {name: state, mountPath: /state}
      volumes:
        - {name: job, configMap: {name: job-sql}}
        - {name: state, hostPath: {path: $STATE, type: DirectoryOrCreate}}
  job:
    jarURI: local:///opt/flink/usrlib/job.sql
    parallelism: 1
    upgradeMode: savepoint
YAML
}
# the node takes at most 110 pods: wait for pods of earlier tests to finish terminating
few_pods() { [[ $(kubectl get pods -A --no-headers 2>/dev/null | wc -l) -le $((108 - 2 * (N + 1))) ]]; }
retry 180 few_pods || echo "note: $(kubectl get pods -A --no-headers 2>/dev/null | wc -l) pods still on the node"
names=()
for ((i = 1; i <= N; i++)); do names+=("sp$i"); done
{ for n in "${names[@]}" other; do fd_yaml "$n"; done; } | kubectl -n "$NS" apply -f - >/dev/null
t0=$(date +%s)
running_n() {
    kubectl -n "$NS" get flinkdep -o json | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
print(sum(1 for i in items if i.get("status", {}).get("jobStatus", {}).get("state") == "RUNNING"
          and i["status"].get("lifecycleState") == "STABLE"))'
}
all_running() { [[ $(running_n) -ge $((N + 1)) ]]; }
check "$((N + 1)) FlinkDeployments deployed: RUNNING and STABLE" retry 600 all_running
echo "deploy of $((N + 1)) FlinkDeployments: $(($(date +%s) - t0)) s; $(running_n) running"
sleep 10 # the slow sinks' channels fill: savepoints now wait behind queued rows

# all savepoints at once
t1=$(date +%s.%N)
printf '%s\n' "${names[@]}" | xargs -P 8 -I{} kubectl -n "$NS" patch flinkdep {} --type merge \
    -p '{"spec":{"job":{"savepointTriggerNonce":1}}}' >/dev/null
snap_states() {
    kubectl -n "$NS" get flinkstatesnapshot -l snapshot.trigger-type=MANUAL -o json | python3 -c '
import collections, json, sys
c = collections.Counter(i.get("status", {}).get("state", "NONE") for i in json.load(sys.stdin)["items"])
print(c.get("IN_PROGRESS", 0), c.get("COMPLETED", 0), sum(c.values()))'
}
in_progress() { read -r ip done all <<<"$(snap_states)"; [[ $ip -ge $((N * 4 / 5)) ]]; }
check "savepoints of $N FlinkDeployments are in progress at once" retry 90 in_progress
read -r ip_before done_before all_before <<<"$(snap_states)"
echo "at the change: $ip_before savepoints IN_PROGRESS, $done_before COMPLETED, $all_before snapshots"

# the change to another FlinkDeployment while they run
gen=$(kubectl -n "$NS" get flinkdep other -o jsonpath='{.metadata.generation}')
t2=$(date +%s.%N)
kubectl -n "$NS" patch flinkdep other --type merge \
    -p '{"spec":{"flinkConfiguration":{"kubernetes.operator.savepoint.history.max.count":"7"}}}' >/dev/null
reconciled() {
    [[ $(kubectl -n "$NS" get flinkdep other -o jsonpath='{.status.observedGeneration}') -gt $gen ]] &&
        kubectl -n "$NS" get flinkdep other -o jsonpath='{.status.reconciliationStatus.lastReconciledSpec}' | grep -q '"kubernetes.operator.savepoint.history.max.count":"7"'
}
for ((i = 0; i < 600; i++)); do reconciled && break; sleep 0.1; done
t3=$(date +%s.%N)
took=$(python3 -c "print(f'{$t3 - $t2:.1f}')")
read -r ip_after done_after all_after <<<"$(snap_states)"
echo "the change was reconciled after $took s; then $ip_after savepoints still IN_PROGRESS, $done_after COMPLETED"
check "the change to another FlinkDeployment is reconciled within one reconcile interval (15 s): $took s" python3 -c "import sys; sys.exit(0 if $took < 15 else 1)"
check "savepoints were still in progress when it was ($ip_after of $N)" test "$ip_after" -ge 1

# every savepoint completes
all_done() { read -r ip done all <<<"$(snap_states)"; [[ $done -ge $N ]]; }
check "all $N savepoints complete" retry 400 all_done
t4=$(date +%s.%N)
echo "all $N savepoints completed $(python3 -c "print(f'{$t4 - $t1:.1f}')") s after the nonces were set"
files=$(find "$STATE/savepoints" -name _metadata 2>/dev/null | wc -l)
check "their files exist ($files _metadata files)" test "$files" -ge "$N"
# the operator's RSS, read from its process on the node (the node is this machine)
oppid=$(pgrep -f '^/usr/local/bin/weir-operator' | head -1)
rss=$([[ -n $oppid ]] && awk '/^VmRSS/{print $2}' "/proc/$oppid/status")
echo "operator RSS with $((N + 1)) FlinkDeployments: ${rss:-?} KiB"
finish
