#!/usr/bin/env bash
# Start a REAL single-node SLURM test cluster on 127.0.0.1, without systemd.
#
# Usage: scripts/slurm/start-test-cluster.sh [STATE_DIR]
#   STATE_DIR (default: a new mktemp dir) receives slurm.conf, the munge key and socket,
#   state/spool/log folders and one pid file per daemon (pids/*.pid). The last lines of
#   stdout are shell assignments the caller evals:  SLURM_CONF=...  FER4D_SLURM_DIR=...
# Needs root and the Debian packages: apt-get install -y slurm-wlm slurm-client munge
# Stop with scripts/slurm/stop-test-cluster.sh STATE_DIR (kills only the pids written here).
set -euo pipefail

for tool in munged slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null || { echo "start-test-cluster: '$tool' not found; install: apt-get install -y slurm-wlm slurm-client munge" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "start-test-cluster: must run as root (munged and slurmd need it)" >&2; exit 2; }

DIR="${1:-$(mktemp -d /tmp/fer4d-slurm.XXXXXX)}"
mkdir -p "$DIR"/{state,spool,log,pids}
DIR="$(cd "$DIR" && pwd)"
NODE="$(hostname -s)"
CPUS="$(nproc)"
MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
# Ports: per-directory offsets so two clusters on one machine do not collide.
PORT_BASE=$(( 20000 + $(cksum <<<"$DIR" | cut -d' ' -f1) % 20000 ))

# --- munge: its own key, socket and pid file, running as user munge ------------------
# Its folder sits directly under /tmp: user munge must reach it, and STATE_DIR's parents
# (e.g. pytest's tmp folders) may be private to root. Recorded for the stop script.
MUNGE_DIR="$(mktemp -d /tmp/fer4d-munge.XXXXXX)"
echo "$MUNGE_DIR" >"$DIR/munge-dir"
chown munge: "$MUNGE_DIR"
chmod 711 "$MUNGE_DIR"
dd if=/dev/urandom of="$MUNGE_DIR/munge.key" bs=1 count=1024 status=none
chown munge: "$MUNGE_DIR/munge.key"; chmod 400 "$MUNGE_DIR/munge.key"
MUNGE_SOCKET="$MUNGE_DIR/munge.socket"
su -s /bin/sh munge -c "munged --key-file=$MUNGE_DIR/munge.key --socket=$MUNGE_SOCKET \
    --pid-file=$MUNGE_DIR/munged.pid --log-file=$MUNGE_DIR/munged.log --seed-file=$MUNGE_DIR/munge.seed"
for _ in $(seq 50); do [ -s "$MUNGE_DIR/munged.pid" ] && break; sleep 0.1; done
cp "$MUNGE_DIR/munged.pid" "$DIR/pids/munged.pid"

# --- slurm.conf ----------------------------------------------------------------------
cat >"$DIR/slurm.conf" <<CONF
ClusterName=fer4dtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$PORT_BASE
SlurmdPort=$((PORT_BASE + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/slurmd-%n
SlurmctldPidFile=$DIR/pids/slurmctld.pid
SlurmdPidFile=$DIR/pids/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
MinJobAge=3600
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=main Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$DIR/slurm.conf"
# Snakemake's job-step executor strips SLURM_* variables (SLURM_CONF too) before its nested
# srun, which then reads the default /etc/slurm/slurm.conf. Link ours there if none exists;
# the stop script removes the link only if this script made it.
if [ ! -e /etc/slurm/slurm.conf ]; then
    mkdir -p /etc/slurm
    ln -s "$SLURM_CONF" /etc/slurm/slurm.conf
    echo /etc/slurm/slurm.conf >"$DIR/created-default-conf"
elif [ "$(readlink -f /etc/slurm/slurm.conf)" != "$SLURM_CONF" ]; then
    echo "start-test-cluster: /etc/slurm/slurm.conf exists and is not ours; jobs' srun would use it" >&2
    exit 1
fi

# --- daemons (each writes its pid file; -f points at our conf) ------------------------
slurmctld -f "$SLURM_CONF" -i
for _ in $(seq 50); do [ -s "$DIR/pids/slurmctld.pid" ] && break; sleep 0.1; done
slurmd -f "$SLURM_CONF" -N "$NODE"
for _ in $(seq 100); do
    state="$(sinfo -h -N -o %t 2>/dev/null || true)"
    case "$state" in idle*|mix*|alloc*) break ;; esac
    sleep 0.2
done
if ! sinfo -h -N -o %t 2>/dev/null | grep -qE 'idle|mix|alloc'; then
    echo "start-test-cluster: node $NODE did not become idle; see $DIR/log" >&2
    tail -n 20 "$DIR"/log/*.log >&2 || true
    exit 1
fi
echo "start-test-cluster: node $NODE ($CPUS CPUs, ${MEM_MB} MB) up in partition 'main'" >&2
echo "SLURM_CONF=$SLURM_CONF"
echo "FER4D_SLURM_DIR=$DIR"
