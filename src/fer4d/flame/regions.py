"""Vertex regions of a FLAME-topology model in its canonical frame (y up, +z out of the face)."""

from __future__ import annotations

import numpy as np

from fer4d.flame.model import FlameModel

NECK, JAW, EYES = 1, 2, [3, 4]


def face_region(model: FlameModel, margin_mm: float = 25.0) -> np.ndarray:
    """(V,) bool: the face a frontal scanner sees — template vertices at least ``margin_mm``
    in front of the jaw hinge (roughly: in front of the ears), above the neck joint and below
    the hairline (taken as 0.9 × the eye-to-neck height above the eyes).

    Use it to restrict vertex errors to where scans constrain a fit; the back of the head,
    the crown behind the hairline and the neck are not observed by frontal face scans.
    """
    joints = model.J_regressor @ model.v_template  # (5, 3) mm
    vertices = model.v_template
    eye_y = joints[EYES, 1].mean()
    hairline_y = eye_y + 0.9 * (eye_y - joints[NECK, 1])
    return (
        (vertices[:, 2] > joints[JAW, 2] + margin_mm)
        & (vertices[:, 1] > joints[NECK, 1])
        & (vertices[:, 1] < hairline_y)
    )


LANDMARK_REGIONS = {"brows": range(17, 27), "eyes": range(36, 48), "mouth": range(48, 68)}
"""Expression regions by their landmarks in the iBUG 300-W 68-point order (Sagonas et al.,
"300 Faces in-the-Wild Challenge", ICCV-W 2013), which FLAME's landmark embedding and the
synthetic model's follow."""


def expression_regions(model: FlameModel, radius_mm: float = 15.0) -> dict[str, np.ndarray]:
    """``{"mouth", "eyes", "brows"}`` → ``(V,)`` bool masks from the model's own 68-point landmark
    embedding, on its template: a face vertex belongs to a region when its nearest landmark is
    one of the region's (:data:`LANDMARK_REGIONS`) and lies within ``radius_mm``. Regions are
    disjoint. Empty dict when the model has no 68-point landmark embedding (no regions to name).
    """
    if model.lmk_face_idx is None or len(model.lmk_face_idx) != 68:
        return {}
    corners = model.v_template[model.faces[model.lmk_face_idx]]  # (68, 3 corners, 3)
    landmarks = np.einsum("lc,lcd->ld", model.lmk_b_coords, corners)  # (68, 3) mm
    distance = np.linalg.norm(model.v_template[:, None] - landmarks[None], axis=-1)  # (V, 68)
    nearest = distance.argmin(axis=1)
    close = face_region(model) & (distance.min(axis=1) <= radius_mm)
    return {name: close & np.isin(nearest, list(ids)) for name, ids in sorted(LANDMARK_REGIONS.items())}
