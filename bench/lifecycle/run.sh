#!/usr/bin/env bash
# bench/lifecycle/run.sh - how long the job lifecycle's steps take on the local Kubernetes with
# the operator installed by Helm and Weir runtime pods: first deployment to RUNNING/STABLE, a
# manual savepoint, a savepoint upgrade with a parallelism change, suspend, resume; and the
# operator's RSS. A measurement, never a pass/fail test. Prints one JSON object; the results
# are kept in bench/results/lifecycle.md.
#
#   bench/lifecycle/run.sh [ROUNDS]     (default 3 rounds of upgrade/suspend/resume)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/e2e/tests/lib.sh"
eval "$(bash "$ROOT/e2e/cluster/up.sh")" || { echo "cluster up failed" >&2; exit 1; }
ROUNDS=${1:-3}
REL=weir-bl-$$
OPNS=weir-blop-$$
NS=weir-bl-$$
STATE=/tmp/weir-bench-lc-$$
cleanup() {
    flink_cleanup "$NS"
    helm uninstall "$REL" -n "$OPNS" >/dev/null 2>&1
    kubectl delete namespace "$OPNS" --wait=false >/dev/null 2>&1
    rm -rf "$STATE"
}
trap cleanup EXIT
mkdir -p "$STATE"
TAG=dev bash "$ROOT/scripts/images.sh" >/dev/null 2>&1 || { echo "images failed" >&2; exit 1; }
kubectl create namespace "$NS" >/dev/null
helm install "$REL" "$ROOT/helm/weir-operator" -n "$OPNS" --create-namespace --force-conflicts \
    --set image.pullPolicy=Never --set "watchNamespaces={$NS}" \
    --set defaultConfiguration.config\\.yaml="kubernetes.operator.observer.progress-check.interval: 1 s
kubernetes.operator.reconcile.interval: 5 s" --wait --timeout 3m >/dev/null 2>&1 ||
    { echo "helm install failed" >&2; exit 1; }
kubectl -n "$NS" create configmap job-sql --from-file=job.sql="$ROOT/e2e/tests/lifecycle/counts.sql" >/dev/null

now() { date +%s.%N; }
st() { kubectl -n "$NS" get flinkdep counts -o jsonpath="{.status.$1}" 2>/dev/null; }
patch() { kubectl -n "$NS" patch flinkdep counts --type merge -p "$1" >/dev/null; }
stable() { [[ $(st jobStatus.state) == RUNNING && $(st lifecycleState) == STABLE ]]; }
# wait_for CMD...: polls every 0.2 s (at most 5 min); prints the seconds it took
wait_for() {
    local t0 i
    t0=$(now)
    for ((i = 0; i < 1500; i++)); do
        "$@" && { echo "$(now) - $t0" | bc; return 0; }
        sleep 0.2
    done
    echo "null"
}
t0=$(now)
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata: {name: counts}
spec:
  image: weir/runtime:dev
  imagePullPolicy: Never
  flinkVersion: v1_20
  serviceAccount: flink
  flinkConfiguration:
    taskmanager.numberOfTaskSlots: "2"
    state.checkpoints.dir: file:///state/checkpoints
    state.savepoints.dir: file:///state/savepoints
    execution.checkpointing.interval: 2 s
    kubernetes.operator.snapshot.resource.enabled: "false"
  jobManager: {resource: {memory: 256m, cpu: 0.1}}
  taskManager: {resource: {memory: 256m, cpu: 0.1}}
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
    parallelism: 2
    upgradeMode: savepoint
YAML
deploy=$(wait_for stable)
sleep 5
patch '{"spec":{"job":{"savepointTriggerNonce":1}}}'
sp_done() { [[ $(st jobStatus.savepointInfo.lastSavepoint.triggerNonce) == 1 ]]; }
savepoint=$(wait_for sp_done)
ups=() sus=() res=()
par=2
for ((r = 0; r < ROUNDS; r++)); do
    jid=$(st jobStatus.jobId)
    par=$((par == 2 ? 4 : 2))
    patch "{\"spec\":{\"job\":{\"parallelism\":$par}}}"
    upgraded() { [[ $(st jobStatus.jobId) != "$jid" ]] && stable; }
    ups+=("$(wait_for upgraded)")
    sleep 4
    patch '{"spec":{"job":{"state":"suspended"}}}'
    susp() { [[ $(st lifecycleState) == SUSPENDED ]] && ! kubectl -n "$NS" get deploy counts >/dev/null 2>&1; }
    sus+=("$(wait_for susp)")
    jid=$(st jobStatus.jobId)
    patch '{"spec":{"job":{"state":"running"}}}'
    resumed() { [[ $(st jobStatus.jobId) != "$jid" ]] && stable; }
    res+=("$(wait_for resumed)")
    sleep 4
done
# the operator's RSS, read from its process on the node (the node is this machine)
oppid=$(pgrep -f '^/usr/local/bin/weir-operator' | head -1)
rss_kib=$([[ -n $oppid ]] && awk '/^VmRSS/{print $2}' "/proc/$oppid/status" || echo null)
join() { local IFS=,; echo "[$*]"; }
printf '{"date":"%s","deploy_s":%s,"manual_savepoint_s":%s,"upgrade_s":%s,"suspend_s":%s,"resume_s":%s,"operator_rss_kib":%s}\n' \
    "$(date -u +%F)" "$deploy" "$savepoint" "$(join "${ups[@]}")" "$(join "${sus[@]}")" "$(join "${res[@]}")" "${rss_kib:-null}"
