#!/usr/bin/env bash
# test_recovery.sh - issue 10's recovery paths with Weir runtime pods really running:
# kubernetes.operator.job.restart.failed redeploys a FAILED job (a new job id, event
# RestartUnhealthyJob "Restarting failed job"); without it the FAILED job stays, with its error
# in status and a Warning Error event; the exceptions of a restarting job become JobException
# events; kubernetes.operator.cluster.health-check restarts a job that restarts too often
# (restarts.threshold) ("Restarting unhealthy job"), recording its evaluation in
# status.clusterInfo.ClusterHealthInfo.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
source "$ROOT/e2e/tests/lib.sh"
eval "$(bash "$ROOT/e2e/cluster/up.sh")" || { echo "FAIL cluster up"; exit 1; }
REL=weir-rc-$$
OPNS=weir-rcop-$$
NS=weir-rc-$$
STATE=/tmp/weir-e2e-rc-$$
LOGS=$ROOT/build/test-logs
cleanup() {
    kubectl -n "$OPNS" logs "$(kubectl -n "$OPNS" get deploy -o name | head -1)" --tail=2000 >"$LOGS/recovery-operator.log" 2>&1
    flink_cleanup "$NS"
    helm uninstall "$REL" -n "$OPNS" >/dev/null 2>&1
    kubectl delete namespace "$OPNS" --wait=false >/dev/null 2>&1
    rm -rf "$STATE"
}
trap cleanup EXIT
mkdir -p "$STATE" "$LOGS"
if ! TAG=dev bash "$ROOT/scripts/images.sh" 2>"$LOGS/recovery-images.log"; then
    fail "make images"; finish; exit 1
fi
kubectl create namespace "$NS" >/dev/null
if ! helm install "$REL" "$ROOT/helm/weir-operator" -n "$OPNS" --create-namespace --force-conflicts \
    --set image.pullPolicy=Never --set "watchNamespaces={$NS}" \
    --set defaultConfiguration.config\\.yaml="kubernetes.operator.observer.progress-check.interval: 2 s
kubernetes.operator.reconcile.interval: 5 s" \
    --wait --timeout 3m >/dev/null 2>"$LOGS/recovery-helm.log"; then
    fail "helm install"; cat "$LOGS/recovery-helm.log"; finish; exit 1
fi
kubectl -n "$NS" create configmap job-sql --from-file=job.sql="$ROOT/e2e/tests/lifecycle/failing.sql" >/dev/null
# fd NAME "extra flinkConfiguration lines"
fd() {
    kubectl -n "$NS" apply -f - >/dev/null <<YAML
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
    execution.checkpointing.interval: 1 s
$2
  jobManager: {resource: {memory: 128m, cpu: 0.1}}
  taskManager: {resource: {memory: 128m, cpu: 0.1}}
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
    upgradeMode: last-state
YAML
}
st() { kubectl -n "$NS" get flinkdep "$1" -o jsonpath="{.status.$2}" 2>/dev/null; }
events_of() { kubectl -n "$NS" get events --field-selector "involvedObject.name=$1,reason=$2" -o jsonpath='{range .items[*]}{.message}{"\n"}{end}' 2>/dev/null; }

# 1. job.restart.failed
fd restart '    restart-strategy.type: none
    kubernetes.operator.job.restart.failed: "true"'
fd stays '    restart-strategy.type: none'
first=""
got_id() { first=$(st restart jobStatus.jobId); [[ -n $first ]]; }
retry 60 got_id
restarted() { [[ -n $(st restart jobStatus.jobId) && $(st restart jobStatus.jobId) != "$first" ]]; }
check "job.restart.failed: the FAILED job is redeployed with a new job id" retry 180 restarted
check "event RestartUnhealthyJob: Restarting failed job" bash -c "$(declare -f events_of); NS=$NS; events_of restart RestartUnhealthyJob | grep -q 'Restarting failed job'"
failed_stays() { [[ $(st stays jobStatus.state) == FAILED ]]; }
check "without job.restart.failed a FAILED job stays FAILED" retry 120 failed_stays
sid=$(st stays jobStatus.jobId)
check "and is not redeployed (same job id after 15 s)" bash -c "sleep 15; [[ \$(kubectl -n $NS get flinkdep stays -o jsonpath='{.status.jobStatus.jobId}') == $sid ]]"
check "its error is in status.error" bash -c "[[ \$(kubectl -n $NS get flinkdep stays -o jsonpath='{.status.error}') == *'division by zero'* ]]"
check "with a Warning Error event" bash -c "$(declare -f events_of); NS=$NS; events_of stays Error | grep -q 'division by zero'"
kubectl -n "$NS" delete flinkdep restart stays --wait=false >/dev/null

# 2. cluster health check: a job restarting more than restarts.threshold times in the window
fd unhealthy '    restart-strategy.type: fixed-delay
    restart-strategy.fixed-delay.attempts: "100000"
    restart-strategy.fixed-delay.delay: 300 ms
    kubernetes.operator.cluster.health-check.enabled: "true"
    kubernetes.operator.cluster.health-check.restarts.threshold: "3"
    kubernetes.operator.cluster.health-check.restarts.window: 1 min'
first=""
got_id2() { first=$(st unhealthy jobStatus.jobId); [[ -n $first && $(st unhealthy jobStatus.state) != RECONCILING ]]; }
retry 120 got_id2
health_recorded() { [[ $(st unhealthy clusterInfo.ClusterHealthInfo) == *numRestarts* ]]; }
check "the health evaluation is kept in status.clusterInfo.ClusterHealthInfo" retry 60 health_recorded
restarted2() { [[ -n $(st unhealthy jobStatus.jobId) && $(st unhealthy jobStatus.jobId) != "$first" ]]; }
check "an unhealthy job (restarts over the threshold) is restarted with a new job id" retry 180 restarted2
check "the job's exceptions are JobException events" bash -c "$(declare -f events_of); NS=$NS; events_of unhealthy JobException | grep -q 'division by zero'"
check "event RestartUnhealthyJob: Restarting unhealthy job" bash -c "$(declare -f events_of); NS=$NS; events_of unhealthy RestartUnhealthyJob | grep -q 'Restarting unhealthy job'"
finish
