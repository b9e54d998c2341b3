#!/usr/bin/env bash
# The loopback demo: builds linkbench, starts a server on 127.0.0.1, runs a bandwidth test (3 trials) and
# a latency test against it, and writes the reports.
# Usage: scripts/demo.sh [OUTDIR]   (default: out/)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out}
mkdir -p "$out"
# Only what building and running need; scripts/test.sh installs the test tools.
scripts/deps.sh --build >/dev/null
cargo build --release --quiet --bins
bin=target/release

# Port 0: the kernel picks a free port, which the server logs.
"$bin/linkbench-server" --bind "127.0.0.1:${LINKBENCH_PORT:-0}" 2>"$out/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q "listening on" "$out/server.log" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on" "$out/server.log" || { echo "demo.sh: error: server did not start:" >&2; cat "$out/server.log" >&2; exit 1; }
addr=$(sed -n 's/.*listening on //p' "$out/server.log" | head -1)

echo "== bandwidth, client -> server, 128 KiB writes, 3 trials of 3 s"
"$bin/linkbench-client" "$addr" --test bw --size 128K --duration 3 --repeat 3 \
  --label link=loopback --json "$out/demo-bw.json"
echo
echo "== round-trip latency, 64-byte messages, 3 s"
"$bin/linkbench-client" "$addr" --test lat --size 64 --duration 3 \
  --label link=loopback --json "$out/demo-lat.json"
echo
echo "reports: $out/demo-bw.json $out/demo-lat.json"
