"""Cluster submission: the SLURM profile against a real single-node SLURM, and honest GPU requests.

The real-cluster test starts slurmctld/slurmd/munged with scripts/slurm/start-test-cluster.sh
(Debian packages slurm-wlm, slurm-client, munge), runs the tiny workflow through
workflow/profiles/slurm, checks that SLURM ran the jobs and that the results equal a local run's,
then stops exactly the daemons the script started (by pid file).

The GPU tests need no SLURM at all: snakemake's slurm executor submits to a fake ``sbatch`` on
PATH that records its command line and refuses the job, so no GPU is pretended to exist. The
plugin also asks ``sacct``, ``squeue``, ``scontrol`` … before and after submitting; those are faked
as well (answering nothing), so the tests pass on a machine without any SLURM client.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from workflow_helpers import ROOT, TINY_CONFIG

PROFILE = ROOT / "workflow" / "profiles" / "slurm"
SCRIPTS = ROOT / "scripts" / "slurm"
GPU_RULES = ("fit", "train_autoencoder", "embed", "train_transformer")
NO_GPU_ON_TEST_CLUSTER = ["--set-resources", *(f"{rule}:gpu=0" for rule in GPU_RULES)]
SLURM_TEST_OPTIONS = [
    "--slurm-status-command",
    "squeue",  # no accounting database on the test cluster: no sacct
    "--slurm-init-seconds-before-status-checks",
    "5",
    "--slurm-no-account",
    "--slurm-keep-successful-logs",  # the test counts the per-job SLURM logs
    "--latency-wait",
    "5",
    # A fold's group job asks for the cores of its members that can run at once (4 with three
    # baselines); the test node has nproc cores, so the group must be capped at them.
    "--cores",
    str(os.cpu_count()),
]


def run_bounded(command: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """Run ``command``; past ``timeout`` s send SIGINT (a hung slurm plugin ignores SIGTERM)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        pytest.fail(f"{command[:4]} timed out after {timeout} s:\n{output[-5000:]}")
    return subprocess.CompletedProcess(command, process.returncode, output, "")


def snakemake_command(workdir: Path, *args: str, snakefile: Path = ROOT / "Snakefile") -> list[str]:
    return [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), "--directory", str(workdir), *args]


# --------------------------------------------------------------------------------------------
# GPU requests: parsed sbatch command lines from a fake sbatch
# --------------------------------------------------------------------------------------------

TOY_SNAKEFILE = """
localrules: all

rule all:
    input: "fit.txt", "ingest.txt", "train_autoencoder.txt"

rule fit:
    output: "fit.txt"
    threads: 1
    resources: gpu=config["gpu"]
    shell: "touch {output}"

rule train_autoencoder:
    output: "train_autoencoder.txt"
    threads: 2
    resources: gpu=config["gpu"], mem_mb=3000
    shell: "touch {output}"

rule ingest:
    output: "ingest.txt"
    threads: 1
    shell: "touch {output}"
"""

FAKE_SBATCH = """#!/bin/sh
# Records its command line (one file per call) and refuses the job: no job ever runs.
printf '%s\\n' "$*" > "$(mktemp {record_dir}/call.XXXXXX)"
echo "fake sbatch: recorded, not submitted" >&2
exit 1
"""

# Every other SLURM client the executor plugin may call (account lookup, status queries,
# cancellation, partitions): each answers nothing and succeeds, so no real one is ever reached.
FAKE_CLIENT = """#!/bin/sh
exit 0
"""
FAKED_CLIENTS = ("sacct", "sacctmgr", "sshare", "squeue", "scontrol", "sinfo", "scancel")


def recorded_sbatch_calls(tmp_path: Path, *extra: str) -> dict[str, list[str]]:
    """Rule name -> sbatch argv that the slurm profile produced for the toy workflow."""
    record_dir = tmp_path / "sbatch_calls"
    bin_dir = tmp_path / "bin"
    record_dir.mkdir()
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"
    sbatch.write_text(FAKE_SBATCH.format(record_dir=record_dir))
    sbatch.chmod(0o755)
    for client in FAKED_CLIENTS:
        (bin_dir / client).write_text(FAKE_CLIENT)
        (bin_dir / client).chmod(0o755)
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(TOY_SNAKEFILE)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    command = snakemake_command(
        tmp_path / "work",
        "--workflow-profile",
        str(PROFILE),
        "--config",
        "gpu=0",
        "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--restart-times",
        "0",
        *extra,
        snakefile=snakefile,
    )
    result = run_bounded(command, timeout=120, env=env, cwd=tmp_path)
    assert result.returncode != 0, "the fake sbatch refuses every job, so the run must fail"
    calls = {}
    for record in record_dir.iterdir():
        argv = shlex.split(record.read_text())
        rule = argv[argv.index("--comment") + 1].removeprefix("rule_")
        calls[rule] = argv
    assert set(calls) == {"fit", "train_autoencoder", "ingest"}, result.stdout[-3000:]
    return calls


def gpu_requests(argv: list[str]) -> list[str]:
    return [arg for arg in argv if arg.startswith(("--gpus", "--gres")) or arg.startswith("--gpus-per")]


def test_profile_requests_gpus_only_on_gpu_rules(tmp_path):
    calls = recorded_sbatch_calls(tmp_path)
    assert gpu_requests(calls["fit"]) == ["--gpus=1"]
    assert gpu_requests(calls["train_autoencoder"]) == ["--gpus=1"]
    assert gpu_requests(calls["ingest"]) == []
    for rule, argv in calls.items():
        assert argv[argv.index("-p") + 1] == "main", rule  # the profile's partition placeholder
    # threads reach --cpus-per-task, rule memory overrides the profile default
    assert "--cpus-per-task=2" in calls["train_autoencoder"]
    assert "--cpus-per-task=1" in calls["ingest"]
    assert calls["train_autoencoder"][calls["train_autoencoder"].index("--mem") + 1] == "3000"
    assert calls["ingest"][calls["ingest"].index("--mem") + 1] == "2000"


def test_gpu_model_and_cpu_override_reach_sbatch(tmp_path):
    calls = recorded_sbatch_calls(
        tmp_path, "--set-resources", "fit:gpu=2", "fit:gpu_model=a100", "train_autoencoder:gpu=0"
    )
    assert gpu_requests(calls["fit"]) == ["--gpus=a100:2"]
    assert gpu_requests(calls["train_autoencoder"]) == []  # the CPU-only override is honoured
    assert gpu_requests(calls["ingest"]) == []


# --------------------------------------------------------------------------------------------
# A real single-node SLURM
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    """SLURM_CONF and state folder of a test cluster started by the repository's script."""
    missing = [tool for tool in ("slurmctld", "slurmd", "munged", "sbatch") if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"SLURM not installed ({', '.join(missing)} missing): "
            "apt-get install -y slurm-wlm slurm-client munge (as root) to run this test"
        )
    if os.geteuid() != 0:
        pytest.skip("the SLURM test cluster needs root (munged runs as user munge, slurmd as root)")
    state = tmp_path_factory.mktemp("slurm_cluster")
    started = subprocess.run(
        ["bash", str(SCRIPTS / "start-test-cluster.sh"), str(state)], capture_output=True, text=True, timeout=120
    )
    try:
        if started.returncode != 0:
            pytest.skip(f"SLURM test cluster did not start:\n{started.stderr[-3000:]}")
        settings = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
        yield settings["SLURM_CONF"], state
    finally:
        subprocess.run(["bash", str(SCRIPTS / "stop-test-cluster.sh"), str(state)], timeout=120)


@pytest.mark.slow
def test_tiny_workflow_on_real_slurm_equals_local_run(slurm_cluster, tiny_local_run, tmp_path):
    slurm_conf, state = slurm_cluster
    env = {**os.environ, "SLURM_CONF": slurm_conf}
    slurm_dir, local_dir = tmp_path / "slurm", tiny_local_run

    planned = run_bounded(snakemake_command(slurm_dir, "-n", "--configfile", str(TINY_CONFIG)), timeout=120)
    assert planned.returncode == 0, planned.stdout[-3000:]
    local_rules = {"all", "run_config", "quarantine"}

    on_slurm = run_bounded(
        snakemake_command(
            slurm_dir,
            "--workflow-profile",
            str(PROFILE),
            "--configfile",
            str(TINY_CONFIG),
            *SLURM_TEST_OPTIONS,
            *NO_GPU_ON_TEST_CLUSTER,
        ),
        timeout=900,
        env=env,
        cwd=ROOT,
    )
    assert on_slurm.returncode == 0, on_slurm.stdout[-5000:]

    # every non-local job went through SLURM: one log per SLURM job, and slurmctld allocated it
    slurm_logs = sorted((slurm_dir / ".snakemake" / "slurm_logs").rglob("*.log"))
    job_ids = {int(log.stem) for log in slurm_logs}
    submitted = on_slurm.stdout.count("has been submitted with SLURM jobid")
    ran_locally = sum(on_slurm.stdout.count(f"localrule {rule}:") for rule in local_rules)
    # one SLURM job per ungrouped rule, per subject (its ingests + fit) and per fold (train, embed, classify)
    tiny = yaml.safe_load(TINY_CONFIG.read_text())
    expected = 6 + tiny["synthetic"]["subjects"] + tiny["folds"]["k"]
    assert submitted == len(job_ids) == expected, on_slurm.stdout[-3000:]
    assert ran_locally == len(local_rules)
    controller_log = (state / "log" / "slurmctld.log").read_text()
    for job_id in job_ids:
        assert f"JobId={job_id} " in controller_log
    print(f"SLURM ran {len(job_ids)} jobs")

    # same numbers as the local run (deterministic on CPU)
    with (
        h5py.File(slurm_dir / "results" / "store" / "dataset.h5") as a,
        h5py.File(local_dir / "results" / "store" / "dataset.h5") as b,
    ):
        names = sorted(a["sequences"])
        assert names == sorted(b["sequences"]) and names
        for name in names:
            np.testing.assert_array_equal(a["sequences"][name]["vertices"][()], b["sequences"][name]["vertices"][()])
    metrics = [json.loads((d / "results" / "report" / "metrics.json").read_text()) for d in (slurm_dir, local_dir)]
    assert metrics[0]["confusion_matrix"] == metrics[1]["confusion_matrix"]
    assert metrics[0]["accuracy"] == metrics[1]["accuracy"]
