#!/usr/bin/env bash
# load-image.sh IMAGE... - moves locally built images from the cluster's Docker engine into the
# node's containerd (namespace k8s.io), since there is no registry. Pods then use them with
# imagePullPolicy IfNotPresent or Never.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
(($# > 0)) || die "usage: load-image.sh IMAGE..."
pid_alive containerd || die "the node is not up (run e2e/cluster/up.sh)"
pid_alive dockerd || die "the Docker engine is not up (run e2e/cluster/up.sh)"
export DOCKER_HOST=unix://$DOCKER_SOCK
for img in "$@"; do
    t0=$(date +%s)
    "$DOCKER" save "$img" | ctr -a "$CONTAINERD_SOCK" -n k8s.io images import - >/dev/null
    log "loaded $img into the node in $(($(date +%s) - t0))s"
done
