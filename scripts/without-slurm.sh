#!/usr/bin/env bash
# Run a command with every SLURM and munge client hidden from PATH, as on a machine without SLURM.
# Usage: scripts/without-slurm.sh make test
# PATH is replaced by one folder of links to every other program on it (first match wins, as in
# PATH), so a test that still reaches a real SLURM client fails with "not found".
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
hidden='^(sbatch|srun|salloc|sacct|sacctmgr|sattach|sbcast|scancel|scontrol|sdiag|sinfo|sprio|squeue|sreport|sshare|sstat|strigger|sview|slurmctld|slurmd|slurmdbd|slurmstepd|munge|munged|unmunge)$'
farm=$(mktemp -d "${TMPDIR:-/tmp}/without-slurm.XXXXXX")
trap 'rm -rf "$farm"' EXIT
IFS=: read -r -a dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
    [ -d "$dir" ] || continue
    for program in "$dir"/*; do
        name=${program##*/}
        [ -x "$program" ] && [ ! -d "$program" ] || continue
        [[ $name =~ $hidden ]] && continue
        [ -e "$farm/$name" ] || ln -s "$program" "$farm/$name"
    done
done
export PATH="$farm"
for client in sbatch sacct squeue slurmctld; do
    if command -v "$client" >/dev/null 2>&1; then
        echo "without-slurm: $client is still on PATH" >&2
        exit 1
    fi
done
echo "without-slurm: SLURM clients hidden from PATH for: $*"
"$@"
