#!/usr/bin/env bash
# Runs Weir's test tiers and prints one summary line CI can read: "total: N passed, N failed".
#
#   scripts/run-tests.sh unit          cmocka unit tests (ASan+UBSan) + fuzz corpus replay
#   scripts/run-tests.sh integration   cmocka integration tests against a real apiserver
#                                      (brings up e2e/cluster/up.sh --no-node when needed)
#   scripts/run-tests.sh e2e           e2e/tests/**/test_*.sh on the full local Kubernetes
#   scripts/run-tests.sh fuzz-explore  runs each fuzzer for FUZZ_SECONDS (default 60) each
#
# Several tiers may be given; they run in order. Test binaries are built by the Makefile.
# Each test runs in its own process with a timeout; its output goes to build/test-logs/.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
LOGS="$BUILD/test-logs"
mkdir -p "$LOGS"
export WEIR_CACHE=${WEIR_CACHE:-$HOME/.cache/weir}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

PASSED=0
FAILED=0
FAILED_NAMES=()
START_ALL=$(date +%s)

now() { date +%s; }

record() { # name status seconds
    if [[ $2 == 0 ]]; then
        PASSED=$((PASSED + ${4:-1}))
        printf 'PASS %-60s %4ss\n' "$1" "$3"
    else
        FAILED=$((FAILED + ${5:-1}))
        PASSED=$((PASSED + ${4:-0}))
        FAILED_NAMES+=("$1")
        printf 'FAIL %-60s %4ss  (log: %s)\n' "$1" "$3" "$6"
    fi
}

# Runs one cmocka binary; counts its test cases from cmocka's "[  PASSED  ] N test(s)." lines.
run_cmocka() { # binary timeout
    local bin=$1 t=$2 name log rc start p f
    name=${bin#"$BUILD"/san/tests/}
    log="$LOGS/${name//\//_}.log"
    start=$(now)
    timeout --kill-after=10 "$t" "$bin" >"$log" 2>&1
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    p=${p:-0}
    f=${f:-0}
    if [[ $rc != 0 && $f == 0 ]]; then f=1; fi # crashed, sanitizer report, or timeout
    if [[ $rc == 0 ]]; then
        record "$name" 0 $(($(now) - start)) "$p"
    else
        record "$name" 1 $(($(now) - start)) "$p" "$f" "$log"
        tail -n 30 "$log" | sed 's/^/    | /'
    fi
}

tier_unit() {
    echo "== unit tests (ASan+UBSan)"
    local bins
    mapfile -t bins < <(find "$BUILD/san/tests" -type f -executable -name 'test_*' 2>/dev/null | sort)
    for b in "${bins[@]}"; do run_cmocka "$b" 300; done
    echo "== fuzz corpus replay"
    local fz corpus name log start rc files
    while IFS= read -r fz; do
        name=${fz#"$BUILD"/fuzz/bin/}
        corpus="$(dirname "$name")/corpus/$(basename "$name")"
        [[ -d $corpus ]] || { echo "note: $name has no corpus at $corpus"; continue; }
        mapfile -t files < <(find "$corpus" -type f | sort)
        log="$LOGS/${name//\//_}.log"
        start=$(now)
        timeout --kill-after=10 600 "$fz" -runs=0 "${files[@]}" >"$log" 2>&1
        rc=$?
        if [[ $rc == 0 ]]; then
            record "$name (${#files[@]} inputs)" 0 $(($(now) - start))
        else
            record "$name (${#files[@]} inputs)" 1 $(($(now) - start)) 0 1 "$log"
            tail -n 30 "$log" | sed 's/^/    | /'
        fi
    done < <(find "$BUILD/fuzz/bin" -type f -executable -name 'fuzz_*' 2>/dev/null | sort)
}

fuzz_explore() {
    local secs=${FUZZ_SECONDS:-60} fz name corpus
    while IFS= read -r fz; do
        name=${fz#"$BUILD"/fuzz/bin/}
        corpus="$(dirname "$name")/corpus/$(basename "$name")"
        mkdir -p "$corpus"
        echo "== fuzzing $name for ${secs}s (new inputs land in $corpus)"
        "$fz" -max_total_time="$secs" -timeout=10 "$corpus" >"$LOGS/fuzz-explore.log" 2>&1
        record "$name explore" $? "$secs" 1 1 "$LOGS/fuzz-explore.log"
    done < <(find "$BUILD/fuzz/bin" -type f -executable -name 'fuzz_*' 2>/dev/null | sort)
}

# Brings the local cluster up if it is not; remembers whether we started it.
STARTED_CLUSTER=0
cluster_env() { # --no-node or ""
    local out
    if ! out=$(bash e2e/cluster/up.sh "$@" 2>"$LOGS/cluster-up.log"); then
        echo "cluster: up.sh failed; last lines of $LOGS/cluster-up.log:" >&2
        tail -n 40 "$LOGS/cluster-up.log" | sed 's/^/    | /' >&2
        return 1
    fi
    eval "$out"
    STARTED_CLUSTER=1
}

tier_integration() {
    echo "== integration tests (real kube-apiserver + etcd)"
    local start
    start=$(now)
    if ! cluster_env --no-node; then
        record "cluster up --no-node" 1 $(($(now) - start)) 0 1 "$LOGS/cluster-up.log"
        return
    fi
    echo "cluster: control plane up in $(($(now) - start))s"
    local bins
    mapfile -t bins < <(find "$BUILD/san/tests" -type f -executable -name 'itest_*' 2>/dev/null | sort)
    for b in "${bins[@]}"; do run_cmocka "$b" 600; done
    local t
    while IFS= read -r t; do run_script "$t" 1200; done < <(find e2e/integration -name 'test_*.sh' 2>/dev/null | LC_ALL=C sort)
}

# Runs one bash test; it prints PASS/FAIL lines of its own, and its exit code decides.
# A script may report how many cases it ran with a line "CASES passed=N failed=M".
run_script() { # script timeout
    local t=$1 name log rc start p f
    name=${t#e2e/}
    log="$LOGS/${name//\//_}.log"
    start=$(now)
    timeout --kill-after=30 "$2" bash "$t" >"$log" 2>&1
    rc=$?
    p=$(sed -n 's/^CASES passed=\([0-9]*\) failed=\([0-9]*\)$/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^CASES passed=\([0-9]*\) failed=\([0-9]*\)$/\2/p' "$log" | tail -1)
    if [[ $rc == 0 && ${f:-0} == 0 ]]; then
        record "$name" 0 $(($(now) - start)) "${p:-1}"
    else
        [[ ${f:-0} == 0 ]] && f=1
        record "$name" 1 $(($(now) - start)) "${p:-0}" "$f" "$log"
        # The failed checks first (a CI viewer may show only the first lines), then the tail.
        grep -E '^FAIL' "$log" | head -n 10 | sed 's/^/    ! /'
        tail -n 40 "$log" | sed 's/^/    | /'
    fi
    grep -E '^(TIME|MEASURE)' "$log" 2>/dev/null | sed 's/^/    /'
}

tier_e2e() {
    echo "== e2e tests (local Kubernetes with a node)"
    local start
    start=$(now)
    if ! cluster_env; then
        record "cluster up" 1 $(($(now) - start)) 0 1 "$LOGS/cluster-up.log"
        return
    fi
    echo "cluster: up with node in $(($(now) - start))s"
    local t
    # test_down.sh (which tears the cluster down) runs last.
    while IFS= read -r t; do
        run_script "$t" 1800
    done < <(find e2e/tests -name 'test_*.sh' 2>/dev/null | LC_ALL=C sort | awk '/test_down\.sh$/{last=$0; next} {print} END{if(last) print last}')
}

for tier in "$@"; do
    tstart=$(now)
    case $tier in
    unit) tier_unit ;;
    integration) tier_integration ;;
    e2e) tier_e2e ;;
    fuzz-explore) fuzz_explore ;;
    *) echo "unknown tier: $tier" >&2; exit 2 ;;
    esac
    echo "TIME tier=$tier seconds=$(($(now) - tstart))"
done

# Leave nothing behind that we started unless asked to keep it (WEIR_KEEP_CLUSTER=1).
if [[ $STARTED_CLUSTER == 1 && ${WEIR_KEEP_CLUSTER:-0} != 1 ]]; then
    bash e2e/cluster/down.sh >"$LOGS/cluster-down.log" 2>&1 || echo "warning: down.sh failed (see $LOGS/cluster-down.log)"
fi

echo "TIME total seconds=$(($(now) - START_ALL))"
if ((FAILED > 0)); then
    echo "failed: ${FAILED_NAMES[*]}"
fi
echo "total: $PASSED passed, $FAILED failed"
((FAILED == 0))
