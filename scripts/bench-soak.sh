#!/usr/bin/env bash
# What sampling a soak costs, on loopback (a benchmark, not a test: figures are printed, never asserted).
#  1. Throughput: ROUNDS interleaved pairs of the same pinned 1-stream TCP trial, once plain
#     (--duration) and once as a soak sampling every second (--soak --sample-interval 1); prints each
#     round's ratio soak/plain, their median, and what one sample cost each side (mean, max, us).
#  2. The latency probe: ROUNDS interleaved pairs of the same trial, plain and with --probe-rate
#     PROBE_RATE (default 1000; 0 skips this part); prints each round's ratio probe/plain, their median,
#     and the probe's p50/p99. The client's threads are pinned to one CPU, so its probe shares that CPU
#     with the sender: the cost measured is the shared-CPU case.
#  3. Memory: one soak of MEMORY_SECONDS (default 180; 0 skips it) sampling every 0.1 s; prints both
#     processes' RSS at 10 s and at the end, and the series' line count against the expected count.
# Stops only the server it started. Env: ROUNDS (5), SECONDS_PER_TEST (10), PROBE_RATE (1000),
# MEMORY_SECONDS (180), PORT (18611), CLIENT_CPU (0), SERVER_CPU (1).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}
secs=${SECONDS_PER_TEST:-10}
mem_secs=${MEMORY_SECONDS:-180}
probe_rate=${PROBE_RATE:-1000}
port=${PORT:-18611}
ccpu=${CLIENT_CPU:-0}
scpu=${SERVER_CPU:-1}
cargo build --release --quiet --bin linkbench-server --bin linkbench-client
bin=target/release
work=$(mktemp -d)
server_pid=""
cleanup() {
  # The server exits non-zero when killed: nothing here may stop the cleanup (set -e).
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
if ss -ltn "sport = :$port" | grep -q LISTEN; then
  echo "bench-soak.sh: port $port is in use; set PORT" >&2
  exit 2
fi
taskset -c "$scpu" "$bin/linkbench-server" --bind "127.0.0.1:$port" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 50); do grep -q "listening on" "$work/server.log" && break; sleep 0.1; done
gbps() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["bandwidth"]["bits_per_second"]/1e9)' "$1"; }
client() { taskset -c "$ccpu" "$bin/linkbench-client" "127.0.0.1:$port" --cpu "$ccpu" --server-cpu "$scpu" -q "$@" >/dev/null 2>&1 || true; }
echo "== throughput: ${rounds} interleaved rounds of ${secs} s, plain vs --soak --sample-interval 1"
ratios=()
for r in $(seq "$rounds"); do
  client --duration "$secs" --json "$work/plain-$r.json"
  client --soak "$secs" --sample-interval 1 --series "$work/soak-$r.jsonl" --json "$work/soak-$r.json"
  p=$(gbps "$work/plain-$r.json"); s=$(gbps "$work/soak-$r.json")
  ratio=$(python3 -c "print(f'{$s/$p:.3f}')")
  ratios+=("$ratio")
  cost=$(python3 - "$work/soak-$r.json" <<'PY'
import json, sys
soak = json.load(open(sys.argv[1]))["results"][0]["soak"]
parts = []
for side in ("client", "server"):
    f = soak[side + "_figures"]
    if f:
        parts.append("%s %.0f/%.0f us" % (side, f["sample_cost_mean_us"], f["sample_cost_max_us"]))
print(", ".join(parts))
PY
)
  echo "round $r: plain $p Gbit/s, soak $s Gbit/s, ratio $ratio; sample cost mean/max: $cost"
done
python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print(f'median ratio soak/plain {statistics.median(v):.3f} (min {min(v):.3f}, max {max(v):.3f}, {len(v)} rounds)')" "${ratios[@]}"
if [ "$probe_rate" -gt 0 ]; then
  echo "== probe: ${rounds} interleaved rounds of ${secs} s, plain vs --probe-rate ${probe_rate}"
  ratios=()
  for r in $(seq "$rounds"); do
    client --duration "$secs" --json "$work/pplain-$r.json"
    client --duration "$secs" --probe-rate "$probe_rate" --json "$work/probe-$r.json"
    p=$(gbps "$work/pplain-$r.json"); q=$(gbps "$work/probe-$r.json")
    ratio=$(python3 -c "print(f'{$q/$p:.3f}')")
    ratios+=("$ratio")
    lat=$(python3 - "$work/probe-$r.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["results"][0]["probe"]
l = p["round_trip_ns"]
print("probe %d round trips, p50 %.0f us, p99 %.0f us, %d missed" % (p["count"], l["p50"] / 1e3, l["p99"] / 1e3, p["missed_slots"]))
PY
)
    echo "round $r: plain $p Gbit/s, with probe $q Gbit/s, ratio $ratio; $lat"
  done
  python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print(f'median ratio probe/plain {statistics.median(v):.3f} (min {min(v):.3f}, max {max(v):.3f}, {len(v)} rounds)')" "${ratios[@]}"
fi
if [ "$mem_secs" -le 0 ]; then
  exit 0
fi
echo "== memory: one soak of ${mem_secs} s sampling every 0.1 s"
taskset -c "$ccpu" "$bin/linkbench-client" "127.0.0.1:$port" --cpu "$ccpu" --server-cpu "$scpu" -q \
  --soak "$mem_secs" --sample-interval 0.1 --series "$work/mem.jsonl" --json "$work/mem.json" >/dev/null 2>&1 &
cpid=$!
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
sleep 10
c0=$(rss "$cpid"); s0=$(rss "$server_pid")
sleep $((mem_secs - 12))
c1=$(rss "$cpid"); s1=$(rss "$server_pid")
wait "$cpid" || true
lines=$(wc -l <"$work/mem.jsonl")
expected=$(python3 -c "print(round(($mem_secs + 1) / 0.1))")
echo "client RSS ${c0} -> ${c1} KiB (+$((c1 - c0))), server RSS ${s0} -> ${s1} KiB (+$((s1 - s0)))"
echo "series: ${lines} lines, expected about ${expected} (1 s warm-up + ${mem_secs} s at 0.1 s)"
