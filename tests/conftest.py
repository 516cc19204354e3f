"""Test-suite settings and the one tiny end-to-end workflow run that several tests share.

The suite runs in one process (the workflow and SLURM tests start their own jobs on both
cores), with one torch thread for in-process tests."""

import pytest
import torch

from workflow_helpers import snakemake

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One torch thread in every in-process test, whatever an earlier test's benchmark set
    (``bench fit`` / ``bench memory`` set ``--threads`` for the process): tiny models and small
    fits run fastest so on a shared 2-core machine."""
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_local_run(tmp_path_factory):
    """The whole workflow on the tiny config, run locally once per test session."""
    workdir = tmp_path_factory.mktemp("tiny_local_run")
    result = snakemake(workdir, "-c2")
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir
