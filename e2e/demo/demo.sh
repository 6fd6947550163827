#!/usr/bin/env bash
# demo.sh - `make demo`: from a fresh clone to a streaming job on Kubernetes. Brings up the local
# Kubernetes (building the tools on first use), builds and loads the images, installs the
# operator with Helm, applies the demo FlinkDeployment (seed 004's sensor aggregation, SQL from
# a ConfigMap) and waits until the job is RUNNING and the resource STABLE. Prints the time of
# each phase and what to look at next. `make demo-down` removes it all.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NS=${DEMO_NAMESPACE:-weir-demo}
OPNS=weir-system
T00=$(date +%s)
phase() { echo "demo: $* ($(($(date +%s) - T0))s)" >&2; T0=$(date +%s); }
T0=$T00
echo "demo: bringing up the local Kubernetes (first run builds Kubernetes from source: ~20 min)" >&2
eval "$(bash "$ROOT/e2e/cluster/up.sh")"
phase "cluster up"
make -C "$ROOT" --no-print-directory -s binaries >/dev/null
TAG=dev bash "$ROOT/scripts/images.sh"
phase "images built and loaded"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
helm upgrade --install weir "$ROOT/helm/weir-operator" --namespace "$OPNS" --create-namespace \
    --force-conflicts \
    --set image.pullPolicy=Never --set "watchNamespaces={$NS}" --wait --timeout 5m >/dev/null
phase "operator installed with Helm (namespace $OPNS, watching $NS)"
kubectl -n "$NS" apply -f "$ROOT/e2e/demo/sensor-aggregator.yaml" >/dev/null
st() { kubectl -n "$NS" get flinkdep sensor-aggregator -o jsonpath="{.status.$1}" 2>/dev/null; }
last=""
for ((i = 0; i < 300; i++)); do
    now="jm=$(st jobManagerDeploymentStatus) job=$(st jobStatus.state) lifecycle=$(st lifecycleState)"
    [[ $now != "$last" ]] && echo "demo: $now" >&2 && last=$now
    [[ $(st jobStatus.state) == RUNNING && $(st lifecycleState) == STABLE ]] && break
    sleep 1
done
[[ $(st jobStatus.state) == RUNNING && $(st lifecycleState) == STABLE ]] || {
    echo "demo: the job did not reach RUNNING/STABLE; kubectl -n $NS describe flinkdep sensor-aggregator" >&2
    exit 1
}
phase "job RUNNING, resource STABLE"
tm=$(kubectl -n "$NS" get pods -l app=sensor-aggregator,component=taskmanager -o name | head -1)
for ((i = 0; i < 60; i++)); do
    kubectl -n "$NS" logs "$tm" 2>/dev/null | grep -q '^[0-9]*> +I\[' && break
    sleep 1
done
echo >&2
kubectl -n "$NS" get flinkdep
echo
echo "Window results from $tm:"
kubectl -n "$NS" logs "$tm" | grep '^[0-9]*> +I\[' | tail -5
cat <<EON

The demo took $(($(date +%s) - T00))s. Next:
    eval "\$(e2e/cluster/up.sh)"                                  # kubectl, helm and KUBECONFIG in this shell
  kubectl -n $NS get flinkdep sensor-aggregator -o yaml        # status written by the operator
  kubectl -n $NS logs -f $tm                                    # window results as they close
  kubectl -n $NS port-forward svc/sensor-aggregator-rest 8081   # then: curl localhost:8081/jobs/overview
  
  make demo-down                                                # remove everything
EON
