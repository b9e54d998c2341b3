#!/usr/bin/env bash
# Peer benchmark on loopback: linkbench, iperf3, sockperf and qperf interleaved in one run, so that the
# shared machine's noise hits every tool alike. Each round runs, in an order that is reversed every other
# round (so that no test always inherits another's machine state, and every test's mean position over
# two rounds is the same):
#   1 stream, 128 KiB writes: linkbench copy (the default --recv-mode), --recv-mode discard,
#                             --recv-mode zerocopy, linkbench at 64 KiB, iperf3 (its default 128 KiB)
#   2 streams, 128 KiB:       linkbench --streams 2, iperf3 -P 2
#   qperf tcp_bw (64 KiB) and tcp_lat (64 B)
#   latency, 64 B ping-pong:  linkbench --test lat, sockperf ping-pong
# and prints per-round (paired) ratios, medians and min/max, and every tool's receiver CPU measured the
# same way (see "CPU" below). Every tool is pinned the same way: client on CPU 0, server on the last CPU
# (servers and clients under taskset; iperf3 also with -A C,S; linkbench with --cpu/--server-cpu).
#
# CPU, measured identically for every tool: the receiving server is a long-lived process of its own per
# tool (linkbench-server, iperf3 -s, sockperf sr), so its utime+stime from /proc/PID/stat (clock ticks,
# getconf CLK_TCK) read just before and just after one test is exactly what that test cost the receiving
# process: data path, control and warm-up alike. That delta is divided by the work the server did in the
# same span:
#   bandwidth: CPU-seconds per GB (10^9 bytes) of ALL payload bytes the server received in the test,
#     warm-up included, because the process CPU includes the warm-up too:
#       linkbench: sum over directions of warmup_bytes + bytes (bytes alone exclude the warm-up);
#       iperf3 (-O 1, the omitted first second is its warm-up): end.sum_received.bytes (the server's count
#       after the omitted second) + the bytes of the server's own omitted intervals, from
#       server_output_json (the server runs with -J and the client asks --get-server-output); the two add
#       up to everything the server read.
#   latency: CPU-microseconds per round trip, of the server process (it echoes every round trip) and of
#     the client process (GNU time's user+system of the whole client process, start-up included, so it
#     reads a little high for both tools), over all round trips of the run, warm-up included:
#       linkbench: results[0].messages + latency.warmup_round_trips;
#       sockperf: "[Total Run] ... ReceivedMessages=N" (warm-up included; the few dummy messages of its
#       "warmup stage" before the run are not counted, a negligible share).
# Bandwidth also shows the sender (client) process's CPU per GB: the whole process under GNU time, start-up
# included. On loopback the sender's system time carries most of the receiver's TCP work (the receive path
# runs in the sending thread's softirq), so the receiver's figure is mostly its copy to user space.
# Printed beside them for reference, each tool's own figure: linkbench's report
# results[0].cpu.server.cpu_s_per_gb / cpu_us_per_round_trip (data threads only, so lower than the
# process figure) and iperf3's end.cpu_utilization_percent.remote_total (server process CPU, percent of
# one core over the test).
#
# Units: Gbit/s are 10^9 bits per second of payload; GB is 10^9 bytes; us is microseconds.
# Usage: scripts/bench-peers.sh [OUTDIR] ; env ROUNDS (default 8), SECONDS_PER_TEST (default 5),
#        QUIET_CORES (default 0.2, see host_idle below), CRITERION=1 also runs the hot-path criterion benches.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/bench}
rounds=${ROUNDS:-8}
secs=${SECONDS_PER_TEST:-5}
mkdir -p "$out"
scripts/deps.sh --build --peers >/dev/null
cargo build --release --quiet --bins
bin=$PWD/target/release
last_cpu=$(( $(nproc) - 1 ))
C=0; S=$last_cpu
hz=$(getconf CLK_TCK)

# The servers this script starts, and only those, are stopped when it ends, by the PIDs it got (a user's
# own servers of the same tools are left alone). qperf's server forks a child per test, so the
# descendants of each server PID are collected first and stopped with it.
servers=()
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "$child"; descendants "$child"; done
}
cleanup() {
  local pid pids=()
  for pid in "${servers[@]}"; do pids+=("$pid" $(descendants "$pid")); done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

lb_port=18777 sp_port=18778 ip_port=18779 qp_port=18780
taskset -c $S "$bin/linkbench-server" --bind 127.0.0.1:$lb_port 2>"$out/linkbench-server.log" & lb_srv=$!
taskset -c $S qperf -lp $qp_port >/dev/null 2>&1 & qp_srv=$!
taskset -c $S sockperf sr --tcp -i 127.0.0.1 -p $sp_port >"$out/sockperf-server.log" 2>&1 & sp_srv=$!
# -J: the server's per-interval counts (with the omitted second) come back in the client's JSON.
taskset -c $S iperf3 -s -J -p $ip_port >"$out/iperf3-server.log" 2>&1 & ip_srv=$!
servers=("$lb_srv" "$qp_srv" "$sp_srv" "$ip_srv")
# Each server is ready when its port listens; the listener must be the process started here (not a
# user's own server that already held the port; ss names the owner when it can see it).
wait_listen() {
  local port=$1 pid=$2 name=$3 listing
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { echo "bench-peers: $name (port $port) exited at start; is the port taken?" >&2; exit 1; }
    listing=$(ss -ltnpH "sport = :$port" 2>/dev/null || true)
    if [ -n "$listing" ]; then
      if [[ $listing == *pid=* && $listing != *"pid=$pid,"* ]]; then
        echo "bench-peers: port $port is held by another process, not the $name started here: $listing" >&2
        exit 1
      fi
      return 0
    fi
    sleep 0.1
  done
  echo "bench-peers: $name did not listen on port $port within 10 s" >&2; exit 1
}
wait_listen $lb_port "$lb_srv" linkbench-server
wait_listen $qp_port "$qp_srv" "qperf server"
wait_listen $sp_port "$sp_srv" "sockperf server"
wait_listen $ip_port "$ip_srv" "iperf3 server"

# utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat, counted after the
# command name, which may hold spaces; threads that ended are included).
ticks() { local s; s=$(<"/proc/$1/stat"); s=${s##*) }; set -- $s; echo $(( ${12} + ${13} )); }
# Load from outside this benchmark, per round, in cores: the host's time not idle (online CPUs x wall time
# minus idle and iowait from /proc/stat; idle is measured exactly on a tickless kernel, while the busy
# columns are tick samples that miss most of a ping-pong's short runs) minus everything this script ran:
# the servers (their children included: qperf forks one per test) and this shell with every child it
# waited for (the clients, the parsing). Kernel threads (ksoftirqd, kworkers) and idle entry and exit
# count as outside, so a quiet 2-CPU host reads about 0.1. Rounds above QUIET_CORES (default 0.2) are
# marked busy, and the targets are judged on the quiet rounds too.
host_idle() { local a; read -r -a a </proc/stat; echo $(( a[4] + a[5] )); }
ticks_all() { local s; s=$(<"/proc/$1/stat"); s=${s##*) }; set -- $s; echo $(( ${12} + ${13} + ${14} + ${15} )); }
ours() { local pid n=0; for pid in "${servers[@]}" $$; do n=$(( n + $(ticks_all "$pid") )); done; echo $n; }
cpu_s() { python3 -c "import sys; print((int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3]))" "$1" "$2" "$hz"; }

: >"$out/samples.tsv"
sample() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$out/samples.tsv"; }
# Runs python code over a JSON file (as d) that prints "key<TAB>value" lines, recorded for round $r.
samples_from() {
  local file=$1 code=$2; shift 2
  python3 -c "import json,sys
d = json.load(open(sys.argv[1]))
def out(k, v):
    if v is not None: print(f'{k}\t{v}')
$code" "$file" "$@" | while IFS=$'\t' read -r k v; do sample "$k" "$r" "$v"; done
}

# linkbench bandwidth: KEY, then client flags. Receiver = linkbench-server.
lb_bw() {
  local key=$1; shift
  local f="$out/$key-$r.json" t0 t1
  t0=$(ticks "$lb_srv")
  /usr/bin/time -f "%U %S" -o "$out/$key-$r.time" \
    taskset -c $C "$bin/linkbench-client" 127.0.0.1:$lb_port -q --test bw --duration "$secs" --warmup 1 \
    --cpu $C --server-cpu $S --json "$f" "$@" >/dev/null 2>"$out/$key-$r.err"
  t1=$(ticks "$lb_srv")
  samples_from "$f" '
k = sys.argv[2]; cpu = float(sys.argv[3]); want = sys.argv[4]
send_cpu = sum(map(float, open(sys.argv[5]).read().split()))
r = d["results"][0]; dirs = r["bandwidth"]["directions"]
total = sum(x["warmup_bytes"] + x["bytes"] for x in dirs)
out(k + "_gbps", r["bandwidth"]["bits_per_second"] / 1e9)
out(k + "_recv_proc_cpu_s", cpu)
out(k + "_recv_bytes_total", total)
out(k + "_recv_proc_cpu_s_per_gb", cpu / (total / 1e9))
out(k + "_send_proc_cpu_s_per_gb", send_cpu / (total / 1e9))
srv = ((r.get("cpu") or {}).get("server") or {})
out(k + "_report_server_cpu_s_per_gb", srv.get("cpu_s_per_gb"))
out(k + "_report_server_cores_busy", srv.get("cores_busy"))
rc = r.get("receive") or {}
st = rc.get("stats") or {}
if st: out(k + "_receive_stats_bytes", st.get("bytes_copied", 0) + st.get("bytes_discarded", 0) + st.get("bytes_mapped", 0))
# 1 when the report says the requested receive mode ran, 0 otherwise (flag absent or not wired).
out(k + "_mode_ok", int(rc.get("mode") == want))
' "$key" "$(cpu_s "$t0" "$t1")" "$(recv_mode_of "$@")" "$out/$key-$r.time"
}
recv_mode_of() { local m=copy; while [ $# -gt 0 ]; do [ "$1" = --recv-mode ] && m=$2; shift; done; echo $m; }

# iperf3 bandwidth: KEY, then client flags; 128 KiB writes (its default), the first second omitted like
# linkbench's warm-up. Receiver = iperf3 -s.
iperf_bw() {
  local key=$1; shift
  local f="$out/$key-$r.json" t0 t1
  t0=$(ticks "$ip_srv")
  /usr/bin/time -f "%U %S" -o "$out/$key-$r.time" \
    iperf3 -c 127.0.0.1 -p $ip_port -t "$secs" -O 1 -A $C,$S -J --get-server-output "$@" >"$f"
  t1=$(ticks "$ip_srv")
  samples_from "$f" '
k = sys.argv[2]; cpu = float(sys.argv[3])
send_cpu = sum(map(float, open(sys.argv[4]).read().split()))
e = d["end"]; so = d["server_output_json"]
omitted = sum(i["sum"]["bytes"] for i in so["intervals"] if i["sum"].get("omitted"))
total = e["sum_received"]["bytes"] + omitted
out(k + "_gbps", e["sum_received"]["bits_per_second"] / 1e9)
out(k + "_recv_proc_cpu_s", cpu)
out(k + "_recv_bytes_total", total)
out(k + "_recv_proc_cpu_s_per_gb", cpu / (total / 1e9))
out(k + "_send_proc_cpu_s_per_gb", send_cpu / (total / 1e9))
out(k + "_report_remote_cpu_percent", e["cpu_utilization_percent"]["remote_total"])
' "$key" "$(cpu_s "$t0" "$t1")" "$out/$key-$r.time"
}

lb_lat() {
  local f="$out/lb-lat-$r.json" t0 t1
  t0=$(ticks "$lb_srv")
  /usr/bin/time -f "%U %S" -o "$out/lb-lat-$r.time" taskset -c $C "$bin/linkbench-client" 127.0.0.1:$lb_port \
    -q --test lat --size 64 --duration "$secs" --warmup 1 --cpu $C --server-cpu $S --json "$f" \
    >/dev/null 2>"$out/lb-lat-$r.err"
  t1=$(ticks "$lb_srv")
  samples_from "$f" '
srv_cpu = float(sys.argv[2]); cli_cpu = sum(map(float, open(sys.argv[3]).read().split()))
r = d["results"][0]; lat = r["latency"]
rts = r["messages"] + lat["warmup_round_trips"]
out("linkbench_lat_p50_rtt_us", lat["round_trip_ns"]["p50"] / 1000)
out("linkbench_lat_p99_rtt_us", lat["round_trip_ns"]["p99"] / 1000)
out("linkbench_lat_round_trips_total", rts)
out("linkbench_lat_server_proc_cpu_us_per_rt", srv_cpu * 1e6 / rts)
out("linkbench_lat_client_proc_cpu_us_per_rt", cli_cpu * 1e6 / rts)
cpu = r.get("cpu") or {}
out("linkbench_lat_report_server_cpu_us_per_rt", (cpu.get("server") or {}).get("cpu_us_per_round_trip"))
out("linkbench_lat_report_client_cpu_us_per_rt", (cpu.get("client") or {}).get("cpu_us_per_round_trip"))
' "$(cpu_s "$t0" "$t1")" "$out/lb-lat-$r.time"
}

sockperf_lat() {
  local f="$out/sockperf-$r.txt" t0 t1
  t0=$(ticks "$sp_srv")
  /usr/bin/time -f "%U %S" -o "$out/sockperf-$r.time" taskset -c $C sockperf pp --tcp -i 127.0.0.1 \
    -p $sp_port -t "$secs" -m 64 >"$f" 2>&1
  t1=$(ticks "$sp_srv")
  # sockperf prints HALF the round trip; its [Total Run] ReceivedMessages counts every reply.
  python3 - "$f" "$(cpu_s "$t0" "$t1")" "$out/sockperf-$r.time" <<'PY' | while IFS=$'\t' read -r k v; do sample "$k" "$r" "$v"; done
import re, sys
text = re.sub(r"\x1b\[[0-9;]*m", "", open(sys.argv[1]).read())
srv_cpu = float(sys.argv[2]); cli_cpu = sum(map(float, open(sys.argv[3]).read().split()))
p50 = float(re.search(r"percentile 50\.000 =\s*([\d.]+)", text).group(1))
p99 = float(re.search(r"percentile 99\.000 =\s*([\d.]+)", text).group(1))
rts = int(re.search(r"\[Total Run\].*ReceivedMessages=(\d+)", text).group(1))
for k, v in [("sockperf_p50_half_rtt_us", p50), ("sockperf_p99_half_rtt_us", p99),
             ("sockperf_round_trips_total", rts),
             ("sockperf_server_proc_cpu_us_per_rt", srv_cpu * 1e6 / rts),
             ("sockperf_client_proc_cpu_us_per_rt", cli_cpu * 1e6 / rts)]:
    print(f"{k}\t{v}")
PY
}

qperf_both() {
  # qperf bandwidth (GB/sec = 10^9 bytes) and one-way latency (half round trip)
  taskset -c $C qperf 127.0.0.1 -lp $qp_port -t "$secs" -m 64K tcp_bw -m 64 tcp_lat >"$out/qperf-$r.txt"
  sample qperf_bw "$r" "$(awk '$1=="bw" {v=$3; u=$4; m=(u~/^GB/)?8:(u~/^MB/)?0.008:(u~/^KB/)?0.000008:1; print v*m}' "$out/qperf-$r.txt")"
  sample qperf_lat_half_rtt_us "$r" "$(awk '$1=="latency" {v=$3; u=$4; m=(u=="ms")?1000:(u=="ns")?0.001:1; print v*m}' "$out/qperf-$r.txt")"
}

# Runs the given commands (one word each) in order in odd rounds, reversed in even rounds.
in_order() {
  local steps=("$@") i
  if [ $((r % 2)) -eq 1 ]; then for i in "${steps[@]}"; do $i; done
  else for ((i = ${#steps[@]} - 1; i >= 0; i--)); do ${steps[$i]}; done; fi
}
bw_copy() { lb_bw linkbench_bw_128K_copy --size 128K; }
bw_discard() { lb_bw linkbench_bw_128K_discard --size 128K --recv-mode discard; }
bw_zerocopy() { lb_bw linkbench_bw_128K_zerocopy --size 128K --recv-mode zerocopy; }
bw_64k() { lb_bw linkbench_bw_64K_copy --size 64K; }
bw_iperf() { iperf_bw iperf3_bw_128K; }
bw2_lb() { lb_bw linkbench_bw_128K_2streams --size 128K --streams 2; }
bw2_iperf() { iperf_bw iperf3_bw_128K_P2 -P 2; }

for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds"
  idle0=$(host_idle); ours0=$(ours); wall0=$EPOCHREALTIME
  in_order bw_copy bw_discard bw_zerocopy bw_64k bw_iperf
  in_order bw2_lb bw2_iperf
  qperf_both
  in_order lb_lat sockperf_lat
  idle1=$(host_idle); ours1=$(ours); wall1=$EPOCHREALTIME
  sample round_wall_s "$r" "$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$wall0" "$wall1")"
  sample host_idle_s "$r" "$(cpu_s "$idle0" "$idle1")"
  sample benchmark_cpu_s "$r" "$(cpu_s "$ours0" "$ours1")"
  sample foreign_load_cores "$r" "$(python3 -c "import sys; i0, i1, o0, o1, hz, w0, w1, n = map(float, sys.argv[1:])
w = w1 - w0
print((n * w - (i1 - i0) / hz - (o1 - o0) / hz) / w)" "$idle0" "$idle1" "$ours0" "$ours1" "$hz" "$wall0" "$wall1" "$(getconf _NPROCESSORS_ONLN)")"
done

python3 - "$out" "$rounds" "$secs" "${QUIET_CORES:-0.2}" <<'PY'
import json, statistics, sys, collections
out, rounds, secs, quiet_cores = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
by_round = collections.defaultdict(dict)
for line in open(f"{out}/samples.tsv"):
    k, r, v = line.rstrip("\n").split("\t")
    by_round[k][int(r)] = float(v)
s = {k: [v[r] for r in sorted(v)] for k, v in by_round.items()}
med = {k: statistics.median(v) for k, v in s.items()}
spread = {k: (min(v), max(v)) for k, v in s.items()}
lat1 = json.load(open(f"{out}/lb-lat-1.json"))
clock, host = lat1["clock"]["client"], lat1["client"]

def row(label, k, fmt="10.2f"):
    if k not in med:
        print(f"{label:58} {'n/a':>10}")
        return
    print(f"{label:58} {med[k]:{fmt}} {spread[k][0]:{fmt}} {spread[k][1]:{fmt}}")

print()
print(f"loopback, {host['logical_cpus']} CPUs ({host['cpu_model']}), kernel {host['kernel']}; clocksource "
      f"{clock['clocksource']}, clock read {clock['read_cost_ns']:.1f} ns; {rounds} interleaved rounds of "
      f"{secs} s tests; client CPU 0, server CPU {host['logical_cpus'] - 1}; medians [min-max]")
hdr = f"{'':58} {'median':>10} {'min':>10} {'max':>10}"

print("\nBandwidth, Gbit/s (10^9 bit/s of payload), TCP loopback")
print(hdr)
for label, k in [("linkbench 1 stream 128K, copy (default)", "linkbench_bw_128K_copy_gbps"),
                 ("linkbench 1 stream 128K, --recv-mode discard", "linkbench_bw_128K_discard_gbps"),
                 ("linkbench 1 stream 128K, --recv-mode zerocopy", "linkbench_bw_128K_zerocopy_gbps"),
                 ("iperf3 1 stream 128K", "iperf3_bw_128K_gbps"),
                 ("linkbench 2 streams 128K (--streams 2)", "linkbench_bw_128K_2streams_gbps"),
                 ("iperf3 2 streams 128K (-P 2)", "iperf3_bw_128K_P2_gbps"),
                 ("linkbench 1 stream 64K, copy", "linkbench_bw_64K_copy_gbps"),
                 ("qperf tcp_bw 64K", "qperf_bw")]:
    row(label, k)

def paired(a, b, scale=1.0):
    rs = sorted(set(by_round.get(a, {})) & set(by_round.get(b, {})))
    return [(r, by_round[a][r] * scale / by_round[b][r]) for r in rs]

pairs = {
    "copy / iperf3 (1 stream, 128K)": paired("linkbench_bw_128K_copy_gbps", "iperf3_bw_128K_gbps"),
    "discard / iperf3 (1 stream, 128K)": paired("linkbench_bw_128K_discard_gbps", "iperf3_bw_128K_gbps"),
    "zerocopy / iperf3 (1 stream, 128K)": paired("linkbench_bw_128K_zerocopy_gbps", "iperf3_bw_128K_gbps"),
    "--streams 2 / iperf3 -P 2 (128K)": paired("linkbench_bw_128K_2streams_gbps", "iperf3_bw_128K_P2_gbps"),
    "linkbench 64K / qperf tcp_bw 64K": paired("linkbench_bw_64K_copy_gbps", "qperf_bw"),
    "linkbench p50/2 / sockperf p50 (64 B)": paired("linkbench_lat_p50_rtt_us", "sockperf_p50_half_rtt_us", 0.5),
    "linkbench p99/2 / sockperf p99 (64 B)": paired("linkbench_lat_p99_rtt_us", "sockperf_p99_half_rtt_us", 0.5),
    "linkbench p50/2 / qperf tcp_lat (64 B)": paired("linkbench_lat_p50_rtt_us", "qperf_lat_half_rtt_us", 0.5),
}
print("\nPaired ratios: each round's ratio (both tests ran in the same round), then median [min-max]")
print(f"{'':38} " + " ".join(f"{'r' + str(r):>6}" for r in range(1, rounds + 1)) + f" {'median':>7} {'min':>6} {'max':>6}")
load = by_round.get("foreign_load_cores", {})
quiet = sorted(r for r, v in load.items() if v <= quiet_cores)
print(f"{'outside load, cores (see script)':38} " + " ".join(f"{load[r]:6.2f}" if r in load else f"{'-':>6}" for r in range(1, rounds + 1)))
ratio_summary = {}
for label, ps in pairs.items():
    if not ps:
        continue
    vals = [v for _, v in ps]
    per = dict(ps)
    ratio_summary[label] = {"per_round": {str(r): v for r, v in ps}, "median": statistics.median(vals),
                            "min": min(vals), "max": max(vals)}
    print(f"{label:38} " + " ".join(f"{per[r]:6.3f}" if r in per else f"{'-':>6}" for r in range(1, rounds + 1))
          + f" {statistics.median(vals):7.3f} {min(vals):6.3f} {max(vals):6.3f}")

print("\nReceiver CPU per GB: the receiving server process's utime+stime (/proc/PID/stat) over each test,")
print("divided by every byte it received in the test (warm-up included); same method for every tool.")
print("CPU-seconds per GB (10^9 bytes), lower is better; beside it each tool's own figure for reference")
print(hdr)
for label, k in [("linkbench copy: server process", "linkbench_bw_128K_copy_recv_proc_cpu_s_per_gb"),
                 ("linkbench discard: server process", "linkbench_bw_128K_discard_recv_proc_cpu_s_per_gb"),
                 ("linkbench zerocopy: server process", "linkbench_bw_128K_zerocopy_recv_proc_cpu_s_per_gb"),
                 ("iperf3: server process", "iperf3_bw_128K_recv_proc_cpu_s_per_gb"),
                 ("linkbench --streams 2: server process", "linkbench_bw_128K_2streams_recv_proc_cpu_s_per_gb"),
                 ("iperf3 -P 2: server process", "iperf3_bw_128K_P2_recv_proc_cpu_s_per_gb"),
                 ("  (report) linkbench copy: cpu.server.cpu_s_per_gb", "linkbench_bw_128K_copy_report_server_cpu_s_per_gb"),
                 ("  (report) linkbench discard: cpu.server.cpu_s_per_gb", "linkbench_bw_128K_discard_report_server_cpu_s_per_gb"),
                 ("  (report) linkbench zerocopy: cpu.server.cpu_s_per_gb", "linkbench_bw_128K_zerocopy_report_server_cpu_s_per_gb"),
                 ("  (report) linkbench 2 streams: cpu.server.cpu_s_per_gb", "linkbench_bw_128K_2streams_report_server_cpu_s_per_gb")]:
    row(label, k, "10.3f")
print("Sender (client) process, whole process under GNU time (start-up included), per GB received. On")
print("loopback the sender's system time carries most of the receiver's TCP work (softirq), so the")
print("receiver rows above are mostly the copy to user space; sender + receiver is what a transfer cost.")
for label, k in [("linkbench copy: client process", "linkbench_bw_128K_copy_send_proc_cpu_s_per_gb"),
                 ("linkbench discard: client process", "linkbench_bw_128K_discard_send_proc_cpu_s_per_gb"),
                 ("linkbench zerocopy: client process", "linkbench_bw_128K_zerocopy_send_proc_cpu_s_per_gb"),
                 ("iperf3: client process", "iperf3_bw_128K_send_proc_cpu_s_per_gb"),
                 ("linkbench --streams 2: client process", "linkbench_bw_128K_2streams_send_proc_cpu_s_per_gb"),
                 ("iperf3 -P 2: client process", "iperf3_bw_128K_P2_send_proc_cpu_s_per_gb")]:
    row(label, k, "10.3f")
print("  (report) iperf3 cpu_utilization_percent.remote_total, % of one core:")
row("    iperf3 1 stream", "iperf3_bw_128K_report_remote_cpu_percent")
row("    iperf3 -P 2", "iperf3_bw_128K_P2_report_remote_cpu_percent")

print("\nLatency, 64 B TCP ping-pong, us (sockperf and qperf print HALF the round trip; linkbench the round trip)")
print(hdr)
for label, k in [("linkbench p50 round trip", "linkbench_lat_p50_rtt_us"),
                 ("linkbench p99 round trip", "linkbench_lat_p99_rtt_us"),
                 ("sockperf p50 half round trip", "sockperf_p50_half_rtt_us"),
                 ("sockperf p99 half round trip", "sockperf_p99_half_rtt_us"),
                 ("qperf tcp_lat half round trip", "qperf_lat_half_rtt_us")]:
    row(label, k)
print("CPU-microseconds per round trip (all round trips incl. warm-up); server: process delta over the test;")
print("client: the whole client process (GNU time, start-up included)")
print(hdr)
for label, k in [("linkbench server process", "linkbench_lat_server_proc_cpu_us_per_rt"),
                 ("sockperf server process", "sockperf_server_proc_cpu_us_per_rt"),
                 ("linkbench client process", "linkbench_lat_client_proc_cpu_us_per_rt"),
                 ("sockperf client process", "sockperf_client_proc_cpu_us_per_rt"),
                 ("  (report) linkbench cpu.server.cpu_us_per_round_trip", "linkbench_lat_report_server_cpu_us_per_rt"),
                 ("  (report) linkbench cpu.client.cpu_us_per_round_trip", "linkbench_lat_report_client_cpu_us_per_rt")]:
    row(label, k)

# Paired CPU ratios (same round) for the receive-side comparison.
cpu_pairs = {
    "discard / iperf3 receiver CPU s/GB": paired("linkbench_bw_128K_discard_recv_proc_cpu_s_per_gb", "iperf3_bw_128K_recv_proc_cpu_s_per_gb"),
    "copy / iperf3 receiver CPU s/GB": paired("linkbench_bw_128K_copy_recv_proc_cpu_s_per_gb", "iperf3_bw_128K_recv_proc_cpu_s_per_gb"),
    "2 streams / iperf3 -P 2 receiver CPU s/GB": paired("linkbench_bw_128K_2streams_recv_proc_cpu_s_per_gb", "iperf3_bw_128K_P2_recv_proc_cpu_s_per_gb"),
    "linkbench / sockperf server CPU us/RT": paired("linkbench_lat_server_proc_cpu_us_per_rt", "sockperf_server_proc_cpu_us_per_rt"),
    "linkbench / sockperf client CPU us/RT": paired("linkbench_lat_client_proc_cpu_us_per_rt", "sockperf_client_proc_cpu_us_per_rt"),
}
print("\nPaired CPU ratios (lower than 1 = linkbench cheaper), median [min-max]")
for label, ps in cpu_pairs.items():
    if ps:
        vals = [v for _, v in ps]
        ratio_summary[label] = {"per_round": {str(r): v for r, v in ps}, "median": statistics.median(vals),
                                "min": min(vals), "max": max(vals)}
        print(f"{label:44} {statistics.median(vals):7.3f} [{min(vals):.3f}-{max(vals):.3f}]")

# Checks of linkbench's own figures.
problems = []
for test in sorted(k[:-len("_mode_ok")] for k in s if k.endswith("_mode_ok")):
    k = test + "_mode_ok"
    if min(s[k]) < 1:
        problems.append(f"{test}: the report's receive.mode is not the mode asked for in "
                        f"{s[k].count(0.0)} of {len(s[k])} rounds (--recv-mode not in effect?)")
    kb, ks = test + "_recv_bytes_total", test + "_receive_stats_bytes"
    rs = sorted(set(by_round.get(kb, {})) & set(by_round.get(ks, {})))
    empty = [r for r in rs if by_round[ks][r] == 0]
    if empty:
        problems.append(f"{test}: receive.stats are all zero in {len(empty)} of {len(rs)} rounds although "
                        f"{statistics.median(by_round[kb][r] for r in empty) / 1e9:.2f} GB (median) arrived: "
                        f"the receive path did not count, so the reported mode may not be what ran")
    for r in rs:
        a, b = by_round[kb][r], by_round[ks][r]
        if b != 0 and abs(a - b) > max(1e6, 1e-3 * a):
            problems.append(f"{test} round {r}: warmup_bytes + bytes = {a:.0f} but receive.stats "
                            f"add up to {b:.0f}")
for test in sorted(k[:-len("_recv_bytes_total")] for k in s if k.endswith("_recv_bytes_total")):
    if test.startswith("linkbench") and test + "_report_server_cpu_s_per_gb" not in s:
        problems.append(f"{test}: the report has no cpu.server figures")
if "linkbench_lat_report_server_cpu_us_per_rt" not in s:
    problems.append("linkbench_lat: the report has no cpu.server figures")

def verdict(ok):
    return "met" if ok else "NOT met"
checks = {}
def judge(scope, name, ok, detail):
    checks.setdefault(scope, {})[name] = {"met": ok, "detail": detail}
    print(f"  {name}: {verdict(ok)} ({detail})")
def judge_all(scope, rs):
    def sel(label):
        per = ratio_summary.get(label, {}).get("per_round", {})
        return [per[str(r)] for r in rs if str(r) in per]
    v = sel("discard / iperf3 (1 stream, 128K)")
    if v:
        judge(scope, "discard >= 1.3x iperf3 bandwidth", statistics.median(v) >= 1.3,
              f"median {statistics.median(v):.3f}, min {min(v):.3f}")
    v = sel("discard / iperf3 receiver CPU s/GB")
    if v:
        judge(scope, "discard receiver CPU s/GB < iperf3's", statistics.median(v) < 1.0,
              f"median ratio {statistics.median(v):.3f}, max {max(v):.3f}")
    v = sel("copy / iperf3 (1 stream, 128K)")
    if v:
        judge(scope, "copy >= iperf3 bandwidth", statistics.median(v) >= 1.0,
              f"median {statistics.median(v):.3f}, min {min(v):.3f}; {sum(x >= 1.0 for x in v)} of {len(v)} rounds >= 1.0")
print("\nThe issue's performance targets, judged on this run's paired per-round ratios, all rounds:")
judge_all("all_rounds", range(1, rounds + 1))
if load:
    print(f"and on the quiet rounds only (outside load <= {quiet_cores} cores): {quiet or 'none'}")
    if quiet:
        judge_all("quiet_rounds", quiet)
    if len(quiet) < len(load):
        print(f"  {len(load) - len(quiet)} of {len(load)} rounds ran beside other work on this host; their figures "
              f"measure the contention as much as the tools")
for p in problems:
    print("PROBLEM: " + p)

json.dump({"units": {"gbps": "10^9 bits/s of payload", "cpu_s_per_gb": "CPU-seconds per 10^9 bytes received",
                     "cpu_us_per_rt": "CPU-microseconds per round trip", "latency": "microseconds"},
           "rounds": rounds, "seconds_per_test": float(secs), "samples_per_round": by_round,
           "medians": med, "min_max": spread, "ratios": ratio_summary, "checks": checks,
           "quiet_rounds": quiet, "quiet_cores": quiet_cores,
           "problems": problems, "clock": clock},
          open(f"{out}/summary.json", "w"), indent=1)
print(f"\nraw outputs, samples.tsv and summary.json in {out}")
PY

if [ "${CRITERION:-0}" = 1 ]; then
  cargo bench --quiet --bench hot_path 2>&1 | grep -E "^(timestamp|frame)|time:"
fi
