"""A failing workflow script explains itself in its rule's own log file (issue #16, item 1)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = """
import logging
from fer4d.errors import InputFileError
from fer4d.logs import script_logging

with script_logging({log!r}, "rule ingest"):
    logging.getLogger("fer4d.io").info("reading 3 scans")
    logging.getLogger("matplotlib.category").info("Using categorical units to plot a list of strings")
    logging.getLogger("PIL.PngImagePlugin").debug("STREAM b'IHDR'")
    {failure}
"""


def run_script(tmp_path: Path, failure: str, after: str = "") -> tuple[subprocess.CompletedProcess, str]:
    """Run SCRIPT with ``failure`` as the body's last line and ``after`` below the block."""
    log = tmp_path / "logs" / "ingest.log"
    code = textwrap.dedent(SCRIPT).format(log=str(log), failure=failure) + after
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    return result, log.read_text()


def test_input_file_error_is_one_line_naming_file_and_problem_then_the_traceback(tmp_path):
    result, log = run_script(tmp_path, 'raise InputFileError("raw/F001/Angry/001.wrl", "truncated VRML file")')
    assert result.returncode == 1
    lines = log.splitlines()
    error = [line for line in lines if " ERROR " in line]
    assert len(error) == 1
    assert error[0].endswith("rule ingest failed: raw/F001/Angry/001.wrl: truncated VRML file")
    assert "DEBUG" in log and "Traceback (most recent call last)" in log
    assert log.index("Traceback") > log.index(error[0])  # the traceback below the line
    assert "reading 3 scans" in log  # fer4d speaks at INFO ...
    assert "categorical units" not in log and "IHDR" not in log  # ... third-party libraries do not


@pytest.mark.parametrize(
    "failure, line",
    [
        ('raise ValueError("no usable sequence among 6 fit files")', "ValueError: no usable sequence among 6"),
        ("raise KeyError('fold')", "KeyError: 'fold'"),
    ],
)
def test_other_errors_name_their_type_and_message(tmp_path, failure, line):
    result, log = run_script(tmp_path, failure)
    assert result.returncode == 1
    assert f"rule ingest failed: {line}" in log


def test_a_successful_script_exits_zero_with_no_error(tmp_path):
    result, log = run_script(tmp_path, "pass")
    assert result.returncode == 0, result.stderr
    assert " ERROR " not in log and "reading 3 scans" in log


def test_the_imports_and_the_finished_body_are_frozen_out_of_the_cycle_collector(tmp_path):
    body = "import gc; made = [[] for _ in range(1000)]; print('inside', gc.get_freeze_count())"
    result, _ = run_script(tmp_path, body, after="\nprint('after', gc.get_freeze_count())\n")
    assert result.returncode == 0, result.stderr
    counts = dict(line.split() for line in result.stdout.splitlines())
    assert int(counts["inside"]) > 1000  # the imports, frozen before the body ran
    assert int(counts["after"]) >= int(counts["inside"]) + 1000  # the body's objects too
