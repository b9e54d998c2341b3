#!/usr/bin/env python3
"""Judges a soft-RoCE boot (scripts/softroce-vm.sh): unpacks the files the guest printed, checks them, and
compares linkbench with perftest round by round.

Usage: scripts/softroce-check.py OUTDIR

Reads OUTDIR/console.log and, when a confirmation boot ran, OUTDIR/console-confirm.log (its rounds are
numbered after the first boot's and join them). Writes comparison.md and comparison.json, prints every
check, and exits 1 when one failed. When the only failures are the perftest ratio gates (bandwidth or
latency) and no confirmation boot has run yet, it also writes OUTDIR/confirm-ops for softroce-vm.sh, one
line: `lat=OPS bw=OPS` (comma-separated ops; either may be empty).
"""
import base64, json, pathlib, re, sys
out = pathlib.Path(sys.argv[1])
consoles = [p for p in (out / "console.log", out / "console-confirm.log") if p.exists()]
confirming = len(consoles) > 1
texts = [p.read_text(errors="replace").replace("\r", "") for p in consoles]
text = "\n".join(texts)
for name, body in re.findall(r"=== FILE (\S+)\n(.*?)=== END FILE", text, re.S):
    (out / name).write_bytes(base64.b64decode("".join(body.split())))
checks = []
ratio_gates = {}  # check name -> (kind, op): the perftest ratio gates a confirmation boot may settle
def check(name, ok, detail="", gate=None):
    checks.append((name, bool(ok), detail))
    if gate:
        ratio_gates[name] = gate
check("guest finished", "=== GUEST DONE" in texts[0])
if confirming:
    check("confirmation boot finished", "=== GUEST DONE" in texts[1])
try:
    inv = json.loads((out / "inspect.json").read_text())
except Exception as e:  # noqa: BLE001
    inv = None
    check("linkbench-inspect inventory is JSON", False, str(e))
if inv is not None:
    check("linkbench-inspect inventory is JSON", True)
    devs = {d["name"]: d for d in inv.get("rdma_devices", [])}
    rxe = devs.get("rxe0")
    check("inventory lists rxe0", rxe is not None, ", ".join(devs) or "no RDMA devices")
    if rxe:
        port = rxe["ports"][0] if rxe["ports"] else {}
        check("rxe0 port 1 ACTIVE", port.get("state") == "ACTIVE", str(port.get("state")))
        check("rxe0 link layer Ethernet (RoCE)", port.get("link_layer") == "Ethernet", str(port.get("link_layer")))
        check("rxe0 sits on dummy0", port.get("netdev") == "dummy0", str(port.get("netdev")))
    ifs = {i["interface"]: i for i in inv.get("interfaces", [])}
    d0 = ifs.get("dummy0", {})
    check("dummy0 carries the rxe0 port", (d0.get("ib_port") or {}).get("device") == "rxe0")
    check("dummy0 says why it has no module", "no module EEPROM" in (d0.get("module_unavailable") or ""))
    ib = (d0.get("counters") or {}).get("ib_port") or {}
    check("rxe0 port counters read", "hw_counters.sent_pkts" in ib, f"{len(ib)} counters")
try:
    rep = json.loads((out / "tcp-bw.json").read_text())
    r = rep["results"][0]
    check("TCP test in the guest is complete", rep["status"] == "complete")
    link = r["link"]["client"]
    moved = r["bytes"]
    rx = link["counters"]["delta"]["netdev"]["rx_bytes"]
    check("TCP test counters cover the bytes moved", rx >= moved, f"{link['interface']} rx {rx} vs {moved}")
except Exception as e:  # noqa: BLE001
    check("TCP test report", False, str(e))
m = re.search(r"=== perftest ib_write_bw rc=(\d+)", text)
check("perftest ib_write_bw on rxe0", m and m.group(1) == "0", m.group(0) if m else "did not run")

# --- RDMA: linkbench vs perftest --------------------------------------------------------------------
def load(name):
    try:
        return json.loads((out / name).read_text())
    except Exception:  # noqa: BLE001
        return None

def perftest_row(name, size):
    """The figures line of a perftest output: the row that starts with the message size."""
    try:
        for line in (out / name).read_text().splitlines():
            cols = line.split()
            if len(cols) >= 4 and cols[0] == str(size) and all(re.match(r"^[0-9.]+$", c) for c in cols):
                return [float(c) for c in cols]
    except OSError:
        pass
    return None

def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return None if n == 0 else (xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2)

rounds = sorted({int(m) for m in re.findall(r"=== linkbench \w+ bw round (\d+)", texts[0])})
all_lat_rounds = sorted({int(m) for m in re.findall(r"=== linkbench \w+ lat round (\d+)", texts[0])})
check("RDMA suite ran", len(rounds) > 0 and len(all_lat_rounds) > 0,
      f"{len(rounds)} bandwidth rounds, {len(all_lat_rounds)} latency rounds")
first_boot_rounds = len(all_lat_rounds)

def fast_mode(xs):
    """A tool's fast-mode p50: the mean of the fastest third of its rounds (at least one)."""
    xs = sorted(xs)
    k = max(1, len(xs) // 3)
    return sum(xs[:k]) / k if xs else None

paired = lambda a, b: median([x / y for x, y in zip(a, b) if y]) if len(a) == len(b) and a else None

def latency_ratios(lb_by_round, pt_by_round):
    """linkbench over perftest latency from {round: p50}: (best round, fastest third, paired median over
    the rounds both tools completed, floor gate ratio)."""
    lb_lat, pt_lat = list(lb_by_round.values()), list(pt_by_round.values())
    best = min(lb_lat) / min(pt_lat) if lb_lat and pt_lat else None
    fast_l, fast_p = fast_mode(lb_lat), fast_mode(pt_lat)
    fast = fast_l / fast_p if fast_l and fast_p else None
    both = sorted(set(lb_by_round) & set(pt_by_round))
    pair = paired([lb_by_round[r] for r in both], [pt_by_round[r] for r in both])
    # A third estimate since the 3e0430f CI boot: the paired median. Where fast-mode rounds are rare
    # and fall to one tool (perftest 3 of 30, linkbench 0, in write and in send), both floor estimates
    # fail by luck (1.39 / 1.12 and 1.37 / 1.08) while the paired rounds, slow mode against slow mode,
    # say 1.02 and 0.98; a real overhead moves all three. Resampled (5,000 draws a boot, 30 rounds):
    # that boot's false failures fall from 86% to 6% (write) and 69% to 3% (send), perftest against
    # itself from 3.8% to 0.3%, and a 10% slower linkbench still fails in 92-100% of draws in two of
    # three boots (the third: write 20% -> 18%, send 85% -> 66%).
    gate = min(best, fast, pair) if best and fast and pair else None
    return best, fast, pair, gate

def latency_detail(best, fast, pair, gate):
    return "missing" if gate is None else f"best round {best:.3f}, fastest third {fast:.3f}, paired median {pair:.3f}"

table = []
for op in ("write", "read", "send"):
    # Bandwidth at 64 KiB: linkbench's first-post-to-last-completion Gbit/s vs perftest's BW average.
    lb_bw, pt_bw = {}, {}
    bw_rounds = sorted({int(m) for m in re.findall(rf"=== linkbench {op} bw round (\d+)", text)})
    for r in bw_rounds:
        rep = load(f"lb-{op}-bw-{r}.json")
        ok = bool(rep) and rep["status"] == "complete"
        if ok:
            res = rep["results"][0]
            ok = res["transport"] == "rdma" and res["op"] == op and res["message_size"] == 65536
            ok = ok and res["bytes"] == res["messages"] * 65536 and res["messages"] > 0
            lb_bw[r] = res["bandwidth"]["bits_per_second"] / 1e9
        check(f"linkbench {op} bw round {r}: complete, bytes = messages x 64 KiB", ok)
        row = perftest_row(f"pt-{op}-bw-{r}.txt", 65536)
        check(f"perftest ib_{op}_bw round {r} reported", row is not None)
        if row:
            pt_bw[r] = row[3]
    # Latency at 2 bytes: linkbench's p50 (round trip; halved for write and send, which perftest
    # halves; read latency is a whole round trip in both) vs perftest's t_typical (its median).
    lb_lat, pt_lat, lb_bad, pt_bad = {}, {}, [], []
    lat_rounds = sorted({int(m) for m in re.findall(rf"=== linkbench {op} lat round (\d+)", text)})
    for r in lat_rounds:
        rep = load(f"lb-{op}-lat-{r}.json")
        ok = bool(rep) and rep["status"] == "complete"
        if ok:
            lat = rep["results"][0]["latency"]
            ok = lat["count"] == 5000
            p50_us = lat["round_trip_ns"]["p50"] / 1000.0
            lb_lat[r] = p50_us if op == "read" else p50_us / 2
        if not ok:
            lb_bad.append(r)
        row = perftest_row(f"pt-{op}-lat-{r}.txt", 2)
        if row:
            pt_lat[r] = row[4]
        else:
            pt_bad.append(r)
    n = len(lat_rounds)
    check(f"linkbench {op} lat: {n} rounds complete, 5000 samples each, none dropped", not lb_bad,
          f"failed rounds {lb_bad}" if lb_bad else "")
    check(f"perftest ib_{op}_lat: {n} rounds reported", not pt_bad, f"failed rounds {pt_bad}" if pt_bad else "")
    # Bandwidth gate: the median of per-round ratios (each round runs the two tools back to back, so
    # the emulator's drift between rounds cancels within a pair). Latency gate: linkbench fails when
    # both estimates of its floor put it above 1.05 x perftest's: each tool's best round (the lowest
    # of its round p50s) and the mean of its fastest third. Under TCG a whole latency run (~0.1 s)
    # lands in a fast (~9.5 us one-way for write) or a slow (~13-15 us) mode at random, for perftest
    # as for linkbench, and what the host does to the emulator only ever adds time, so a tool's
    # fastest rounds are the best estimate of what it costs itself. Each estimate alone fails by
    # chance: the best round when one tool gets a single lucky round (CI run of c808053: read 1.051
    # with the fastest third at 0.998), the fastest third when the tools get different shares of
    # fast-mode rounds (stop 22: write 1.117 with the best rounds at 0.995). A real overhead moves
    # both. Resampled from recorded boots, requiring both failed 0-1.5% of draws against 0-26.5%
    # for the best round alone, and a 10% slower linkbench still fails in most boots
    # (scripts/softroce-resample.py prints both for a run's comparison.json).
    lat_ratio, lat_fast, lat_paired, lat_gate = latency_ratios(lb_lat, pt_lat)
    # The first boot's rounds alone (numbered up to its last), beside the pooled figures when a
    # confirmation boot ran.
    first_boot = lambda by_round: {r: v for r, v in by_round.items() if r <= max(all_lat_rounds, default=0)}
    first = latency_ratios(first_boot(lb_lat), first_boot(pt_lat))
    confirmed = confirming and len(lb_lat) > len(first_boot(lb_lat))
    lb_lat, pt_lat = list(lb_lat.values()), list(pt_lat.values())
    # Bandwidth rounds paired by number; the first boot's alone beside them after a confirmation.
    def bw_pairs(keep):
        both = [r for r in sorted(set(lb_bw) & set(pt_bw)) if keep(r)]
        return paired([lb_bw[r] for r in both], [pt_bw[r] for r in both])
    bw_ratio = bw_pairs(lambda r: True)
    bw_first = bw_pairs(lambda r: r <= max(rounds, default=0))
    bw_confirmed = confirming and max(lb_bw, default=0) > max(rounds, default=0)
    lb_bw, pt_bw = list(lb_bw.values()), list(pt_bw.values())
    bw_l, bw_p, lat_l, lat_p = median(lb_bw), median(pt_bw), median(lb_lat), median(pt_lat)
    lat_best_l, lat_best_p = (min(lb_lat) if lb_lat else None), (min(pt_lat) if pt_lat else None)
    lat_fast_l, lat_fast_p = fast_mode(lb_lat), fast_mode(pt_lat)
    table.append({"op": op, "linkbench_gbps": bw_l, "perftest_gbps": bw_p, "bw_ratio": bw_ratio,
                  "linkbench_p50_us": lat_l, "perftest_typical_us": lat_p,
                  "linkbench_best_p50_us": lat_best_l, "perftest_best_typical_us": lat_best_p,
                  "linkbench_fast_p50_us": lat_fast_l, "perftest_fast_typical_us": lat_fast_p,
                  "lat_ratio": lat_ratio, "lat_fast_third_ratio": lat_fast, "lat_paired_ratio": lat_paired,
                  "lat_gate_ratio": lat_gate,
                  "rounds": {"linkbench_gbps": lb_bw, "perftest_gbps": pt_bw,
                             "linkbench_p50_us": lb_lat, "perftest_typical_us": pt_lat}})
    bw_detail = f"{bw_ratio:.3f}" if bw_ratio else "missing"
    if bw_confirmed and bw_first:
        bw_detail += f" over {len(lb_bw)} rounds; the first boot's {len(rounds)} alone: {bw_first:.3f}"
    check(f"{op} bw >= 0.95 x perftest", bw_ratio is not None and bw_ratio >= 0.95, bw_detail, ("bw", op))
    detail = latency_detail(lat_ratio, lat_fast, lat_paired, lat_gate)
    if confirmed:
        detail += f"; the first boot's {first_boot_rounds} alone: {latency_detail(*first)}"
    check(f"{op} p50 latency <= 1.05 x perftest (best round, fastest third or paired median of {n})",
          lat_gate is not None and lat_gate <= 1.05, detail, ("lat", op))
    # The second latency gate: the median of per-round ratios (rounds paired in order, the tools back to
    # back in each). The floor gate above cannot see a tool whose rounds land in TCG's slow mode more
    # often (one AMD host: best rounds equal, write's paired median 1.31 and 1.32); this one does. 1.20
    # because the modes are ~1.4x apart: resampling a boot of this host, the paired median passed 1.20
    # by chance in 0.3-0.8% of draws per op (perftest against itself too), and a 30% slower linkbench
    # failed it in 94-100% (scripts/softroce-resample.py prints both).
    check(f"{op} latency rounds: median of per-round ratios <= 1.20 x perftest (slow mode no more often)",
          lat_paired is not None and lat_paired <= 1.20,
          (f"{lat_paired:.3f}" if lat_paired else "missing")
          + (f"; the first boot's {first_boot_rounds} alone: {first[2]:.3f}" if confirmed and first[2] else ""),
          ("lat", op))

# Atomics: one round, reported, not gated (the gate covers write, read and send).
rep = load("lb-atomic-bw-1.json")
row = perftest_row("pt-atomic-bw-1.txt", 8)
lat_rep = load("lb-atomic-lat-1.json")
lat_row = perftest_row("pt-atomic-lat-1.txt", 8)
ok = bool(rep) and rep["status"] == "complete" and rep["results"][0]["message_size"] == 8
check("linkbench atomic bw complete (8-byte fetch-and-add)", ok)
ok_lat = bool(lat_rep) and lat_rep["status"] == "complete" and lat_rep["results"][0]["latency"]["count"] == 5000
check("linkbench atomic lat complete, 5000 samples", ok_lat)
check("perftest ib_atomic_bw and ib_atomic_lat reported", row is not None and lat_row is not None)
a_bw = rep["results"][0]["bandwidth"]["bits_per_second"] / 1e9 if ok else None
a_lat = lat_rep["results"][0]["latency"]["round_trip_ns"]["p50"] / 1000.0 if ok_lat else None
p_bw, p_lat = (row[3] if row else None), (lat_row[4] if lat_row else None)
table.append({"op": "atomic (1 round, not gated)", "linkbench_gbps": a_bw, "perftest_gbps": p_bw,
              "bw_ratio": a_bw / p_bw if a_bw and p_bw else None, "linkbench_p50_us": a_lat,
              "perftest_typical_us": p_lat, "lat_ratio": a_lat / p_lat if a_lat and p_lat else None,
              "rounds": {}})

def sane(name, want_messages=None, directions=1):
    rep = load(name)
    if not rep:
        return False, "no report"
    results = rep["results"]
    if rep["status"] != "complete" or not results:
        return False, f"status {rep['status']}: {[e['message'] for e in rep['errors']]}"
    for res in results:
        bw = res["bandwidth"]
        if res["bytes"] != res["messages"] * res["message_size"]:
            return False, f"bytes {res['bytes']} != messages x size"
        if want_messages is not None and res["messages"] != want_messages:
            return False, f"messages {res['messages']} != {want_messages}"
        if len(bw["directions"]) != directions:
            return False, f"{len(bw['directions'])} directions"
        port = res["rdma"]["client"]
        if (port["device"], port["gid_type"], port["addressing"]) != ("rxe0", "RoCE v2", "gid"):
            return False, f"port {port}"
    return True, f"{len(results)} result(s), {results[0]['messages']} messages"

check("sanity: write bw 2 QPs x 3000 iterations", *sane("sanity-write-iter.json", 6000))
check("sanity: atomic bw 2 QPs x 20000 iterations", *sane("sanity-atomic-iter.json", 40000))
ok, detail = sane("sanity-send-iter.json", 20000)
rep = load("sanity-send-iter.json")
if ok:
    rd = rep["results"][0]["rdma"]
    got, want = rd["server_received_messages"], rd["client_warmup_ops"] + 20000
    ok = got == want and rd["server_received_bytes"] == want * 4096
    detail = f"server received {got} messages, client posted {want} (post list 4, cq_mod 16)"
check("sanity: send bw receiver counted every posted message", ok, detail)
ok, detail = sane("sanity-read-reverse.json", 4000)
if ok:
    d = load("sanity-read-reverse.json")["results"][0]["bandwidth"]["directions"][0]["direction"]
    ok, detail = d == "client_to_server", f"server's reads pull {d}"
check("sanity: read bw --reverse (the server posts)", ok, detail)
check("sanity: write bibw 2 QPs has both directions", *sane("sanity-write-bibw.json", None, 2))
check("sanity: send bw --use-event", *sane("sanity-send-event.json", 2000))
check("sanity: send bw busy-polling", *sane("sanity-send-busy.json", 2000))

def side_cores(name, side):
    rep = load(name)
    cpu = ((rep or {}).get("results") or [{}])[0].get("cpu") or {}
    return (cpu.get(side) or {}).get("cores_busy"), cpu

# The poster does rxe's work inside its own post calls either way (a first boot: busy 0.98, event 0.97
# cores), so the receiver is where --use-event shows: it sleeps on the completion channel instead of
# spinning (same boot: 0.99 busy, 0.13 event).
busy, busy_cpu = side_cores("sanity-send-busy.json", "server")
event, event_cpu = side_cores("sanity-send-event.json", "server")
poster, _ = side_cores("sanity-send-busy.json", "client")
both = all((c.get(s) or {}).get("user_s") is not None for c in (busy_cpu, event_cpu) for s in ("client", "server"))
check("RDMA results carry both sides' CPU cost", both)
check("RDMA CPU: busy polling keeps both sides' cores busy (>= 0.8 core each)",
      busy is not None and poster is not None and min(busy, poster) >= 0.8,
      f"poster {poster:.2f}, receiver {busy:.2f} cores" if busy is not None and poster is not None else "missing")
check("RDMA CPU: with --use-event the receiver sleeps (under half busy polling's CPU)",
      busy and event is not None and event < 0.5 * busy,
      f"event {event:.2f} vs busy {busy:.2f} cores" if busy and event is not None else "missing")
ok, detail = sane("sanity-hugepages.json", 1000)
rep = load("sanity-hugepages.json")
if ok:
    ok = rep["results"][0]["rdma"]["settings"]["hugepages"] is True
    detail += ", buffers in huge pages" if ok else ", but the report says no huge pages"
check("sanity: write bw --hugepages", ok, detail)
rep = load("sanity-write-lat-qps.json")
ok = bool(rep) and rep["status"] == "complete" and rep["results"][0]["latency"]["count"] == 6000
check("sanity: write lat 2 QPs: 6000 samples", ok)
rep = load("sanity-send-sweep.json")
ok = bool(rep) and rep["status"] == "complete" and len(rep["results"]) == 16 and all(
    r["messages"] == 500 and r["bytes"] == 500 * r["message_size"] for r in rep["results"])
check("sanity: send sweep 2 B..64 KiB, 500 messages each", ok)
# The RDMA soak: a whole series, every measured sample with the poster's throughput, both sides' links
# sampled, and rxe's port counters (hw_counters) moving in the samples: the link sampled is the RDMA
# port's netdev (dummy0), not the control connection's route (lo).
rep = load("rdma-soak.json")
soak = ((rep or {}).get("results") or [{}])[0].get("soak") or {}
try:
    series = [json.loads(l) for l in (out / "rdma-soak.jsonl").read_text().splitlines()]
except (OSError, ValueError):
    series = []
measured = [l for l in series if l["measuring"] and l["throughput"]]
moved = [l for l in measured if any(k.startswith("hw_counters.") and v > 0 for k, v in
         ((((l.get("client") or {}).get("interval") or {}).get("delta") or {}).get("ib_port") or {}).items())]
ok = (bool(rep) and rep["status"] == "complete" and len(series) == soak.get("samples") and len(series) >= 5
      and len(measured) >= 3 and all(l["client"] and l["server"] for l in series) and len(moved) == len(measured)
      and all(l["client"]["interface"] == "dummy0" for l in series))
check("RDMA soak: a whole series with throughput and rxe's port counters in every measured sample", ok,
      f"{len(series)} samples, {len(measured)} measured, {len(moved)} with hw_counters moving; "
      f"verdict {'pass' if (soak.get('verdict') or {}).get('pass') else 'fail'}")
# The latency probe over RDMA: its own queue pair beside send bandwidth traffic. Every round trip is
# answered and the report says what the probe shared. The same probe (same path, same wake-ups) beside
# heavy traffic (64 KiB sends, perftest's depth) has a higher p50 than beside light traffic (2-byte
# sends, one in flight), because its messages queue behind the heavy traffic's in rxe. The idle send
# latency rounds (busy-polling, no wake-ups) are printed beside them for scale, not judged.
def probe_run(name):
    """(probe figures, p50 ns or None, one-line detail) of a bandwidth trial with the probe beside it."""
    rep = load(name)
    res = ((rep or {}).get("results") or [{}])[0]
    probe = res.get("probe") or {}
    p50 = (probe.get("round_trip_ns") or {}).get("p50")
    ok = (bool(rep) and rep["status"] == "complete" and probe.get("count", 0) > 0 and p50 is not None
          and probe.get("server_echoed") == probe["count"] + probe["warmup_round_trips"]
          and "queue pair of its own" in probe["shares"]["path"] and res["bytes"] > 0)
    if not rep:
        return False, None, "no report"
    if not probe:
        return False, None, f"status {rep['status']}: {[e['message'] for e in rep['errors']]}"
    return ok, p50, (f"{probe.get('count')} round trips, {probe.get('missed_slots')} missed slots, server echoed "
                     f"{probe.get('server_echoed')}")
heavy_ok, heavy, heavy_detail = probe_run("rdma-probe.json")
light_ok, light, light_detail = probe_run("rdma-probe-light.json")
check("RDMA probe: every round trip answered beside 64 KiB send bw, shares named", heavy_ok, heavy_detail)
check("RDMA probe: every round trip answered beside 2-byte send bw", light_ok, light_detail)
idle = [r["round_trip_ns"]["p50"] for r in (((load(f"lb-send-lat-{i}.json") or {}).get("results") or [{}])[0].get("latency")
                                             for i in range(1, first_boot_rounds + 1)) if r]
idle_text = f"; idle send round trip {median(idle) / 1000:.1f} us (lat rounds, busy-polled)" if idle else ""
check("RDMA probe: p50 beside heavy traffic above p50 beside light traffic", heavy_ok and light_ok and heavy > light,
      f"{heavy / 1000:.1f} us vs {light / 1000:.1f} us{idle_text}" if heavy_ok and light_ok else "missing")
probed = [l for l in measured if (l.get("probe") or {}).get("count")]
# A sample whose cut found a round trip still out has no window (a note says so; the next joins it), so
# one such sample is allowed.
check("RDMA soak: the probe's window in the measured samples (one may be joined to the next)",
      len(measured) >= 3 and len(probed) >= len(measured) - 1,
      f"{len(probed)} of {len(measured)} measured samples with probe round trips")
m = re.search(r"=== sanity bad device rc=(\d+)", text)
try:
    err = [l for l in (out / "sanity-bad-device.txt").read_text().splitlines() if "error" in l]
except OSError:
    err = []
check("sanity: unknown --device is a one-line error", m and m.group(1) != "0" and len(err) == 1
      and "mlx5_9" in err[0], err[0] if err else "no error line")

lines = ["| op | linkbench bw (Gbit/s) | perftest bw (Gbit/s) | bw ratio (paired median) | linkbench p50 fast / best / median (us) | perftest t_typical fast / best / median (us) | lat ratio (best round) | lat ratio (fast third) | lat ratio (paired median) |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
fmt = lambda v, p=3: "-" if v is None else f"{v:.{p}f}"
for t in table:
    lines.append(f"| {t['op']} | {fmt(t['linkbench_gbps'])} | {fmt(t['perftest_gbps'])} | {fmt(t['bw_ratio'])} "
                 f"| {fmt(t.get('linkbench_fast_p50_us'), 2)} / {fmt(t.get('linkbench_best_p50_us'), 2)} / {fmt(t['linkbench_p50_us'], 2)} "
                 f"| {fmt(t.get('perftest_fast_typical_us'), 2)} / {fmt(t.get('perftest_best_typical_us'), 2)} / {fmt(t['perftest_typical_us'], 2)} "
                 f"| {fmt(t['lat_ratio'])} | {fmt(t.get('lat_fast_third_ratio'))} | {fmt(t.get('lat_paired_ratio'))} |")
(out / "comparison.md").write_text("\n".join(lines) + "\n")
(out / "comparison.json").write_text(json.dumps(table, indent=2) + "\n")
print("\n".join(lines))
print("figures: medians over rounds (latency: fast third / best / median); bw gated on the median of"
      " per-round ratios, latency fails only when the best-round, fastest-third and paired-median ratios all exceed 1.05, or when the median of per-round ratios exceeds 1.20"
      " (an op that fails either on the first boot's rounds gets as many again in a confirmation boot, and both are judged together);"
      " bw: 64 KiB messages, 3 s; latency: 2 bytes, 5000 iterations, no warm-up, one-way for write/send"
      " (linkbench's round-trip p50 / 2, as perftest halves), whole round trip for read")
width = max(len(c[0]) for c in checks)
for name, ok, detail in checks:
    print(f"{'PASS' if ok else 'FAIL'}  {name:<{width}}  {detail}")
failed = sum(1 for c in checks if not c[1])
print(f"softroce-vm: {len(checks) - failed} passed, {failed} failed; outputs in {out}")
# A confirmation boot settles the perftest ratio gates only: when every failed check is one, the ops
# named go round again in a second boot (as many rounds of the kind that failed) and the gates judge
# both boots' rounds together.
failed_names = [c[0] for c in checks if not c[1]]
confirm = (out / "confirm-ops")
confirm.unlink(missing_ok=True)
if failed_names and not confirming and all(n in ratio_gates for n in failed_names):
    order = ["write", "read", "send"].index
    ops = {kind: ",".join(sorted({o for k, o in (ratio_gates[n] for n in failed_names) if k == kind}, key=order))
           for kind in ("lat", "bw")}
    confirm.write_text(f"lat={ops['lat']} bw={ops['bw']}\n")
    print(f"softroce-vm: only perftest ratio gates failed (latency: {ops['lat'] or '-'}; bandwidth: "
          f"{ops['bw'] or '-'}): a confirmation boot runs as many rounds again of each and judges all together")
sys.exit(1 if failed else 0)
