"""Rendering of one registered sequence (and its scan beside the fit) for the report.

Reads a fit ``.h5`` (``vertices (T,V,3)``, ``vertices_scan (T,V,3)``, ``faces``, ``frame_index``)
and optionally the ingested scan ``.h5`` of the same sequence (ragged ``frames/*``), and draws
them with :func:`fer4d.report.render.render_meshes`.
"""

from __future__ import annotations

import os

import h5py
import numpy as np

from fer4d.errors import InputFileError


def evenly_spaced(n_frames: int, count: int) -> list[int]:
    """``count`` frame positions spread over ``0..n_frames-1`` (first and last included)."""
    return sorted({int(round(i)) for i in np.linspace(0, n_frames - 1, min(count, n_frames))})


def read_scan_frame(scan_path: str | os.PathLike, frame_index: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The ingested scan frame whose original index is ``frame_index`` → ``(vertices (N,3), faces (F,3))``."""
    try:
        with h5py.File(scan_path, "r") as f:
            frames = f["frames"]
            positions = np.flatnonzero(np.asarray(frames["frame_index"]) == frame_index)
            if positions.size == 0:
                return None
            t = int(positions[0])
            v0, v1 = np.asarray(frames["vertex_offsets"][t : t + 2])
            f0, f1 = np.asarray(frames["face_offsets"][t : t + 2])
            return np.asarray(frames["vertices"][v0:v1], np.float32), np.asarray(frames["faces"][f0:f1], np.int32)
    except (OSError, KeyError) as err:
        raise InputFileError(scan_path, f"cannot read ingested scan frames: {err}") from err


def render_registered_sequence(fit_path: str | os.PathLike, scan_path: str | os.PathLike | None,
                               out_path: str | os.PathLike, n_frames: int = 5) -> None:
    """Render ``n_frames`` registered frames of a fit, then the scan and the fit at the apex frame.

    The apex is the frame where the registered mesh is furthest from the first (neutral) frame.
    """
    from fer4d.report.render import render_meshes

    try:
        with h5py.File(fit_path, "r") as f:
            vertices = np.asarray(f["vertices"], np.float32)  # (T, V, 3) mm, head pose removed
            faces = np.asarray(f["faces"], np.int32)
            vertices_scan = np.asarray(f["vertices_scan"], np.float32) if "vertices_scan" in f else None
            frame_index = np.asarray(f["frame_index"]) if "frame_index" in f else np.arange(len(vertices))
            name = f"{f.attrs.get('subject', '?')} / {f.attrs.get('label', '?')}"
    except (OSError, KeyError) as err:
        raise InputFileError(fit_path, f"cannot read fit: {err}") from err
    if vertices.ndim != 3 or len(vertices) == 0:
        raise InputFileError(fit_path, f"vertices have shape {vertices.shape}, expected (T, V, 3) with T >= 1")
    panels = [(vertices[t], faces, f"{name}: frame {int(frame_index[t])}") for t in evenly_spaced(len(vertices), n_frames)]
    if scan_path is not None and vertices_scan is not None:
        apex = int(np.linalg.norm(vertices - vertices[:1], axis=-1).mean(-1).argmax())
        scan = read_scan_frame(scan_path, int(frame_index[apex]))
        if scan is not None:
            panels.append((scan[0], scan[1], f"scan, frame {int(frame_index[apex])}"))
            panels.append((vertices_scan[apex], faces, f"fit, frame {int(frame_index[apex])}"))
    render_meshes(panels, out_path)
