"""Rendering of one registered sequence (and its scan over the fit) for the report.

Reads a fit ``.h5`` (``vertices (T,V,3)``, ``vertices_scan (T,V,3)``, ``faces``, ``frame_index``)
and optionally the ingested scan ``.h5`` of the same sequence (ragged ``frames/*``), and draws
them with :func:`fer4d.report.render.render_meshes` (FLAME engineer).
"""

from __future__ import annotations

import os

import h5py
import numpy as np

from fer4d.errors import InputFileError


def evenly_spaced(n_frames: int, count: int) -> list[int]:
    """``count`` frame positions spread over ``0..n_frames-1`` (first and last included)."""
    return sorted({int(round(i)) for i in np.linspace(0, n_frames - 1, min(count, n_frames))})


def read_scan_points(scan_path: str | os.PathLike, frame_index: int) -> np.ndarray | None:
    """Vertices ``(N, 3) float32 mm`` of the ingested scan frame whose original index is ``frame_index``."""
    try:
        with h5py.File(scan_path, "r") as f:
            frames = f["frames"]
            positions = np.flatnonzero(np.asarray(frames["frame_index"]) == frame_index)
            if positions.size == 0:
                return None
            t = int(positions[0])
            start, stop = np.asarray(frames["vertex_offsets"][t : t + 2])
            return np.asarray(frames["vertices"][start:stop], np.float32)
    except (OSError, KeyError) as err:
        raise InputFileError(scan_path, f"cannot read ingested scan frames: {err}") from err


def render_registered_sequence(
    fit_path: str | os.PathLike,
    scan_path: str | os.PathLike | None,
    out_path: str | os.PathLike,
    n_frames: int = 5,
) -> None:
    """Render ``n_frames`` registered frames of a fit, then the fit at the apex frame with its scan overlaid.

    The apex is the frame where the registered mesh is furthest from the first (neutral) frame.
    The overlay panel maps scan and fit from the scan's frame into the model frame with
    ``params/scan_to_model`` (when present) so every panel is seen from the front.
    """
    from fer4d.report.render import Panel, render_meshes

    try:
        with h5py.File(fit_path, "r") as f:
            vertices = np.asarray(f["vertices"], np.float32)  # (T, V, 3) mm, head pose removed
            faces = np.asarray(f["faces"], np.int32)
            vertices_scan = np.asarray(f["vertices_scan"], np.float32) if "vertices_scan" in f else None
            frame_index = np.asarray(f["frame_index"]) if "frame_index" in f else np.arange(len(vertices))
            scan_to_model = (
                np.asarray(f["params/scan_to_model"], np.float64) if "params/scan_to_model" in f else np.eye(4)
            )
            name = f"{f.attrs.get('subject', '?')} / {f.attrs.get('label', '?')}"
    except (OSError, KeyError) as err:
        raise InputFileError(fit_path, f"cannot read fit: {err}") from err
    if vertices.ndim != 3 or len(vertices) == 0:
        raise InputFileError(fit_path, f"vertices have shape {vertices.shape}, expected (T, V, 3) with T >= 1")
    panels = [
        Panel(vertices[t], faces, f"{name}: frame {int(frame_index[t])}")
        for t in evenly_spaced(len(vertices), n_frames)
    ]
    if scan_path is not None and vertices_scan is not None:
        apex = int(np.linalg.norm(vertices - vertices[:1], axis=-1).mean(-1).argmax())
        scan = read_scan_points(scan_path, int(frame_index[apex]))
        if scan is not None:

            def to_model(points: np.ndarray) -> np.ndarray:
                return points @ scan_to_model[:3, :3].T.astype(np.float32) + scan_to_model[:3, 3].astype(np.float32)

            panels.append(
                Panel(
                    to_model(vertices_scan[apex]),
                    faces,
                    f"fit + scan (dots), frame {int(frame_index[apex])}",
                    overlay_points=to_model(scan),
                )
            )
    render_meshes(panels, out_path, columns=len(panels))
