#!/usr/bin/env bash
# Boots Debian's own kernel with soft-RoCE (rdma_rxe) under qemu (TCG; no KVM needed) with the freshly
# built linkbench binaries inside, runs linkbench-inspect and a TCP test there, and perftest's
# ib_write_bw as the verbs sanity check, all in one boot. Leaves every output in OUTDIR, prints a
# summary, and exits non-zero unless every check passed.
#
# Usage: scripts/softroce-vm.sh OUTDIR
# Env:   SOFTROCE_CACHE (default target/softroce-vm): kernel, guest root and base initramfs, built on
#        demand and reused (never committed).  SKIP_BUILD=1 uses target/release as it is.
#        MEM (2048) SMP (2) guest size.
# Needs root (debootstrap, chroot) and Debian's package mirror; installs qemu-system-x86, debootstrap and
# cpio when missing. Nothing leaves the VM: it has no network card, only a dummy netdev for rxe0.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=${1:?usage: scripts/softroce-vm.sh OUTDIR}
mkdir -p "$out"; out=$(cd "$out" && pwd)
cache=${SOFTROCE_CACHE:-$repo/target/softroce-vm}; mkdir -p "$cache"; cache=$(cd "$cache" && pwd)
MEM=${MEM:-2048}; SMP=${SMP:-2}
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
timeout 900 qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m "$MEM" -smp "$SMP" -nographic -no-reboot \
  -kernel "$cache/vmlinuz" -initrd "$cache/run.cpio" -nic none \
  -append "console=ttyS0 panic=-1 rdinit=/init quiet loglevel=4" </dev/null > "$out/console.log" 2>&1 || true
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
width = max(len(c[0]) for c in checks)
for name, ok, detail in checks:
    print(f"{'PASS' if ok else 'FAIL'}  {name:<{width}}  {detail}")
failed = sum(1 for c in checks if not c[1])
print(f"softroce-vm: {len(checks) - failed} passed, {failed} failed; outputs in {out}")
sys.exit(1 if failed else 0)
PY
