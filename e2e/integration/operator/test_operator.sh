#!/usr/bin/env bash
# test_operator.sh - weir-operator against the real control plane (up.sh --no-node: no pods
# run, so JobManagers stay DEPLOYING; the job lifecycle is tested elsewhere):
#   * each seed FlinkDeployment gets exactly its children (compared with the golden JSON of
#     the unit tests) and a status; kubectl shows the lifecycle state
#   * an unchanged resource costs zero API writes; scaling touches only the TaskManager
#     Deployment; an image change of a session cluster updates both and emits SpecChanged
#   * a deleted or hand-edited child is restored; deletion removes children and finalizer
#   * an unparsable duration ends in status.error and a Warning event naming the key
#   * the apiserver restarted mid-run, the operator SIGKILLed and restarted: it catches up
#     without duplicates; two replicas with leader election: only the leader reconciles, and
#     the other takes over when the leader is killed
#   * SIGTERM: exits 0 quickly
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
source "$ROOT/e2e/tests/lib.sh"
eval "$(bash "$ROOT/e2e/cluster/up.sh" --no-node)" || { echo "FAIL cluster up"; exit 1; }
PY=/usr/bin/python3
OP=${WEIR_OPERATOR:-$ROOT/build/bin/weir-operator}
[[ -x $OP ]] || { echo "FAIL $OP not built"; exit 1; }
NS=weir-itest-op-$$
LOGDIR=$ROOT/build/test-logs
mkdir -p "$LOGDIR"
kubectl apply -f "$ROOT/crds/" >/dev/null || { echo "FAIL install CRDs"; exit 1; }
kubectl create namespace "$NS" >/dev/null
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
}
trap cleanup EXIT

# start_operator NAME PORT [-D...]: runs an operator watching $NS with the default Flink
# configuration of upstream's chart (one slot, parallelism 1: what the golden JSON assumes).
start_operator() {
    local name=$1 port=$2
    shift 2
    WATCH_NAMESPACES=$NS "$OP" -Dkubernetes.operator.health.probe.port="$port" \
        -Dkubernetes.operator.metrics.reporter.prom.port="$port" \
        -Dkubernetes.operator.http.bind-address=127.0.0.1 \
        -Dkubernetes.operator.observer.progress-check.interval=2s \
        -Dtaskmanager.numberOfTaskSlots=1 -Dparallelism.default=1 "$@" \
        >>"$LOGDIR/operator-$name.log" 2>&1 &
    OPPID=$!
    PIDS+=("$OPPID")
    retry 30 curl -sf "http://127.0.0.1:$port/readyz"
}
metric() { # PORT NAME-REGEX: sum of matching samples
    curl -s "http://127.0.0.1:$1/metrics" | grep -E "^$2" | awk '{s+=$2} END {printf "%d", s}'
}
writes() { metric "$1" 'weir_operator_kube_requests_total\{verb="(POST|PUT|PATCH|DELETE)"\}'; }
seed_fd() { # FILE INDEX: the document, moved to $NS
    "$PY" -c "
import sys, yaml
d = [x for x in yaml.safe_load_all(open(sys.argv[1])) if x][int(sys.argv[2])]
d['metadata']['namespace'] = sys.argv[3]
print(yaml.safe_dump(d))" "$1" "$2" "$NS"
}
status_of() { kubectl -n "$NS" get flinkdep "$1" -o jsonpath="{.status.$2}" 2>/dev/null; }
has_status() { [[ -n $(status_of "$1" lifecycleState) ]]; }
rv_of() { kubectl -n "$NS" get "$1" -o jsonpath='{.metadata.resourceVersion}' 2>/dev/null; }

P1=$((18100 + $$ % 500))
start_operator one "$P1" || { fail "operator did not become ready"; finish; exit 1; }
pass "operator ready (caches synced)"

# 1. seeds: children as the golden JSON, status, kubectl column
SEEDS=$ROOT/e2e/integration/crds/fixtures/seeds
GOLD=$ROOT/operator/controller/tests/golden
declare -A SRC=([fraud-detector]="004-fraud-detector-and-session.yaml 0"
    [flink-session]="004-fraud-detector-and-session.yaml 1"
    [titan-flink]="000-titan-session-and-cdc-job.yaml 0")
for name in fraud-detector flink-session titan-flink; do
    read -r file idx <<<"${SRC[$name]}"
    seed_fd "$SEEDS/$file" "$idx" | kubectl apply -f - >/dev/null
    if retry 20 has_status "$name"; then
        pass "$name reconciled: lifecycle $(status_of "$name" lifecycleState), JobManager $(status_of "$name" jobManagerDeploymentStatus)"
    else
        fail "$name has no status"; continue
    fi
    out=$("$PY" - "$GOLD/$name.golden.json" "$NS" "$name" <<'PYEOF'
import json, subprocess, sys
gold, ns, name = sys.argv[1:4]
want = json.load(open(gold))
uid = subprocess.run(["kubectl", "-n", ns, "get", "flinkdep", name, "-o",
                      "jsonpath={.metadata.uid}"], capture_output=True, text=True).stdout
gold_ns = want[0]["metadata"]["namespace"]
def fix(o):
    if isinstance(o, dict):
        return {k: fix(v) for k, v in o.items()}
    if isinstance(o, list):
        return [fix(v) for v in o]
    if isinstance(o, str) and o.startswith("00000000-0000-0000-0000-"):
        return uid
    if isinstance(o, str) and o.startswith("blob.server.port:"):  # the Flink configuration
        return o.replace('kubernetes.namespace: "%s"' % gold_ns, 'kubernetes.namespace: "%s"' % ns)
    return o
for o in want:
    o["metadata"]["namespace"] = ns
def quantity(s):
    units = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}
    for u in sorted(units, key=len, reverse=True):
        if s.endswith(u):
            try:
                return float(s[:len(s) - len(u)] if u else s) * units[u]
            except ValueError:
                return None
    return None
def subset(w, h, path):
    if isinstance(w, dict):
        if not isinstance(h, dict):
            return path
        for k, v in w.items():
            r = subset(v, h.get(k), path + "." + k)
            if r:
                return r
        return None
    if isinstance(w, list):
        if not isinstance(h, list) or len(w) != len(h):
            return path
        for i, (a, b) in enumerate(zip(w, h)):
            r = subset(a, b, "%s[%d]" % (path, i))
            if r:
                return r
        return None
    if isinstance(w, str) and isinstance(h, str) and quantity(w) is not None and quantity(h) is not None:
        return None if abs(quantity(w) - quantity(h)) < 1e-6 else path
    return None if w == h else path
bad = []
count = 0
for o in fix(want):
    kind, n = o["kind"], o["metadata"]["name"]
    o["metadata"].get("annotations", {}).pop("flinkdeployment.flink.apache.org/generation", None)
    p = subprocess.run(["kubectl", "-n", ns, "get", kind.lower(), n, "-o", "json"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        bad.append("%s/%s missing" % (kind, n))
        continue
    live = json.loads(p.stdout)
    if kind == "ConfigMap" and "config.yaml" in live.get("data", {}):
        # the job id the operator recorded in status before deploying (application clusters)
        lines = live["data"]["config.yaml"].split("\n")
        ids = [l for l in lines if l.startswith("$internal.pipeline.job-id:")]
        jid = subprocess.run(["kubectl", "-n", ns, "get", "flinkdep", name, "-o",
                              "jsonpath={.status.jobStatus.jobId}"], capture_output=True, text=True).stdout
        if ids and ids[0].split(":", 1)[1].strip().strip('"') != jid:
            bad.append("ConfigMap job id %s is not status.jobStatus.jobId %s" % (ids[0], jid))
        live["data"]["config.yaml"] = "\n".join(l for l in lines if l not in ids)
    r = subset(o, live, kind)
    if r:
        bad.append("%s/%s differs at %s" % (kind, n, r))
    count += 1
# nothing more than the golden objects
for kind in ("deployments", "services", "configmaps"):
    p = subprocess.run(["kubectl", "-n", ns, "get", kind, "-l", "app=" + name, "-o", "name"],
                       capture_output=True, text=True)
    n = len(p.stdout.split())
    w = len([o for o in want if o["kind"].lower() + "s" == kind])
    if n != w:
        bad.append("%d %s, expected %d" % (n, kind, w))
print("; ".join(bad) if bad else "ok %d objects" % count)
PYEOF
)
    if [[ $out == ok* ]]; then pass "$name children match the golden JSON ($out)"; else fail "$name children: $out"; fi
done
# (outputs are captured before matching: `cmd | grep -q` fails under pipefail when grep exits
# early and cmd gets SIGPIPE)
out=$(kubectl -n "$NS" get flinkdep 2>&1)
if [[ $out == *"LIFECYCLE STATE"* && $(grep fraud-detector <<<"$out") == *DEPLOYED* ]]; then
    pass "kubectl get flinkdep shows the lifecycle state"
else
    fail "kubectl get flinkdep: $out"
fi
fin=$(kubectl -n "$NS" get flinkdep fraud-detector -o jsonpath='{.metadata.finalizers[0]}')
check "finalizer flinkdeployments.flink.apache.org/finalizer is set" test "$fin" = flinkdeployments.flink.apache.org/finalizer

# 2. no writes at rest
sleep 3
w1=$(writes "$P1")
sleep 6
w2=$(writes "$P1")
check "an unchanged spec causes zero API writes ($w1 -> $w2 over 6 s, progress checks every 2 s)" test "$w1" = "$w2"

# metrics: valid Prometheus text with the operator's series
mcheck=$(curl -s "http://127.0.0.1:$P1/metrics" | "$PY" -c "
import sys
from prometheus_client.parser import text_string_to_metric_families as parse
fams = {f.name: f for f in parse(sys.stdin.read())}
need = ['weir_operator_reconcile', 'weir_operator_reconcile_duration_seconds',
        'weir_operator_workqueue_depth', 'weir_operator_workqueue_wait_seconds',
        'weir_operator_kube_requests', 'weir_operator_kube_responses',
        'weir_operator_watch_restarts', 'flink_k8soperator_namespace_Lifecycle_State_Count',
        'flink_k8soperator_namespace_JmDeploymentStatus_Count']
missing = [n for n in need if n not in fams]
ok2xx = any(s.labels.get('code') == '2xx' and s.value > 0 for s in fams['weir_operator_kube_responses'].samples)
print('ok' if not missing and ok2xx else 'missing %s, 2xx %s' % (missing, ok2xx))" 2>&1)
check "/metrics parses as Prometheus text and has the operator's series ($mcheck)" test "$mcheck" = ok

# 3. scale touches only the TaskManager Deployment
jm_rv=$(rv_of deploy/fraud-detector)
tm_rv=$(rv_of deploy/fraud-detector-taskmanager)
kubectl -n "$NS" scale flinkdeployment fraud-detector --replicas=5 >/dev/null
tm_scaled() { [[ $(kubectl -n "$NS" get deploy fraud-detector-taskmanager -o jsonpath='{.spec.replicas}') == 5 ]]; }
if retry 15 tm_scaled && [[ $(rv_of deploy/fraud-detector) == "$jm_rv" ]] && [[ $(rv_of deploy/fraud-detector-taskmanager) != "$tm_rv" ]]; then
    pass "kubectl scale updates only the TaskManager Deployment"
else
    fail "scale: JM rv $jm_rv -> $(rv_of deploy/fraud-detector), TM replicas $(kubectl -n "$NS" get deploy fraud-detector-taskmanager -o jsonpath='{.spec.replicas}')"
fi
check "status.taskManager.replicas follows (5)" retry 10 bash -c "[[ \$(kubectl -n $NS get flinkdep fraud-detector -o jsonpath='{.status.taskManager.replicas}') == 5 ]]"

# 4. an image change updates both Deployments and says so. A session cluster: an application
# cluster's image change is a job upgrade (stop, delete the cluster, redeploy), which needs the
# garbage collector of a full cluster and is tested in e2e/tests/lifecycle.
kubectl -n "$NS" patch flinkdep flink-session --type=merge -p '{"spec":{"image":"weir/runtime:v2"}}' >/dev/null
both_images() {
    [[ $(kubectl -n "$NS" get deploy flink-session -o jsonpath='{.spec.template.spec.containers[0].image}') == weir/runtime:v2 &&
       $(kubectl -n "$NS" get deploy flink-session-taskmanager -o jsonpath='{.spec.template.spec.containers[0].image}') == weir/runtime:v2 ]]
}
check "image change updates the JobManager and TaskManager Deployments" retry 15 both_images
spec_changed() {
    local m
    m=$(kubectl -n "$NS" get events --field-selector reason=SpecChanged,involvedObject.name=flink-session -o jsonpath='{.items[*].message}')
    [[ $m == *"UPGRADE change(s) detected"* ]]
}
check "SpecChanged event for the image change" retry 10 spec_changed

# 5. children are restored
kubectl -n "$NS" delete service fraud-detector-rest >/dev/null
check "a deleted Service is recreated" retry 15 kubectl -n "$NS" get service fraud-detector-rest
kubectl -n "$NS" patch deploy fraud-detector --type=merge -p '{"spec":{"replicas":3}}' >/dev/null
jm_one() { [[ $(kubectl -n "$NS" get deploy fraud-detector -o jsonpath='{.spec.replicas}') == 1 ]]; }
check "a hand-edited JobManager Deployment is restored" retry 15 jm_one

# 6. invalid input the CRD cannot reject
seed_fd "$SEEDS/004-fraud-detector-and-session.yaml" 1 | sed 's/name: flink-session/name: bad-duration/; s/state.backend.type: hashmap/state.backend.type: hashmap\n    execution.checkpointing.interval: 10 parsecs/' |
    "$PY" -c "
import sys, yaml
d = yaml.safe_load(sys.stdin)
d['spec']['flinkConfiguration']['execution.checkpointing.interval'] = '10 parsecs'
print(yaml.safe_dump(d))" | kubectl apply -f - >/dev/null
has_error() { [[ $(status_of bad-duration error) == *execution.checkpointing.interval* ]]; }
if retry 15 has_error; then
    pass "unparsable duration -> status.error names the key: $(status_of bad-duration error | cut -c1-160)"
else
    fail "no status.error for the bad duration: $(status_of bad-duration error)"
fi
warn_event() { [[ -n $(kubectl -n "$NS" get events --field-selector reason=ValidationError,involvedObject.name=bad-duration,type=Warning -o name) ]]; }
check "a Warning ValidationError event is recorded" retry 10 warn_event
check "nothing is deployed for the invalid resource" bash -c "! kubectl -n $NS get deploy bad-duration 2>/dev/null"

# 6b. a pod template the apiserver refuses: status.error, an event, nothing deployed, backoff
e0=$(metric "$P1" 'weir_operator_reconcile_total\{kind="FlinkDeployment",result="error"\}')
seed_fd "$SEEDS/004-fraud-detector-and-session.yaml" 1 | "$PY" -c "
import sys, yaml
d = yaml.safe_load(sys.stdin)
d['metadata']['name'] = 'bad-template'
d['spec']['podTemplate'] = {'spec': {'containers': [{'name': 'sidecar'}]}}
print(yaml.safe_dump(d))" | kubectl apply -f - >/dev/null
tmpl_error() { [[ $(status_of bad-template error) == *containers* ]]; }
if retry 20 tmpl_error; then
    pass "refused pod template -> status.error: $(status_of bad-template error | cut -c1-170)"
else
    fail "no status.error for the refused pod template: $(status_of bad-template error)"
fi
err_event() { [[ -n $(kubectl -n "$NS" get events --field-selector reason=Error,involvedObject.name=bad-template,type=Warning -o name) ]]; }
check "a Warning Error event names the refusal" retry 10 err_event
left=$(kubectl -n "$NS" get deploy,svc,cm -l app=bad-template -o name 2>/dev/null | wc -l)
check "nothing half-deployed for the refused template ($left objects)" test "$left" = 0
sleep 5
e1=$(metric "$P1" 'weir_operator_reconcile_total\{kind="FlinkDeployment",result="error"\}')
if ((e1 > e0 && e1 - e0 < 15)); then
    pass "retried with backoff, no hot loop ($((e1 - e0)) failed reconciles in ~7 s, visible in the metrics)"
else
    fail "failed reconciles $e0 -> $e1"
fi

# 7. the apiserver restarts under the operator
bash "$ROOT/e2e/cluster/restart-apiserver.sh" --kill >/dev/null 2>&1
retry 60 kubectl get --raw /readyz >/dev/null
seed_fd "$SEEDS/004-fraud-detector-and-session.yaml" 1 | sed 's/name: flink-session/name: after-restart/' | kubectl apply -f - >/dev/null
check "after an apiserver restart the operator catches up (new resource deployed)" retry 60 kubectl -n "$NS" get deploy after-restart-taskmanager

# 8. SIGKILL mid-reconcile, restart: no duplicates, no status regression
seed_fd "$SEEDS/004-fraud-detector-and-session.yaml" 0 | sed 's/name: fraud-detector$/name: killed-midway/' | kubectl apply -f - >/dev/null
sleep 0.3
kill -KILL "$OPPID"
gen_before=$(status_of fraud-detector observedGeneration)
# a hand edit while no operator runs: the restarted one must still restore it
kubectl -n "$NS" patch deploy fraud-detector --type=merge -p '{"spec":{"replicas":2}}' >/dev/null
: >"$LOGDIR/operator-two.log" # this run's requests only
start_operator two "$P1" --log-level debug || fail "operator restart"
check "after SIGKILL + restart the new resource is deployed" retry 30 kubectl -n "$NS" get deploy killed-midway-taskmanager
n=$(kubectl -n "$NS" get deploy -l app=killed-midway -o name | wc -l)
check "no duplicate children after the restart ($n Deployments)" test "$n" = 2
check "no status regression (observedGeneration $gen_before kept)" test "$(status_of fraud-detector observedGeneration)" -ge "${gen_before:-0}"
check "a child edited while the operator was down is restored after the restart" retry 15 jm_one
# The restarted operator re-applies only what changed: the new resource's children and the
# edited Deployment, not the unchanged children of the others (their applied-hash annotation
# and managedFields say they are as it left them). Before, it re-applied all of them.
sleep 6 # several progress checks (2 s) of every resource
# every apply of a child by the restarted operator (its debug log has one line per request),
# less the new resource's and the restored Deployment's
reapplied=$(grep 'msg="kube request" verb=PATCH' "$LOGDIR/operator-two.log" |
    grep -E 'path="?/api[s]?/[^ ]*/(configmaps|services|deployments|ingresses)/' |
    grep -v 'dryRun' | grep -Ev '/(killed-midway[^/?]*|flink-config-killed-midway)\?' |
    grep -Ev '/deployments/fraud-detector\?' || true)
n_other=$(printf '%s' "$reapplied" | grep -c . || true)
n_total=$(grep -c 'msg="kube request" verb=PATCH' "$LOGDIR/operator-two.log" || true)
check "after the restart unchanged children are not applied again ($n_other of $n_total PATCH requests were to other children)" test "$n_other" = 0
[[ $n_other == 0 ]] || printf '%s\n' "$reapplied" | head -5 | sed 's/^/    /'

# 9. deletion removes children and the finalizer
kubectl -n "$NS" delete flinkdep titan-flink --wait=false >/dev/null
gone() { ! kubectl -n "$NS" get flinkdep titan-flink >/dev/null 2>&1; }
check "deleting a FlinkDeployment removes it (finalizer released)" retry 30 gone
left=$(kubectl -n "$NS" get deploy,svc,cm -l app=titan-flink -o name 2>/dev/null | wc -l)
check "its children are gone ($left left)" test "$left" = 0

# 10. SIGTERM: clean exit
t0=$(date +%s)
kill -TERM "$OPPID"
wait "$OPPID"
rc=$?
check "SIGTERM: exit code 0 ($rc) within $(($(date +%s) - t0)) s" test "$rc" = 0

# 11. two replicas with leader election
LE=(-Dkubernetes.operator.leader-election.enabled=true -Dkubernetes.operator.leader-election.lease-name=weir-itest-lease
    -Dkubernetes.operator.leader-election.lease-duration=4s -Dkubernetes.operator.leader-election.renew-deadline=3s
    -Dkubernetes.operator.leader-election.retry-period=500ms)
export POD_NAMESPACE=$NS
PA=$((P1 + 1)); PB=$((P1 + 2))
start_operator a "$PA" "${LE[@]}"; pa=$OPPID
sleep 2
start_operator b "$PB" "${LE[@]}"; pb=$OPPID
unset POD_NAMESPACE
seed_fd "$SEEDS/004-fraud-detector-and-session.yaml" 1 | sed 's/name: flink-session/name: led/' | kubectl apply -f - >/dev/null
check "the leader deploys a new resource" retry 20 kubectl -n "$NS" get deploy led-taskmanager
ra=$(metric "$PA" 'weir_operator_reconcile_total'); rb=$(metric "$PB" 'weir_operator_reconcile_total')
if [[ $ra -gt 0 && $rb == 0 ]]; then pass "only the leader reconciles (a: $ra, b: $rb)"; else fail "reconciles a=$ra b=$rb"; fi
kill -KILL "$pa"
t0=$(date +%s)
seed_fd "$SEEDS/004-fraud-detector-and-session.yaml" 1 | sed 's/name: flink-session/name: led-after/' | kubectl apply -f - >/dev/null
if retry 20 kubectl -n "$NS" get deploy led-after-taskmanager; then
    pass "the other replica takes over after the leader is killed ($(($(date +%s) - t0)) s, lease 4 s)"
else
    fail "no takeover"
fi
kill -TERM "$pb"
wait "$pb"
finish
