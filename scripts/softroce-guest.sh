#!/bin/sh
# /init of the soft-RoCE guest (scripts/softroce-vm.sh): brings up rxe0 on a dummy netdev, runs
# linkbench-inspect, a linkbench TCP test and perftest's ib_write_bw, prints each output file between
# "=== FILE name" and "=== END FILE" markers (base64) for the host to collect, and powers off.
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp; mount -t tmpfs tmpfs /run
echo "=== guest up at $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r)"
ulimit -l unlimited
ip link set lo up
# crc32_generic before rdma_rxe, or `rdma link add` fails; no udev, so ib_uverbs by hand.
for m in dummy crc32_generic rdma_rxe ib_uverbs rdma_ucm; do modprobe $m || echo "modprobe $m FAILED"; done
ip link add dummy0 type dummy
ip addr add 10.0.2.15/24 dev dummy0; ip link set dummy0 up
rdma link add rxe0 type rxe netdev dummy0
O=/tmp/out; mkdir -p $O
linkbench-inspect > $O/inspect.json 2> $O/inspect.err
linkbench-inspect --format table > $O/inspect.txt 2>&1
cat $O/inspect.txt
# GID index of the RoCE v2 IPv4-mapped address.
GIDX=1
for i in 0 1 2 3 4 5 6 7; do
  g=$(cat /sys/class/infiniband/rxe0/ports/1/gids/$i 2>/dev/null) || continue
  case "$g" in 0000:0000:0000:0000:0000:ffff:*) GIDX=$i; break;; esac
done
timeout 120 ib_write_bw -d rxe0 -x $GIDX -F --report_gbits -D 2 > $O/perftest-ib_write_bw-server.txt 2>&1 & sp=$!
sleep 1
timeout 120 ib_write_bw -d rxe0 -x $GIDX -F --report_gbits -D 2 127.0.0.1 > $O/perftest-ib_write_bw.txt 2>&1; rc=$?
wait $sp; src=$?
[ $src = 0 ] || rc=$src
echo "=== perftest ib_write_bw rc=$rc"
linkbench-server --bind 127.0.0.1:18515 > $O/server.log 2>&1 & lp=$!
sleep 1
linkbench-client 127.0.0.1 --test bw --duration 1 --json $O/tcp-bw.json > $O/tcp-bw.txt 2>&1
echo "=== linkbench tcp bw rc=$?"
kill $lp 2>/dev/null
for f in $O/*; do
  echo "=== FILE $(basename $f)"; base64 $f; echo "=== END FILE"
done
echo "=== GUEST DONE at $(cut -d' ' -f1 /proc/uptime)s"
sync; echo o > /proc/sysrq-trigger; sleep 5
