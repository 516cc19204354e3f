"""Run the fer4d workflow from tests: the repository's Snakefile in a separate working folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = ROOT / "tests" / "data" / "tiny_config.yaml"


def snakemake(
    workdir: Path, *args: str, timeout: float = 1200, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``snakemake`` on the tiny config with ``workdir`` as working folder; output captured.
    ``env``: the environment to run in (default: this process's)."""
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(TINY_CONFIG),
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def planned_jobs(dry_run_output: str) -> dict[str, int]:
    """Rule name -> job count from the 'Job stats' table of a dry run ({} when nothing is to be done)."""
    lines = dry_run_output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Job stats")), None)
    if start is None:
        assert "Nothing to be done" in dry_run_output, dry_run_output[-3000:]
        return {}
    counts = {}
    for line in lines[start + 3 :]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        if parts[0] != "total":
            counts[parts[0]] = int(parts[1])
    return counts
