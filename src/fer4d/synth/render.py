"""A picture of a synthetic sequence: raw scans above their ground truth, a few frames wide."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fer4d.errors import InputFileError
from fer4d.render import Panel, render_meshes
from fer4d.synth.groundtruth import GroundTruth, read_ground_truth
from fer4d.synth.layout import FOLDERS
from fer4d.synth.scanner import MM_PER_UNIT
from fer4d.synth.writers import SCAN_SUFFIXES


def render_frames(
    scans: dict[int, tuple[np.ndarray, np.ndarray]],
    truth: GroundTruth,
    out_path: str | os.PathLike,
    model_faces: np.ndarray | None = None,
) -> Path:
    """Render ``scans`` (frame index → ``(vertices (N, 3) in truth.units, faces (F, 3))``) over
    the ground truth of the same frames into one PNG.

    Top row: the raw scans, brought back from scanner coordinates to the model frame with the
    ground truth's scan transform (so the face looks at the camera); bottom row: the ground
    truth (a mesh with ``model_faces (F, 3)``, else points).
    """
    to_model = lambda points_mm: (points_mm - truth.scan_translation) @ truth.scan_rotation
    top, bottom = [], []
    for frame, (vertices, faces) in sorted(scans.items()):
        scan_mm = np.asarray(vertices, np.float64) * MM_PER_UNIT[truth.units]
        top.append(Panel(to_model(scan_mm), np.asarray(faces), f"scan, frame {frame}"))
        bottom.append(
            Panel(to_model(truth.vertices[frame].astype(np.float64)), model_faces, f"ground truth, frame {frame}")
        )
    return render_meshes(top + bottom, out_path, columns=len(top))


def render_sequence(
    dataset_dir: str | os.PathLike,
    subject: str,
    label: str,
    out_path: str | os.PathLike,
    n_frames: int = 4,
    model_faces: np.ndarray | None = None,
) -> Path:
    """Render ``n_frames`` evenly spaced frames of one written sequence (see ``render_frames``);
    scans are read with ``fer4d.io.read_scan``, as ingestion reads them."""
    from fer4d.io import read_scan

    if label not in FOLDERS:
        raise ValueError(f"unknown label {label!r}; expected one of {sorted(FOLDERS)}")
    folder = Path(dataset_dir) / subject / FOLDERS[label]
    if not folder.is_dir():
        raise InputFileError(folder, "no such sequence folder")
    truth = read_ground_truth(folder / "ground_truth.h5")
    files = sorted(p for p in folder.iterdir() if p.stem.isdigit() and p.suffix in SCAN_SUFFIXES)
    frames = np.unique(np.linspace(0, len(files) - 1, n_frames).round().astype(int))
    scans = {}
    for frame in frames:
        scan = read_scan(files[frame])
        scans[int(frame)] = (scan.vertices, scan.faces)
    return render_frames(scans, truth, out_path, model_faces)
