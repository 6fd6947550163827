#!/usr/bin/env bash
# test_crashpoints.sh - issue 10's crash-point test: the operator (the sanitizer build, whose
# test hook WEIR_CRASHPOINT=<write point> SIGKILLs it right after that status write) is killed
# at every write point of a first deployment, a manual savepoint, a savepoint upgrade, a
# suspend and a resume, a rollback, snapshot resources and a deletion with a savepoint; restarted without the hook, every run must end RUNNING/STABLE (or
# SUSPENDED) with state continuity (the running counts go on, no fresh +I rows), exactly one
# JobManager and one job, and no duplicate savepoint. The operator runs out of cluster and
# reaches the JobManagers through their REST Services' cluster IPs.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
source "$ROOT/e2e/tests/lib.sh"
eval "$(bash "$ROOT/e2e/cluster/up.sh")" || { echo "FAIL cluster up"; exit 1; }
OP=${WEIR_OPERATOR_SAN:-$ROOT/build/san/bin/weir-operator}
if [[ ! -x $OP ]]; then make -C "$ROOT" san-binaries >/dev/null 2>&1 || { echo "FAIL make san-binaries"; exit 1; }; fi
NS=weir-cp-$$
STATE=/tmp/weir-e2e-cp-$$
LOG=$ROOT/build/test-logs/crashpoints-operator.log
: >"$LOG"
OPPID=""
cleanup() {
    [[ -z $OPPID ]] && start_operator ""
    flink_cleanup "$NS"
    [[ -n $OPPID ]] && kill -KILL "$OPPID" 2>/dev/null
    rm -rf "$STATE"
}
trap cleanup EXIT
mkdir -p "$STATE"
if ! TAG=dev bash "$ROOT/scripts/images.sh" 2>"$ROOT/build/test-logs/crashpoints-images.log"; then
    fail "make images"; finish; exit 1
fi
kubectl apply --server-side --force-conflicts -f "$ROOT/crds/" >/dev/null
kubectl create namespace "$NS" >/dev/null
kubectl -n "$NS" create serviceaccount flink >/dev/null
kubectl -n "$NS" create configmap job-sql --from-file=job.sql="$ROOT/e2e/tests/lifecycle/counts.sql" >/dev/null

# start_operator [CRASHPOINT]
start_operator() {
    echo "=== operator start (crash point: ${1:-none})" >>"$LOG"
    WEIR_CRASHPOINT=${1:-} WATCH_NAMESPACES=$NS ASAN_OPTIONS=detect_leaks=0 "$OP" \
        -Dkubernetes.operator.health.probe.port=18191 \
        -Dkubernetes.operator.metrics.reporter.prom.port=18191 \
        -Dkubernetes.operator.http.bind-address=127.0.0.1 \
        -Dkubernetes.operator.observer.progress-check.interval=1s \
        -Dkubernetes.operator.reconcile.interval=3s >>"$LOG" 2>&1 &
    OPPID=$!
    retry 30 curl -sf "http://127.0.0.1:18191/readyz"
}
stop_operator() { kill -TERM "$OPPID" 2>/dev/null; wait "$OPPID" 2>/dev/null; OPPID=""; }
# waits for the hooked operator to kill itself; true when it died of SIGKILL
crashed() {
    local i
    for ((i = 0; i < 120; i++)); do
        if ! kill -0 "$OPPID" 2>/dev/null; then
            wait "$OPPID" 2>/dev/null
            local rc=$?
            OPPID=""
            [[ $rc == 137 ]]
            return
        fi
        sleep 1
    done
    return 1
}

st() { kubectl -n "$NS" get flinkdep cp -o jsonpath="{.status.$1}" 2>/dev/null; }
patch() { kubectl -n "$NS" patch flinkdep cp --type merge -p "$1" >/dev/null; }
out() { for p in $(kubectl -n "$NS" get pods -l app=cp,component=taskmanager --field-selector=status.phase=Running -o name 2>/dev/null); do kubectl -n "$NS" logs "$p" 2>/dev/null; done | grep -E '^([0-9]+> )?[+-][IU]\['; }
maxcount() { out | sed -n 's/.*\[[0-9]*, \([0-9]*\)\]$/\1/p' | sort -n | tail -1; }
fresh_rows() { out | grep -c '+I\['; }
stable() { [[ $(st jobStatus.state) == RUNNING && $(st lifecycleState) == STABLE ]]; }
one_job() {
    [[ $(kubectl -n "$NS" get pods -l app=cp,component=jobmanager -o name | wc -l) == 1 ]] &&
        [[ $(kubectl get --raw "/api/v1/namespaces/$NS/services/http:cp-rest:8081/proxy/jobs/overview" 2>/dev/null |
            python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"]; print(len(j), j[0]["state"] if j else "")') == "1 RUNNING" ]]
}
history_count() { # TYPE
    kubectl -n "$NS" get flinkdep cp -o json | python3 -c "import json,sys; h=json.load(sys.stdin)['status']['jobStatus'].get('savepointInfo',{}).get('savepointHistory',[]); print(sum(1 for x in h if x['triggerType']=='$1'))"
}
POINTS=0

# crash_at POINT DESCRIPTION PATCH: the hooked operator dies at POINT while reconciling PATCH
crash_at() {
    start_operator "$1"
    [[ -n $3 ]] && patch "$3"
    if crashed; then
        pass "$2: the operator was SIGKILLed right after the '$1' status write"
        POINTS=$((POINTS + 1))
    else
        fail "$2: the operator did not reach the '$1' write point"
        stop_operator
    fi
    start_operator ""
}

# 1. first deployment
start_operator "first-deploy"
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata: {name: cp}
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
    parallelism: 1
    upgradeMode: savepoint
YAML
if crashed; then pass "first deployment: SIGKILLed right after the 'first-deploy' write"; POINTS=$((POINTS + 1)); else fail "first deployment: no crash at 'first-deploy'"; stop_operator; fi
jid0=$(st jobStatus.jobId)
start_operator ""
check "first deployment resumed: RUNNING and STABLE" retry 180 stable
check "the job runs with the id recorded before the crash, once" bash -c "[[ '$(st jobStatus.jobId)' == '$jid0' ]]"
check "exactly one JobManager and one job" retry 30 one_job
has_counts() { [[ $(maxcount) -ge 10 ]]; }
retry 60 has_counts
stop_operator

# 2. manual savepoints
crash_at savepoint-trigger "manual savepoint" '{"spec":{"job":{"savepointTriggerNonce":1}}}'
manual() { [[ $(st jobStatus.savepointInfo.lastSavepoint.triggerNonce) == "$1" && -z $(st jobStatus.savepointInfo.triggerId) ]]; }
check "manual savepoint completed after the restart" retry 60 manual 1
stop_operator
crash_at savepoint-completed "second manual savepoint" '{"spec":{"job":{"savepointTriggerNonce":2}}}'
check "second manual savepoint recorded" retry 60 manual 2
check "no duplicate manual savepoint (2 in the history)" bash -c "[[ \$(kubectl -n $NS get flinkdep cp -o json | python3 -c \"import json,sys; h=json.load(sys.stdin)['status']['jobStatus']['savepointInfo']['savepointHistory']; print(sum(1 for x in h if x['triggerType']=='MANUAL'))\") == 2 ]]"
stop_operator

# 3. savepoint upgrades, one crash point each
upgrade_with_crash() { # POINT PARALLELISM
    local jid before ups
    jid=$(st jobStatus.jobId)
    before=$(maxcount)
    ups=$(history_count UPGRADE)
    crash_at "$1" "upgrade to parallelism $2" "{\"spec\":{\"job\":{\"parallelism\":$2}}}"
    upgraded() { [[ $(st jobStatus.jobId) != "$jid" ]] && stable; }
    check "crash at '$1': the upgrade completes (new job RUNNING, STABLE)" retry 240 upgraded
    check "crash at '$1': exactly one JobManager and one job" retry 60 one_job
    cont() { [[ $(fresh_rows) == 0 && $(maxcount) -gt ${before:-0} ]]; }
    check "crash at '$1': state continuity (counts past $before, no fresh +I rows)" retry 90 cont
    check "crash at '$1': exactly one upgrade savepoint taken" bash -c "[[ \$(kubectl -n $NS get flinkdep cp -o json | python3 -c \"import json,sys; h=json.load(sys.stdin)['status']['jobStatus']['savepointInfo']['savepointHistory']; print(sum(1 for x in h if x['triggerType']=='UPGRADE'))\") == $((ups + 1)) ]]"
    stop_operator
}
upgrade_with_crash upgrade-trigger 2
upgrade_with_crash suspended 1
upgrade_with_crash restore 2

# 4. suspend and resume
before=$(maxcount)
crash_at upgrade-trigger "suspend" '{"spec":{"job":{"state":"suspended"}}}'
susp() { [[ $(st lifecycleState) == SUSPENDED ]] && ! kubectl -n "$NS" get deploy cp >/dev/null 2>&1; }
check "crash during suspend: SUSPENDED with the cluster gone" retry 120 susp
stop_operator
jid=$(st jobStatus.jobId)
crash_at restore "resume" '{"spec":{"job":{"state":"running"}}}'
resumed() { [[ $(st jobStatus.jobId) != "$jid" ]] && stable; }
check "crash during resume: RUNNING and STABLE" retry 180 resumed
check "crash during resume: exactly one JobManager and one job" retry 60 one_job
cont() { [[ $(fresh_rows) == 0 && $(maxcount) -gt ${before:-0} ]]; }
check "crash during resume: counts continue past $before" retry 90 cont
stop_operator

# 5. rollback: a broken image, the operator killed right after ROLLING_BACK is written
patch '{"spec":{"flinkConfiguration":{"kubernetes.operator.deployment.rollback.enabled":"true","kubernetes.operator.deployment.readiness.timeout":"15 s"}}}'
start_operator ""
check "rollback enabled: STABLE" retry 60 stable
stop_operator
before=$(maxcount)
crash_at rollback "a broken upgrade with rollback enabled" '{"spec":{"image":"weir/runtime:does-not-exist"}}'
rolled() { [[ $(st lifecycleState) == ROLLED_BACK && $(st jobStatus.state) == RUNNING ]]; }
check "crash at 'rollback': ROLLED_BACK with the job RUNNING" retry 240 rolled
check "crash at 'rollback': exactly one JobManager and one job" retry 60 one_job
check "crash at 'rollback': counts continue past $before" retry 90 cont
stop_operator
start_operator ""
patch '{"spec":{"image":"weir/runtime:dev","flinkConfiguration":{"kubernetes.operator.deployment.rollback.enabled":"false"}}}'
# the fixed spec differs from the rolled-back (stable) one only in an operator key: it is
# taken over without a restart
fixed() { stable && kubectl -n "$NS" get flinkdep cp -o jsonpath='{.status.reconciliationStatus.lastReconciledSpec}' | grep -q '"image":"weir/runtime:dev"'; }
check "a fixed spec after the rollback: STABLE without another restart" retry 120 fixed
check "... still exactly one JobManager and one job" retry 30 one_job
stop_operator

# 6. FlinkStateSnapshot resources: the nonce's snapshot, and the snapshot controller's trigger
patch '{"spec":{"flinkConfiguration":{"kubernetes.operator.snapshot.resource.enabled":"true"}}}'
crash_at manual-snapshot "savepointTriggerNonce with snapshot resources" '{"spec":{"job":{"savepointTriggerNonce":3}}}'
one_manual() { [[ $(kubectl -n "$NS" get flinkstatesnapshot -l snapshot.trigger-type=MANUAL -o jsonpath='{range .items[*]}{.status.state}{"\n"}{end}') == COMPLETED ]]; }
check "crash after creating the snapshot: exactly one MANUAL FlinkStateSnapshot, COMPLETED" retry 60 one_manual
stop_operator
start_operator snapshot-trigger
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkStateSnapshot
metadata: {name: user}
spec:
  jobReference: {kind: FlinkDeployment, name: cp}
  savepoint: {path: file:///state/user-sp}
YAML
if crashed; then pass "a user's FlinkStateSnapshot: SIGKILLed right after the 'snapshot-trigger' write"; POINTS=$((POINTS + 1)); else fail "no crash at 'snapshot-trigger'"; stop_operator; fi
start_operator ""
user_done() { [[ $(kubectl -n "$NS" get flinkstatesnapshot user -o jsonpath='{.status.state}') == COMPLETED ]]; }
check "crash after the snapshot's trigger id was written: it completes" retry 90 user_done
check "exactly one savepoint was taken for it" bash -c "[[ \$(ls -d $STATE/user-sp/savepoint-* 2>/dev/null | wc -l) == 1 ]]"
stop_operator

# 7. deletion with job.savepoint-on-deletion: killed right after the trigger id was written
start_operator ""
patch '{"spec":{"flinkConfiguration":{"kubernetes.operator.job.savepoint-on-deletion":"true"}}}'
check "savepoint-on-deletion set: STABLE" retry 60 stable
stop_operator
nsp=$(ls -d "$STATE"/savepoints/savepoint-* 2>/dev/null | wc -l)
start_operator deletion-savepoint-trigger
kubectl -n "$NS" delete flinkdep cp --wait=false >/dev/null
if crashed; then pass "deletion: SIGKILLed right after the 'deletion-savepoint-trigger' write"; POINTS=$((POINTS + 1)); else fail "no crash at 'deletion-savepoint-trigger'"; stop_operator; fi
start_operator ""
fd_gone() { ! kubectl -n "$NS" get flinkdep cp >/dev/null 2>&1; }
check "crash during the deletion savepoint: the deletion completes" retry 120 fd_gone
check "exactly one savepoint was taken for the deletion" bash -c "[[ \$(ls -d $STATE/savepoints/savepoint-* 2>/dev/null | wc -l) == $((nsp + 1)) ]]"
check "its location is in a SavepointCompleted event" bash -c "kubectl -n $NS get events --field-selector involvedObject.name=cp,reason=SavepointCompleted -o jsonpath='{.items[*].message}' | grep -q 'before deletion'"
stop_operator
check "no sanitizer report in the operator's log" bash -c "! grep -q 'ERROR: AddressSanitizer\|runtime error:' '$LOG'"
echo "MEASURE crash-points covered=$POINTS"
finish
