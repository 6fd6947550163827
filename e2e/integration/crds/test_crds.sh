#!/usr/bin/env bash
# test_crds.sh - Weir's CRDs against the real apiserver (up.sh --no-node is enough):
#   * the committed CRDs are what crds/generate.py produces (one source of truth)
#   * each CRD installs with client-side and with server-side apply, and stays far below the
#     256 KiB last-applied annotation limit
#   * every fixture (the seeds' and upstream's manifests, Weir's own) applies unchanged, and a
#     second server-side apply changes nothing
#   * a table of invalid objects is rejected, naming the field and the message
#   * printer columns, `kubectl get flink`, short names, explain, scale and status work
#   * every spec field the operator's code reads exists in the CRDs
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
source "$ROOT/e2e/tests/lib.sh"
eval "$(bash "$ROOT/e2e/cluster/up.sh" --no-node)" || { echo "FAIL cluster up"; exit 1; }
PY=/usr/bin/python3 # Debian's, with python3-yaml (installed by make deps)
HERE=$ROOT/e2e/integration/crds

check "crds/*.yaml are up to date with crds/generate.py" "$PY" "$ROOT/crds/generate.py" --check

crd_ok=1
for f in "$ROOT"/crds/*.flink.apache.org.yaml; do
    name=$(basename "$f" .yaml)
    if ! out=$(kubectl apply -f "$f" 2>&1); then
        fail "client-side apply of $name: $out"; crd_ok=0; continue
    fi
    pass "client-side apply of $name"
    if ! out=$(kubectl apply --server-side --force-conflicts -f "$f" 2>&1); then
        fail "server-side apply of $name: $out"; crd_ok=0; continue
    fi
    pass "server-side apply of $name"
    size=$(stat -c %s "$f")
    if ((size < 262144 / 2)); then
        pass "$name is $size bytes (client-side apply limit 262144)"
    else
        fail "$name is $size bytes: too close to the client-side apply limit"
    fi
    kubectl wait --for=condition=Established --timeout=60s "crd/$name" >/dev/null ||
        { fail "$name not Established"; crd_ok=0; }
done
((crd_ok)) || { finish; exit 1; }

# The three helpers print their own PASS/FAIL lines and a CASES line each; add them up.
run_py() {
    local out line p f
    out=$("$PY" "$HERE/crdtest.py" "$@" 2>&1)
    echo "$out" | grep -v '^CASES'
    line=$(echo "$out" | grep '^CASES' | tail -1)
    p=$(sed -n 's/.*passed=\([0-9]*\).*/\1/p' <<<"$line")
    f=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$line")
    if [[ -z $line ]]; then
        FAILED=$((FAILED + 1))
        echo "FAIL crdtest.py $1 crashed"
    fi
    PASSED=$((PASSED + ${p:-0}))
    FAILED=$((FAILED + ${f:-0}))
}
mapfile -t fixtures < <(find "$HERE/fixtures" -name '*.yaml' | LC_ALL=C sort)
run_py valid "${fixtures[@]}"
run_py invalid "$HERE/invalid-cases.yaml"
run_py kubectl
run_py fields "$ROOT"
finish
