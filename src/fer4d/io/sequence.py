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
    """Load every frame of an ingested sequence file; a file that is not one, or whose frame
    offsets, status or ground truth do not fit together, raises InputFileError."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            if "frames" not in f or "status" not in f.attrs:
                raise InputFileError(path, "no frames group or status attribute: not an ingested sequence")
            group = f["frames"]
            vertices, faces = group["vertices"][()], group["faces"][()]
            v_off, f_off = group["vertex_offsets"][()], group["face_offsets"][()]
            frame_index = group["frame_index"][()].astype(np.int32)
            if len(v_off) != len(f_off) or len(v_off) != len(frame_index) + 1 or v_off[-1] != len(vertices):
                raise InputFileError(path, "frame offsets do not match the frame arrays")
            frames = [
                (vertices[v_off[t] : v_off[t + 1]].astype(np.float32), faces[f_off[t] : f_off[t + 1]].astype(np.int32))
                for t in range(len(frame_index))
            ]
            truth = None
            if "ground_truth" in f:
                truth = {}
                f["ground_truth"].visititems(
                    lambda name, item: truth.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None
                )
            sequence = IngestedSequence(
                subject=str(f.attrs["subject"]),
                label=str(f.attrs["label"]),
                status=str(f.attrs["status"]),
                frames=frames,
                frame_index=frame_index,
                sources=[s.decode() if isinstance(s, bytes) else str(s) for s in group["source"][()]],
                scale_to_mm=float(f.attrs["scale_to_mm"]),
                ground_truth=truth,
            )
    except (OSError, KeyError) as err:
        raise InputFileError(path, f"cannot read ingested sequence ({err})") from err
    if sequence.status not in ("ok", "empty"):
        raise InputFileError(path, f"unknown status {sequence.status!r} (expected 'ok' or 'empty')")
    if sequence.status == "ok" and (not frames or any(len(points) == 0 for points, _ in frames)):
        raise InputFileError(path, "status 'ok' but a frame has no vertices")
    truth_vertices = (truth or {}).get("vertices")
    if truth_vertices is not None and len(truth_vertices) != len(frames):
        raise InputFileError(path, f"ground_truth/vertices has {len(truth_vertices)} frames, expected {len(frames)}")
    return sequence
