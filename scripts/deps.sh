#!/usr/bin/env bash
# Installs what linkbench needs on Debian/Ubuntu, idempotently:
#   - the Rust toolchain must already be there (cargo); this script says so clearly if it is not
#   - to build and run (--build, what scripts/demo.sh asks for): a C toolchain, cmake and libclang for
#     the RDMA bindings, CA certificates for cargo's downloads
#   - to test as well (the default, what scripts/test.sh asks for): iproute2 and procps, Chromium and a
#     font (the HTML comparison is rendered), a Slurm cluster, sshd and pdsh (the harness testbed), and
#     the Python HdrHistogram reference decoder (PyPI: hdrhistogram) for the interop test
#   - --peers: also the peer benchmark tools (iperf3, sockperf, qperf) and what scripts/bench-peers.sh
#     measures them with (GNU time, ss, ps, python3); `--build --peers` is all that script needs
# Usage: scripts/deps.sh [--build] [--peers]
set -euo pipefail

want_tests=1
want_peers=0
for arg in "$@"; do
  case "$arg" in
    --build) want_tests=0 ;;
    --peers) want_peers=1 ;;
    *) echo "deps.sh: error: unknown option $arg (usage: scripts/deps.sh [--build] [--peers])" >&2; exit 2 ;;
  esac
done

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

# Building: the RDMA backend's rdma-mummy-sys builds a small C shim (cmake, a C compiler) and its
# bindings (bindgen: libclang). Not rdma-core: libibverbs is loaded at run time, so the binaries start
# and run TCP without it.
apt_install build-essential cmake libclang-dev ca-certificates
if [ $want_tests -eq 1 ]; then
  apt_install pkg-config iproute2 procps python3 python3-pip chromium fonts-dejavu-core
  # The harness tests: a Slurm cluster, sshd and pdsh inside network namespaces (harness/testbed/).
  apt_install slurm-wlm munge pdsh openssh-server openssh-client
fi
[ $want_peers -eq 1 ] && apt_install iperf3 sockperf qperf time iproute2 procps python3

if [ $want_tests -eq 1 ]; then
  # Python reference HdrHistogram decoder for tests/interop.rs. Use the python3 first on PATH (the one
  # the tests will run).
  if ! python3 -c 'import hdrh' >/dev/null 2>&1; then
    echo "deps.sh: installing the Python hdrhistogram package"
    python3 -m pip install -q hdrhistogram 2>/dev/null \
      || python3 -m pip install -q --break-system-packages hdrhistogram
  fi
  python3 -c 'import hdrh' || { echo "deps.sh: error: Python package hdrhistogram did not install" >&2; exit 1; }
fi
echo "deps.sh: ready"
