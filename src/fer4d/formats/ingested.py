"""The ingested sequence file (``results/ingest/{subject}/{label}.h5``, written by stage ``ingest``;
format in docs/architecture.md, "Ingested sequence"): ``write_sequence``, ``read_sequence`` and
``read_frame_points``, the only code that opens one; its quarantine list ``.quarantine.json``:
``write_quarantine`` / ``read_quarantine``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from fer4d import __version__
from fer4d.atomic import atomic_path, write_json
from fer4d.errors import InputFileError

STAT_KEYS = (
    "vertices_in",
    "faces_in",
    "removed_nonfinite",
    "removed_duplicate",
    "removed_degenerate_faces",
    "removed_unreferenced",
    "removed_by_crop",
    "removed_by_budget",
    "vertices_out",
    "faces_out",
)
"""Per-frame cleaning counts recorded under ``stats/``."""


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


def write_sequence(
    out_path: str | os.PathLike,
    subject: str,
    label: str,
    kept: list,
    stats: list[dict],
    sources: list[str],
    frame_index: list[int],
    scale: float,
    units: str,
    truth: dict[str, np.ndarray] | None,
) -> None:
    """Write an ingested sequence atomically: ``kept`` cleaned frames (each with ``vertices (N, 3)``
    float32 mm and ``faces (F, 3)`` int32), their cleaning ``stats`` (:data:`STAT_KEYS`), source
    files and positions in the raw sequence; ``scale`` (to mm) and ``units`` as detected;
    ``truth``: ground-truth rows of the kept frames, or None. No frames: ``status="empty"``."""
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as f:
        n = len(kept)
        counts_v = np.array([len(s.vertices) for s in kept], np.int64)
        counts_f = np.array([len(s.faces) for s in kept], np.int64)
        group = f.create_group("frames")
        group["vertices"] = np.concatenate([s.vertices for s in kept]) if n else np.zeros((0, 3), np.float32)
        group["faces"] = np.concatenate([s.faces for s in kept]) if n else np.zeros((0, 3), np.int32)
        group["vertex_offsets"] = np.concatenate([[0], np.cumsum(counts_v)]).astype(np.int64)
        group["face_offsets"] = np.concatenate([[0], np.cumsum(counts_f)]).astype(np.int64)
        group["source"] = np.array(sources, dtype=h5py.string_dtype())
        group["frame_index"] = np.asarray(frame_index, np.int32)
        for key in STAT_KEYS:
            f[f"stats/{key}"] = np.array([s[key] for s in stats], np.int64)
        f["stats/bbox_min"] = np.array([s.vertices.min(0) for s in kept], np.float32).reshape(n, 3)
        f["stats/bbox_max"] = np.array([s.vertices.max(0) for s in kept], np.float32).reshape(n, 3)
        if truth is not None:
            for name, values in truth.items():
                f[f"ground_truth/{name}"] = values
        f.attrs.update(
            {
                "subject": subject,
                "label": label,
                "status": "ok" if n else "empty",
                "n_frames": n,
                "units_detected": units,
                "scale_to_mm": scale,
                "fer4d_version": __version__,
            }
        )


def read_frame_points(path: str | os.PathLike, frame_index: int) -> np.ndarray | None:
    """Vertices ``(N, 3) float32 mm`` of the frame whose position in the raw sequence is
    ``frame_index`` (reads that frame only), or None if it was not kept."""
    try:
        with h5py.File(path, "r") as f:
            frames = f["frames"]
            positions = np.flatnonzero(np.asarray(frames["frame_index"]) == frame_index)
            if positions.size == 0:
                return None
            t = int(positions[0])
            start, stop = np.asarray(frames["vertex_offsets"][t : t + 2])
            return np.asarray(frames["vertices"][start:stop], np.float32)
    except (OSError, KeyError) as err:
        raise InputFileError(path, f"cannot read ingested scan frames: {err}") from err


def write_quarantine(path: str | os.PathLike, items: list[dict]) -> None:
    """The ingest stage's quarantine file: a JSON list of ``{"file": path, "problem": text}``."""
    write_json(path, [{"file": str(item["file"]), "problem": str(item["problem"])} for item in items])


def read_quarantine(path: str | os.PathLike) -> list[dict]:
    """Read a quarantine file written by :func:`write_quarantine`."""
    try:
        items = json.loads(Path(path).read_text() or "[]")
    except (OSError, json.JSONDecodeError) as err:
        raise InputFileError(path, f"cannot read quarantine list ({err})") from err
    if not isinstance(items, list) or not all(isinstance(i, dict) and {"file", "problem"} <= set(i) for i in items):
        raise InputFileError(path, 'expected a JSON list of {"file", "problem"}')
    return items
