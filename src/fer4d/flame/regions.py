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
