"""Bad-input corpus and fuzzing for every scan reader (issue #16, item 4).

Every file goes through ingestion's reading path (``fer4d.io.ingest``: the public ``read_scan``
in an isolated worker, then the frame checks and cleaning). A bad file must be quarantined with
one line naming it and its problem: never a crash of this interpreter, never a hang (a time
bound per file). The hand-written corpus is ``tests/data/bad_scans/``; the cases that depend on
a valid file (truncations, wrong magic, non-UTF-8 bytes, binary formats) or on the file system
(directories, permissions, symlink loops, FIFOs) are made here at test time.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import threading
from pathlib import Path

import meshio
import numpy as np
import pytest
import pyvista as pv

import fer4d.io.isolated as isolated
from fer4d.errors import InputFileError
from fer4d.io.ingest import ingest_sequence
from fer4d.io.isolated import IsolatedReader
from fer4d.io.options import IngestOptions
from fer4d.io.readers import read_scan
from test_io import GRID, QUADS, TRIANGLES, write_bu4dfe_wrl

CORPUS = Path(__file__).parent / "data" / "bad_scans"
FORMATS = ("wrl", "obj", "ply_ascii", "ply_binary", "stl_ascii", "stl_binary", "off", "vtk", "vtp")
FAST_TIMEOUT_S = 5.0


def write_valid(folder: Path, fmt: str) -> Path:
    """A valid 36-vertex dome in format ``fmt``."""
    extension = fmt.split("_")[0]
    path = folder / f"valid_{fmt}.{extension}"
    mesh = meshio.Mesh(GRID.astype(np.float64), [("triangle", TRIANGLES)])
    if fmt == "wrl":
        write_bu4dfe_wrl(path, GRID, QUADS)
    elif fmt in ("ply_ascii", "ply_binary", "stl_ascii", "stl_binary"):
        meshio.write(path, mesh, binary=fmt.endswith("binary"))
    elif fmt == "off":
        lines = [f"{x} {y} {z}" for x, y, z in GRID] + [f"3 {a} {b} {c}" for a, b, c in TRIANGLES]
        path.write_text(f"OFF\n{len(GRID)} {len(TRIANGLES)} 0\n" + "\n".join(lines) + "\n")
    elif fmt == "vtk":
        pv.PolyData.from_regular_faces(GRID, TRIANGLES).save(path, binary=False)
    else:
        pv.PolyData.from_regular_faces(GRID, TRIANGLES).save(path)
    return path


NO_MAGIC = ("obj", "stl_binary")
"""Formats whose first bytes are free text (an OBJ comment, STL's 80-byte header): garbage there
leaves a valid file, so they get no wrong-magic or non-UTF-8-header variant."""


def derived_bad_files(valid: Path, fmt: str) -> list[Path]:
    """Empty, truncated at several offsets, wrong magic, and non-UTF-8 variants of ``valid``."""
    data, stem, suffix = valid.read_bytes(), valid.stem.replace("valid_", ""), valid.suffix
    variants = {
        "empty": b"",
        "truncated_1": data[: max(1, len(data) // 100)],
        "truncated_30": data[: len(data) * 3 // 10],
        "truncated_70": data[: len(data) * 7 // 10],
    }
    if fmt not in NO_MAGIC:
        variants["wrong_magic"] = b"\x89PNG\r\n\x1a\n" + data[8:]
        variants["non_utf8_header"] = data[:4] + b"\xff\xfe\xc3\x28" + data[4:]
    paths = []
    for name, content in variants.items():
        path = valid.with_name(f"{name}_{stem}{suffix}")
        path.write_bytes(content)
        paths.append(path)
    return paths


def file_system_bad_files(folder: Path) -> list[Path]:
    """A directory named like a scan, a symlink loop, a dangling symlink, an unreadable file."""
    (folder / "directory.ply").mkdir()
    (folder / "loop.obj").symlink_to(folder / "loop.obj")
    (folder / "dangling.stl").symlink_to(folder / "missing.stl")
    paths = [folder / name for name in ("directory.ply", "loop.obj", "dangling.stl")]
    (folder / "unreadable").mkdir()
    unreadable = write_valid(folder / "unreadable", "obj").rename(folder / "unreadable.obj")
    unreadable.chmod(0)
    if permissions_are_enforced(unreadable):  # root, a capability or the file system may ignore them
        paths.append(unreadable)
    else:
        unreadable.unlink()
    return paths


def permissions_are_enforced(path: Path) -> bool:
    """Whether this process is refused reading ``path`` (mode 0)."""
    try:
        path.open("rb").close()
    except PermissionError:
        return True
    return False


def binary_claims(folder: Path) -> list[Path]:
    """Binary headers that promise gigabytes the file does not hold."""
    stl = folder / "claims_2gb.stl"
    stl.write_bytes(b"\0" * 80 + struct.pack("<I", 2**31 - 1) + b"\0" * 50)
    return [stl]


def ingest_all(frames: list[Path], tmp_path: Path) -> tuple[dict, dict[str, str]]:
    """Ingest ``frames`` as one sequence (non-strict) → (summary, {file: problem})."""
    summary = ingest_sequence(
        frames, tmp_path / "seq.h5", tmp_path / "seq.quarantine.json", "X001", "anger", IngestOptions(min_frames=1)
    )
    items = json.loads((tmp_path / "seq.quarantine.json").read_text())
    problems = {item["file"]: item["problem"] for item in items}
    assert len(problems) == len(items), "a file was quarantined twice"
    return summary, problems


@pytest.fixture
def fast_time_bound(monkeypatch):
    """A short time bound per file, for a test whose files all read in milliseconds."""
    monkeypatch.setattr(isolated, "READ_TIMEOUT_S", FAST_TIMEOUT_S)


def test_a_file_that_hangs_the_reader_is_refused_after_the_time_bound(tmp_path, fast_time_bound):
    folder = tmp_path / "X001" / "Angry"
    folder.mkdir(parents=True)
    valid = write_valid(folder, "off")
    os.mkfifo(folder / "fifo.off")  # opening it for reading waits forever
    summary, problems = ingest_all([folder / "fifo.off", valid], tmp_path)
    assert summary["frames"] == 1
    assert problems == {
        str(folder / "fifo.off"): f"reading took longer than {FAST_TIMEOUT_S:g} s (refused; the reader was stopped)"
    }


def test_every_bad_file_is_quarantined_with_one_line_and_the_good_ones_kept(tmp_path):
    folder = tmp_path / "X001" / "Angry"
    folder.mkdir(parents=True)
    valid = [write_valid(folder, fmt) for fmt in FORMATS]
    bad = [p for v, fmt in zip(valid, FORMATS) for p in derived_bad_files(v, fmt)]
    bad += sorted(CORPUS.iterdir()) + file_system_bad_files(folder) + binary_claims(folder)
    frames = [p for pair in zip(valid, bad) for p in pair] + bad[len(valid) :]  # good and bad interleaved
    summary, problems = ingest_all(frames, tmp_path)
    assert sorted(problems) == sorted(map(str, bad)), {"kept": sorted(set(map(str, bad)) - set(problems))}
    assert summary["frames"] == len(valid)  # every good file kept, whatever came before it
    for path, problem in problems.items():
        assert problem and "\n" not in problem and len(problem) < 400, (path, problem)


def test_a_truncated_legacy_vtk_file_is_refused_not_filled_from_memory(tmp_path):
    """VTK reads the faces a truncated .vtk file lacks from uninitialised memory (sometimes valid
    indices, so the frame would be kept); the error VTK reports on it refuses the file."""
    valid = write_valid(tmp_path, "vtk")
    truncated = next(p for p in derived_bad_files(valid, "vtk") if p.name.startswith("truncated_70"))
    for _ in range(3):
        with pytest.raises(InputFileError, match="VTK cannot read this VTK file: Error reading ascii data"):
            read_scan(truncated)


def test_a_reader_that_crashes_is_one_bad_file_and_the_next_file_reads(tmp_path):
    """The worker killed mid-read (as a segfaulting VTK reader would be): an error naming the file."""
    good = write_valid(tmp_path, "ply_binary")
    os.mkfifo(tmp_path / "stuck.ply")
    with IsolatedReader(timeout_s=60) as reader:
        assert len(reader.read(good).vertices) == len(GRID)
        worker = reader._process.pid
        threading.Timer(0.5, os.kill, (worker, signal.SIGSEGV)).start()
        with pytest.raises(InputFileError, match=r"stuck.ply: the reader crashed on this file \(SIGSEGV\)"):
            reader.read(tmp_path / "stuck.ply")
        assert len(reader.read(good).faces) == len(TRIANGLES)
        assert reader._process.pid != worker


MUTATIONS = ("flip", "insert", "delete", "truncate", "duplicate", "zero")


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One to three random byte-level edits of ``data``."""
    data = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        kind = MUTATIONS[int(rng.integers(len(MUTATIONS)))]
        at = int(rng.integers(len(data))) if data else 0
        size = int(rng.integers(1, 64))
        if kind == "flip" and data:
            data[at] ^= 1 << int(rng.integers(8))
        elif kind == "insert":
            data[at:at] = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        elif kind == "delete":
            del data[at : at + size]
        elif kind == "truncate":
            del data[at:]
        elif kind == "duplicate":
            data[at:at] = data[at : at + size]
        elif kind == "zero":
            data[at : at + size] = bytes(len(data[at : at + size]))
    return bytes(data)


@pytest.mark.parametrize("fmt", FORMATS)
def test_fuzzed_files_are_read_or_quarantined(tmp_path, fmt):
    """40 seeded mutations per format (360 in all): each file is kept as a usable surface or
    quarantined with one line naming it; the run always returns."""
    folder = tmp_path / "X001" / "Angry"
    folder.mkdir(parents=True)
    valid = write_valid(folder, fmt)
    rng = np.random.default_rng(FORMATS.index(fmt))
    data = valid.read_bytes()
    frames = []
    for i in range(40):
        path = folder / f"fuzz_{i:03d}{valid.suffix}"
        path.write_bytes(mutate(data, rng))
        frames.append(path)
    summary, problems = ingest_all(frames, tmp_path)
    problems.pop(str(folder), None)  # "only 0 usable frame(s)" when every mutation was refused
    assert summary["frames"] + len(problems) == len(frames)
    assert set(problems) <= set(map(str, frames))
    assert all(problem and "\n" not in problem for problem in problems.values())
