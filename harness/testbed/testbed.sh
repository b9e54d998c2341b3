#!/usr/bin/env bash
# A cluster on one machine for trying and testing linkbench-harness: N hosts as network namespaces
# (PREFIX-h1..N, eth0 = 10.77.0.i/24) on a bridge in namespace PREFIX-sw (10.77.0.254), optionally one
# host's links shaped with tbf, a real Slurm cluster (munge, slurmctld in PREFIX-sw, one slurmd per host
# as node hI) and one sshd per host. Adapted from shared/reference/testbed.
#
# Usage: harness/testbed/testbed.sh up|down
# Env:   N (4)  PREFIX (lbh)  W (work dir, default /tmp/PREFIX-testbed)
#        SLOW_HOST (e.g. h3) SLOW_RATE (100mbit): shape that host's egress and the switch port to it
#        SLURM=1 SSH=1: start them (default both)
# After `up`: SLURM_CONF=$W/slurm/etc/slurm.conf; ssh config $W/ssh/ssh_config (use from PREFIX-sw).
set -euo pipefail
N=${N:-4}; PREFIX=${PREFIX:-lbh}; W=${W:-/tmp/$PREFIX-testbed}
SW=$PREFIX-sw

down() {
  for p in "$W"/slurm/slurmd-h*.pid "$W"/slurm/slurmctld.pid "$W"/ssh/sshd-h*.pid "$W"/slurm/munge/pid; do
    [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
  done
  sleep 0.5
  for p in "$W"/slurm/slurmd-h*.pid "$W"/slurm/slurmctld.pid "$W"/ssh/sshd-h*.pid "$W"/slurm/munge/pid; do
    [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null || true
    rm -f "$p"
  done
  for n in $(ip netns list | awk -v p="$PREFIX-" 'index($1, p) == 1 {print $1}'); do ip netns del "$n"; done
}

up() {
  down
  mkdir -p "$W"
  ip netns add "$SW"
  ip -n "$SW" link set lo up
  ip -n "$SW" link add br0 type bridge
  ip -n "$SW" addr add 10.77.0.254/24 dev br0
  ip -n "$SW" link set br0 up
  for i in $(seq 1 "$N"); do
    ip netns add "$PREFIX-h$i"
    ip link add eth0 netns "$PREFIX-h$i" type veth peer name p$i netns "$SW"
    ip -n "$SW" link set p$i master br0 up
    ip -n "$PREFIX-h$i" link set lo up
    ip -n "$PREFIX-h$i" addr add 10.77.0.$i/24 dev eth0
    ip -n "$PREFIX-h$i" link set eth0 up
  done
  if [ -n "${SLOW_HOST:-}" ]; then shape "$SLOW_HOST" "${SLOW_RATE:-100mbit}"; fi
  [ "${SLURM:-1}" = 1 ] && slurm_up
  [ "${SSH:-1}" = 1 ] && ssh_up
  echo "testbed: $N hosts up under $PREFIX-*; work dir $W"
}

# tbf on the host's egress and on the switch port towards it: both directions limited. The burst must be
# at least rate/250 (HZ=250) or tbf undershoots.
shape() {
  local host=$1 rate=$2 i=${1#h}
  ip netns exec "$PREFIX-$host" tc qdisc replace dev eth0 root tbf rate "$rate" burst 256kb latency 50ms
  ip netns exec "$SW" tc qdisc replace dev p$i root tbf rate "$rate" burst 256kb latency 50ms
}

slurm_up() {
  local S=$W/slurm
  mkdir -p "$S"/{munge,etc,ctld,log,nodetmp}; chmod 755 "$S/munge"
  [ -f "$S/munge/munge.key" ] || { dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 status=none; chmod 400 "$S/munge/munge.key"; }
  munged --force --key-file="$S/munge/munge.key" --socket="$S/munge/sock" --pid-file="$S/munge/pid" \
         --log-file="$S/munge/log" --seed-file="$S/munge/seed"
  cat > "$S/etc/slurm.conf" <<CONF
ClusterName=linkbench
SlurmctldHost=$(hostname)(10.77.0.254)
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$S/munge/sock
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmdTimeout=10
StateSaveLocation=$S/ctld
SlurmdSpoolDir=$S/spool-%n
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd-%n.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd-%n.log
TmpFS=$S/nodetmp
NodeName=h[1-$N] NodeAddr=10.77.0.[1-$N] NodeHostname=$(hostname) CPUs=1 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=h[1-$N] Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$S/etc/slurm.conf
  rm -rf "$S/ctld"/*
  ip netns exec "$SW" slurmctld -i
  for i in $(seq 1 "$N"); do
    mkdir -p "$S/spool-h$i" "$S/tmp-h$i"
    # nsenter, not `ip netns exec` (which remounts /sys and hides the cgroup tree from slurmd).
    nsenter --net=/run/netns/"$PREFIX-h$i" unshare -m --propagation private \
      sh -c "mount --bind $S/tmp-h$i $S/nodetmp && exec slurmd -N h$i"
  done
  for _ in $(seq 1 100); do
    [ "$(ip netns exec "$SW" sinfo -h -t idle -o %D 2>/dev/null)" = "$N" ] && return 0; sleep 0.1
  done
  echo "testbed: slurm nodes not idle:" >&2; ip netns exec "$SW" sinfo >&2 || true; return 1
}

ssh_up() {
  local S=$W/ssh
  mkdir -p "$S" /run/sshd
  [ -f "$S/hostkey" ] || ssh-keygen -q -t ed25519 -N '' -f "$S/hostkey"
  [ -f "$S/id" ] || ssh-keygen -q -t ed25519 -N '' -f "$S/id"
  cp "$S/id.pub" "$S/authorized_keys"
  printf '%s\n' "HostKey $S/hostkey" "AuthorizedKeysFile $S/authorized_keys" \
    "PermitRootLogin prohibit-password" "PasswordAuthentication no" "UsePAM no" "StrictModes no" > "$S/sshd_config"
  : > "$S/ssh_config"
  for i in $(seq 1 "$N"); do printf 'Host h%s\n  HostName 10.77.0.%s\n' "$i" "$i" >> "$S/ssh_config"; done
  printf '%s\n' "Host h9" "  HostName 10.77.0.9" >> "$S/ssh_config"
  printf '%s\n' "Host *" "  User root" "  IdentityFile $S/id" "  StrictHostKeyChecking no" \
    "  UserKnownHostsFile /dev/null" "  LogLevel ERROR" "  BatchMode yes" "  ConnectTimeout 5" >> "$S/ssh_config"
  for i in $(seq 1 "$N"); do
    ip netns exec "$PREFIX-h$i" /usr/sbin/sshd -f "$S/sshd_config" -o ListenAddress=10.77.0.$i \
      -o PidFile="$S/sshd-h$i.pid" -E "$S/sshd-h$i.log"
  done
}

case ${1:-} in
  up) up;; down) down;;
  shape) shape "${2:?host}" "${3:?rate}";;
  *) echo "usage: $0 up|down|shape HOST RATE" >&2; exit 2;;
esac
