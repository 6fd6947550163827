#!/usr/bin/env bash
# Builds the pinned upstream tools the local Kubernetes needs from their Go modules, into a
# cache outside the checkout (${WEIR_CACHE:-$HOME/.cache/weir}/tools/<name>-<version>/bin),
# skipping what is already built:
#   Kubernetes v1.35.4 (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
#   kube-proxy, kubectl), etcd v3.6.5 (+ etcdctl), CoreDNS v1.12.4, Helm v4.3.1.
# Usage: e2e/cluster/tools.sh [--print-bin-dirs | --helm]
# Facts behind the method: ../shared/reference/local-kubernetes.md (wrapper modules with
# replace lines for the staging modules; version stamping through ldflags).
set -euo pipefail

K8S_VERSION=v1.35.4
ETCD_VERSION=v3.6.5
COREDNS_VERSION=v1.12.4
HELM_VERSION=v4.3.1

CACHE=${WEIR_CACHE:-$HOME/.cache/weir}
TOOLS=$CACHE/tools
export GOTOOLCHAIN=local
export GOMODCACHE=${GOMODCACHE_WEIR:-$CACHE/go/mod}
export GOCACHE=${GOCACHE_WEIR:-$CACHE/go/build}
export GOFLAGS=-mod=mod
export GOPATH=$CACHE/go/path

K8S_BIN=$TOOLS/kubernetes-$K8S_VERSION/bin
ETCD_BIN=$TOOLS/etcd-$ETCD_VERSION/bin
COREDNS_BIN=$TOOLS/coredns-$COREDNS_VERSION/bin
HELM_BIN=$TOOLS/helm-$HELM_VERSION/bin

if [[ ${1:-} == --print-bin-dirs ]]; then
    echo "$K8S_BIN:$ETCD_BIN:$COREDNS_BIN:$HELM_BIN"
    exit 0
fi

say() { echo "tools: $*" >&2; }
since() { echo $(($(date +%s) - $1)); }

command -v go >/dev/null || { say "go is required (Debian golang or /usr/local/go)"; exit 1; }
mkdir -p "$TOOLS" "$GOMODCACHE" "$GOCACHE" "$GOPATH"

build_kubernetes() {
    local cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
    local missing=0 c
    for c in "${cmds[@]}"; do [[ -x $K8S_BIN/$c ]] || missing=1; done
    ((missing)) || { say "kubernetes $K8S_VERSION cached"; return; }
    local t0 src gomod stage goline
    t0=$(date +%s)
    src=$CACHE/src/k8s-wrapper-$K8S_VERSION
    rm -rf "$src" && mkdir -p "$src" "$K8S_BIN"
    say "kubernetes $K8S_VERSION: resolving modules (first time: downloads ~1 GB of modules)"
    gomod=$(cd "$src" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
        sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
    [[ -f $gomod ]] || { say "could not download k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
    goline=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod" | head -1)
    stage=$(sed -n 's#^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/src/.*$#\1#p' "$gomod" | sort -u)
    [[ -n $stage ]] || { say "no staging replaces found in $gomod"; exit 1; }
    local minor=${K8S_VERSION#v1.}
    {
        echo "module weir.local/k8s-tools"
        echo
        echo "go $goline"
        echo
        echo "require k8s.io/kubernetes $K8S_VERSION"
        echo
        for m in $stage; do echo "replace $m => $m v0.$minor"; done
    } >"$src/go.mod"
    {
        echo "//go:build tools"
        echo
        echo "package tools"
        echo
        echo "import ("
        for c in "${cmds[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$c\""; done
        echo ")"
    } >"$src/tools.go"
    (cd "$src" && go mod tidy >&2)
    local major=1 minornum=${minor%%.*} ld
    ld="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minornum"
        ld+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
    done
    for c in "${cmds[@]}"; do
        [[ -x $K8S_BIN/$c ]] && continue
        local tc cgo=0
        tc=$(date +%s)
        [[ $c == kubelet ]] && cgo=1
        (cd "$src" && CGO_ENABLED=$cgo go build -trimpath -ldflags "$ld" -o "$K8S_BIN/$c.tmp" \
            "k8s.io/kubernetes/cmd/$c" >&2) && mv "$K8S_BIN/$c.tmp" "$K8S_BIN/$c"
        say "built $c in $(since "$tc")s"
    done
    say "kubernetes $K8S_VERSION built in $(since "$t0")s"
}

build_etcd() {
    [[ -x $ETCD_BIN/etcd && -x $ETCD_BIN/etcdctl ]] && { say "etcd $ETCD_VERSION cached"; return; }
    local t0 src
    t0=$(date +%s)
    src=$CACHE/src/etcd-wrapper-$ETCD_VERSION
    rm -rf "$src" && mkdir -p "$src" "$ETCD_BIN"
    (cd "$src" && go mod init weir.local/etcd-tools >&2 2>/dev/null &&
        go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" "go.etcd.io/etcd/etcdctl/v3@$ETCD_VERSION" >&2 &&
        CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ETCD_BIN/etcd" go.etcd.io/etcd/server/v3 >&2 &&
        CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ETCD_BIN/etcdctl" go.etcd.io/etcd/etcdctl/v3 >&2)
    say "etcd $ETCD_VERSION built in $(since "$t0")s"
}

build_coredns() {
    [[ -x $COREDNS_BIN/coredns ]] && { say "coredns $COREDNS_VERSION cached"; return; }
    local t0
    t0=$(date +%s)
    mkdir -p "$COREDNS_BIN"
    GOFLAGS= CGO_ENABLED=0 GOBIN=$COREDNS_BIN go install -trimpath -ldflags "-s -w" \
        "github.com/coredns/coredns@$COREDNS_VERSION" >&2
    say "coredns $COREDNS_VERSION built in $(since "$t0")s"
}

build_helm() {
    [[ -x $HELM_BIN/helm ]] && { say "helm $HELM_VERSION cached"; return; }
    local t0 major
    t0=$(date +%s)
    major=${HELM_VERSION%%.*}
    mkdir -p "$HELM_BIN"
    GOFLAGS= CGO_ENABLED=0 GOBIN=$HELM_BIN go install -trimpath \
        -ldflags "-s -w -X helm.sh/helm/$major/internal/version.version=$HELM_VERSION" \
        "helm.sh/helm/$major/cmd/helm@$HELM_VERSION" >&2
    say "helm $HELM_VERSION built in $(since "$t0")s"
}

if [[ ${1:-} == --helm ]]; then # only Helm (for `make lint`); prints its directory
    build_helm
    echo "$HELM_BIN"
    exit 0
fi

T0=$(date +%s)
build_etcd
build_kubernetes
build_coredns
build_helm
say "all tools ready in $(since "$T0")s"
