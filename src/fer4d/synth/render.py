"""A picture of a synthetic sequence: raw scans above their ground truth, a few frames wide."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fer4d.formats.groundtruth import GroundTruth
from fer4d.render import Panel, render_meshes
from fer4d.synth.scanner import MM_PER_UNIT


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
