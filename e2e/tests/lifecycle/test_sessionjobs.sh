#!/usr/bin/env bash
# test_sessionjobs.sh - FlinkSessionJobs (issue 10) on a session FlinkDeployment with Weir
# runtime pods really running; the operator runs out of cluster so that it can fetch artifacts
# from local paths and from an HTTP server on loopback. Submission (the job id recorded before
# it), a savepoint upgrade (counts continue), suspend and resume, a stateless restart, an
# artifact over http://, specific errors for a missing deployment, an unreachable artifact and
# an oversized one, and a session cluster whose deletion waits for its session jobs.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
source "$ROOT/e2e/tests/lib.sh"
eval "$(bash "$ROOT/e2e/cluster/up.sh")" || { echo "FAIL cluster up"; exit 1; }
OP=${WEIR_OPERATOR:-$ROOT/build/bin/weir-operator}
[[ -x $OP ]] || { echo "FAIL $OP not built"; exit 1; }
NS=weir-sj-$$
STATE=/tmp/weir-e2e-sj-$$
ART=$(mktemp -d)
LOG=$ROOT/build/test-logs/sessionjobs-operator.log
OPPID=""
HTTPPID=""
cleanup() {
    flink_cleanup "$NS"
    [[ -n $OPPID ]] && kill -TERM "$OPPID" 2>/dev/null && wait "$OPPID" 2>/dev/null
    [[ -n $HTTPPID ]] && kill "$HTTPPID" 2>/dev/null
    rm -rf "$STATE" "$ART"
}
trap cleanup EXIT
mkdir -p "$STATE"
cp "$ROOT/e2e/tests/lifecycle/counts.sql" "$ART/counts.sql"
head -c 300000 /dev/zero | tr '\0' '-' >"$ART/big.sql"
if ! TAG=dev bash "$ROOT/scripts/images.sh" 2>"$ROOT/build/test-logs/sessionjobs-images.log"; then
    fail "make images"; finish; exit 1
fi
kubectl apply --server-side --force-conflicts -f "$ROOT/crds/" >/dev/null
kubectl create namespace "$NS" >/dev/null
kubectl -n "$NS" create serviceaccount flink >/dev/null
HTTPPORT=$((20000 + $$ % 10000))
(cd "$ART" && exec /usr/bin/python3 -m http.server "$HTTPPORT" --bind 127.0.0.1 >/dev/null 2>&1) &
HTTPPID=$!
: >"$LOG"
WATCH_NAMESPACES=$NS "$OP" -Dkubernetes.operator.health.probe.port=18192 \
    -Dkubernetes.operator.metrics.reporter.prom.port=18192 \
    -Dkubernetes.operator.http.bind-address=127.0.0.1 \
    -Dkubernetes.operator.observer.progress-check.interval=1s \
    -Dkubernetes.operator.reconcile.interval=3s >>"$LOG" 2>&1 &
OPPID=$!
retry 30 curl -sf "http://127.0.0.1:18192/readyz" || { fail "operator ready"; finish; exit 1; }

kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata: {name: session}
spec:
  image: weir/runtime:dev
  imagePullPolicy: Never
  flinkVersion: v1_20
  serviceAccount: flink
  flinkConfiguration:
    taskmanager.numberOfTaskSlots: "4"
    state.checkpoints.dir: file:///state/checkpoints
    state.savepoints.dir: file:///state/savepoints
    execution.checkpointing.interval: 2 s
  jobManager: {resource: {memory: 256m, cpu: 0.1}}
  taskManager: {resource: {memory: 256m, cpu: 0.1}, replicas: 1}
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
          volumeMounts: [{name: state, mountPath: /state}]
      volumes:
        - {name: state, hostPath: {path: $STATE, type: DirectoryOrCreate}}
YAML
fdst() { kubectl -n "$NS" get flinkdep session -o jsonpath="{.status.$1}" 2>/dev/null; }
ready() { [[ $(fdst jobManagerDeploymentStatus) == READY ]]; }
check "session cluster READY" retry 180 ready

sj_apply() { # NAME JARURI [extra job yaml] [flinkConfiguration yaml]
    kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkSessionJob
metadata: {name: $1}
spec:
  deploymentName: ${5:-session}
  flinkConfiguration: {${4:-}}
  job:
    jarURI: $2
    parallelism: 2
    upgradeMode: savepoint
    ${3:-}
YAML
}
sst() { kubectl -n "$NS" get flinksessionjob "$1" -o jsonpath="{.status.$2}" 2>/dev/null; }
spatch() { kubectl -n "$NS" patch flinksessionjob "$1" --type merge -p "$2" >/dev/null; }
jobs_overview() { kubectl get --raw "/api/v1/namespaces/$NS/services/http:session-rest:8081/proxy/jobs/overview" 2>/dev/null; }
job_state_on_jm() { jobs_overview | python3 -c "import json,sys; print(''.join(j['state'] for j in json.load(sys.stdin)['jobs'] if j['jid']=='$1'))"; }
tm_lines() { kubectl -n "$NS" logs deploy/session-taskmanager 2>/dev/null | grep -E '^([0-9]+> )?[+-][IU]\['; }
mark() { tm_lines | wc -l; }
since() { tm_lines | tail -n +"$(($1 + 1))"; }
maxc() { sed -n 's/.*\[[0-9]*, \([0-9]*\)\]$/\1/p' | sort -n | tail -1; }

# 1. submission from a local path
sj_apply counts "local://$ART/counts.sql"
sj_running() { [[ $(sst "$1" jobStatus.state) == RUNNING && $(sst "$1" lifecycleState) == STABLE ]]; }
check "a session job from local:// is RUNNING and STABLE" retry 120 sj_running counts
jid1=$(sst counts jobStatus.jobId)
check "the JobManager runs it under the job id recorded in status ($jid1)" bash -c "[[ \$(kubectl get --raw /api/v1/namespaces/$NS/services/http:session-rest:8081/proxy/jobs/overview | python3 -c \"import json,sys; print(''.join(j['state'] for j in json.load(sys.stdin)['jobs'] if j['jid']=='$jid1'))\") == RUNNING ]]"
some() { [[ $(tm_lines | maxc) -ge 20 ]]; }
retry 60 some

# 2. savepoint upgrade
m=$(mark)
before=$(tm_lines | maxc)
spatch counts '{"spec":{"job":{"parallelism":1}}}'
upgraded() { [[ $(sst counts jobStatus.jobId) != "$jid1" ]] && sj_running counts; }
check "a savepoint upgrade of the session job: new job RUNNING" retry 120 upgraded
check "the old job ended with its savepoint (FINISHED)" bash -c "[[ \$(kubectl get --raw /api/v1/namespaces/$NS/services/http:session-rest:8081/proxy/jobs/overview | python3 -c \"import json,sys; print(''.join(j['state'] for j in json.load(sys.stdin)['jobs'] if j['jid']=='$jid1'))\") == FINISHED ]]"
cont() { [[ $(since "$m" | grep -c '+I\[') == 0 && $(since "$m" | maxc) -gt ${before:-0} ]]; }
check "state continuity: counts continue past $before, no fresh +I rows" retry 60 cont
check "upgradeSavepointPath recorded" bash -c "[[ -n '$(sst counts jobStatus.upgradeSavepointPath)' ]]"

# 3. suspend and resume
jid2=$(sst counts jobStatus.jobId)
spatch counts '{"spec":{"job":{"state":"suspended"}}}'
susp() { [[ $(sst counts lifecycleState) == SUSPENDED && $(job_state_on_jm "$jid2") == FINISHED ]]; }
check "suspend: SUSPENDED, the job stopped with a savepoint" retry 90 susp
m=$(mark)
before=$(tm_lines | maxc)
spatch counts '{"spec":{"job":{"state":"running"}}}'
resumed() { [[ $(sst counts jobStatus.jobId) != "$jid2" ]] && sj_running counts; }
check "resume: RUNNING again" retry 90 resumed
check "resume restored the suspend savepoint (no fresh +I rows)" retry 60 cont

# 3b. snapshots of a session job: the nonces create FlinkStateSnapshots that reference the
# FlinkSessionJob (snapshot.resource.enabled, the default), and so does one created by hand
spatch counts '{"spec":{"job":{"savepointTriggerNonce":3,"checkpointTriggerNonce":4}}}'
sj_snap_of() { kubectl -n "$NS" get flinkstatesnapshot -l "snapshot.trigger-type=MANUAL,snapshot.type=$1,job-reference.kind=FlinkSessionJob,job-reference.name=counts" -o jsonpath='{.items[0].status.state}' 2>/dev/null; }
sj_sp() { [[ $(sj_snap_of SAVEPOINT) == COMPLETED ]]; }
check "savepointTriggerNonce on a session job: a MANUAL savepoint FlinkStateSnapshot of the FlinkSessionJob completes" retry 60 sj_sp
sj_mirror() { [[ $(sst counts jobStatus.savepointInfo.lastSavepoint.triggerType) == MANUAL && -n $(sst counts jobStatus.savepointInfo.lastSavepoint.location) ]]; }
check "... mirrored into the session job's savepointInfo.lastSavepoint" retry 30 sj_mirror
sj_cp() { [[ $(sj_snap_of CHECKPOINT) == COMPLETED ]]; }
check "checkpointTriggerNonce on a session job: a MANUAL checkpoint FlinkStateSnapshot completes" retry 60 sj_cp
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkStateSnapshot
metadata: {name: sj-sp}
spec:
  jobReference: {kind: FlinkSessionJob, name: counts}
  savepoint: {}
YAML
sj_snap() { [[ $(kubectl -n "$NS" get flinkstatesnapshot sj-sp -o jsonpath='{.status.state}') == COMPLETED && -n $(kubectl -n "$NS" get flinkstatesnapshot sj-sp -o jsonpath='{.status.path}') ]]; }
check "a FlinkStateSnapshot of the FlinkSessionJob completes with a path" retry 60 sj_snap

# 4. stateless restart
m=$(mark)
jid3=$(sst counts jobStatus.jobId)
spatch counts '{"spec":{"restartNonce":1,"job":{"upgradeMode":"stateless"}}}'
fresh() { [[ $(sst counts jobStatus.jobId) != "$jid3" ]] && sj_running counts && [[ $(since "$m" | grep -c '+I\[') -gt 0 ]]; }
check "stateless restart: a new job from empty state (fresh +I rows)" retry 90 fresh

# 5. http:// artifacts and errors
sj_apply web "http://127.0.0.1:$HTTPPORT/counts.sql"
check "a session job from http:// is RUNNING" retry 120 sj_running web
sj_apply nodep "local://$ART/counts.sql" "" "" missing-cluster
nodep_err() { [[ $(sst nodep error) == *"FlinkDeployment missing-cluster not found"* ]]; }
check "a missing deployment: status.error says so" retry 30 nodep_err
check "... with a Warning event" bash -c "kubectl -n $NS get events --field-selector involvedObject.name=nodep,type=Warning -o jsonpath='{.items[*].message}' | grep -q 'missing-cluster not found'"
sj_apply unreachable "http://127.0.0.1:1/none.sql"
unreach_err() { [[ $(sst unreachable error) == *"cannot fetch artifact http://127.0.0.1:1/none.sql"* ]]; }
check "an unreachable artifact: status.error says so" retry 30 unreach_err
sj_apply big "local://$ART/big.sql" "" "kubernetes.operator.user.artifacts.max-size: 100kb"
big_err() { [[ $(sst big error) == *"larger than"* ]]; }
check "an oversized artifact: status.error names the limit" retry 30 big_err
retries() { grep -c 'reconcile failed, retrying.*FlinkSessionJob:.*/unreachable' "$LOG"; }
check "failed submissions are retried (with backoff)" bash -c "sleep 8; [[ \$(grep -c 'reconcile failed, retrying.*/unreachable' '$LOG') -ge 2 ]]"

# 6. deletion: the session cluster waits for its session jobs
kubectl -n "$NS" delete flinksessionjob nodep unreachable big --wait=false >/dev/null
kubectl -n "$NS" delete flinkdep session --wait=false >/dev/null
sleep 8
check "the session cluster's deletion waits while session jobs use it" bash -c "kubectl -n $NS get flinkdep session >/dev/null 2>&1 && kubectl -n $NS get events --field-selector involvedObject.name=session,reason=CleanupFailed -o name | grep -q ."
jidw=$(sst web jobStatus.jobId)
kubectl -n "$NS" delete flinksessionjob web --wait=false >/dev/null
cancelled() { [[ $(job_state_on_jm "$jidw") == CANCELED ]] && ! kubectl -n "$NS" get flinksessionjob web >/dev/null 2>&1; }
check "deleting a session job cancels its job, then the resource goes" retry 60 cancelled
check "the session cluster still waits for the other session job" bash -c "sleep 3; kubectl -n $NS get flinkdep session >/dev/null 2>&1"
kubectl -n "$NS" delete flinksessionjob counts --wait=false >/dev/null
gone() { ! kubectl -n "$NS" get flinkdep session >/dev/null 2>&1; }
check "then the session cluster is deleted" retry 120 gone
check "no errors from the operator about sanitizers or crashes" bash -c "! grep -q 'ERROR: AddressSanitizer\\|runtime error:' '$LOG'"
finish
