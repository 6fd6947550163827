#!/usr/bin/env bash
# images.sh - `make images`: builds weir/runtime:$TAG and weir/operator:$TAG (TAG default dev)
# from Dockerfile.runtime / Dockerfile.operator with the local cluster's Docker engine (started
# by e2e/cluster/up.sh with its debootstrapped debian:bookworm-slim), loads them into the node's
# containerd, and prints their sizes. Any Docker that can pull debian:bookworm-slim builds the
# same files: `docker build -f Dockerfile.runtime -t weir/runtime:dev .`
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TAG=${TAG:-dev}
REVISION=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
eval "$(bash "$ROOT/e2e/cluster/up.sh")"
DOCKER=/usr/bin/docker
for kind in runtime operator; do
    t0=$(date +%s)
    echo "images: building weir/$kind:$TAG (Dockerfile.$kind)" >&2
    "$DOCKER" build --network=host -q -f "$ROOT/Dockerfile.$kind" -t "weir/$kind:$TAG" \
        --build-arg VERSION="$TAG" --build-arg REVISION="$REVISION" "$ROOT" >/dev/null
    size=$("$DOCKER" image inspect -f '{{.Size}}' "weir/$kind:$TAG")
    echo "images: weir/$kind:$TAG built in $(($(date +%s) - t0))s, $((size / 1000000)) MB uncompressed" >&2
done
bash "$ROOT/e2e/cluster/load-image.sh" "weir/runtime:$TAG" "weir/operator:$TAG"
