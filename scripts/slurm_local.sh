#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine (as root), to try and test the SLURM launcher:
#   sudo bash scripts/slurm_local.sh          # then: sinfo; python -m harness -m hydra/launcher=slurm ...
# One node named after `hostname -s` with all its CPUs and a RealMemory below the machine's memory,
# one default partition `debug`, no accounting database (the harness reads job states from the
# controller; docs/slurm.md says why). Idempotent: a cluster that already answers sinfo is left
# as it is. State and logs go to $SLURM_LOCAL_DIR (default /var/lib/mlp-bench-slurm).
# Needs Debian's slurm-wlm and munge (apt-get install -y slurm-wlm munge).
set -euo pipefail

STATE="${SLURM_LOCAL_DIR:-/var/lib/mlp-bench-slurm}"
CONF=/etc/slurm/slurm.conf
MARK="# written by mlp-bench scripts/slurm_local.sh"

die() { echo "slurm_local: $*" >&2; exit 1; }

answers() { timeout 10 sinfo -h -o '%P %a' >/dev/null 2>&1; }

if command -v sinfo >/dev/null 2>&1 && answers; then
  echo "slurm_local: a cluster already answers sinfo; nothing started"
  sinfo
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "must run as root (it starts munged, slurmctld and slurmd); try: sudo bash $0"
for cmd in munged slurmctld slurmd sinfo; do
  command -v "$cmd" >/dev/null 2>&1 || die "$cmd not found; install SLURM first: apt-get install -y slurm-wlm munge"
done
if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
  die "$CONF exists and was not written by this script; start that cluster instead (or move the file away)"
fi

HOST="$(hostname -s)"
CPUS="$(nproc)"
MEM_MB="$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)"
REAL_MB=$(( MEM_MB * 9 / 10 ))   # below the machine's memory: slurmd drains a node that reports less
mkdir -p "$STATE/ctld" "$STATE/spool" "$STATE/log" /etc/slurm

# Addresses are given (127.0.0.1): a container's hostname may not resolve.
cat > "$CONF" <<EOF
$MARK
ClusterName=mlpbench
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
MpiDefault=none
KillWait=5
MinJobAge=600
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REAL_MB State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

# munge: the key comes with Debian's package; munged runs as its own user.
[ -f /etc/munge/munge.key ] || die "/etc/munge/munge.key missing; reinstall munge (apt-get install --reinstall munge)"
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge/munge.key 2>/dev/null || true
if ! munge -n >/dev/null 2>&1; then
  runuser -u munge -- munged || die "munged did not start; see /var/log/munge/munged.log"
fi

pgrep -x slurmctld >/dev/null || slurmctld || die "slurmctld did not start; see $STATE/log/slurmctld.log"
pgrep -x slurmd >/dev/null || slurmd || die "slurmd did not start; see $STATE/log/slurmd.log"

for _ in $(seq 30); do
  if answers && [ "$(sinfo -h -n "$HOST" -o '%t' 2>/dev/null)" = "idle" ]; then
    echo "slurm_local: node $HOST ($CPUS CPUs, ${REAL_MB} MB) idle in partition debug; logs in $STATE/log"
    sinfo
    exit 0
  fi
  sleep 1
done
die "the cluster did not come up within 30 s; see $STATE/log/slurmctld.log and $STATE/log/slurmd.log"
