#!/usr/bin/env bash
# test_down.sh - down.sh leaves nothing of ours behind (no process, mount, network namespace,
# iptables rule or link), a second down.sh is harmless, and a second up.sh reuses the cached
# tools and images (its time is reported). Runs last in the e2e tier: it tears the cluster down.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
source "$ROOT/e2e/tests/lib.sh"
source "$ROOT/e2e/cluster/lib.sh"
set +e

leftovers() {
    local problems=() pid exe cmd
    for pid in $(ls /proc | grep -E '^[0-9]+$'); do
        [[ $pid == $$ || $pid == $BASHPID ]] && continue
        exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
        cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
        if [[ $exe == "$CACHE/tools/"* || $cmd == *"$STATE/"* ]]; then
            problems+=("process $pid: $cmd")
        fi
    done
    if grep -qE " ($STATE|$DOCKER_DATA)[/ ]" /proc/self/mounts; then
        problems+=("mounts: $(grep -E " ($STATE|$DOCKER_DATA)[/ ]" /proc/self/mounts | head -3)")
    fi
    local before=""
    [[ -f $1 ]] && before=$(cat "$1")
    for ns in $(ls /var/run/netns 2>/dev/null); do
        [[ $ns == cni-* ]] && ! grep -qx "$ns" <<<"$before" && problems+=("netns $ns")
    done
    local rules
    rules=$(iptables-save 2>/dev/null | grep -E 'KUBE-|CNI-|10\.244\.0\.|10\.96\.' | head -3)
    [[ -n $rules ]] && problems+=("iptables: $rules")
    ip link show "$HOST_BRIDGE" >/dev/null 2>&1 && problems+=("link $HOST_BRIDGE")
    ip link show "$CNI_BRIDGE" >/dev/null 2>&1 && problems+=("link $CNI_BRIDGE")
    [[ $(ip -o link show type veth 2>/dev/null) == *"master $CNI_BRIDGE"* ]] && problems+=("veths on $CNI_BRIDGE")
    [[ -d $STATE ]] && problems+=("state dir $STATE")
    if ((${#problems[@]})); then
        printf '  leftover: %s\n' "${problems[@]}"
        return 1
    fi
    return 0
}

saved=$(mktemp)
cp "$STATE/netns.before" "$saved" 2>/dev/null || : >"$saved"
t0=$(date +%s)
bash "$ROOT/e2e/cluster/down.sh" 2>&1 | tail -3
echo "MEASURE down seconds=$(($(date +%s) - t0))"
check "down.sh leaves no process, mount, netns, iptables rule, link or state" leftovers "$saved"
check "a second down.sh is harmless" bash "$ROOT/e2e/cluster/down.sh"
check "still nothing left after the second down.sh" leftovers "$saved"

# Warm start: tools and images come from the cache.
t0=$(date +%s)
if out=$(bash "$ROOT/e2e/cluster/up.sh" 2>"$saved.up"); then
    secs=$(($(date +%s) - t0))
    echo "MEASURE warm-up seconds=$secs"
    eval "$out"
    if grep -q 'kubernetes.*cached' "$saved.up" && ! grep -q 'debootstrap' "$saved.up" &&
        ! grep -q 'built registry.k8s.io/pause' "$saved.up"; then
        pass "second up.sh reuses the built tools and images (${secs}s)"
    else
        fail "second up.sh rebuilt something"; cat "$saved.up"
    fi
    check "node Ready after warm up" kubectl get nodes
else
    fail "second up.sh"; tail -30 "$saved.up"
fi
cp "$STATE/netns.before" "$saved" 2>/dev/null || true
bash "$ROOT/e2e/cluster/down.sh" >/dev/null 2>&1
check "nothing left after the final down.sh" leftovers "$saved"
rm -f "$saved" "$saved.up"
finish
