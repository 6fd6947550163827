#!/usr/bin/env bash
# test_cluster.sh - the local Kubernetes really works: an image built FROM debian:bookworm-slim
# with `docker build`, loaded into the node, runs as a Deployment that reaches Running; another
# pod reaches it through a Service by its DNS names; a pod reads the API through the in-cluster
# configuration (service account token + CA) and is refused what RBAC does not allow.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
source "$ROOT/e2e/tests/lib.sh"
eval "$(bash "$ROOT/e2e/cluster/up.sh")" || { echo "FAIL cluster up"; exit 1; }
DOCKER=/usr/bin/docker
NS=weir-e2e-cluster
IMG=weir-e2e/probe:dev

cleanup() { kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT
kubectl delete namespace "$NS" --wait=true --timeout=60s >/dev/null 2>&1 || true

# 1. docker build FROM debian:bookworm-slim (Debian's busybox for httpd, curl as the client)
ctx=$(mktemp -d)
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM debian:bookworm-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      busybox curl ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/*
RUN mkdir -p /www && echo hello-weir > /www/index.html
DOCKERFILE
t0=$(date +%s)
if "$DOCKER" build --network=host -q -t "$IMG" "$ctx" >"$ctx/build.log" 2>&1; then
    pass "docker build FROM debian:bookworm-slim ($(($(date +%s) - t0))s)"
else
    fail "docker build"; tail -20 "$ctx/build.log"; finish; exit 1
fi
rm -rf "$ctx"
t0=$(date +%s)
check "load image into the node" bash "$ROOT/e2e/cluster/load-image.sh" "$IMG"
echo "MEASURE load-image seconds=$(($(date +%s) - t0))"

# 2. Deployment + Service
kubectl create namespace "$NS" >/dev/null
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: $IMG
        imagePullPolicy: Never
        command: ["busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
        ports: [{containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
YAML
if kubectl -n "$NS" rollout status deployment/web --timeout=120s >/dev/null 2>&1; then
    pass "Deployment of the locally built image reaches Running"
else
    fail "Deployment rollout"; kubectl -n "$NS" describe pods | tail -30
fi

# 3. Another pod reaches it through the Service by DNS name (short and fully qualified). The
# first attempts may come before kube-proxy has programmed the new Service (sync period ~1 s).
kubectl -n "$NS" run client --image="$IMG" --image-pull-policy=Never --restart=Never --command -- \
    sh -c "for i in \$(seq 30); do curl -sf --max-time 2 http://web/ >/dev/null && break; sleep 1; done
           curl -sf --max-time 5 http://web/ && curl -sf --max-time 5 http://web.$NS.svc.cluster.local/" >/dev/null
pod_done() { [[ $(kubectl -n "$NS" get pod "$1" -o jsonpath='{.status.phase}') =~ ^(Succeeded|Failed)$ ]]; }
retry 90 pod_done client
out=$(kubectl -n "$NS" logs client 2>&1)
if [[ $(grep -c hello-weir <<<"$out") == 2 ]]; then
    pass "pod -> Service by DNS name (web and web.$NS.svc.cluster.local)"
else
    fail "pod -> Service by DNS: $out"
fi

# 4. In-cluster API access with the service account token and CA, limited by RBAC.
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: {name: reader}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: configmap-reader}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader}
subjects: [{kind: ServiceAccount, name: reader, namespace: $NS}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmap-reader}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: probe-data}
data: {answer: "42"}
YAML
# in_cluster_read IMAGE COMMAND: a pod (service account "reader") runs COMMAND; prints its log.
in_cluster_read() {
    local image=$1 cmd=$2 name=api-reader-$RANDOM
    kubectl -n "$NS" run "$name" --image="$image" --image-pull-policy=Never --restart=Never \
        --overrides='{"apiVersion":"v1","spec":{"serviceAccountName":"reader"}}' \
        --command -- sh -c "$cmd" >/dev/null
    retry 90 pod_done "$name"
    kubectl -n "$NS" logs "$name" 2>&1
}
SA=/var/run/secrets/kubernetes.io/serviceaccount
API='https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT'
CURL="curl -s --cacert $SA/ca.crt -H \"Authorization: Bearer \$(cat $SA/token)\""
out=$(in_cluster_read "$IMG" "$CURL $API/api/v1/namespaces/\$(cat $SA/namespace)/configmaps/probe-data; echo; $CURL -o /dev/null -w 'secrets:%{http_code}' $API/api/v1/namespaces/\$(cat $SA/namespace)/secrets")
if grep -q '"answer": "42"' <<<"$out"; then
    pass "pod reads the API with the in-cluster service account token and CA"
else
    fail "in-cluster API read: $out"
fi
if grep -q 'secrets:403' <<<"$out"; then
    pass "RBAC refuses what the Role does not grant (403 on secrets)"
else
    fail "RBAC refusal expected: $out"
fi
finish
