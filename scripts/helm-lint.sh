#!/usr/bin/env bash
# helm-lint.sh - `make lint` for the chart: helm lint --strict, helm template with the default
# values and with the shapes users set (watched namespaces, replicas, digest), checks of what
# the rendered objects must hold (non-root, read-only root, no cluster-wide role when namespaces
# are listed, leader election with replicas > 1), and a value the schema must refuse.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HELM_BIN=$(bash "$ROOT/e2e/cluster/tools.sh" --helm 2>/dev/null | tail -1)
HELM=$HELM_BIN/helm
[[ -x $HELM ]] || { echo "helm-lint: helm not built ($HELM)" >&2; exit 1; }
CHART=$ROOT/helm/weir-operator
echo "lint: helm lint + template"
"$HELM" lint --strict "$CHART" >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$HELM" template weir "$CHART" --namespace weir-system >"$out/default.yaml"
"$HELM" template weir "$CHART" --namespace weir-system --set 'watchNamespaces={team-a,team-b}' \
    --set replicas=2 >"$out/ns.yaml"
"$HELM" template weir "$CHART" --namespace weir-system \
    --set image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \
    >"$out/digest.yaml"
if "$HELM" template weir "$CHART" --set image.pullPolicy=Sometimes >/dev/null 2>&1; then
    echo "helm-lint: the schema accepted image.pullPolicy=Sometimes" >&2
    exit 1
fi
/usr/bin/python3 - "$out" <<'PY'
import sys, yaml
d = sys.argv[1]
def load(name):
    return [o for o in yaml.safe_load_all(open(f"{d}/{name}")) if o]
def kinds(objs, kind):
    return [o for o in objs if o["kind"] == kind]
errors = []
def need(cond, msg):
    if not cond:
        errors.append(msg)
for name in ("default.yaml", "ns.yaml"):
    objs = load(name)
    dep = kinds(objs, "Deployment")[0]["spec"]["template"]["spec"]
    c = dep["containers"][0]
    need(dep["securityContext"]["runAsNonRoot"] and dep["securityContext"]["runAsUser"] == 9999,
         f"{name}: pod not non-root 9999")
    need(dep["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", f"{name}: seccomp")
    sc = c["securityContext"]
    need(sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
         and sc["capabilities"]["drop"] == ["ALL"], f"{name}: container security context")
    need(c["livenessProbe"]["httpGet"]["path"] == "/healthz"
         and c["readinessProbe"]["httpGet"]["path"] == "/readyz", f"{name}: probes")
    need("limits" in c["resources"] and "requests" in c["resources"], f"{name}: resources")
    need(kinds(objs, "Service") and kinds(objs, "ConfigMap"), f"{name}: metrics Service, ConfigMap")
default = load("default.yaml")
need(len(kinds(default, "ClusterRole")) == 1 and not kinds(default, "Role") or
     all(r["metadata"]["name"] == "flink" for r in kinds(default, "Role")),
     "default: one ClusterRole, no operator Roles")
rules = kinds(default, "ClusterRole")[0]["rules"]
need(not any("secrets" in r["resources"] for r in rules), "the operator must not read Secrets")
need(not any("*" in r["resources"] or "*" in r["verbs"] for r in rules), "no wildcard rules")
ns = load("ns.yaml")
need(not kinds(ns, "ClusterRole") and not kinds(ns, "ClusterRoleBinding"),
     "watchNamespaces: no cluster-wide role")
roles = {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in kinds(ns, "Role")}
for n in ("team-a", "team-b"):
    need((n, "weir-operator") in roles and (n, "flink") in roles, f"watchNamespaces: Roles in {n}")
    need(any(s["metadata"]["namespace"] == n and s["metadata"]["name"] == "flink"
             for s in kinds(ns, "ServiceAccount")), f"job service account in {n}")
cfg = kinds(ns, "ConfigMap")[0]["data"]["config.yaml"]
need("kubernetes.operator.leader-election.enabled: true" in cfg, "replicas 2: leader election on")
env = {e["name"]: e.get("value") for e in kinds(ns, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["env"]}
need(env["WATCH_NAMESPACES"] == "team-a,team-b", "WATCH_NAMESPACES")
dig = kinds(load("digest.yaml"), "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["image"]
need(dig.startswith("weir/operator@sha256:"), f"digest image {dig}")
for e in errors:
    print("helm-lint:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
