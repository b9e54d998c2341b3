#!/usr/bin/env bash
# A short soak over a real shaped link, with a real flap and a rate cut in the middle: two network
# namespaces joined by a veth pair, each end shaped by tbf to RATE (default 400mbit); the client's end
# goes down for 0.3 s at 2.2 s and the shaper drops to a quarter of RATE at 3.8 s; a latency probe
# (PROBE_RATE round trips a second, default 200) runs beside the traffic. Writes
# OUTDIR/soak.jsonl (the series) and OUTDIR/soak.json (the report); results-schema/examples'
# veth-tcp-soak.* came from it. Needs root; stops only the server it started and removes only the
# namespaces it made.
#   scripts/soak-veth.sh OUTDIR [SECONDS] [SAMPLE_INTERVAL]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/soak-veth.sh OUTDIR [SECONDS] [SAMPLE_INTERVAL]}
seconds=${2:-6}
interval=${3:-0.5}
rate_mbit=${RATE_MBIT:-400}
mkdir -p "$out"
if [ -e "$out/soak.jsonl" ]; then
  echo "soak-veth.sh: $out/soak.jsonl exists; give a new OUTDIR" >&2
  exit 2
fi
cargo build --release --quiet --bin linkbench-server --bin linkbench-client
bin=target/release
tag="lbsoak$$"
c="${tag}c" s="${tag}s"
server_pid=""
cleanup() {
  # The server exits non-zero when killed: nothing here may stop the cleanup (set -e).
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  ip netns del "$c" 2>/dev/null || true
  ip netns del "$s" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$c"
ip netns add "$s"
ip -n "$c" link add veth0 type veth peer name veth1 netns "$s"
ip -n "$c" addr add 10.253.0.1/30 dev veth0
ip -n "$s" addr add 10.253.0.2/30 dev veth1
for ns in "$c" "$s"; do ip -n "$ns" link set lo up; done
ip -n "$c" link set veth0 up
ip -n "$s" link set veth1 up
shape() { ip netns exec "$1" tc qdisc "$2" dev "$3" root tbf rate "${4}mbit" burst 400kb latency 50ms; }
shape "$c" add veth0 "$rate_mbit"
shape "$s" add veth1 "$rate_mbit"
ip netns exec "$s" "$bin/linkbench-server" --bind 10.253.0.2:18515 2>"$out/server.log" &
server_pid=$!
for _ in $(seq 50); do grep -q "listening on" "$out/server.log" && break; sleep 0.1; done
ip netns exec "$c" "$bin/linkbench-client" 10.253.0.2:18515 --soak "$seconds" --warmup 0.5 \
  --sample-interval "$interval" --series "$out/soak.jsonl" --json "$out/soak.json" \
  --probe-rate "${PROBE_RATE:-200}" --label link=veth-tbf-${rate_mbit}mbit -q &
client_pid=$!
sleep 2.2
ip -n "$c" link set veth0 down
sleep 0.3
ip -n "$c" link set veth0 up
sleep 1.3
shape "$c" change veth0 $((rate_mbit / 4))
code=0
wait "$client_pid" || code=$?
echo "soak-veth.sh: client exit $code; $(wc -l <"$out/soak.jsonl") samples in $out/soak.jsonl"
exit "$code"
