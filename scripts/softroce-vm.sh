#!/usr/bin/env bash
# Boots Debian's own kernel with soft-RoCE (rdma_rxe) under qemu (TCG; no KVM needed) with the freshly
# built linkbench binaries inside, and in one boot runs linkbench-inspect, a TCP test, linkbench's RDMA
# suite (write/read/send x bw/lat) and perftest's equivalents (ib_write_bw ... ib_send_lat), plus RDMA
# sanity runs. Leaves linkbench's JSON reports and perftest's output in OUTDIR, prints a side-by-side
# table with ratios (also OUTDIR/comparison.md and comparison.json), and exits non-zero unless every
# check passed: every test ran and its figures are sane, linkbench bw >= 0.95 x perftest's at 64 KiB and
# p50 latency <= 1.05 x perftest's typical latency at 2 bytes (over 30 latency rounds, by each tool's
# best round, the mean of its fastest third, or the median of per-round ratios; it fails only when all
# three say above), and the median of per-round latency ratios <= 1.20 (a tool landing in TCG's slow
# mode more often). When the perftest ratio gates are the only failures, a second boot runs as many
# rounds again (bandwidth or latency, as failed) of the failing ops and the gates judge both boots'
# rounds together. The checks are scripts/softroce-check.py, which can be rerun on an OUTDIR.
#
# Usage: scripts/softroce-vm.sh OUTDIR
# Env:   SOFTROCE_CACHE (default target/softroce-vm): kernel, guest root and base initramfs, built on
#        demand and reused (never committed).  SKIP_BUILD=1 uses target/release as it is.
#        MEM (2048) SMP (2) guest size.  ROUNDS (5): bandwidth rounds of the linkbench/perftest
#        comparison.  LAT_ROUNDS (30): its latency rounds (a 5000-iteration run takes ~0.1 s).
#        CONFIRM_OPS="lat=write,send bw=read" forces a confirmation boot for those ops.
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
# boot CONSOLE [EXTRA_CMDLINE]: one guest run, its console (and the files it prints) in OUTDIR/CONSOLE.
boot() {
  log "booting (TCG, ${SMP} vCPU, ${MEM} MiB)${2:+: $2}"
  local t0=$SECONDS
  timeout 1500 qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m "$MEM" -smp "$SMP" -nographic -no-reboot \
    -kernel "$cache/vmlinuz" -initrd "$cache/run.cpio" -nic none \
    -append "console=ttyS0 panic=-1 rdinit=/init quiet loglevel=4 clocksource=tsc tsc=reliable lb_rounds=$ROUNDS lb_lat_rounds=$LAT_ROUNDS ${2:-}" \
    </dev/null > "$out/$1" 2>&1 || true
  log "guest ran $((SECONDS - t0))s; console in $out/$1"
}

rm -f "$out/console-confirm.log" "$out/confirm-ops"
boot console.log
# The checks and the comparison with perftest (scripts/softroce-check.py). Under TCG a latency round
# lands in a fast or a slow mode at random, so 30 rounds a tool sometimes put linkbench above a gate by
# chance (the CI boot of 5d5766d: send 1.083 / 1.072 / 1.079 where the boot before it, same code, said
# 1.220 / 1.029 / 0.988). When the perftest ratio gates are the only failures, the failing ops run as
# many rounds again in a second boot (bandwidth rounds too: the CI boot of 7182d6a failed write
# bandwidth by chance, per-round ratios 0.80-1.26, median 0.941) and the gates judge all the rounds
# together; a real overhead fails
# both. Resampled (scripts/softroce-resample.py, "both gates, one boot" against "gate, confirmed") from
# the rounds of the e4dfe61 CI boot, chance failures fall 41% -> 18% (read) and 10% -> 3% (send), while a
# 10% slower linkbench still fails 99% and 79% of draws (write's floor is too noisy to see 10% either
# way: 38% -> 26%), a 30% slower one 99-100%.
# CONFIRM_OPS="lat=write,send bw=read" forces the confirmation boot (to exercise it).
rc=0; python3 "$repo/scripts/softroce-check.py" "$out" || rc=$?
ops=${CONFIRM_OPS:-$(cat "$out/confirm-ops" 2>/dev/null || true)}
lat_ops=$(echo "$ops" | sed -n 's/.*lat=\([a-z,]*\).*/\1/p')
bw_ops=$(echo "$ops" | sed -n 's/.*bw=\([a-z,]*\).*/\1/p')
if [ -n "$lat_ops$bw_ops" ]; then
  boot console-confirm.log "lb_confirm=$lat_ops lb_confirm_bw=$bw_ops lb_lat_first=$((LAT_ROUNDS + 1)) lb_bw_first=$((ROUNDS + 1))"
  rc=0; python3 "$repo/scripts/softroce-check.py" "$out" || rc=$?
fi
exit $rc
