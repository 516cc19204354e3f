"""Rendering of one registered sequence (and its scan over the fit) for the report.

Reads a fit file (``fer4d.formats.fit``) and optionally the ingested scan file of the same
sequence (``fer4d.formats.ingested``), and draws them with :func:`fer4d.render.render_meshes`.
"""

from __future__ import annotations

import os

import numpy as np

from fer4d.errors import InputFileError
from fer4d.formats.fit import read_fit
from fer4d.formats.ingested import read_frame_points
from fer4d.render import Panel, render_meshes


def evenly_spaced(n_frames: int, count: int) -> list[int]:
    """``count`` frame positions spread over ``0..n_frames-1`` (first and last included)."""
    return sorted({int(round(i)) for i in np.linspace(0, n_frames - 1, min(count, n_frames))})


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
    fit = read_fit(fit_path, with_scan=scan_path is not None)
    if fit is None or len(fit.vertices) == 0:
        raise InputFileError(fit_path, "the fit has no frames (status empty): nothing to render")
    vertices, faces, vertices_scan, frame_index = fit.vertices, fit.faces, fit.vertices_scan, fit.frame_index
    scan_to_model = np.asarray(fit.params.get("scan_to_model", np.eye(4)), np.float64)
    name = f"{fit.subject} / {fit.label}"
    panels = [
        Panel(vertices[t], faces, f"{name}: frame {int(frame_index[t])}")
        for t in evenly_spaced(len(vertices), n_frames)
    ]
    if scan_path is not None and vertices_scan is not None:
        apex = int(np.linalg.norm(vertices - vertices[:1], axis=-1).mean(-1).argmax())
        scan = read_frame_points(scan_path, int(frame_index[apex]))
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
