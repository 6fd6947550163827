#!/usr/bin/env bash
# up.sh - brings up a real local Kubernetes: etcd, kube-apiserver, controller-manager,
# scheduler and (unless --no-node) one real node: containerd + CNI bridge + kubelet +
# kube-proxy, CoreDNS, and a Docker engine on a private socket for image builds, with a locally
# built pause image and debian:bookworm-slim base image.
#
#   eval "$(e2e/cluster/up.sh)"        # full cluster; exports KUBECONFIG, PATH, DOCKER_HOST
#   eval "$(e2e/cluster/up.sh --no-node)"   # etcd + apiserver only (integration tests)
#
# Idempotent: components already running are left alone, missing ones are (re)started, so a
# second call just prints the exports. Progress goes to stderr, only the exports to stdout.
# Everything listens on loopback or on the host bridge this script creates; see lib.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

NO_NODE=0
for a in "$@"; do
    case $a in
    --no-node) NO_NODE=1 ;;
    -h | --help)
        sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown argument: $a" ;;
    esac
done

[[ $(id -u) == 0 ]] || die "must run as root (network, mounts, containerd)"
T0=$(date +%s)
phase_t=$T0
phase() {
    local now
    now=$(date +%s)
    log "$1 (+$((now - phase_t))s, total $((now - T0))s)"
    phase_t=$now
}

# write_if_changed FILE: stdin becomes FILE's content, touching FILE only when it differs
# (kube-proxy exits when its configuration file changes under it).
write_if_changed() {
    local tmp
    tmp=$(mktemp "$1.XXXXXX")
    cat >"$tmp"
    if [[ -f $1 ]] && cmp -s "$tmp" "$1"; then
        rm -f "$tmp"
    else
        mv "$tmp" "$1"
    fi
}

# --- tools -------------------------------------------------------------------------------
bash "$ROOT/e2e/cluster/tools.sh"
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl coredns helm; do
    command -v "$b" >/dev/null || die "$b missing after tools.sh"
done
phase "tools ready"
# A state directory without a complete PKI was left by a run that was killed while setting up
# (or by an older up.sh): clear it out completely rather than trust half-written files.
if [[ -d $STATE && ! -f $PKI/.complete ]]; then
    log "state in $STATE is from an interrupted run: cleaning it with down.sh"
    bash "$ROOT/e2e/cluster/down.sh" >&2 || die "down.sh failed while cleaning an interrupted run"
fi
mkdir -p "$STATE" "$PIDS" "$LOGS"

# --- host bridge -----------------------------------------------------------------------------
if ! ip link show "$HOST_BRIDGE" >/dev/null 2>&1; then
    ip link add "$HOST_BRIDGE" type bridge
    log "created bridge $HOST_BRIDGE"
fi
# (outputs are captured before matching: `cmd | grep -q` fails under pipefail when grep
# exits first and cmd dies of SIGPIPE)
[[ $(ip addr show dev "$HOST_BRIDGE") == *"inet $HOST_CIDR"* ]] || ip addr add "$HOST_CIDR" dev "$HOST_BRIDGE"
ip link set "$HOST_BRIDGE" up

# --- PKI -------------------------------------------------------------------------------------
# The whole PKI is made in a staging directory and moved into place with a stamp as the last
# step, so a run killed half-way (CI timeouts, a reboot) never leaves an empty or unmatched key
# behind for the next run to trust. A new PKI invalidates the kubeconfigs that embed it.
# cert NAME SUBJECT [EXT]: a key and a certificate signed by our CA, in $1's directory $D.
cert() {
    local name=$1 subj=$2 ext=${3:-}
    openssl genrsa -out "$D/$name.key" 2048 2>/dev/null
    openssl req -new -key "$D/$name.key" -subj "$subj" -out "$D/$name.csr" 2>/dev/null
    if [[ -n $ext ]]; then
        printf '%s\n' "$ext" >"$D/$name.ext"
        openssl x509 -req -in "$D/$name.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" \
            -CAcreateserial -days 3650 -sha256 -extfile "$D/$name.ext" -out "$D/$name.crt" 2>/dev/null
    else
        openssl x509 -req -in "$D/$name.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" \
            -CAcreateserial -days 3650 -sha256 -out "$D/$name.crt" 2>/dev/null
    fi
    rm -f "$D/$name.csr"
}
if [[ ! -f $PKI/.complete ]]; then
    D=$PKI.staging
    rm -rf "$D"
    mkdir -p "$D"
    openssl genrsa -out "$D/ca.key" 2048 2>/dev/null
    openssl req -x509 -new -key "$D/ca.key" -subj "/CN=weir-local-ca" -days 3650 -sha256 \
        -out "$D/ca.crt" 2>/dev/null
    openssl genrsa -out "$D/sa.key" 2048 2>/dev/null
    openssl rsa -in "$D/sa.key" -pubout -out "$D/sa.pub" 2>/dev/null
    CLIENT_EXT="keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
    cert apiserver "/CN=kube-apiserver" "keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:$HOST_IP,IP:$KUBERNETES_SVC_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost"
    cert admin "/O=system:masters/CN=weir-admin" "$CLIENT_EXT"
    cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$CLIENT_EXT"
    cert kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" "$CLIENT_EXT"
    cert kubelet-serving "/CN=$NODE_NAME" "keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:$HOST_IP,DNS:$NODE_NAME"
    for k in "$D"/*.key; do
        openssl pkey -in "$k" -noout 2>/dev/null || die "generated key $k does not parse"
    done
    touch "$D/.complete"
    rm -rf "$PKI"
    mv "$D" "$PKI"
    rm -f "$ADMIN_KUBECONFIG" "$STATE/kubelet.kubeconfig"
    log "generated a new PKI in $PKI"
fi

# kubeconfig FILE CERTNAME: a kubeconfig with embedded CA and client certificate.
kubeconfig() {
    local file=$1 name=$2
    [[ -s $file ]] && return 0
    cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: weir-local
  cluster:
    server: https://$HOST_IP:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$name.crt")
    client-key-data: $(base64 -w0 "$PKI/$name.key")
contexts:
- name: weir-local
  context:
    cluster: weir-local
    user: $name
current-context: weir-local
EOF
    chmod 600 "$file.tmp"
    mv "$file.tmp" "$file"
}
kubeconfig "$ADMIN_KUBECONFIG" admin
kubeconfig "$STATE/kubelet.kubeconfig" kubelet-client
phase "certificates ready"

# --- etcd + apiserver --------------------------------------------------------------------------
mkdir -p "$STATE/etcd"
start etcd etcd --name weir --data-dir "$STATE/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "weir=http://127.0.0.1:$ETCD_PEER_PORT" \
    --listen-metrics-urls "" --log-level warn
wait_for 30 "etcd" etcd etcdctl --endpoints "http://127.0.0.1:$ETCD_CLIENT_PORT" endpoint health

# The apiserver binds and advertises the host bridge address: pods reach it through the
# `kubernetes` Service (127.0.0.1 inside a pod is the pod itself). InternalIP + a kubelet client
# certificate make `kubectl logs/exec` work (the kubelet refuses anonymous requests).
start kube-apiserver kube-apiserver \
    --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address "$HOST_IP" --advertise-address "$HOST_IP" --secure-port "$APISERVER_PORT" \
    --client-ca-file "$PKI/ca.crt" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --authorization-mode Node,RBAC --allow-privileged=true \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP \
    --profiling=false --v=1
apiserver_ready() {
    curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
        "https://$HOST_IP:$APISERVER_PORT/readyz" >/dev/null
}
wait_for 90 "kube-apiserver /readyz" kube-apiserver apiserver_ready || exit 1
phase "control plane API ready"

# Sent by kubectl at the end: the exports the caller evals.
exports() {
    echo "export KUBECONFIG=$ADMIN_KUBECONFIG"
    echo "export PATH=$TOOLS_PATH:\$PATH"
    if pid_alive dockerd; then echo "export DOCKER_HOST=unix://$DOCKER_SOCK"; fi
}

if ((NO_NODE)); then
    wait_for 60 "default namespace" kube-apiserver kubectl_admin get namespace default || exit 1
    phase "up (control plane only)"
    exports
    exit 0
fi

# --- controller-manager + scheduler --------------------------------------------------------------
start kube-controller-manager kube-controller-manager --kubeconfig "$ADMIN_KUBECONFIG" \
    --authentication-kubeconfig "$ADMIN_KUBECONFIG" --authorization-kubeconfig "$ADMIN_KUBECONFIG" \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --use-service-account-credentials=true --leader-elect=false --controllers '*,-nodeipam' \
    --bind-address 127.0.0.1 --secure-port 10257 --v=1
start kube-scheduler kube-scheduler --kubeconfig "$ADMIN_KUBECONFIG" \
    --authentication-kubeconfig "$ADMIN_KUBECONFIG" --authorization-kubeconfig "$ADMIN_KUBECONFIG" \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port 10259 --v=1

# --- networking sysctls (remember the old values for down.sh) ------------------------------------
if [[ ! -f $STATE/sysctl.saved ]]; then
    {
        echo "net.ipv4.ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
        [[ -f /proc/sys/net/bridge/bridge-nf-call-iptables ]] &&
            echo "net.bridge.bridge-nf-call-iptables=$(cat /proc/sys/net/bridge/bridge-nf-call-iptables)"
    } >"$STATE/sysctl.saved"
fi
modprobe br_netfilter 2>/dev/null || true
sysctl -qw net.ipv4.ip_forward=1
[[ -f /proc/sys/net/bridge/bridge-nf-call-iptables ]] && sysctl -qw net.bridge.bridge-nf-call-iptables=1
# Network namespaces that existed before us are never touched by down.sh.
[[ -f $STATE/netns.before ]] || ls /var/run/netns 2>/dev/null >"$STATE/netns.before" || true

# --- containerd + CNI --------------------------------------------------------------------------
mkdir -p "$STATE/containerd" "$STATE/cni/net.d" "$STATE/cni/ipam"
# restrict_oom_score_adj: without CAP_SYS_RESOURCE runc cannot set the sandbox's
# oom_score_adj of -998 ("can't get final child's PID from pipe: EOF"). The sandbox image is
# the locally built pause image; CNI binaries are Debian's, the config is ours.
write_if_changed "$STATE/containerd/config.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CONTAINERD_SOCK"
[metrics]
  address = ""
[debug]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
EOF
write_if_changed "$STATE/cni/net.d/10-weir.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "weir",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$STATE/cni/ipam"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
start containerd containerd --config "$STATE/containerd/config.toml"
wait_for 30 "containerd" containerd ctr -a "$CONTAINERD_SOCK" version || exit 1

# --- Docker engine (image builds) and the two local images --------------------------------------
# dockerd runs here only without its own iptables rules and bridge; `docker build --network=host`
# lets RUN steps reach the Debian mirror. Its data root is in the cache so images survive down.sh.
mkdir -p "$STATE/docker" "$DOCKER_DATA"
echo '{}' >"$STATE/docker/daemon.json"
start dockerd dockerd --config-file "$STATE/docker/daemon.json" --iptables=false --ip-forward=false \
    --ip-masq=false --bridge=none --data-root "$DOCKER_DATA" --exec-root "$STATE/docker/exec" \
    -H "unix://$DOCKER_SOCK" --pidfile "$STATE/docker/docker.pid"
export DOCKER_HOST=unix://$DOCKER_SOCK
wait_for 60 "dockerd" dockerd "$DOCKER" version || exit 1
phase "containerd and dockerd up"

debian_mirror() {
    # The first Debian mirror of the apt sources that serves "bookworm" (deb822 or one-line).
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] || continue
        awk 'BEGIN{RS=""} /Suites:[^\n]*(^|[ \t])bookworm([ \t\n]|$)/ {
               if (match($0, /URIs:[ \t]*[^ \t\n]+/)) { s=substr($0,RSTART,RLENGTH); sub(/URIs:[ \t]*/,"",s); print s; exit } }' "$f"
    done
    grep -hE '^deb[[:space:]]+[^[]*[[:space:]]bookworm[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '{print $2}' || true
}
# The base image is rebuilt when its recipe changes (BASE_VERSION, a label on the image).
BASE_VERSION=2
if [[ $("$DOCKER" image inspect -f '{{index .Config.Labels "weir.base-version"}}' \
    debian:bookworm-slim 2>/dev/null) != "$BASE_VERSION" ]]; then
    tarball=$CACHE/images/debian-bookworm-slim-v$BASE_VERSION.tar
    if [[ ! -f $tarball ]]; then
        mirror=$(debian_mirror | head -1)
        [[ -n $mirror ]] || die "no Debian bookworm mirror found in the apt sources"
        log "debootstrap bookworm (minbase) from the apt sources' mirror (~1 min)"
        rootfs=$CACHE/images/rootfs.tmp
        rm -rf "$rootfs" && mkdir -p "$rootfs"
        debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$LOGS/debootstrap.log" 2>&1 ||
            { tail -20 "$LOGS/debootstrap.log" >&2; die "debootstrap failed"; }
        # Trim to what the official slim image keeps, and keep packages installed later from
        # bringing documentation and translations back (as its dpkg configuration does).
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
            "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
            "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/lintian/*
        printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
            'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
            'path-exclude /usr/share/locale/*' 'path-include /usr/share/locale/locale.alias' \
            'path-exclude /usr/share/lintian/*' >"$rootfs/etc/dpkg/dpkg.cfg.d/docker"
        tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
        rm -rf "$rootfs"
    fi
    "$DOCKER" import --change 'CMD ["bash"]' --change "LABEL weir.base-version=$BASE_VERSION" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "$tarball" debian:bookworm-slim >/dev/null
    log "imported debian:bookworm-slim"
fi
if ! "$DOCKER" image inspect registry.k8s.io/pause:3.10 >/dev/null 2>&1; then
    pdir=$STATE/pause-build
    rm -rf "$pdir" && mkdir -p "$pdir"
    gcc -Os -static -o "$pdir/pause" "$ROOT/e2e/cluster/pause/pause.c"
    strip "$pdir/pause"
    cp "$ROOT/e2e/cluster/pause/Dockerfile" "$pdir/"
    "$DOCKER" build -q -t registry.k8s.io/pause:3.10 "$pdir" >/dev/null
    rm -rf "$pdir"
    log "built registry.k8s.io/pause:3.10"
fi
if ! grep -qx 'registry.k8s.io/pause:3.10' <<<"$(ctr -a "$CONTAINERD_SOCK" -n k8s.io images ls -q)"; then
    "$DOCKER" save registry.k8s.io/pause:3.10 | ctr -a "$CONTAINERD_SOCK" -n k8s.io images import - >/dev/null
fi
phase "images ready"

# --- kubelet + kube-proxy ----------------------------------------------------------------------
mkdir -p "$STATE/kubelet"
# failCgroupV1: false - 1.35 refuses cgroup v1 otherwise. cgroupsPerQOS/enforceNodeAllocatable
# off and permissive eviction thresholds: the eviction manager cannot stat the root block
# device here. Webhook authn/authz with our CA as x509 client CA (the apiserver's client cert).
write_if_changed "$STATE/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $HOST_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
cgroupsPerQOS: false
enforceNodeAllocatable: []
localStorageCapacityIsolation: false
evictionHard: {memory.available: "50Mi", nodefs.available: "0%", nodefs.inodesFree: "0%", imagefs.available: "0%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
clusterDNS: [$DNS_SVC_IP]
clusterDomain: cluster.local
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
serializeImagePulls: false
rotateCertificates: false
maxPods: 110
EOF
start kubelet kubelet --config "$STATE/kubelet/config.yaml" --kubeconfig "$STATE/kubelet.kubeconfig" \
    --hostname-override "$NODE_NAME" --node-ip "$HOST_IP" --root-dir "$STATE/kubelet/root" \
    --cert-dir "$STATE/kubelet/pki" --v=1
mkdir -p "$STATE/kube-proxy"
write_if_changed "$STATE/kube-proxy/config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $ADMIN_KUBECONFIG}
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$HOST_IP/32"]
conntrack: {maxPerCore: 0}
EOF
start kube-proxy kube-proxy --config "$STATE/kube-proxy/config.yaml" --v=1

# --- CoreDNS on the host bridge, reached through the kube-dns Service ----------------------------
mkdir -p "$STATE/coredns"
write_if_changed "$STATE/coredns/Corefile" <<EOF
.:53 {
    bind $HOST_IP
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $ADMIN_KUBECONFIG weir-local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
EOF
start coredns coredns -conf "$STATE/coredns/Corefile"
kubectl_admin apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: $DNS_SVC_IP
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-host
  namespace: kube-system
  labels: {kubernetes.io/service-name: kube-dns}
addressType: IPv4
endpoints:
- addresses: ["$HOST_IP"]
  conditions: {ready: true}
ports:
- {name: dns, port: 53, protocol: UDP}
- {name: dns-tcp, port: 53, protocol: TCP}
EOF

node_ready() {
    [[ $(kubectl_admin get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]
}
wait_for 120 "node $NODE_NAME Ready" kubelet node_ready || exit 1
wait_for 60 "default ServiceAccount" kube-controller-manager kubectl_admin -n default get serviceaccount default || exit 1
phase "up (node $NODE_NAME Ready)"
exports
