# lib.sh - helpers for e2e test scripts (sourced): PASS/FAIL bookkeeping and a final CASES line
# that scripts/run-tests.sh reads.
PASSED=0
FAILED=0
pass() {
    PASSED=$((PASSED + 1))
    echo "PASS $*"
}
fail() {
    FAILED=$((FAILED + 1))
    echo "FAIL $*"
}
# check NAME CMD...: runs CMD, PASS when it succeeds.
check() {
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}
finish() {
    echo "CASES passed=$PASSED failed=$FAILED"
    [[ $FAILED == 0 ]]
}
# retry SECONDS CMD...: retries CMD every second until it succeeds or time runs out.
retry() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 1
    done
    return 1
}
# flink_cleanup NS: deletes the namespace's Flink resources while the operator still runs (so
# its finalizers cancel jobs and dispose snapshots), waits up to 90 s, strips the finalizers of
# whatever is left (the operator may be gone), then deletes the namespace.
flink_cleanup() {
    local ns=$1 kind o i
    kubectl -n "$ns" delete flinksessionjobs,flinkstatesnapshots --all --wait=false >/dev/null 2>&1
    kubectl -n "$ns" delete flinkdeployments --all --wait=false >/dev/null 2>&1
    for ((i = 0; i < 90; i++)); do
        [[ -z $(kubectl -n "$ns" get flinkdeployments,flinksessionjobs,flinkstatesnapshots -o name 2>/dev/null) ]] && break
        sleep 1
    done
    for kind in flinksessionjobs flinkstatesnapshots flinkdeployments; do
        for o in $(kubectl -n "$ns" get "$kind" -o name 2>/dev/null); do
            kubectl -n "$ns" patch "$o" --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
        done
    done
    kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1
}
