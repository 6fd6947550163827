#!/usr/bin/env bash
# test_snapshots.sh - FlinkStateSnapshot resources (issue 10, upstream's default
# kubernetes.operator.snapshot.resource.enabled=true) with Weir runtime pods really running:
# savepointTriggerNonce creates a MANUAL savepoint snapshot that completes (path, labels, files,
# mirrored into savepointInfo.lastSavepoint); a user-created savepoint and a checkpoint
# snapshot complete; alreadyExists registers a path; a snapshot of a missing deployment reports
# an error; a savepoint upgrade records an UPGRADE snapshot; periodic savepoints are bounded by
# savepoint.history.max.count with dispose-on-delete removing the directories; deleting a
# completed snapshot with disposeOnDelete disposes it; a snapshot of a suspended job is
# ABANDONED.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
source "$ROOT/e2e/tests/lib.sh"
eval "$(bash "$ROOT/e2e/cluster/up.sh")" || { echo "FAIL cluster up"; exit 1; }
REL=weir-sn-$$
OPNS=weir-snop-$$
NS=weir-sn-$$
STATE=/tmp/weir-e2e-sn-$$
cleanup() {
    flink_cleanup "$NS"
    helm uninstall "$REL" -n "$OPNS" >/dev/null 2>&1
    kubectl delete namespace "$OPNS" --wait=false >/dev/null 2>&1
    rm -rf "$STATE"
}
trap cleanup EXIT
mkdir -p "$STATE"
if ! TAG=dev bash "$ROOT/scripts/images.sh" 2>"$ROOT/build/test-logs/snapshots-images.log"; then
    fail "make images"; finish; exit 1
fi
kubectl create namespace "$NS" >/dev/null
if ! helm install "$REL" "$ROOT/helm/weir-operator" -n "$OPNS" --create-namespace --force-conflicts \
    --set image.pullPolicy=Never --set "watchNamespaces={$NS}" \
    --set defaultConfiguration.config\\.yaml="kubernetes.operator.observer.progress-check.interval: 2 s
kubernetes.operator.reconcile.interval: 5 s" \
    --wait --timeout 3m >/dev/null 2>"$ROOT/build/test-logs/snapshots-helm.log"; then
    fail "helm install"; cat "$ROOT/build/test-logs/snapshots-helm.log"; finish; exit 1
fi
kubectl -n "$NS" create configmap job-sql --from-file=job.sql="$ROOT/e2e/tests/lifecycle/counts.sql" >/dev/null
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata: {name: snap}
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
st() { kubectl -n "$NS" get flinkdep snap -o jsonpath="{.status.$1}" 2>/dev/null; }
snap() { kubectl -n "$NS" get flinkstatesnapshot "$1" -o jsonpath="{$2}" 2>/dev/null; }
patch() { kubectl -n "$NS" patch flinkdep snap --type merge -p "$1" >/dev/null; }
host_path() { local p=${1#file://}; p=${p#file:}; echo "$STATE${p#/state}"; }
stable() { [[ $(st jobStatus.state) == RUNNING && $(st lifecycleState) == STABLE ]]; }
check "deployed: RUNNING and STABLE" retry 180 stable

# 1. savepointTriggerNonce -> a MANUAL FlinkStateSnapshot
patch '{"spec":{"job":{"savepointTriggerNonce":7}}}'
manual_name() { kubectl -n "$NS" get flinkstatesnapshot -l snapshot.trigger-type=MANUAL,job-reference.name=snap -o jsonpath='{.items[0].metadata.name}' 2>/dev/null; }
completed() { [[ $(snap "$1" .status.state) == COMPLETED ]]; }
has_manual() { [[ -n $(manual_name) ]]; }
check "savepointTriggerNonce creates a MANUAL FlinkStateSnapshot" retry 60 has_manual
mn=$(manual_name)
check "the manual snapshot $mn completes" retry 60 completed "$mn"
mp=$(snap "$mn" .status.path)
check "its savepoint files exist ($mp)" test -f "$(host_path "$mp")/_metadata"
check "labels: snapshot.type=SAVEPOINT, snapshot.state=COMPLETED" bash -c "[[ '$(snap "$mn" '.metadata.labels.snapshot\.type')' == SAVEPOINT && \$(kubectl -n $NS get flinkstatesnapshot $mn -o jsonpath='{.metadata.labels.snapshot\.state}') == COMPLETED ]]"
mirrored() { [[ $(st jobStatus.savepointInfo.lastSavepoint.location) == "$mp" ]]; }
check "the completed savepoint is in status.jobStatus.savepointInfo.lastSavepoint" retry 30 mirrored
check "the nonce is consumed: one MANUAL snapshot only" bash -c "sleep 6; [[ \$(kubectl -n $NS get flinkstatesnapshot -l snapshot.trigger-type=MANUAL -o name | wc -l) == 1 ]]"

# 2. user-created snapshots
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkStateSnapshot
metadata: {name: user-sp}
spec:
  jobReference: {kind: FlinkDeployment, name: snap}
  savepoint: {path: file:///state/user-savepoints, disposeOnDelete: true}
---
apiVersion: flink.apache.org/v1beta1
kind: FlinkStateSnapshot
metadata: {name: user-cp}
spec:
  jobReference: {kind: FlinkDeployment, name: snap}
  checkpoint: {}
---
apiVersion: flink.apache.org/v1beta1
kind: FlinkStateSnapshot
metadata: {name: registered}
spec:
  savepoint: {path: $mp, alreadyExists: true, disposeOnDelete: false}
---
apiVersion: flink.apache.org/v1beta1
kind: FlinkStateSnapshot
metadata: {name: orphan}
spec:
  jobReference: {kind: FlinkDeployment, name: no-such-deployment}
  savepoint: {}
YAML
check "a user-created savepoint snapshot completes" retry 60 completed user-sp
up=$(snap user-sp .status.path)
check "it was written to its spec.savepoint.path ($up)" bash -c "[[ '$up' == *user-savepoints* ]] && test -f '$(host_path "$up")/_metadata'"
check "a checkpoint snapshot completes with a path" bash -c "for i in \$(seq 60); do [[ \$(kubectl -n $NS get flinkstatesnapshot user-cp -o jsonpath='{.status.state}') == COMPLETED && -n \$(kubectl -n $NS get flinkstatesnapshot user-cp -o jsonpath='{.status.path}') ]] && exit 0; sleep 1; done; exit 1"
check "alreadyExists registers the path as COMPLETED" retry 30 completed registered
orphan_err() { [[ $(snap orphan .status.error) == *"no-such-deployment"*"not found"* ]]; }
check "a snapshot of a missing FlinkDeployment reports the error in status" retry 30 orphan_err
kubectl -n "$NS" delete flinkstatesnapshot user-sp --wait=true --timeout=60s >/dev/null 2>&1
check "deleting a completed snapshot with disposeOnDelete disposes its savepoint" bash -c "! test -e '$(host_path "$up")'"

# 2b. checkpointTriggerNonce -> a MANUAL checkpoint snapshot
patch '{"spec":{"job":{"checkpointTriggerNonce":5}}}'
mcp_name() { kubectl -n "$NS" get flinkstatesnapshot -l snapshot.trigger-type=MANUAL,snapshot.type=CHECKPOINT -o jsonpath='{.items[0].metadata.name}' 2>/dev/null; }
has_mcp() { [[ -n $(mcp_name) ]]; }
check "checkpointTriggerNonce creates a MANUAL checkpoint FlinkStateSnapshot" retry 60 has_mcp
mcp=$(mcp_name)
check "the manual checkpoint snapshot $mcp completes" retry 60 completed "$mcp"
check "its path is a retained checkpoint of the job" bash -c "[[ \$(kubectl -n $NS get flinkstatesnapshot $mcp -o jsonpath='{.status.path}') == *chk-* ]]"

# 3. an upgrade records an UPGRADE snapshot
jid=$(st jobStatus.jobId)
patch '{"spec":{"job":{"parallelism":4}}}'
upgraded() { [[ $(st jobStatus.jobId) != "$jid" ]] && stable; }
check "a savepoint upgrade completes" retry 240 upgraded
upgrade_snap() { [[ $(kubectl -n "$NS" get flinkstatesnapshot -l snapshot.trigger-type=UPGRADE -o jsonpath='{.items[0].status.path}') == "$(st jobStatus.upgradeSavepointPath)" ]]; }
check "the upgrade savepoint is a COMPLETED UPGRADE FlinkStateSnapshot" retry 30 upgrade_snap

# 4. periodic savepoints (a Quartz cron expression: every 4 s), bounded, disposed on delete;
# periodic checkpoints bounded by state.checkpoints.num-retained (1)
patch '{"spec":{"flinkConfiguration":{"kubernetes.operator.periodic.savepoint.interval":"*/4 * * * * ?","kubernetes.operator.periodic.checkpoint.interval":"3 s","kubernetes.operator.savepoint.history.max.count":"2","kubernetes.operator.savepoint.dispose-on-delete":"true"}}}'
periodic_paths() { kubectl -n "$NS" get flinkstatesnapshot -l snapshot.trigger-type=PERIODIC -o jsonpath='{range .items[*]}{.status.path}{"\n"}{end}' 2>/dev/null | grep .; }
first=""
has_periodic() { first=$(periodic_paths | head -1); [[ -n $first ]]; }
check "periodic savepoint snapshots are created" retry 60 has_periodic
fp=$first
sleep 25
n=$(kubectl -n "$NS" get flinkstatesnapshot -l 'snapshot.type=SAVEPOINT,snapshot.trigger-type in (PERIODIC,UPGRADE)' -o name | wc -l)
check "PERIODIC/UPGRADE savepoint snapshots are bounded by max.count (2; have $n)" test "$n" -le 3
gone() { [[ ! -e $(host_path "$fp") ]]; }
check "an old periodic savepoint's directory was disposed ($fp)" retry 30 gone
pcp_done() { [[ $(kubectl -n "$NS" get flinkstatesnapshot -l snapshot.trigger-type=PERIODIC,snapshot.type=CHECKPOINT,snapshot.state=COMPLETED -o name | wc -l) -ge 1 ]]; }
check "periodic checkpoint snapshots are taken (the newest completed one is kept)" retry 30 pcp_done
pcp=$(kubectl -n "$NS" get flinkstatesnapshot -l snapshot.trigger-type=PERIODIC,snapshot.type=CHECKPOINT -o name | wc -l)
check "periodic checkpoint snapshots are bounded by num-retained (1) + the newest completed + one pending ($pcp)" test "$pcp" -le 3
kubectl -n "$NS" patch flinkdep snap --type merge -p '{"spec":{"flinkConfiguration":{"kubernetes.operator.periodic.savepoint.interval":"not a schedule"}}}' >/dev/null
bad_interval() { [[ $(st error) == *"periodic.savepoint.interval"*"neither a duration nor a Quartz cron"* ]]; }
check "a periodic interval that is neither a duration nor cron is a ValidationError in status" retry 30 bad_interval

# 4b. JobManager deployment recovery (jm-deployment-recovery.enabled, the default): the lost
# Deployment is re-created and the job continues from its own latest checkpoint
patch '{"spec":{"flinkConfiguration":{"kubernetes.operator.periodic.savepoint.interval":"0","kubernetes.operator.periodic.checkpoint.interval":"0"}}}'
check "STABLE before the JobManager deployment is lost" retry 60 stable
rjid=$(st jobStatus.jobId)
sleep 4 # a few checkpoints
kubectl -n "$NS" delete deploy snap --wait=true --timeout=60s >/dev/null
recovered() { [[ -n $(kubectl -n "$NS" get deploy snap -o name 2>/dev/null) ]] && stable && [[ $(st jobStatus.jobId) == "$rjid" ]]; }
check "a lost JobManager deployment is recovered: RUNNING again with the same job id" retry 180 recovered
check "a RecoverDeployment event was recorded" bash -c "kubectl -n $NS get events --field-selector involvedObject.name=snap,reason=RecoverDeployment -o name | grep -q ."
jm_recovered() { kubectl -n "$NS" logs deploy/snap 2>/dev/null | grep -q "recovering the job from its latest checkpoint"; }
check "the recovered JobManager continues from the job's latest checkpoint" retry 60 jm_recovered

# 5. a snapshot of a suspended job is abandoned
patch '{"spec":{"flinkConfiguration":{"kubernetes.operator.periodic.savepoint.interval":"0","kubernetes.operator.periodic.checkpoint.interval":"0"},"job":{"state":"suspended"}}}'
susp() { [[ $(st lifecycleState) == SUSPENDED ]]; }
check "suspended" retry 120 susp
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkStateSnapshot
metadata: {name: late}
spec:
  jobReference: {kind: FlinkDeployment, name: snap}
  savepoint: {}
YAML
abandoned() { [[ $(snap late .status.state) == ABANDONED ]]; }
check "a snapshot of a suspended job is ABANDONED" retry 30 abandoned
finish
