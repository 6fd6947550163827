#!/usr/bin/env bash
# Installs the Debian packages Weir's build, tests and local cluster need.
# Idempotent: installs only what is missing. Called by `make deps`.
set -euo pipefail

BUILD_PKGS=(build-essential pkg-config clang clang-format clang-tidy cppcheck
  libclang-rt-14-dev libfuzzer-14-dev llvm
  libcurl4-openssl-dev libssl-dev libjansson-dev libyaml-dev libmicrohttpd-dev
  librdkafka-dev librocksdb-dev libzstd-dev liblz4-dev libxxhash-dev libsnappy-dev libbz2-dev
  libcmocka-dev re2c lemon python3 python3-yaml python3-prometheus-client curl jq)
CLUSTER_PKGS=(containerd runc containernetworking-plugins docker.io debootstrap
  iptables conntrack iproute2 kmod procps psmisc util-linux socat openssl ethtool)

want=("${BUILD_PKGS[@]}")
if [[ "${1:-}" != "--build-only" ]]; then want+=("${CLUSTER_PKGS[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) != *'install ok installed'* ]]; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "deps: all ${#want[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
# apt lists may be missing on a fresh machine.
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
