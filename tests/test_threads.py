"""fer4d's entry points run numpy's BLAS on one thread, unless the user chose otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, os, sys
import numpy, scipy.linalg
from threadpoolctl import threadpool_info
from fer4d.threads import single_thread_blas
if sys.argv[1] == "limit":
    single_thread_blas()
blas = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
print(json.dumps({"blas": blas, "variable": os.environ.get("OPENBLAS_NUM_THREADS")}))
"""


def probe(environment: dict[str, str], limit: bool = True) -> dict:
    """The BLAS libraries' thread counts and the variable, in a new interpreter that imported
    numpy and SciPy's linear algebra (and called ``single_thread_blas`` when ``limit``)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "limit" if limit else "leave"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture
def environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}


def test_blas_runs_on_one_thread_here_and_in_children(environment):
    found = probe(environment)
    assert found["blas"] and set(found["blas"]) == {1}
    assert found["variable"] == "1"


def test_a_users_choice_is_kept(environment):
    chosen = {**environment, "OPENBLAS_NUM_THREADS": "2"}
    found = probe(chosen)
    assert found["variable"] == "2"
    assert found["blas"] == probe(chosen, limit=False)["blas"]
