#!/usr/bin/env bash
# demo-down.sh - `make demo-down`: removes the demo's resources and the Helm release, then stops
# the local Kubernetes (the tool and image caches stay for the next `make demo`).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NS=${DEMO_NAMESPACE:-weir-demo}
source "$ROOT/e2e/cluster/lib.sh"
if pid_alive kube-apiserver && [[ -f $ADMIN_KUBECONFIG ]]; then
    export KUBECONFIG=$ADMIN_KUBECONFIG PATH=$TOOLS_PATH:$PATH
    kubectl -n "$NS" delete flinkdep --all --wait=true --timeout=120s >/dev/null 2>&1
    helm uninstall weir --namespace weir-system >/dev/null 2>&1
    kubectl delete namespace "$NS" weir-system --wait=false >/dev/null 2>&1
fi
bash "$ROOT/e2e/cluster/down.sh"
