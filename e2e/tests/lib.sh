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
