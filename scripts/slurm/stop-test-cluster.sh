#!/usr/bin/env bash
# Stop the test cluster started by start-test-cluster.sh: kill exactly the pids in
# STATE_DIR/pids/*.pid (slurmd, slurmctld, munged), never processes found by name.
# Usage: scripts/slurm/stop-test-cluster.sh STATE_DIR
set -uo pipefail
DIR="${1:?usage: stop-test-cluster.sh STATE_DIR}"
for name in slurmd slurmctld munged; do
    pidfile="$DIR/pids/$name.pid"
    [ -s "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$pidfile"
    echo "stop-test-cluster: stopped $name (pid $pid)" >&2
done
# Remove the default-config link only if the start script created it and it still points here.
if [ -s "$DIR/created-default-conf" ]; then
    link="$(cat "$DIR/created-default-conf")"
    [ "$(readlink "$link")" = "$DIR/slurm.conf" ] && rm -f "$link"
    rm -f "$DIR/created-default-conf"
fi
# Remove the munge folder this cluster's start script made under /tmp.
if [ -s "$DIR/munge-dir" ]; then
    munge_dir="$(cat "$DIR/munge-dir")"
    case "$munge_dir" in /tmp/fer4d-munge.*) rm -rf "$munge_dir" ;; esac
    rm -f "$DIR/munge-dir"
fi
