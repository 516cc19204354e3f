"""Identity (shape) components of the synthetic face: smooth, low-frequency displacement fields
with decaying standard deviation, like a PCA basis of head shapes (mm per unit coefficient)."""

from __future__ import annotations

import numpy as np

from fer4d.synth.facemodel.geometry import (
    EYE_CENTRES,
    EYE_RADII,
    MOUTH_Y,
    FaceMesh,
    gaussian,
    smooth_sign,
    smoothstep,
)

N_RANDOM_SMOOTH = 18
"""Seeded random smooth components after the named ones."""


def _named_directions(mesh: FaceMesh) -> list[np.ndarray]:
    """Interpretable components, each (V, 3) mm, in decreasing size."""
    x, y, z = mesh.vertices.T
    zero = np.zeros_like(x)
    eye_x = EYE_CENTRES[0][0]
    whole_head = [
        (0.05 * x, zero, zero),  # head width
        (zero, 0.04 * (y + 15), zero),  # head height
        (zero, zero, 0.05 * z),  # head depth
    ]
    facial = [
        (0.07 * x * smoothstep((-50 - y) / 25), zero, zero),  # jaw width
        (zero, zero, 4.0 * gaussian(x, y, 0, -28, 9, 12)),  # nose size
        (zero, -3.0 * gaussian(x, y, 0, -32, 12, 8), zero),  # nose length
        (zero, 3.0 * gaussian(x, y, 0, 22, 40, 8), zero),  # brow height
        (2.5 * smooth_sign(x) * gaussian(x, y, eye_x, 2, 14, 10, mirror=True), zero, zero),  # eyes
        (0.1 * x * gaussian(x, y, 0, MOUTH_Y, 25, 8), zero, zero),  # mouth width
        (zero, zero, 5.0 * gaussian(x, y, 0, -92, 16, 10)),  # chin protrusion
        (
            2.0 * smooth_sign(x) * gaussian(x, y, 45, -35, 16, 15, mirror=True),
            zero,
            4.0 * gaussian(x, y, 45, -35, 16, 15, mirror=True),
        ),  # cheek fullness
        (zero, zero, -0.08 * (y - 20) * smoothstep((y - 20) / 30)),  # forehead slope
    ]
    return [np.stack(field, axis=1) for field in whole_head] + [
        np.stack(field, axis=1) * mesh.front[:, None] for field in facial
    ]


def _anthropometric_directions(mesh: FaceMesh) -> list[np.ndarray]:
    """Components that span adult face proportions, each (V, 3) mm per unit coefficient: biocular
    width (the outer eye corners apart, 4 mm a unit), intercanthal width (the inner corners, 5 mm),
    nose width (the alae, 5 mm) and lower face height (the chin down, 6 mm). Sized so that ±2 SD
    of Farkas' adult norms of each width (Farkas 1994, Anthropometry of the Head and Face) lie
    within three units of the template's proportions (tests/test_anthropometry.py)."""
    x, y, _ = mesh.vertices.T
    zero = np.zeros_like(x)
    inner_x = EYE_CENTRES[0][0] - EYE_RADII[0]
    outer_x = EYE_CENTRES[0][0] + EYE_RADII[0]
    eye_y = EYE_CENTRES[0][1]
    fields = [
        (2.0 * smooth_sign(x, 4.0) * gaussian(x, y, outer_x, eye_y, 6, 7, mirror=True), zero, zero),
        (2.5 * smooth_sign(x, 4.0) * gaussian(x, y, inner_x, eye_y, 5, 6, mirror=True), zero, zero),
        (2.5 * smooth_sign(x, 4.0) * gaussian(x, y, 12, -41, 5, 5, mirror=True), zero, zero),
        (zero, -6.0 * smoothstep((-20 - y) / 70), zero),
    ]
    return [np.stack(field, axis=1) * mesh.front[:, None] for field in fields]


def _random_smooth_direction(mesh: FaceMesh, rng: np.random.Generator) -> np.ndarray:
    """A symmetric sum of three broad Gaussian bumps on the face with random 3D directions,
    scaled to a peak of 1 mm."""
    x, y, _ = mesh.vertices.T
    field = np.zeros_like(mesh.vertices)
    for _ in range(3):
        cx, cy = rng.uniform(0, 55), rng.uniform(-100, 80)
        width = rng.uniform(20, 45)
        direction = rng.normal(size=3) * np.array([0.5, 0.6, 1.0])
        left = gaussian(x, y, cx, cy, width, width)
        right = gaussian(x, y, -cx, cy, width, width)
        mirrored = direction * np.array([-1.0, 1.0, 1.0])
        field += left[:, None] * direction + right[:, None] * mirrored
    field *= mesh.front[:, None]
    return field / np.abs(field).max()


def identity_directions(mesh: FaceMesh, seed: int) -> np.ndarray:
    """(V, 3, K) identity components in mm per unit coefficient, K = 12 named + 18 random + 4
    anthropometric.

    Named components first (face width, height, depth, jaw width, nose size and length, brow
    height, eye spacing, mouth width, chin, cheeks, forehead slope), then ``N_RANDOM_SMOOTH``
    seeded smooth fields with standard deviation 3 mm · 0.85^k, then the anthropometric ones
    (:func:`_anthropometric_directions`). The synthetic subjects are drawn from the first 30
    (``fer4d.synth.face.MAX_SHAPE``); the last four are there for fitting real faces, whose
    proportions span more than the subjects'.
    """
    rng = np.random.default_rng(seed)
    named = _named_directions(mesh)
    random = [3.0 * 0.85**k * _random_smooth_direction(mesh, rng) for k in range(N_RANDOM_SMOOTH)]
    return np.stack(named + random + _anthropometric_directions(mesh), axis=2)
