"""A landmark embedding of the detector's points on a FLAME-format model, made by calibration.

FLAME's official MediaPipe embedding (``mediapipe_landmark_embedding.npz``) fits the real model
only. For another mesh of FLAME's format (the synthetic model) the embedding is measured: the
neutral face is rendered from the front with an orthographic camera, the detector runs on the
render, and each detected point is cast back along the viewing direction onto the front-most
triangle under it, giving that triangle and the barycentric coordinates of the hit.

Only the detector's points that stay on one spot of the skin are embedded
(:data:`SURFACE_POINTS`): the face oval follows the face's outline in the image, which slides
over the skin as the head turns; the inner lip contour follows the edge of the mouth opening;
the irises follow the gaze. Fitted as if fixed to a triangle, those points turn head motion and
mouth opening into false expression. Measured on the synthetic films of seed 1 (12 sequences)
by the mean error of the fitted expression displacement against the ground truth: fit
smoothness 0.01, all 478 points 0.837 mm, without the face oval 0.814, without the inner lips
too 0.800; smoothness 0.1, all points 0.779, the surface points 0.763 (the same without the
irises). FLAME's official embedding keeps a subset in the same way (105 points).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer4d.flame.files import detector_embedding_path_for, load_flame, save_detector_embedding
from fer4d.landmarks.detector import FaceMeshDetector
from fer4d.render import polydata
from fer4d.synth.facemodel.landmarks import barycentric_2d

log = logging.getLogger(__name__)

# fmt: off
FACE_OVAL = (10, 21, 54, 58, 67, 93, 103, 109, 127, 132, 136, 148, 149, 150, 152, 162, 172, 176, 234, 251,
             284, 288, 297, 323, 332, 338, 356, 361, 365, 377, 378, 379, 389, 397, 400, 454)
"""MediaPipe Face Mesh's face-oval points (its ``FACEMESH_FACE_OVAL`` contour)."""
# fmt: on
INNER_LIPS = (13, 14, 78, 80, 81, 82, 87, 88, 95, 178, 191, 308, 310, 311, 312, 317, 318, 324, 402, 415)
"""The inner contour of MediaPipe's lips (the edge of the mouth opening)."""
IRISES = tuple(range(468, 478))
"""The iris refinement's points (centre and four rim points per eye)."""
SURFACE_POINTS = np.setdiff1d(np.arange(478), FACE_OVAL + INNER_LIPS + IRISES)
"""(412,) the detector points a calibrated embedding keeps: those fixed to the skin."""

IMAGE_SIZE = (480, 640)
"""(height, width) of the calibration render, px."""


@dataclass
class OrthographicView:
    """The render's camera: pixel ``(x, y) = (W/2 + k (X − cx), H/2 − k (Y − cy))`` for a point
    ``(X, Y, Z)`` mm, looking down −Z; ``k`` px/mm."""

    centre: np.ndarray
    pixels_per_mm: float
    image_size: tuple[int, int] = IMAGE_SIZE

    def to_pixels(self, points: np.ndarray) -> np.ndarray:
        height, width = self.image_size
        x = width / 2 + self.pixels_per_mm * (points[..., 0] - self.centre[0])
        y = height / 2 - self.pixels_per_mm * (points[..., 1] - self.centre[1])
        return np.stack([x, y], -1)


def render_front(vertices: np.ndarray, faces: np.ndarray, view: OrthographicView) -> np.ndarray:
    """(H, W, 3) uint8 RGB: the mesh in skin colour on a grey-blue background, lit from the front."""
    import pyvista as pv

    mesh = polydata(vertices, faces).compute_normals()
    height, width = view.image_size
    plotter = pv.Plotter(off_screen=True, window_size=(width, height))
    try:
        plotter.set_background("#5a6a7a")
        plotter.add_mesh(mesh, color="#e0ac91", smooth_shading=True, specular=0.2, diffuse=0.8, ambient=0.25)
        centre = view.centre
        plotter.camera.position = (centre[0], centre[1], float(vertices[:, 2].max()) + 1000.0)
        plotter.camera.focal_point = tuple(centre)
        plotter.camera.up = (0.0, 1.0, 0.0)
        plotter.camera.parallel_projection = True
        plotter.camera.parallel_scale = height / 2 / view.pixels_per_mm
        image = plotter.screenshot(return_img=True)
    finally:
        plotter.close()
    return np.ascontiguousarray(image[:, :, :3])


def back_project(
    pixels: np.ndarray, vertices: np.ndarray, faces: np.ndarray, view: OrthographicView
) -> tuple[np.ndarray, np.ndarray, int]:
    """``pixels (L, 2)`` → ``face_idx (L,)``, ``b_coords (L, 3)`` and how many pixels missed the
    mesh: the front-most (largest Z) triangle whose image contains each pixel; a pixel over a
    hole (the eye openings, where the iris points fall) takes the nearest corner of a triangle
    that faces the camera."""
    corners = view.to_pixels(vertices)[faces]  # (F, 3, 2)
    v0, v1 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    denominator = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]  # (F,) twice the signed area
    usable = np.abs(denominator) > 1e-9
    depth = vertices[faces][:, :, 2].mean(1)
    facing = denominator < 0  # counter-clockwise on screen (y down): the triangle faces the camera
    face_idx, b_coords, off_mesh = [], [], 0
    for point in pixels:
        coords = barycentric_2d(point, corners)  # (F, 3)
        inside = usable & (coords >= -1e-9).all(axis=1)
        if inside.any():
            best = np.flatnonzero(inside)[np.argmax(depth[inside])]
            weights = coords[best].tolist()
        else:  # over a hole of the mesh (an eye opening): the nearest front-facing corner
            distance = np.linalg.norm(corners - point, axis=2) + np.where(facing, 0.0, np.inf)[:, None]
            best, corner = np.unravel_index(np.argmin(distance), distance.shape)
            weights = np.eye(3)[corner].tolist()
            off_mesh += 1
        face_idx.append(best)
        b_coords.append(weights)
    return np.array(face_idx, np.int64), np.array(b_coords, np.float64), off_mesh


def calibrate_embedding(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detect the face on a front render of ``vertices (V, 3)`` mm (the neutral mesh) and back-project
    every detected point: ``face_idx (L,)``, ``b_coords (L, 3)`` and the detected ``pixels (L, 2)``.
    The face fills about 70 % of the image height."""
    extent = vertices.max(0) - vertices.min(0)
    view = OrthographicView(
        centre=(vertices.max(0) + vertices.min(0)) / 2, pixels_per_mm=0.7 * IMAGE_SIZE[0] / float(extent[1])
    )
    image = render_front(vertices, faces, view)
    with FaceMeshDetector() as detector:
        found = detector.detect(image)
    if found is None:
        raise ValueError("the detector finds no face on the front render of the model")
    face_idx, b_coords, off_mesh = back_project(found.points[:, :2], vertices, faces, view)
    log.info("detector embedding: %d points, %d over holes of the mesh (nearest rim vertex)", len(face_idx), off_mesh)
    return face_idx, b_coords, found.points[:, :2]


def write_calibrated_embedding(model_path: str | os.PathLike, out_path: str | os.PathLike | None = None) -> Path:
    """Calibrate the detector's points on the model at ``model_path`` (its neutral template) and
    write its :data:`SURFACE_POINTS` to ``out_path`` (default ``<stem>_mediapipe.npz`` beside the
    model) in the layout of FLAME's official MediaPipe embedding; return the path."""
    model = load_flame(model_path)
    face_idx, b_coords, _ = calibrate_embedding(model.v_template, model.faces)
    out = Path(out_path) if out_path is not None else detector_embedding_path_for(model_path)
    return save_detector_embedding(out, face_idx[SURFACE_POINTS], b_coords[SURFACE_POINTS], SURFACE_POINTS)
