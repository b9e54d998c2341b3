#!/usr/bin/env bash
# Peer benchmark on loopback: linkbench, iperf3, sockperf and qperf interleaved in one run, so that the
# shared machine's noise hits every tool alike. Prints medians over the rounds and the ratios that matter:
#   linkbench bw / iperf3 bw          (TCP, 1 stream, both at their default 128 KiB writes; and linkbench at 64 KiB)
#   linkbench p50 / sockperf p50      (TCP ping-pong, 64-byte messages; sockperf prints HALF the round
#                                      trip, so linkbench's round-trip p50 is halved for the ratio)
# Every tool is pinned the same way: client on CPU 0, server on the last CPU.
# Usage: scripts/bench-peers.sh [OUTDIR] ; env ROUNDS (default 6), SECONDS_PER_TEST (default 5),
#        CRITERION=1 also runs the hot-path criterion benches.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/bench}
rounds=${ROUNDS:-6}
secs=${SECONDS_PER_TEST:-5}
mkdir -p "$out"
scripts/deps.sh --peers >/dev/null
cargo build --release --quiet --bins
bin=$PWD/target/release
last_cpu=$(( $(nproc) - 1 ))
C=0; S=$last_cpu

# The servers this script starts, and only those, are stopped when it ends (a user's own servers of
# the same tools are left alone).
servers=()
cleanup() { for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

"$bin/linkbench-server" --bind 127.0.0.1:18777 2>"$out/linkbench-server.log" & servers+=($!)
taskset -c $S qperf >/dev/null 2>&1 & servers+=($!)
taskset -c $S sockperf sr --tcp -i 127.0.0.1 -p 18778 >"$out/sockperf-server.log" 2>&1 & servers+=($!)
taskset -c $S iperf3 -s -p 18779 >"$out/iperf3-server.log" 2>&1 & servers+=($!)
# Each server is ready when its port listens (qperf's default 19765).
for port in 18777 18778 18779 19765; do
  for _ in $(seq 1 100); do
    ss -ltn "sport = :$port" | grep -q LISTEN && break
    sleep 0.1
  done
done

: >"$out/samples.tsv"
sample() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$out/samples.tsv"; }
jq_py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds"
  lb_bw() {
    for size in 64K 128K; do
      "$bin/linkbench-client" 127.0.0.1:18777 -q --test bw --size $size --duration "$secs" --warmup 1 \
        --cpu $C --server-cpu $S --json "$out/lb-bw-$size-$r.json" >/dev/null 2>&1
      sample "linkbench_bw_$size" "$r" "$(jq_py "$out/lb-bw-$size-$r.json" "d['results'][0]['bandwidth']['bits_per_second']/1e9")"
    done
  }
  iperf_bw() {
    # iperf3 at its default length (128 KiB), 1 s omitted like linkbench's warm-up
    iperf3 -c 127.0.0.1 -p 18779 -t "$secs" -O 1 -A $C,$S -J >"$out/iperf3-$r.json"
    sample iperf3_bw "$r" "$(jq_py "$out/iperf3-$r.json" "d['end']['sum_received']['bits_per_second']/1e9")"
  }
  # Alternate which tool goes first, so neither always inherits the other's machine state.
  if [ $((r % 2)) -eq 1 ]; then lb_bw; iperf_bw; else iperf_bw; lb_bw; fi
  # qperf bandwidth (GB/sec = 10^9 bytes) and one-way latency (half round trip)
  taskset -c $C qperf 127.0.0.1 -t "$secs" -m 64K tcp_bw -m 64 tcp_lat >"$out/qperf-$r.txt"
  sample qperf_bw "$r" "$(awk '$1=="bw" {v=$3; u=$4; m=(u~/^GB/)?8:(u~/^MB/)?0.008:(u~/^KB/)?0.000008:1; print v*m}' "$out/qperf-$r.txt")"
  sample qperf_lat_half_rtt_us "$r" "$(awk '$1=="latency" {v=$3; u=$4; m=(u=="ms")?1000:(u=="ns")?0.001:1; print v*m}' "$out/qperf-$r.txt")"
  lb_lat() {
    "$bin/linkbench-client" 127.0.0.1:18777 -q --test lat --size 64 --duration "$secs" --warmup 1 \
      --cpu $C --server-cpu $S --json "$out/lb-lat-$r.json" >/dev/null 2>&1
    sample linkbench_lat_p50_rtt_us "$r" "$(jq_py "$out/lb-lat-$r.json" "d['results'][0]['latency']['round_trip_ns']['p50']/1000")"
    sample linkbench_lat_p99_rtt_us "$r" "$(jq_py "$out/lb-lat-$r.json" "d['results'][0]['latency']['round_trip_ns']['p99']/1000")"
  }
  sockperf_lat() {
    taskset -c $C sockperf pp --tcp -i 127.0.0.1 -p 18778 -t "$secs" -m 64 >"$out/sockperf-$r.txt" 2>&1
    sample sockperf_p50_half_rtt_us "$r" "$(awk '/percentile 50.000/ {print $NF}' "$out/sockperf-$r.txt")"
    sample sockperf_p99_half_rtt_us "$r" "$(awk '/percentile 99.000/ {print $NF}' "$out/sockperf-$r.txt")"
  }
  if [ $((r % 2)) -eq 1 ]; then lb_lat; sockperf_lat; else sockperf_lat; lb_lat; fi
done

python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys, collections
out, rounds = sys.argv[1], sys.argv[2]
s = collections.defaultdict(list)
for line in open(f"{out}/samples.tsv"):
    k, _, v = line.rstrip("\n").split("\t")
    s[k].append(float(v))
med = {k: statistics.median(v) for k, v in s.items()}
spread = {k: (min(v), max(v)) for k, v in s.items()}
clock = json.load(open(f"{out}/lb-lat-1.json"))["clock"]["client"]
host = json.load(open(f"{out}/lb-lat-1.json"))["client"]
print()
print(f"loopback, {host['logical_cpus']} CPUs ({host['cpu_model']}), kernel {host['kernel']}; clocksource "
      f"{clock['clocksource']}, clock read {clock['read_cost_ns']:.1f} ns; {rounds} interleaved rounds, medians [min-max]")
print(f"{'figure':38} {'median':>10} {'min':>10} {'max':>10}")
for k in sorted(med):
    print(f"{k:38} {med[k]:10.2f} {spread[k][0]:10.2f} {spread[k][1]:10.2f}")
ratios = {
    "linkbench bw / iperf3 bw (both at defaults: 128K writes)": med["linkbench_bw_128K"] / med["iperf3_bw"],
    "linkbench bw 64K / iperf3 bw 128K": med["linkbench_bw_64K"] / med["iperf3_bw"],
    "linkbench bw 64K / qperf tcp_bw 64K": med["linkbench_bw_64K"] / med["qperf_bw"],
    "linkbench p50/2 / sockperf p50 (64 B)": med["linkbench_lat_p50_rtt_us"] / 2 / med["sockperf_p50_half_rtt_us"],
    "linkbench p99/2 / sockperf p99 (64 B)": med["linkbench_lat_p99_rtt_us"] / 2 / med["sockperf_p99_half_rtt_us"],
    "linkbench p50/2 / qperf tcp_lat (64 B)": med["linkbench_lat_p50_rtt_us"] / 2 / med["qperf_lat_half_rtt_us"],
}
# Paired: the ratio within each round (both tools saw the same minute of the machine), then the median.
def paired(a, b, scale=1.0):
    return statistics.median(x * scale / y for x, y in zip(s[a], s[b]))
ratios["paired per round: linkbench bw / iperf3 bw (128K)"] = paired("linkbench_bw_128K", "iperf3_bw")
ratios["paired per round: linkbench p50/2 / sockperf p50"] = paired("linkbench_lat_p50_rtt_us", "sockperf_p50_half_rtt_us", 0.5)
print()
for k, v in ratios.items():
    print(f"{k:52} {v:6.3f}")
json.dump({"medians": med, "min_max": spread, "ratios": ratios, "clock": clock}, open(f"{out}/summary.json", "w"), indent=1)
print(f"\nraw outputs and summary.json in {out}")
PY

if [ "${CRITERION:-0}" = 1 ]; then
  cargo bench --quiet --bench hot_path 2>&1 | grep -E "^(timestamp|frame)|time:"
fi
