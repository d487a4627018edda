#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine (slurmctld + slurmd on localhost, munge for
# authentication), to try slurm.pl and a recipe's train_cmd=slurm.pl without a cluster.
#
#   tools/slurm_local.sh start [--state-dir DIR] [--port P]   # then: export SLURM_CONF=DIR/slurm.conf
#   tools/slurm_local.sh status|stop [--state-dir DIR]
#
# Needs Debian's slurm-wlm and munge packages (apt-get install slurm-wlm munge, as root) and
# must itself run as root: slurmd starts every job as the user who submitted it. Everything it
# writes (config, munge key, spool, logs, pid files) lives in the state directory (default
# tools/slurm_local/), nothing in /etc; ports P and P+1 (default 16817-16818) on localhost.
# With SLURM_CONF exported, sbatch/squeue/sinfo and serkit's slurm.pl talk to this cluster:
#   export SLURM_CONF=tools/slurm_local/slurm.conf
#   egs/demo/run.sh --stage 4 --stop-stage 4 -- --train-cmd utils/slurm.pl
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=$root/tools/slurm_local
port=16817
usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
[ $# -ge 1 ] || { usage >&2; exit 1; }
action=$1; shift
while [ $# -gt 0 ]; do
  case "$1" in
    --state-dir) state=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$0: unknown option '$1'" >&2; usage >&2; exit 1 ;;
  esac
done
mkdir -p "$state"
state=$(cd "$state" && pwd)
conf=$state/slurm.conf
socket=$state/munge/munge.socket.2
die() { echo "$0: $*" >&2; exit 1; }

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_config() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  cat > "$conf" <<EOF
# Written by tools/slurm_local.sh: a one-node cluster for trying serkit's slurm.pl.
ClusterName=serkit
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  [ "$(id -u)" = 0 ] || die "must run as root (slurmd starts jobs as their submitting user); use sudo"
  for exe in munged slurmctld slurmd sbatch; do
    command -v "$exe" >/dev/null || die "$exe not found: install Debian's slurm-wlm and munge (apt-get install slurm-wlm munge)"
  done
  if running "$state/slurmctld.pid" && running "$state/slurmd.pid"; then
    echo "$0: already running; export SLURM_CONF=$conf"; return 0
  fi
  mkdir -p "$state/munge" "$state/ctld" "$state/spool"
  chmod 700 "$state/munge"
  [ -f "$state/munge/munge.key" ] || { head -c 1024 /dev/urandom > "$state/munge/munge.key"; chmod 400 "$state/munge/munge.key"; }
  write_config
  if ! running "$state/munge/munged.pid"; then
    munged --force --key-file "$state/munge/munge.key" --socket "$socket" --pid-file "$state/munge/munged.pid" \
      --log-file "$state/munge/munged.log" --seed-file "$state/munge/munged.seed" \
      || die "munged did not start (see $state/munge/munged.log)"
  fi
  SLURM_CONF=$conf slurmctld -f "$conf" || die "slurmctld did not start (see $state/slurmctld.log)"
  SLURM_CONF=$conf slurmd -f "$conf" || die "slurmd did not start (see $state/slurmd.log)"
  for _ in $(seq 60); do
    if SLURM_CONF=$conf sinfo -h -o %T 2>/dev/null | grep -q -E '^(idle|mixed|allocated)'; then
      echo "$0: one-node cluster up ($(nproc) CPUs); export SLURM_CONF=$conf"
      return 0
    fi
    sleep 1
  done
  die "the node did not become idle within 60 s (see $state/slurmctld.log and $state/slurmd.log)"
}

stop() {
  local pidfile pid
  for pidfile in "$state/slurmd.pid" "$state/slurmctld.pid" "$state/munge/munged.pid"; do
    if running "$pidfile"; then
      pid=$(cat "$pidfile")
      kill "$pid"
      for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
  done
  echo "$0: stopped (state kept in $state)"
}

case "$action" in
  start) start ;;
  stop) stop ;;
  status)
    if running "$state/slurmctld.pid" && running "$state/slurmd.pid"; then
      SLURM_CONF=$conf sinfo
    else
      echo "$0: not running"; exit 1
    fi ;;
  *) usage >&2; exit 1 ;;
esac
