"""The 2D path's registration figure: one frame with its detected landmarks and the fitted mesh
projected onto the image through the fit's weak-perspective camera.

Reads a fit file (``fer4d.formats.fit``: ``vertices_scan`` posed meshes, ``params/camera``) and
the landmark file of the same sequence (``fer4d.formats.landmarks``: detected points and each
frame's image or video), and draws the apex frame: the one whose fitted mesh is furthest from
the first frame's.
"""

from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np

from fer4d.errors import InputFileError
from fer4d.formats.fit import read_fit
from fer4d.formats.landmarks import read_landmarks
from fer4d.landmarks.frames import read_frame
from fer4d.report.plots import save_figure


def project(vertices: np.ndarray, camera: np.ndarray) -> np.ndarray:
    """``vertices (V, 3)`` mm → ``(V, 2)`` px through ``camera (s, tx, ty)``: ``(s·X + tx, −s·Y + ty)``."""
    scale, tx, ty = camera
    return np.stack([scale * vertices[:, 0] + tx, -scale * vertices[:, 1] + ty], axis=1)


def render_landmark_overlay(
    fit_path: str | os.PathLike, landmark_path: str | os.PathLike, out_path: str | os.PathLike
) -> int:
    """Draw the apex frame of the fit with its landmarks and the projected mesh; return the frame
    number (in the sequence) it drew."""
    fit = read_fit(fit_path, with_scan=True)
    if fit is None or "camera" not in fit.params:
        raise InputFileError(fit_path, "not a fit to landmarks with frames (no params/camera)")
    landmarks = read_landmarks(landmark_path)
    apex = int(np.linalg.norm(fit.vertices - fit.vertices[:1], axis=-1).mean(-1).argmax())
    row = int(fit.frame_index[apex])
    image = read_frame(landmarks.sources[row], row)
    mesh = project(fit.vertices_scan[apex], fit.params["camera"][apex])
    detected = landmarks.points[row, :, :2]
    figure, axis = plt.subplots(figsize=(6, 6))
    axis.imshow(image)
    axis.triplot(mesh[:, 0], mesh[:, 1], fit.faces, color="#ffd24d", linewidth=0.25, alpha=0.55)
    axis.scatter(detected[:, 0], detected[:, 1], s=3, color="#1f5fbf", label="detected landmarks")
    axis.plot([], [], color="#ffd24d", label="fitted FLAME mesh, projected")
    residual = float(np.median(fit.quality.get("landmark_residual_px", np.full(len(fit.frame_index), np.nan))[apex]))
    axis.set_title(f"{fit.subject} / {fit.label}: frame {row}, median landmark residual {residual:.2f} px", fontsize=9)
    axis.legend(loc="lower right", fontsize=7)
    axis.set_axis_off()
    save_figure(figure, out_path)
    return row
