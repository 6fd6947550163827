#!/usr/bin/env bash
# test_lifecycle.sh - issue 10 on the full local Kubernetes with Weir runtime pods really
# running: a keyed running count (counts.sql) deployed by a FlinkDeployment; a manual savepoint
# through savepointTriggerNonce; a parallelism change with upgradeMode savepoint (stop with a
# savepoint, restore from it: counts continue); suspend and resume (restored from the suspend
# savepoint); a last-state upgrade (cancel, restore the latest checkpoint); a stateless
# restart (counts begin again); periodic savepoints with the history bounded by max.count and
# the disposed directories gone. Snapshots are recorded in the legacy savepointInfo status here
# (kubernetes.operator.snapshot.resource.enabled: false); test_snapshots.sh covers the
# FlinkStateSnapshot resources.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
source "$ROOT/e2e/tests/lib.sh"
eval "$(bash "$ROOT/e2e/cluster/up.sh")" || { echo "FAIL cluster up"; exit 1; }
REL=weir-lc-$$
OPNS=weir-lcop-$$
NS=weir-lc-$$
STATE=/tmp/weir-e2e-lc-$$
cleanup() {
    flink_cleanup "$NS"
    helm uninstall "$REL" -n "$OPNS" >/dev/null 2>&1
    kubectl delete namespace "$OPNS" --wait=false >/dev/null 2>&1
    rm -rf "$STATE"
}
trap cleanup EXIT
mkdir -p "$STATE"

if ! TAG=dev bash "$ROOT/scripts/images.sh" 2>"$ROOT/build/test-logs/lifecycle-images.log"; then
    fail "make images"; tail -20 "$ROOT/build/test-logs/lifecycle-images.log"; finish; exit 1
fi
kubectl create namespace "$NS" >/dev/null
if ! helm install "$REL" "$ROOT/helm/weir-operator" -n "$OPNS" --create-namespace --force-conflicts \
    --set image.pullPolicy=Never --set "watchNamespaces={$NS}" \
    --set defaultConfiguration.config\\.yaml="kubernetes.operator.observer.progress-check.interval: 2 s
kubernetes.operator.reconcile.interval: 5 s" \
    --wait --timeout 3m >/dev/null 2>"$ROOT/build/test-logs/lifecycle-helm.log"; then
    fail "helm install"; cat "$ROOT/build/test-logs/lifecycle-helm.log"; finish; exit 1
fi
pass "operator installed with Helm"

kubectl -n "$NS" create configmap job-sql --from-file=job.sql="$ROOT/e2e/tests/lifecycle/counts.sql" >/dev/null
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
    # the legacy savepointInfo path (test_snapshots.sh covers FlinkStateSnapshot resources)
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
st() { kubectl -n "$NS" get flinkdep counts -o jsonpath="{.status.$1}" 2>/dev/null; }
patch() { kubectl -n "$NS" patch flinkdep counts --type merge -p "$1" >/dev/null; }
# the running count's output lines of the current TaskManager pods
out() { for p in $(kubectl -n "$NS" get pods -l app=counts,component=taskmanager -o name 2>/dev/null); do kubectl -n "$NS" logs "$p" 2>/dev/null; done | grep -E '^([0-9]+> )?[+-][IU]\['; }
maxcount() { out | sed -n 's/.*\[[0-9]*, \([0-9]*\)\]$/\1/p' | sort -n | tail -1; }
fresh_rows() { out | grep -c '+I\['; }
running_stable() { [[ $(st jobStatus.state) == RUNNING && $(st lifecycleState) == STABLE ]]; }
has_output() { [[ -n $(maxcount) ]]; }
host_path() { local p=${1#file://}; p=${p#file:}; echo "$STATE${p#/state}"; }

check "deployed: job RUNNING and lifecycle STABLE" retry 180 running_stable
jid1=$(st jobStatus.jobId)
check "the job id the operator recorded before deploying is the running job's (32 hex)" \
    bash -c "[[ '$jid1' =~ ^[0-9a-f]{32}$ ]] && kubectl -n $NS get configmap flink-config-counts -o jsonpath='{.data.config\.yaml}' | grep -q '$jid1'"
check "the job produces counts" retry 60 has_output

# manual savepoint
patch '{"spec":{"job":{"savepointTriggerNonce":1}}}'
manual_done() { [[ $(st jobStatus.savepointInfo.lastSavepoint.triggerType) == MANUAL && $(st jobStatus.savepointInfo.lastSavepoint.triggerNonce) == 1 ]]; }
check "savepointTriggerNonce: a MANUAL savepoint completes and is recorded in status" retry 60 manual_done
loc=$(st jobStatus.savepointInfo.lastSavepoint.location)
check "the manual savepoint's files exist ($loc)" test -f "$(host_path "$loc")/_metadata"
check "no trigger left pending" bash -c "[[ -z '$(st jobStatus.savepointInfo.triggerId)' ]]"

# savepoint upgrade with a parallelism change
has_more() { [[ $(maxcount) -ge 20 ]]; }
retry 60 has_more
before=$(maxcount)
patch '{"spec":{"job":{"parallelism":4}}}'
upgraded() { [[ $(st jobStatus.jobId) != "$jid1" ]] && running_stable && [[ $(kubectl -n "$NS" get pods -l app=counts,component=taskmanager --field-selector=status.phase=Running -o name | wc -l) == 2 ]]; }
check "parallelism 2 -> 4 (savepoint mode): a new job RUNNING and STABLE on 2 TaskManagers" retry 240 upgraded
sp=$(st jobStatus.upgradeSavepointPath)
check "the upgrade savepoint is recorded (upgradeSavepointPath $sp) and exists" test -f "$(host_path "$sp")/_metadata"
check "the UPGRADE savepoint is in the history" bash -c "kubectl -n $NS get flinkdep counts -o json | python3 -c 'import json,sys; h=json.load(sys.stdin)[\"status\"][\"jobStatus\"][\"savepointInfo\"][\"savepointHistory\"]; sys.exit(0 if any(x[\"triggerType\"]==\"UPGRADE\" for x in h) else 1)'"
continued() { has_output && [[ $(fresh_rows) == 0 && $(maxcount) -gt $before ]]; }
check "state continuity: counts continue past $before with no fresh +I rows" retry 90 continued
kubectl -n "$NS" get events --field-selector involvedObject.name=counts -o custom-columns=R:.reason --no-headers > "$ROOT/build/test-logs/lifecycle-events.txt" 2>/dev/null
check "events: SpecChanged, Suspended, SavepointCompleted, Submit" bash -c "for r in SpecChanged Suspended SavepointCompleted Submit; do grep -qx \$r '$ROOT/build/test-logs/lifecycle-events.txt' || exit 1; done"

# suspend and resume
jid2=$(st jobStatus.jobId)
before=$(maxcount)
patch '{"spec":{"job":{"state":"suspended"}}}'
susp() { [[ $(st lifecycleState) == SUSPENDED ]] && ! kubectl -n "$NS" get deploy counts >/dev/null 2>&1; }
check "suspend: lifecycle SUSPENDED and the JobManager Deployment gone" retry 120 susp
ssp=$(st jobStatus.upgradeSavepointPath)
check "suspend took a savepoint ($ssp)" bash -c "[[ '$ssp' != '$sp' ]] && test -f '$(host_path "$ssp")/_metadata'"
patch '{"spec":{"job":{"state":"running"}}}'
resumed() { [[ $(st jobStatus.jobId) != "$jid2" ]] && running_stable; }
check "resume: RUNNING and STABLE again" retry 180 resumed
check "resume restored the suspend savepoint: counts continue past $before" retry 90 continued
check "the resumed JobManager started from the suspend savepoint" bash -c "kubectl -n $NS logs deploy/counts 2>/dev/null | grep -q 'restore=.*${ssp##*/}'"

# last-state: cancel, then restore the latest checkpoint
jid3=$(st jobStatus.jobId)
before=$(maxcount)
patch '{"spec":{"job":{"upgradeMode":"last-state","parallelism":2}}}'
last_state() { [[ $(st jobStatus.jobId) != "$jid3" ]] && running_stable; }
check "last-state upgrade (parallelism 4 -> 2): RUNNING and STABLE again" retry 240 last_state
lsp=$(st jobStatus.upgradeSavepointPath)
check "last-state restored from a checkpoint of the cancelled job ($lsp)" bash -c "[[ '$lsp' == *'$jid3'*chk-* ]]"
check "last-state: counts continue past $before" retry 90 continued

# stateless: starts empty
jid4=$(st jobStatus.jobId)
patch '{"spec":{"restartNonce":1,"job":{"upgradeMode":"stateless"}}}'
stateless() { [[ $(st jobStatus.jobId) != "$jid4" ]] && running_stable && [[ $(fresh_rows) -gt 0 ]]; }
check "stateless restart (restartNonce): a new job starts from empty state (fresh +I rows)" retry 240 stateless

# rollback: an upgrade to an image that does not exist, with rollback enabled
patch '{"spec":{"job":{"upgradeMode":"savepoint"},"flinkConfiguration":{"kubernetes.operator.deployment.rollback.enabled":"true","kubernetes.operator.deployment.readiness.timeout":"20 s"}}}'
check "rollback enabled: STABLE" retry 60 running_stable
has_rows() { [[ $(maxcount) -ge 5 ]]; }
retry 60 has_rows
before=$(maxcount)
patch '{"spec":{"image":"weir/runtime:does-not-exist"}}'
rolled_back() { [[ $(st lifecycleState) == ROLLED_BACK && $(st jobStatus.state) == RUNNING ]]; }
check "a broken image rolls back: lifecycle ROLLED_BACK with the job RUNNING (readiness timeout 20 s)" retry 300 rolled_back
check "the rolled-back JobManager runs the previous image" bash -c "[[ \$(kubectl -n $NS get deploy counts -o jsonpath='{.spec.template.spec.containers[0].image}') == weir/runtime:dev ]]"
check "the rolled-back job continues from its state (counts past $before)" retry 90 continued
check "a Rollback event was recorded" bash -c "kubectl -n $NS get events --field-selector involvedObject.name=counts,reason=Rollback -o name | grep -q ."
before=$(maxcount)
patch '{"spec":{"image":"weir/runtime:dev","job":{"parallelism":2}}}'
check "a new spec after the rollback upgrades normally: STABLE" retry 240 running_stable
check "and keeps the state (counts past $before)" retry 90 continued

# periodic savepoints, history bounded, old ones disposed
patch '{"spec":{"job":{"upgradeMode":"savepoint"},"flinkConfiguration":{"kubernetes.operator.periodic.savepoint.interval":"5 s","kubernetes.operator.savepoint.history.max.count":"2"}}}'
periodic_n() { kubectl -n "$NS" get flinkdep counts -o json | python3 -c 'import json,sys; h=json.load(sys.stdin)["status"]["jobStatus"]["savepointInfo"].get("savepointHistory",[]); print(len(h), sum(1 for x in h if x["triggerType"]=="PERIODIC"))'; }
first_periodic=""
seen_periodic() {
    first_periodic=$(kubectl -n "$NS" get flinkdep counts -o json | python3 -c 'import json,sys; h=json.load(sys.stdin)["status"]["jobStatus"]["savepointInfo"].get("savepointHistory",[]); p=[x["location"] for x in h if x["triggerType"]=="PERIODIC"]; print(p[0] if p else "")')
    [[ -n $first_periodic ]]
}
check "periodic savepoints are taken" retry 60 seen_periodic
fp=$first_periodic
sleep 25
read -r hn pn <<<"$(periodic_n)"
check "the savepoint history is bounded by max.count (2): $hn entries" test "${hn:-99}" -le 2
gone() { [[ ! -e $(host_path "$fp") ]]; }
check "a trimmed periodic savepoint was disposed ($fp removed)" retry 30 gone

# checkpointTriggerNonce (legacy checkpointInfo): a manual checkpoint, the nonce recorded
patch '{"spec":{"job":{"checkpointTriggerNonce":11},"flinkConfiguration":{"kubernetes.operator.periodic.savepoint.interval":"0"}}}'
cp_done() { [[ $(st jobStatus.checkpointInfo.lastCheckpoint.triggerNonce) == 11 && $(st jobStatus.checkpointInfo.lastCheckpoint.triggerType) == MANUAL && -z $(st jobStatus.checkpointInfo.triggerId) ]]; }
check "checkpointTriggerNonce: a MANUAL checkpoint completes (checkpointInfo.lastCheckpoint)" retry 60 cp_done
check "a CheckpointCompleted event names the checkpoint" bash -c "kubectl -n $NS get events --field-selector involvedObject.name=counts,reason=CheckpointCompleted -o jsonpath='{.items[*].message}' | grep -q 'chk-'"

# job.savepoint-on-deletion: the job is stopped with a savepoint before its cluster goes
patch '{"spec":{"flinkConfiguration":{"kubernetes.operator.job.savepoint-on-deletion":"true"}}}'
check "savepoint-on-deletion set: STABLE" retry 60 running_stable
kubectl -n "$NS" delete flinkdep counts --wait=false >/dev/null
del_sp=""
del_event() {
    del_sp=$(kubectl -n "$NS" get events --field-selector involvedObject.name=counts,reason=SavepointCompleted -o jsonpath='{range .items[*]}{.message}{"\n"}{end}' | sed -n 's/.*before deletion: //p' | tail -1)
    [[ -n $del_sp ]]
}
check "deleting the resource stops the job with a savepoint first (event SavepointCompleted)" retry 120 del_event
check "the deletion savepoint's files exist ($del_sp)" test -f "$(host_path "$del_sp")/_metadata"
deleted() { ! kubectl -n "$NS" get flinkdep counts >/dev/null 2>&1 && [[ -z $(kubectl -n "$NS" get deploy -l app=counts -o name 2>/dev/null) ]]; }
check "deletion removes the resource and its cluster" retry 120 deleted
finish
