"""The workflow under faults (issue #16): planted bad data, killed jobs, an interrupted and a
concurrent ``snakemake``. Each run is on tiny data; results are compared with the session's
uninterrupted ``tiny_local_run``."""

from __future__ import annotations

import base64
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml
from matplotlib.image import imread

from fer4d.checkpoint import load_checkpoint
from planted_faults import write_planted_dataset
from workflow_helpers import ROOT, TINY_CONFIG, snakemake

LOCK_MESSAGE = "Directory cannot be locked"
VOLATILE_KEYS = ("created", "seconds", "time", "duration", "peak_mb", "baseline_mb", "ms_per")
"""Parts of JSON keys / HDF5 attribute names that record when or how fast, not what (as do names
ending in ``_s``): left out of comparisons."""


def popen_snakemake(workdir: Path, *args: str) -> subprocess.Popen:
    """``snakemake`` on the tiny config in its own process group (so a signal reaches every job).

    Its output goes to a temporary file (read it with ``output_of``), never to a pipe that no one
    drains while the test waits: a full pipe would stop Snakemake mid-write. Ctrl-C is restored in
    the child: a suite started as a shell's background job inherits SIGINT ignored.
    """
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]
    command += ["--directory", str(workdir), "--configfile", str(TINY_CONFIG), *args]
    output = tempfile.TemporaryFile("w+")  # noqa: SIM115  (closed when the process object is collected)
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    process.output = output
    return process


def output_of(process: subprocess.Popen) -> str:
    """What a ``popen_snakemake`` process printed so far."""
    process.output.seek(0)
    text = process.output.read()
    process.output.seek(0, os.SEEK_END)
    return text


def wait_for(condition, timeout: float, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(
                f"snakemake ended (status {process.returncode}) before {what}:\n{output_of(process)[-3000:]}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def volatile(name: str) -> bool:
    return name.endswith("_s") or any(key in name for key in VOLATILE_KEYS)


def strip_volatile(value):
    if isinstance(value, dict):
        return {k: strip_volatile(v) for k, v in value.items() if not volatile(k)}
    if isinstance(value, list):
        return [strip_volatile(v) for v in value]
    return value


def h5_content(path: Path) -> dict:
    """Every dataset and (non-volatile) attribute of an HDF5 file, for equality checks."""
    content = {}
    with h5py.File(path, "r") as f:

        def visit(name, item):
            if isinstance(item, h5py.Dataset):
                content[name] = item[()]
            content.update({f"{name}@{k}": v for k, v in item.attrs.items() if not volatile(k)})

        f.visititems(visit)
        content.update({f"@{k}": v for k, v in f.attrs.items() if not volatile(k)})
    return content


def assert_same_file(path: Path, reference: Path) -> None:
    """``path`` holds what ``reference`` holds (timings and timestamps aside); a folder, file by file."""
    if reference.is_dir():
        assert sorted(p.name for p in path.iterdir()) == sorted(p.name for p in reference.iterdir()), path
        for file in reference.iterdir():
            assert_same_file(path / file.name, file)
    elif path.suffix == ".h5":
        a, b = h5_content(path), h5_content(reference)
        assert a.keys() == b.keys(), path
        for key in a:
            if isinstance(a[key], np.ndarray) and a[key].dtype.kind == "f":
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{path}:{key}")
            else:
                assert np.array_equal(a[key], b[key]), f"{path}:{key}"
    elif path.suffix == ".json":
        assert strip_volatile(json.loads(path.read_text())) == strip_volatile(json.loads(reference.read_text())), path
    elif path.suffix == ".npz":
        with np.load(path) as a, np.load(reference) as b:
            assert sorted(a.files) == sorted(b.files), path
            for key in a.files:
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{path}:{key}")
    elif path.suffix == ".pt":
        assert_same_payload(load_checkpoint(path), load_checkpoint(reference), str(path))
    else:
        assert path.read_bytes() == reference.read_bytes(), path


def assert_same_payload(a, b, where: str) -> None:
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        keys = [k for k in a if not volatile(str(k))]
        assert keys == [k for k in b if not volatile(str(k))], where
        for key in keys:
            assert_same_payload(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_payload(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


FINAL_OUTPUTS = [
    "store/dataset.h5",
    "folds/0/autoencoder.pt",
    "folds/1/embeddings.h5",
    "folds/2/predictions.json",
    "report/metrics.json",
    "quarantine.json",
]


# ---------------------------------------------------------------- planted faults (Checked by)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The planted-fault dataset on the tiny config's synthetic settings (3 subjects)."""
    out = tmp_path_factory.mktemp("planted")
    tiny = yaml.safe_load(TINY_CONFIG.read_text())
    config, faults = write_planted_dataset(out / "data", tiny["synthetic"], workers=2)
    # a second --configfile replaces the tiny one: carry the tiny settings over
    config.write_text(yaml.safe_dump({**tiny, **yaml.safe_load(config.read_text())}))
    return config, faults


@pytest.mark.slow
def test_planted_faults_strict_run_fails_naming_the_sequence(planted, tmp_path):
    config, _ = planted
    strict = tmp_path / "strict.yaml"
    strict.write_text(yaml.safe_dump({**yaml.safe_load(config.read_text()), "strict": True}))
    # Snakemake starts the ingest jobs in an order of its own: keep going (as the local profile
    # does) through ingestion, so that every bad sequence, F001/Angry among them, fails by name
    result = snakemake(tmp_path, "-c2", "--keep-going", "--until=ingest", "--configfile", str(strict))
    assert result.returncode != 0
    # Snakemake's error block for the job points at the log that explains it
    assert "log: results/logs/ingest/F001/anger.log (check log file(s)" in result.stdout + result.stderr
    log = (tmp_path / "results" / "logs" / "ingest" / "F001" / "anger.log").read_text()
    [line] = [line for line in log.splitlines() if " ERROR " in line]
    assert "rule ingest failed: " in line and "/F001/Angry/" in line and "truncated" in line, line
    assert not (tmp_path / "results" / "ingest" / "F001" / "anger.h5").exists()


@pytest.mark.slow
def test_planted_faults_non_strict_run_reports_and_explains_every_fault(planted, tmp_path):
    config, faults = planted
    result = snakemake(tmp_path, "-c2", "--configfile", str(config))
    assert result.returncode == 0, result.stderr[-5000:]
    results = tmp_path / "results"
    assert "Neutral: expression folder maps to no label" in result.stdout + result.stderr
    quarantine = json.loads((results / "quarantine.json").read_text())
    quarantined = {item["file"] for item in quarantine["ingest"]}
    for fault, files in faults.items():
        assert {str(f) for f in files} <= quarantined, fault
    [dropped] = quarantine["store"]["dropped_sequences"]
    assert dropped["file"].endswith("fit/F001/anger.h5") and "ingest quarantine" in dropped["reason"]
    with h5py.File(results / "store" / "dataset.h5") as store:
        kept = sorted(store["sequences"])
    assert "F001__anger" not in kept and {"F002__happiness", "M001__sadness"} <= set(kept)
    metrics = json.loads((results / "report" / "metrics.json").read_text())
    assert metrics["n"] == len(kept)  # every kept sequence tested once
    image = imread(results / "report" / "registered_sequence.png")
    assert image.shape[1] > 3 * image.shape[0]  # a kept sequence drawn, though the first is empty
    assert "categorical units" not in (results / "logs" / "report.log").read_text()


# ---------------------------------------------------- snakemake interrupted, and run twice at once


def fit_files(results: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in (results / "fit").rglob("*.h5")}


def finished_fits(workdir: Path) -> dict[str, int]:
    """Fit files whose (per-subject) job Snakemake recorded as finished: their folder has no marker
    in ``.snakemake/incomplete`` (a job interrupted after its files were written is not finished,
    and is redone)."""
    markers = workdir / ".snakemake" / "incomplete"
    incomplete = {
        str(workdir / base64.urlsafe_b64decode(marker.name).decode())
        for marker in (markers.iterdir() if markers.is_dir() else [])
    }
    files = fit_files(workdir / "results")
    return {path: mtime for path, mtime in files.items() if str(Path(path).parent) not in incomplete}


@pytest.mark.slow
def test_interrupted_and_concurrent_snakemake_resume_to_identical_results(tiny_local_run, tmp_path):
    results = tmp_path / "results"
    # SIGINT (Ctrl-C) while sequences are being fitted
    first = popen_snakemake(tmp_path, "-c2")
    # a subject's fits Snakemake recorded as finished: on a fast machine its files can all be
    # written while the job is not recorded yet, and an interrupt then leaves them to be redone
    wait_for(lambda: len(finished_fits(tmp_path)) >= 2, 900, "two finished fits", first)
    os.killpg(first.pid, signal.SIGINT)
    assert first.wait(120) != 0
    fitted = finished_fits(tmp_path)
    assert fitted, "the interrupted run kept no finished fit"
    # SIGKILL (the node dies) while an auto-encoder is training
    second = popen_snakemake(tmp_path, "-c2", "--rerun-incomplete")
    wait_for(lambda: job_processes(tmp_path, "train_autoencoder"), 900, "auto-encoder training", second)
    time.sleep(3.0)
    os.killpg(second.pid, signal.SIGKILL)
    second.wait(60)
    assert {k: v for k, v in fit_files(results).items() if k in fitted} == fitted  # finished fits not redone
    # the lock a killed run leaves must be removed by hand, as Snakemake says. Snakemake looks for
    # incomplete outputs before it takes the lock: a job whose file was renamed into place just
    # before the kill would be reported first, so the probes accept incomplete files as to be redone
    refused = snakemake(tmp_path, "-c1", "--rerun-incomplete")  # locks all the files a run touches
    assert refused.returncode != 0 and LOCK_MESSAGE in refused.stdout + refused.stderr
    assert snakemake(tmp_path, "--unlock").returncode == 0
    # the resumed run; a second snakemake on the same folder meanwhile is refused
    third = popen_snakemake(tmp_path, "-c2", "--rerun-incomplete")
    wait_for(
        lambda: (tmp_path / ".snakemake" / "locks").is_dir() and any((tmp_path / ".snakemake" / "locks").iterdir()),
        120,
        "the lock",
        third,
    )
    concurrent = snakemake(tmp_path, "-c1", "--rerun-incomplete")
    assert concurrent.returncode != 0 and LOCK_MESSAGE in concurrent.stdout + concurrent.stderr
    third.wait(1800)
    assert third.returncode == 0, output_of(third)[-5000:]
    assert {k: v for k, v in fit_files(results).items() if k in fitted} == fitted
    for name in FINAL_OUTPUTS:
        assert_same_file(results / name, tiny_local_run / "results" / name)


# ------------------------------------------------------------------- one job killed mid-write

STAGE_TARGETS = {
    "ingest": "ingest/F001/anger.h5",
    "fit": "fit/M001",  # one job per subject: its folder of fit files
    "store": "store/dataset.h5",
    "hierarchy": "mesh/hierarchy.npz",
    "train_autoencoder": "folds/0/autoencoder.pt",
    "embed": "folds/1/embeddings.h5",
    "train_transformer": "folds/2/predictions.json",
    "report": "report/metrics.json",
}


def job_duration(run: Path, rule: str, target: str) -> float:
    """Seconds the job took in ``run`` (its Snakemake benchmark file)."""
    stem = Path(target).parent.name if rule in ("train_autoencoder", "embed", "train_transformer") else None
    relative = {
        "ingest": "ingest/F001/anger.tsv",
        "fit": "fit/M001.tsv",
        "store": "store.tsv",
        "hierarchy": "hierarchy.tsv",
        "report": "report.tsv",
    }.get(rule, f"{rule}/{stem}.tsv")
    with open(run / "results" / "benchmarks" / relative) as handle:
        return float(next(csv.DictReader(handle, delimiter="\t"))["s"])


def job_processes(workdir: Path, script: str) -> list[int]:
    """PIDs of the running jobs of ``workdir`` whose script is ``{script}.py`` (Snakemake runs a
    copy of it, ``workdir/.snakemake/scripts/tmpXXXX.{script}.py``)."""
    prefix = str(workdir / ".snakemake" / "scripts").encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(part.startswith(prefix) and part.endswith(f".{script}.py".encode()) for part in command):
                pids.append(int(entry.name))
    return pids


@pytest.fixture
def finished_copy(tiny_local_run, tmp_path):
    """A copy of the tiny run (Snakemake's metadata and file times included) to rerun a job in."""
    copy = tmp_path / "run"
    shutil.copytree(tiny_local_run, copy, symlinks=True)
    return copy


def kill_job_after(workdir: Path, rule: str, target: Path, delay: float) -> list[int]:
    """Force ``target``'s job to rerun in ``workdir``, SIGKILL it ``delay`` s after its script
    starts, and return the PIDs killed (none if the job had already finished)."""
    run = popen_snakemake(workdir, "-c1", str(target), f"--forcerun={target}")  # "=": one value
    wait_for(lambda: job_processes(workdir, rule), 300, f"the {rule} job", run)  # scripts are named after rules
    time.sleep(delay)
    killed = job_processes(workdir, rule)
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    run.wait(300)
    assert not killed or run.returncode != 0, "snakemake succeeded although its job was killed"
    return killed


@pytest.mark.slow
@pytest.mark.parametrize("rule", list(STAGE_TARGETS))
def test_a_job_killed_mid_write_leaves_no_half_file_and_its_rerun_matches(tiny_local_run, finished_copy, rule):
    target = Path("results") / STAGE_TARGETS[rule]
    reference, output = tiny_local_run / target, finished_copy / target
    rng = np.random.default_rng(sorted(STAGE_TARGETS).index(rule))
    delay = rng.uniform(0.2, 0.7) * job_duration(tiny_local_run, rule, str(target))
    # a loaded machine may run the job faster than the reference's timing: kill sooner if it
    # finished first (its complete output is checked all the same)
    for fraction in (1.0, 0.3, 0.0):
        killed = kill_job_after(finished_copy, rule, target, fraction * delay)
        assert not output.exists() or h5_or_json_complete(output, reference)
        if killed:
            break
    assert killed, f"the {rule} job ended before it could be killed, even at once"
    rerun = snakemake(finished_copy, "-c1", "--rerun-incomplete", str(target))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert_same_file(output, reference)


def h5_or_json_complete(output: Path, reference: Path) -> bool:
    """An output the killed job left under its final name must be the complete file (in a
    folder, every file it holds)."""
    if reference.is_dir():
        for file in output.iterdir():
            assert_same_file(file, reference / file.name)
    else:
        assert_same_file(output, reference)
    return True
