#!/usr/bin/env bash
# down.sh - stops everything e2e/cluster/up.sh started and removes what it made: pods and
# their sandboxes, every component process (by the PIDs up.sh recorded), mounts under the
# state directories, the iptables rules of kube-proxy, kubelet and the CNI bridge plugin, the
# network namespaces and links it created, and the state directory. Keeps the caches (built
# tools, the base image tarball and the Docker data root with built images).
# Running it twice is harmless.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

[[ -d $STATE ]] || { log "nothing to do (no $STATE)"; exit 0; }
T0=$(date +%s)

# 1. Stop controllers that would recreate pods, then remove pods through the kubelet so it
#    tears their sandboxes down (CNI DEL: veths, IPAM, masquerade rules).
stop kube-controller-manager
stop kube-scheduler
if pid_alive kube-apiserver && pid_alive kubelet; then
    kubectl_admin delete pods --all --all-namespaces --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
    for i in $(seq 60); do
        n=$(ctr -a "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null | wc -l)
        [[ $n == 0 ]] && break
        sleep 0.5
    done
    # containerd kills the sandbox's pause task before its CNI DEL: wait for host-local IPAM
    # to release every pod address, so the bridge plugin has removed its iptables rules.
    for i in $(seq 40); do
        grep -qE '^[0-9]+\.' <<<"$(ls "$STATE/cni/ipam/weir" 2>/dev/null)" || break
        sleep 0.5
    done
fi
stop kubelet
stop kube-proxy
stop coredns

# 2. Whatever containers remain: kill and delete their tasks, then stop containerd.
if pid_alive containerd; then
    for ns in k8s.io moby default; do
        for id in $(ctr -a "$CONTAINERD_SOCK" -n "$ns" tasks ls -q 2>/dev/null); do
            ctr -a "$CONTAINERD_SOCK" -n "$ns" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
            ctr -a "$CONTAINERD_SOCK" -n "$ns" tasks delete -f "$id" >/dev/null 2>&1 || true
        done
    done
fi
stop containerd
stop dockerd
# Shims and containers of our containerd/dockerd carry our state paths in their command lines.
for pid in $(pgrep -f "$STATE/(containerd|docker)" 2>/dev/null); do
    [[ $pid == $$ ]] && continue
    kill -KILL "$pid" 2>/dev/null || true
done
stop kube-apiserver
stop etcd

# 3. Mounts under our state directories and the Docker data root (deepest first).
for dir in "$STATE" "$DOCKER_DATA" /var/run/netns; do
    awk -v d="$dir" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/self/mounts | sort -r |
        while read -r m; do
            if [[ $dir == /var/run/netns ]]; then
                # Only network namespaces created while our node ran.
                grep -qx "$(basename "$m")" "$STATE/netns.before" 2>/dev/null && continue
                [[ $(basename "$m") == cni-* ]] || continue
            fi
            umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
        done
done
for ns in $(ls /var/run/netns 2>/dev/null); do
    [[ $ns == cni-* ]] || continue
    grep -qx "$ns" "$STATE/netns.before" 2>/dev/null && continue
    ip netns delete "$ns" 2>/dev/null || rm -f "/var/run/netns/$ns"
done

# 4. iptables: kube-proxy's and the kubelet's KUBE-* chains, the bridge plugin's CNI-* chains
#    (there is no other Kubernetes on this machine: these names are ours).
if [[ -x $(command -v kube-proxy) ]]; then
    kube-proxy --cleanup >/dev/null 2>&1 || true
fi
for table in nat filter mangle raw; do
    rules=$(iptables -t "$table" -S 2>/dev/null) || continue
    # Rules in built-in chains that jump to or mention our chains / pod network.
    # iptables -S quotes comments ("name: \"weir\" id: ..."): eval re-reads that quoting.
    echo "$rules" | grep -E '^-A ' | grep -E 'KUBE-|CNI-|10\.244\.0\.|name: \\"weir\\"' |
        while read -r rule; do
            eval "iptables -t $table ${rule/-A/-D}" 2>/dev/null || true
        done
    for chain in $(echo "$rules" | awk '$1 == "-N" && ($2 ~ /^KUBE-/ || $2 ~ /^CNI-/) {print $2}'); do
        iptables -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $(echo "$rules" | awk '$1 == "-N" && ($2 ~ /^KUBE-/ || $2 ~ /^CNI-/) {print $2}'); do
        iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
done

# 5. Links: veths on our CNI bridge, the bridges themselves.
if ip link show "$CNI_BRIDGE" >/dev/null 2>&1; then
    for v in $(ip -o link show master "$CNI_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
        ip link delete "$v" 2>/dev/null || true
    done
    ip link delete "$CNI_BRIDGE" 2>/dev/null || true
fi
ip link delete "$HOST_BRIDGE" 2>/dev/null || true
conntrack -D -s "$POD_CIDR" >/dev/null 2>&1 || true
conntrack -D -d "$POD_CIDR" >/dev/null 2>&1 || true

# 6. sysctls back to what they were before up.sh.
if [[ -f $STATE/sysctl.saved ]]; then
    while IFS= read -r kv; do sysctl -qw "$kv" 2>/dev/null || true; done <"$STATE/sysctl.saved"
fi

# 7. State (keeps the caches).
rm -rf "$STATE"
log "down in $(($(date +%s) - T0))s"
