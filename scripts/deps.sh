#!/usr/bin/env bash
# Installs what linkbench's build, tests and benchmarks need on Debian/Ubuntu, idempotently:
#   - the Rust toolchain must already be there (cargo); this script says so clearly if it is not
#   - Debian packages: build tools (with cmake and libclang for the RDMA bindings), iproute2, and the
#     peer tools (iperf3, sockperf, qperf)
#   - the Python HdrHistogram reference decoder (PyPI: hdrhistogram) for the interop test
# Usage: scripts/deps.sh [--peers]   (--peers: also the peer benchmark tools)
set -euo pipefail

want_peers=0
[ "${1:-}" = "--peers" ] && want_peers=1

if ! command -v cargo >/dev/null 2>&1; then
  echo "deps.sh: error: cargo not found; install Rust (https://rustup.rs) and re-run" >&2
  exit 1
fi

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: error: need root to install Debian packages: ${missing[*]}" >&2
    exit 1
  fi
  echo "deps.sh: installing ${missing[*]}"
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -newermt '-1 day' 2>/dev/null | head -1)" ]; then
    apt-get update -q >/dev/null
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

apt_install build-essential pkg-config iproute2 python3 python3-pip ca-certificates procps chromium fonts-dejavu-core
# The RDMA backend: rdma-mummy-sys builds a small C shim (cmake) and its bindings (bindgen: libclang).
# Not rdma-core: libibverbs is loaded at run time, so the binaries start and run TCP without it.
apt_install cmake libclang-dev
# The harness tests: a Slurm cluster, sshd and pdsh inside network namespaces (harness/testbed/).
apt_install slurm-wlm munge pdsh openssh-server openssh-client
[ $want_peers -eq 1 ] && apt_install iperf3 sockperf qperf

# Python reference HdrHistogram decoder for tests/interop.rs. Use the python3 first on PATH (the one the
# tests will run).
if ! python3 -c 'import hdrh' >/dev/null 2>&1; then
  echo "deps.sh: installing the Python hdrhistogram package"
  python3 -m pip install -q hdrhistogram 2>/dev/null \
    || python3 -m pip install -q --break-system-packages hdrhistogram
fi
python3 -c 'import hdrh' || { echo "deps.sh: error: Python package hdrhistogram did not install" >&2; exit 1; }
echo "deps.sh: ready"
