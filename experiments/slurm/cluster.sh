#!/usr/bin/env bash
# A real single-node Slurm cluster for as long as one command runs: generates slurm.conf for
# this machine (CPUs and memory as slurmd detects them, the hostname), starts munged with a
# fresh key, slurmctld and slurmd, all with their state, spool, logs and sockets in a private
# folder, waits until the node is idle, runs COMMAND with SLURM_CONF pointing at the cluster,
# and stops every daemon on exit (also on failure or Ctrl-C). Needs root (slurmd runs jobs as
# their user) and Debian's slurm-wlm and munge.
#
#   experiments/slurm/cluster.sh COMMAND [ARGS...]
#   e.g. experiments/slurm/cluster.sh sinfo
#
# Exits with COMMAND's status (or 1 when the cluster does not come up; its logs are printed).
# LATE_SAM_SLURM_KEEP=1 keeps the private folder (for reading the daemons' logs afterwards).
set -euo pipefail
if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,13p' "$0"
  [[ $# -ge 1 ]] && exit 0
  exit 2
fi
for tool in munged slurmctld slurmd sinfo; do
  command -v "$tool" >/dev/null || {
    echo "cluster.sh: $tool not found (apt-get install slurm-wlm munge)" >&2
    exit 1
  }
done
[[ $(id -u) -eq 0 ]] || {
  echo "cluster.sh: must run as root (slurmd starts jobs as their user)" >&2
  exit 1
}

dir=$(mktemp -d -t late-sam-slurm.XXXXXX)
chmod 700 "$dir"
mkdir -p "$dir"/{munge,state,spool,log}
pids=()

stop() {
  local status=$?
  set +e
  # Jobs still queued or running (a check that stopped early) are cancelled while slurmd can
  # still end their steps.
  if [[ -f $dir/slurm.conf ]] && SLURM_CONF=$dir/slurm.conf scancel --user="$(id -un)" 2>/dev/null; then
    for _ in $(seq 100); do
      [[ -z $(SLURM_CONF=$dir/slurm.conf squeue -h 2>/dev/null) ]] && break
      sleep 0.2
    done
  fi
  # slurmd and slurmctld first (they talk to munged), then munged; each by the pid we started.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null && [[ $(ps -o stat= -p "$pid") != Z* ]]; then
      echo "cluster.sh: daemon $pid still running after the stop" >&2
      status=1
    fi
  done
  if [[ ${LATE_SAM_SLURM_KEEP:-0} == 1 ]]; then
    echo "cluster.sh: kept $dir" >&2
  else
    rm -rf "$dir"
  fi
  exit "$status"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port nobody listens on, from a start value (several clusters may share a machine).
free_port() {
  local port=$1
  while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}
ctld_port=$(free_port 6817)
slurmd_port=$(free_port $((ctld_port + 1)))

# munge: a fresh key readable by root alone; the daemon's socket in the private folder.
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
  --seed-file="$dir/munge/munged.seed" --foreground >>"$dir/log/munged.log" 2>&1 &
pids+=($!)

host=$(hostname -s)
# The node line as slurmd detects this machine (CPUs, sockets, cores, threads, memory).
node=$(slurmd -C | head -n 1 | sed -E 's/^NodeName=[^ ]+/NodeName='"$host"'/')
cat >"$dir/slurm.conf" <<EOF
ClusterName=late-sam-check
SlurmctldHost=$host
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
# No systemd or cgroup delegation in a container: track processes through /proc.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
# No slurmdbd: sacct reads finished jobs from the job-completion file (sacct --completion).
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
# Keep finished jobs visible to squeue/scontrol long enough to check their states.
MinJobAge=600
SchedulerType=sched/backfill
SchedulerParameters=defer_batch_interval=0
$node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
export SLURM_CONF=$dir/slurm.conf

for _ in $(seq 50); do [[ -S $dir/munge/munge.sock ]] && break; sleep 0.1; done
slurmctld -D -i -f "$SLURM_CONF" >>"$dir/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >>"$dir/log/slurmd.out" 2>&1 &
pids+=($!)

up=0
for _ in $(seq 120); do
  state=$(sinfo -h -n "$host" -o '%t' 2>/dev/null || true)
  if [[ $state == idle ]]; then up=1 && break; fi
  sleep 0.5
done
if ((!up)); then
  echo "cluster.sh: the node did not become idle within 60 s (state: ${state:-none})" >&2
  tail -n 20 "$dir"/log/*.log >&2
  exit 1
fi
echo "cluster.sh: node $host idle (${node#* }), SLURM_CONF=$SLURM_CONF" >&2
echo "cluster.sh: daemon pids ${pids[*]} (munged, slurmctld, slurmd)" >&2
"$@"
