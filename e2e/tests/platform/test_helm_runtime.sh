#!/usr/bin/env bash
# test_helm_runtime.sh - issue 9 on the full local Kubernetes: both images built from this
# repository and loaded into the node; the operator installed, upgraded and uninstalled with
# Helm (non-root, read-only root filesystem, RBAC limited to its namespaces); a session
# FlinkDeployment reaching READY with its TaskManagers registered; an application
# FlinkDeployment at parallelism 4 with 2 slots per TaskManager (2 TaskManager pods) running
# seed 004's SQL job; a deleted TaskManager pod recovered from the latest checkpoint; deleting
# the resources removes every child.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
source "$ROOT/e2e/tests/lib.sh"
eval "$(bash "$ROOT/e2e/cluster/up.sh")" || { echo "FAIL cluster up"; exit 1; }
REL=weir-e2e-$$
OPNS=weir-op-$$
NS=weir-app-$$
OTHER=weir-other-$$
cleanup() {
    kubectl -n "$NS" delete flinkdep --all --wait=false >/dev/null 2>&1
    helm uninstall "$REL" -n "$OPNS" >/dev/null 2>&1
    kubectl delete namespace "$NS" "$OPNS" "$OTHER" --wait=false >/dev/null 2>&1
}
trap cleanup EXIT

# 1. images
t0=$(date +%s)
if TAG=dev bash "$ROOT/scripts/images.sh" 2>"$ROOT/build/test-logs/images.log"; then
    pass "make images: weir/runtime:dev and weir/operator:dev built and loaded ($(($(date +%s) - t0))s)"
else
    fail "make images"; tail -20 "$ROOT/build/test-logs/images.log"; finish; exit 1
fi
for img in runtime operator; do
    size=$(DOCKER_HOST=$DOCKER_HOST /usr/bin/docker image inspect -f '{{.Size}}' "weir/$img:dev")
    echo "MEASURE image weir/$img:dev bytes=$size"
done
user=$(/usr/bin/docker image inspect -f '{{.Config.User}}' weir/runtime:dev)
check "runtime image runs as uid 9999" test "$user" = "9999:9999"
help=$(/usr/bin/docker run --rm --network=none weir/runtime:dev help 2>&1)
check "runtime image entrypoint answers 'help' with the roles" bash -c "[[ '$help' == *standalone-job* ]]"

# 2. helm install, RBAC, security
kubectl create namespace "$NS" >/dev/null
kubectl create namespace "$OTHER" >/dev/null
if helm install "$REL" "$ROOT/helm/weir-operator" -n "$OPNS" --create-namespace --force-conflicts \
    --set image.pullPolicy=Never --set "watchNamespaces={$NS}" \
    --set defaultConfiguration.config\\.yaml="kubernetes.operator.observer.progress-check.interval: 2 s" \
    --wait --timeout 3m >/dev/null 2>"$ROOT/build/test-logs/helm-install.log"; then
    pass "helm install: operator Ready"
else
    fail "helm install"; cat "$ROOT/build/test-logs/helm-install.log"
    kubectl -n "$OPNS" describe pods | tail -30; finish; exit 1
fi
pod=$(kubectl -n "$OPNS" get pods -l app.kubernetes.io/instance="$REL" -o jsonpath='{.items[0].metadata.name}')
check "operator runs as uid 9999" bash -c "[[ \$(kubectl -n $OPNS get pod $pod -o jsonpath='{.spec.securityContext.runAsUser}') == 9999 ]]"
check "operator root filesystem is read-only" bash -c "[[ \$(kubectl -n $OPNS get pod $pod -o jsonpath='{.spec.containers[0].securityContext.readOnlyRootFilesystem}') == true ]]"
SA=system:serviceaccount:$OPNS:weir-operator
can() { [[ $(kubectl auth can-i "$@" --as="$SA" 2>/dev/null) == yes ]]; }
check "RBAC: may manage Deployments in its namespace" can create deployments.apps -n "$NS"
check "RBAC: may patch FlinkDeployment status there" can patch flinkdeployments.flink.apache.org/status -n "$NS"
check "RBAC: may not read Secrets there" bash -c "! [[ \$(kubectl auth can-i get secrets -n $NS --as=$SA) == yes ]]"
check "RBAC: nothing in a namespace it does not watch" bash -c "! [[ \$(kubectl auth can-i list flinkdeployments.flink.apache.org -n $OTHER --as=$SA) == yes ]]"
check "RBAC: no cluster-wide reads" bash -c "! [[ \$(kubectl auth can-i list pods --all-namespaces --as=$SA) == yes ]]"

# 3. helm upgrade rolls the operator when its configuration changes
old_uid=$(kubectl -n "$OPNS" get pod "$pod" -o jsonpath='{.metadata.uid}')
if helm upgrade "$REL" "$ROOT/helm/weir-operator" -n "$OPNS" --reuse-values \
    --set logLevel=debug --set defaultConfiguration.config\\.yaml="kubernetes.operator.observer.progress-check.interval: 1 s" \
    --wait --timeout 3m >/dev/null 2>&1; then
    # A terminating pod keeps phase Running until its container exits: wait for the old one to go.
    rolled() {
        local uids
        uids=$(kubectl -n "$OPNS" get pods -l app.kubernetes.io/instance="$REL" --field-selector=status.phase=Running -o jsonpath='{.items[*].metadata.uid}')
        [[ -n $uids && $uids != *"$old_uid"* ]]
    }
    check "helm upgrade: a changed value rolled the operator pod" retry 60 rolled
else
    fail "helm upgrade"
fi

# 4. session cluster: READY with TaskManagers registered
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata: {name: session}
spec:
  image: weir/runtime:dev
  imagePullPolicy: Never
  flinkVersion: v1_20
  serviceAccount: flink
  flinkConfiguration: {taskmanager.numberOfTaskSlots: "2"}
  jobManager: {resource: {memory: 256m, cpu: 0.1}}
  taskManager: {resource: {memory: 256m, cpu: 0.1}, replicas: 2}
YAML
st() { kubectl -n "$NS" get flinkdep "$1" -o jsonpath="{.status.$2}" 2>/dev/null; }
proxy() { kubectl get --raw "/api/v1/namespaces/$NS/services/http:$1-rest:8081/proxy$2" 2>/dev/null; }
ready() { [[ $(st session jobManagerDeploymentStatus) == READY ]]; }
check "session cluster: jobManagerDeploymentStatus READY" retry 120 ready
tms() { [[ $(proxy session /taskmanagers | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["taskmanagers"]))') == 2 ]]; }
check "session cluster: 2 TaskManagers registered (/taskmanagers through the REST Service)" retry 60 tms

# 5. application cluster at parallelism 4, 2 slots per TaskManager, shared checkpoint storage
kubectl -n "$NS" create configmap job-sql --from-file=job.sql="$ROOT/e2e/tests/platform/sensor-stream.sql" >/dev/null
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata: {name: app}
spec:
  image: weir/runtime:dev
  imagePullPolicy: Never
  flinkVersion: v1_20
  serviceAccount: flink
  flinkConfiguration:
    taskmanager.numberOfTaskSlots: "2"
    state.checkpoints.dir: file:///state/checkpoints
    execution.checkpointing.interval: 2 s
    restart-strategy.type: fixed-delay
    restart-strategy.fixed-delay.attempts: "10"
    restart-strategy.fixed-delay.delay: 2 s
    heartbeat.timeout: 10 s
  jobManager: {resource: {memory: 256m, cpu: 0.1}}
  taskManager: {resource: {memory: 256m, cpu: 0.2}}
  podTemplate:
    spec:
      initContainers:
        - name: state-dir
          image: weir/runtime:dev
          imagePullPolicy: Never
          securityContext: {runAsUser: 0}
          command: [/bin/sh, -c, "mkdir -p /state && chown 9999:9999 /state"]
          volumeMounts: [{name: state, mountPath: /state}]
      containers:
        - name: flink-main-container
          volumeMounts:
            - {name: job, mountPath: /opt/flink/usrlib}
            - {name: state, mountPath: /state}
      volumes:
        - {name: job, configMap: {name: job-sql}}
        - {name: state, hostPath: {path: /tmp/weir-e2e-state-$$, type: DirectoryOrCreate}}
  job:
    jarURI: local:///opt/flink/usrlib/job.sql
    parallelism: 4
    upgradeMode: stateless
YAML
running() { [[ $(st app jobStatus.state) == RUNNING ]]; }
check "application cluster: job RUNNING" retry 180 running
ntm=$(kubectl -n "$NS" get pods -l app=app,component=taskmanager -o name | wc -l)
check "application cluster: 2 TaskManager pods for parallelism 4 at 2 slots" test "$ntm" = 2
stable() { [[ $(st app lifecycleState) == STABLE ]]; }
check "application cluster: lifecycleState STABLE" retry 60 stable
jid=$(st app jobStatus.jobId)
cps() { proxy app "/jobs/$jid/checkpoints" | python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"]["completed"])'; }
has_cp() { [[ $(cps) -ge 1 ]]; }
check "application cluster: checkpoints complete on shared storage" retry 60 has_cp
restarts() { proxy app "/jobs/$jid/metrics?get=numRestarts" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["value"])'; }
r0=$(restarts)
victim=$(kubectl -n "$NS" get pods -l app=app,component=taskmanager -o jsonpath='{.items[0].metadata.name}')
kubectl -n "$NS" delete pod "$victim" --wait=false >/dev/null
more_restarts() { [[ $(restarts) -gt ${r0:-0} ]]; }
check "deleting a TaskManager pod restarts the job (numRestarts went up)" retry 120 more_restarts
jobstate() { proxy app "/jobs/$jid/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }
running_again() { [[ $(jobstate) == RUNNING ]] && [[ $(kubectl -n "$NS" get pods -l app=app,component=taskmanager --field-selector=status.phase=Running -o name | wc -l) == 2 ]]; }
check "the job runs again on a new TaskManager pod" retry 180 running_again
restored() { kubectl -n "$NS" logs deploy/app 2>/dev/null | grep -q 'msg="restarting job".*restore=/state/checkpoints/.*chk-'; }
check "the restart restored the latest checkpoint" retry 30 restored
rows() { for p in $(kubectl -n "$NS" get pods -l app=app,component=taskmanager -o name); do kubectl -n "$NS" logs "$p" 2>/dev/null; done | grep -c '^[0-9]*> +I\['; }
n1=$(rows)
more_rows() { [[ $(rows) -gt $n1 ]]; }
check "window results continue after the recovery" retry 90 more_rows

# 6. deletion removes every child; helm uninstall removes the operator
kubectl -n "$NS" delete flinkdep app session --wait=false >/dev/null
gone() { [[ -z $(kubectl -n "$NS" get deploy,svc,configmap,pods -l 'app in (app,session)' -o name 2>/dev/null) ]] && ! kubectl -n "$NS" get flinkdep app >/dev/null 2>&1; }
check "deleting the FlinkDeployments removes their children" retry 120 gone
helm uninstall "$REL" -n "$OPNS" >/dev/null 2>&1
nop() { [[ -z $(kubectl -n "$OPNS" get deploy -o name 2>/dev/null) ]]; }
check "helm uninstall removes the operator" retry 60 nop
rm -rf "/tmp/weir-e2e-state-$$" 2>/dev/null
finish
