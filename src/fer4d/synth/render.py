"""A picture of a synthetic sequence: raw scans above their ground truth, a few frames wide."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fer4d.errors import InputFileError
from fer4d.io import read_scan
from fer4d.report.render import Panel, render_meshes
from fer4d.synth.groundtruth import read_ground_truth
from fer4d.synth.layout import FOLDERS
from fer4d.synth.scanner import MM_PER_UNIT


def scan_files(folder: Path) -> list[Path]:
    """The frame files ``000.*``, ``001.*``, ... of a sequence folder, in frame order."""
    return sorted(p for p in folder.iterdir() if p.stem.isdigit() and p.suffix in (".wrl", ".obj", ".ply"))


def render_sequence(
    dataset_dir: str | os.PathLike,
    subject: str,
    label: str,
    out_path: str | os.PathLike,
    n_frames: int = 4,
    model_faces: np.ndarray | None = None,
) -> Path:
    """Render ``n_frames`` evenly spaced frames of one sequence to a PNG.

    Top row: the raw scans, brought back from scanner coordinates to the model frame with the
    ground truth's scan transform (so the face looks at the camera); bottom row: the ground
    truth at the same frames (a mesh with ``model_faces (F, 3)``, else points).
    """
    if label not in FOLDERS:
        raise ValueError(f"unknown label {label!r}; expected one of {sorted(FOLDERS)}")
    folder = Path(dataset_dir) / subject / FOLDERS[label]
    if not folder.is_dir():
        raise InputFileError(folder, "no such sequence folder")
    truth = read_ground_truth(folder / "ground_truth.h5")
    files = scan_files(folder)
    frames = np.unique(np.linspace(0, len(files) - 1, n_frames).round().astype(int))
    to_model = lambda points_mm: (points_mm - truth.scan_translation) @ truth.scan_rotation
    scans, truths = [], []
    for frame in frames:
        scan = read_scan(files[frame])
        vertices = to_model(np.asarray(scan.vertices, np.float64) * MM_PER_UNIT[truth.units])
        scans.append(Panel(vertices, np.asarray(scan.faces), f"scan {files[frame].name}"))
        truths.append(Panel(to_model(truth.vertices[frame].astype(np.float64)), model_faces,
                            f"ground truth {frame}"))
    return render_meshes(scans + truths, out_path, columns=len(frames))
