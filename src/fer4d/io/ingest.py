"""Stage ``ingest``: read, clean and store one sequence of raw scans; quarantine bad files.

One bad frame is reported and skipped; a sequence left with fewer than ``min_frames`` usable
frames is written as ``status="empty"`` (so one bad sequence never stops a workflow run).
``strict=True`` turns the first problem into an error instead.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from fer4d.errors import InputFileError, Quarantine
from fer4d.formats.groundtruth import read_ground_truth
from fer4d.formats.ingested import write_quarantine, write_sequence
from fer4d.io.clean import clean_scan, sequence_scale_to_mm, units_name
from fer4d.io.isolated import IsolatedReader
from fer4d.io.layouts import list_frames
from fer4d.io.options import IngestOptions
from fer4d.io.scan import Scan
from fer4d.progress import progress

log = logging.getLogger(__name__)

GROUND_TRUTH_FILE = "ground_truth.h5"


def check_scan(path: str | os.PathLike, scan: Scan) -> None:
    """Refuse (``InputFileError``) a scan that no cleaning can use: every vertex non-finite, or a
    face that refers to a vertex the file does not have."""
    if not np.isfinite(scan.vertices).all(1).any():
        raise InputFileError(path, "every vertex is NaN or infinite")
    if len(scan.faces) and (scan.faces.min() < 0 or scan.faces.max() >= len(scan.vertices)):
        bad = int(scan.faces.max() if scan.faces.max() >= len(scan.vertices) else scan.faces.min())
        raise InputFileError(path, f"a face refers to vertex {bad}, but the file has {len(scan.vertices)} vertices")


def read_frames(
    frames: list[Path], quarantine: Quarantine, description: str = "ingest: reading scans"
) -> list[tuple[int, Path, Scan]]:
    """``(position, path, scan)`` of every frame that reads: each is read in a worker process, so
    that a file that crashes or hangs the reader is quarantined like any other bad file."""
    read = []
    with IsolatedReader() as reader:
        for index, path in enumerate(progress(frames, description, logger=log)):
            try:
                scan = reader.read(path)
                check_scan(path, scan)
                read.append((index, Path(path), scan))
            except InputFileError as err:
                quarantine.add(err.path, err.problem)
    return read


def _ground_truth(folder: Path, frame_index: list[int], n_total: int) -> dict[str, np.ndarray] | None:
    """Rows of the folder's ground_truth.h5 (synthetic data) for the kept frames, or None."""
    path = folder / GROUND_TRUTH_FILE
    if not path.exists():
        return None
    rows = read_ground_truth(path).ingested_rows()
    for name, values in rows.items():
        if name != "params/shape" and len(values) != n_total:
            raise InputFileError(path, f"{name} has {len(values)} frames, the folder {n_total} scans")
    return {name: values if name == "params/shape" else values[frame_index] for name, values in rows.items()}


def _usable_ground_truth(
    folder: Path, frame_index: list[int], n_total: int, quarantine: Quarantine
) -> dict[str, np.ndarray] | None:
    """The folder's ground truth, or None (quarantined, the frames kept) when it cannot be used:
    ground truth only scores the fits, so a bad one never costs the sequence."""
    try:
        return _ground_truth(folder, frame_index, n_total)
    except InputFileError as err:
        if quarantine.strict:
            raise
        quarantine.add(err.path, f"{err.problem}; the sequence is kept without ground truth")
        return None


def ingest_sequence(
    frames: list[str | os.PathLike] | None,
    out_path: str | os.PathLike,
    quarantine_path: str | os.PathLike,
    subject: str,
    label: str,
    options: IngestOptions,
    strict: bool = False,
    folder: str | os.PathLike | None = None,
    extension: str = "wrl",
) -> dict:
    """Ingest one sequence's scan files (in order) → sequence ``.h5`` + quarantine ``.json``.

    ``folder`` (default: the first frame's folder) names the sequence in quarantine entries,
    and is where a ``ground_truth.h5`` is looked for. ``frames=None``: the ``extension`` scan
    files of ``folder``, listed as discovery lists them (a dataset written after the workflow
    planned its jobs, such as the synthetic one).

    Returns a summary: ``{"subject", "label", "status", "frames", "quarantined", "units"}``.
    """
    if frames is None:
        if folder is None:
            raise ValueError("ingest_sequence needs the frames or their folder")
        frames = list_frames(Path(folder), extension) if Path(folder).is_dir() else []
    frames = [Path(p) for p in frames]
    quarantine = Quarantine(strict)
    folder = Path(folder) if folder is not None else frames[0].parent if frames else Path(out_path).parent
    read = read_frames(frames, quarantine)
    scale = sequence_scale_to_mm(options.units, [scan.vertices for _, _, scan in read])
    kept, stats, sources, frame_index = [], [], [], []
    for index, path, scan in read:
        cleaned, frame_stats = clean_scan(scan, scale, options)
        if len(cleaned.vertices) < 3 or len(cleaned.faces) == 0:
            quarantine.add(path, "no usable surface left after cleaning")
            continue
        kept.append(cleaned)
        stats.append(frame_stats)
        sources.append(str(path))
        frame_index.append(index)
    if not frames:
        quarantine.add(folder, "no scan files in this sequence folder")
    elif len(kept) < options.min_frames:
        quarantine.add(folder, f"only {len(kept)} usable frame(s); a sequence needs at least {options.min_frames}")
    if len(kept) < options.min_frames:
        kept, stats, sources, frame_index = [], [], [], []
    truth = _usable_ground_truth(folder, frame_index, len(frames), quarantine) if kept else None
    write_sequence(out_path, subject, label, kept, stats, sources, frame_index, scale, units_name(scale), truth)
    write_quarantine(quarantine_path, quarantine.items)
    summary = {
        "subject": subject,
        "label": label,
        "status": "ok" if kept else "empty",
        "frames": len(kept),
        "quarantined": len(quarantine.items),
        "units": units_name(scale),
    }
    log.info("ingest %s/%s: %s", subject, label, json.dumps(summary))
    return summary
