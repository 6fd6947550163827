# lib.sh - shared settings and helpers of the local-cluster scripts (sourced, not run).
#
# Layout:
#   $WEIR_CACHE (default ~/.cache/weir)      kept across up/down: built tools, base image
#     tools/<name>-<version>/bin              tarball, the Docker data root (built images)
#     images/  docker/data/
#   $STATE (default $WEIR_CACHE/cluster)      removed by down.sh: certs, kubeconfigs, etcd data,
#     pids/ logs/ pki/ etcd/ containerd/       component logs and pid files, containerd/kubelet
#     kubelet/ cni/ docker/ coredns/           state
# Addresses (see README.md here): host bridge weirhost 10.250.0.1/24 (apiserver, kubelet,
# CoreDNS bind there), CNI bridge weircni0 with pods in 10.244.0.0/24, Services 10.96.0.0/12.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${WEIR_CACHE:-$HOME/.cache/weir}
STATE=${WEIR_CLUSTER_DIR:-$CACHE/cluster}
TOOLS_PATH=$(bash "$ROOT/e2e/cluster/tools.sh" --print-bin-dirs)
export PATH="$TOOLS_PATH:$PATH"

HOST_BRIDGE=weirhost
HOST_IP=10.250.0.1
HOST_CIDR=10.250.0.1/24
CNI_BRIDGE=weircni0
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/12
KUBERNETES_SVC_IP=10.96.0.1
DNS_SVC_IP=10.96.0.10
NODE_NAME=weir-node
ETCD_CLIENT_PORT=23790
ETCD_PEER_PORT=23800
APISERVER_PORT=6443

PKI=$STATE/pki
PIDS=$STATE/pids
LOGS=$STATE/logs
ADMIN_KUBECONFIG=$STATE/admin.kubeconfig
CONTAINERD_SOCK=$STATE/containerd/containerd.sock
DOCKER_SOCK=$STATE/docker/docker.sock
DOCKER_DATA=$CACHE/docker/data
DOCKER=/usr/bin/docker # Debian's docker.io client, matching its daemon

log() { echo "cluster: $*" >&2; }
die() {
    echo "cluster: error: $*" >&2
    exit 1
}

# pid_alive NAME: true when the component's recorded process is running.
pid_alive() {
    local f=$PIDS/$1.pid pid
    [[ -f $f ]] || return 1
    pid=$(cat "$f")
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

# start NAME CMD...: starts a component in its own session, logs to $LOGS/NAME.log.
start() {
    local name=$1
    shift
    if pid_alive "$name"; then
        return 0
    fi
    mkdir -p "$PIDS" "$LOGS"
    setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
    echo $! >"$PIDS/$name.pid"
    log "started $name (pid $!)"
}

# stop NAME: SIGTERM, wait up to 10 s, then SIGKILL; removes the pid file.
stop() {
    local f=$PIDS/$1.pid pid i
    [[ -f $f ]] || return 0
    pid=$(cat "$f")
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
        log "stopped $1"
    fi
    rm -f "$f"
}

# wait_for SECONDS DESCRIPTION LOGNAME CMD...: retries CMD until it succeeds.
wait_for() {
    local secs=$1 what=$2 logname=$3 i
    shift 3
    for ((i = 0; i < secs * 4; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.25
    done
    log "timed out after ${secs}s waiting for $what; last lines of $LOGS/$logname.log:"
    tail -n 25 "$LOGS/$logname.log" 2>/dev/null | sed 's/^/    | /' >&2
    return 1
}

kubectl_admin() { kubectl --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }
