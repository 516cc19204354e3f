"""Read an ingested sequence ``.h5`` (format: docs/architecture.md, "Ingested sequence")."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from fer4d.errors import InputFileError


@dataclass
class IngestedSequence:
    """One cleaned sequence.

    frames: T pairs ``(vertices (N_t, 3) float32 mm, faces (F_t, 3) int32)``;
    frame_index: (T,) int32, each frame's position in the raw sequence;
    ground_truth: ``{name: array}`` with T rows per per-frame key (e.g. ``vertices (T, V, 3)``), or None.
    """

    subject: str
    label: str
    status: str
    frames: list[tuple[np.ndarray, np.ndarray]]
    frame_index: np.ndarray
    sources: list[str]
    scale_to_mm: float
    ground_truth: dict[str, np.ndarray] | None


def read_sequence(path: str | os.PathLike) -> IngestedSequence:
    """Load every frame of an ingested sequence file; a file that is not one raises InputFileError."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            if "frames" not in f or "status" not in f.attrs:
                raise InputFileError(path, "no frames group or status attribute: not an ingested sequence")
            group = f["frames"]
            vertices, faces = group["vertices"][()], group["faces"][()]
            v_off, f_off = group["vertex_offsets"][()], group["face_offsets"][()]
            frames = [(vertices[v_off[t] : v_off[t + 1]], faces[f_off[t] : f_off[t + 1]])
                      for t in range(len(v_off) - 1)]
            truth = None
            if "ground_truth" in f:
                truth = {}
                f["ground_truth"].visititems(
                    lambda name, item: truth.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None)
            return IngestedSequence(
                subject=str(f.attrs["subject"]), label=str(f.attrs["label"]), status=str(f.attrs["status"]),
                frames=frames, frame_index=group["frame_index"][()].astype(np.int32),
                sources=[s.decode() if isinstance(s, bytes) else str(s) for s in group["source"][()]],
                scale_to_mm=float(f.attrs["scale_to_mm"]), ground_truth=truth)
    except (OSError, KeyError) as err:
        raise InputFileError(path, f"cannot read ingested sequence ({err})") from err
