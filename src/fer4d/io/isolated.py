"""Read untrusted scan files in a worker process, under a time bound per file.

Scan readers parse whatever a dataset holds, partly in C (VTK), where a malformed file can
crash the interpreter (a segmentation fault) or make it wait forever (a FIFO named like a scan,
a header that promises billions of points). ``IsolatedReader`` runs
:func:`fer4d.io.readers.read_scan` in a long-lived child process (``python -m
fer4d.io.isolated``): a file that kills the child, or takes longer than ``timeout_s``, becomes
an ``InputFileError`` naming it, the child is replaced, and the next file is read as usual.

Protocol (one request at a time): the parent writes a JSON line ``{"path": ...}``; the child
answers a JSON line, either ``{"problem": ...}`` or ``{"vertices": N, "faces": F}`` followed by
the raw ``(N, 3) float32`` and ``(F, 3) int32`` arrays. No pickles cross the pipe.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fer4d.errors import InputFileError
from fer4d.io.scan import Scan

READ_TIMEOUT_S = 120.0
"""Default time bound for reading one scan file (a BU-4DFE frame takes well under a second)."""
START_TIMEOUT_S = 120.0
"""Time bound for the worker to start (it imports the readers once)."""
READY = b"ready\n"


class _WorkerGone(Exception):
    """The worker died (``signal`` set) or did not answer in time (``timed_out``)."""

    def __init__(self, timed_out: bool, returncode: int | None):
        self.timed_out = timed_out
        self.returncode = returncode


class IsolatedReader:
    """``with IsolatedReader() as reader: scan = reader.read(path)``; see the module docstring.

    Every failure, the worker's death included, is an ``InputFileError(path, problem)``.
    ``timeout_s`` defaults to ``READ_TIMEOUT_S``.
    """

    def __init__(self, timeout_s: float | None = None):
        self.timeout_s = READ_TIMEOUT_S if timeout_s is None else timeout_s
        self._process: subprocess.Popen | None = None
        self._stderr = None
        self._buffer = b""

    def __enter__(self) -> IsolatedReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker (it exits when its input closes; killed if it does not)."""
        if self._process is not None:
            process, self._process = self._process, None
            try:
                process.stdin.close()
                process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
            process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        self._buffer = b""

    def read(self, path: str | os.PathLike) -> Scan:
        """Read one scan file in the worker → ``Scan``; ``InputFileError`` naming ``path`` on failure."""
        path = Path(path)
        self._start()
        try:
            self._process.stdin.write(json.dumps({"path": str(path)}).encode() + b"\n")
            self._process.stdin.flush()
            deadline = time.monotonic() + self.timeout_s
            header = json.loads(self._read_line(deadline))
            if "problem" in header:
                raise InputFileError(path, header["problem"])
            n_vertices, n_faces = int(header["vertices"]), int(header["faces"])
            vertices = np.frombuffer(self._read_exactly(12 * n_vertices, deadline), np.float32)
            faces = np.frombuffer(self._read_exactly(12 * n_faces, deadline), np.int32)
        except (BrokenPipeError, _WorkerGone) as err:
            problem = self._failure(err)
            self.close()
            raise InputFileError(path, problem) from None
        return Scan(vertices.reshape(-1, 3).copy(), faces.reshape(-1, 3).copy())

    def _start(self) -> None:
        if self._process is not None:
            return
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed in close())
        self._process = subprocess.Popen(
            [sys.executable, "-m", "fer4d.io.isolated"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        try:
            line = self._read_line(time.monotonic() + START_TIMEOUT_S) + b"\n"
        except _WorkerGone as err:
            problem = self._failure(err)
            self.close()
            raise RuntimeError(f"the scan-reading worker did not start: {problem}") from None
        if line != READY:
            self.close()
            raise RuntimeError(f"the scan-reading worker did not start: it said {line!r}")

    def _failure(self, err: BaseException) -> str:
        """What went wrong with the worker, as a problem to report for the file it was reading."""
        if isinstance(err, _WorkerGone) and err.timed_out:
            return f"reading took longer than {self.timeout_s:g} s (refused; the reader was stopped)"
        self._process.wait()
        code = self._process.returncode
        if code is not None and code < 0:
            return f"the reader crashed on this file ({signal.Signals(-code).name})"
        return f"the reader crashed on this file (exit status {code}{self._stderr_tail()})"

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        return f": {lines[-1]}" if lines else ""

    def _fill(self, deadline: float) -> None:
        """Append what the worker has written to the buffer, waiting at most until ``deadline``."""
        fd = self._process.stdout.fileno()
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            self._process.kill()
            raise _WorkerGone(timed_out=True, returncode=None)
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            raise _WorkerGone(timed_out=False, returncode=self._process.poll())
        self._buffer += chunk

    def _read_line(self, deadline: float) -> bytes:
        while b"\n" not in self._buffer:
            self._fill(deadline)
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def _read_exactly(self, size: int, deadline: float) -> bytes:
        while len(self._buffer) < size:
            self._fill(deadline)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def _serve(stdin, stdout) -> None:
    """The worker's loop: one request line in, one answer out, until the input closes."""
    # VTK (pyvista) is imported by the readers that need it, on their first file: VRML 2.0
    # IndexedFaceSets, the synthetic default's format, never load it (0.8 s of start-up per
    # ingest job here); the per-file bound is far above that import's time.
    from fer4d.io.readers import read_scan

    stdout.write(READY)
    stdout.flush()
    for line in stdin:
        path = json.loads(line)["path"]
        try:
            scan = read_scan(path)
        except InputFileError as err:
            answer, arrays = {"problem": err.problem}, []
        except Exception as err:  # a reader bug is still one line about this file
            answer, arrays = {"problem": f"cannot read the file ({type(err).__name__}: {err})"}, []
        else:
            answer, arrays = {"vertices": len(scan.vertices), "faces": len(scan.faces)}, [scan.vertices, scan.faces]
        stdout.write(json.dumps(answer).encode() + b"\n")
        for array in arrays:
            stdout.write(np.ascontiguousarray(array).tobytes())
        stdout.flush()


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
