#!/usr/bin/env bash
# restart-apiserver.sh - stops the local kube-apiserver (SIGTERM, by its recorded PID) and
# starts it again through up.sh --no-node, leaving every other component alone. Tests use it to
# cut watches and connections the way a control-plane upgrade does.
#   e2e/cluster/restart-apiserver.sh [--kill]   (--kill: SIGKILL instead of SIGTERM)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pid_alive kube-apiserver || die "kube-apiserver is not running (run up.sh first)"
if [[ ${1:-} == --kill ]]; then
    kill -KILL "$(cat "$PIDS/kube-apiserver.pid")"
    sleep 0.5
fi
stop kube-apiserver
bash "$ROOT/e2e/cluster/up.sh" --no-node >/dev/null
log "kube-apiserver restarted"
