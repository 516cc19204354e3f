"""A 68-point landmark embedding (iBUG 300-W order: jaw 0-16, brows 17-26, nose 27-35,
eyes 36-47, outer lips 48-59, inner lips 60-67; Sagonas et al. 2013) on the synthetic face,
as FLAME's ``lmk_face_idx`` / ``lmk_b_coords``."""

from __future__ import annotations

import numpy as np

from fer4d.synth.facemodel.geometry import EYE_CENTRES, EYE_RADII, MOUTH_Y, FaceMesh, half_width


def _eye(centre: tuple[float, float], outer_first: bool) -> list[tuple[float, float, float]]:
    """Six points of one eye (corner, two upper, corner, two lower) clockwise in the image."""
    cx, cy = centre
    rx, ry = EYE_RADII
    lateral = np.sign(cx)
    # right eye (-x): 36 outer, 37-38 upper, 39 inner, 40-41 lower; left eye: 42 inner first
    first = lateral if outer_first else -lateral
    xs = [cx + first * rx * step for step in (1.0, 0.4, -0.4, -1.0)]
    upper_h = ry * np.sqrt(1 - 0.4**2)  # height of the rim at ±0.4 rx
    points = [
        (xs[0], cy),
        (xs[1], cy + upper_h),
        (xs[2], cy + upper_h),
        (xs[3], cy),
        (xs[2], cy - upper_h),
        (xs[1], cy - upper_h),
    ]
    return [(px, py, 0.0) for px, py in points]


def landmark_targets() -> np.ndarray:
    """(68, 3) rows (x mm, y mm, side): side +1/-1 looks the point up just above/below the
    mouth slit (upper/lower inner lip), 0 anywhere."""
    points: list[tuple[float, float, float]] = []
    for phi in np.linspace(-1.0, 1.0, 17):  # jaw line, from the subject's right ear to the left
        y = -25.0 - 76.0 * (1.0 - abs(phi) ** 1.7)
        theta = 1.1 * phi
        points.append((half_width(y) * np.sin(theta), y, 0.0))
    brow_x = np.array([50.0, 41.0, 32.0, 23.0, 14.0])
    brow_y = np.array([18.0, 22.5, 24.0, 23.5, 21.0])
    points += [(-bx, by, 0.0) for bx, by in zip(brow_x, brow_y)]
    points += [(bx, by, 0.0) for bx, by in zip(brow_x[::-1], brow_y[::-1])]
    points += [(0.0, y, 0.0) for y in (12.0, -3.0, -18.0, -34.0)]
    points += [(x, y, 0.0) for x, y in zip((-12, -6, 0, 6, 12), (-41, -43, -44, -43, -41))]
    points += _eye(EYE_CENTRES[1], outer_first=True)
    points += _eye(EYE_CENTRES[0], outer_first=False)
    outer = [
        (-25, MOUTH_Y),
        (-16, -54.5),
        (-6, -51.5),
        (0, -52.5),
        (6, -51.5),
        (16, -54.5),
        (25, MOUTH_Y),
        (16, -65),
        (6, -68.5),
        (0, -69),
        (-6, -68.5),
        (-16, -65),
    ]
    points += [(x, y, 0.0) for x, y in outer]
    inner = [(-23, 0), (-10, 1), (0, 1), (10, 1), (23, 0), (10, -1), (0, -1), (-10, -1)]
    points += [(x, MOUTH_Y, side) for x, side in inner]
    return np.asarray(points, dtype=float)


def barycentric_2d(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Barycentric coords (..., 3) of 2D points (..., 2) in 2D triangles (..., 3, 2), broadcast."""
    a, b, c = triangles[..., 0, :], triangles[..., 1, :], triangles[..., 2, :]
    v0, v1, v2 = b - a, c - a, points - a
    det = v0[..., 0] * v1[..., 1] - v0[..., 1] * v1[..., 0]
    det = np.where(np.abs(det) < 1e-12, 1e-12, det)
    beta = (v2[..., 0] * v1[..., 1] - v2[..., 1] * v1[..., 0]) / det
    gamma = (v0[..., 0] * v2[..., 1] - v0[..., 1] * v2[..., 0]) / det
    return np.stack([1 - beta - gamma, beta, gamma], axis=-1)


def landmark_embedding(mesh: FaceMesh) -> tuple[np.ndarray, np.ndarray]:
    """``lmk_face_idx (68,)`` and ``lmk_b_coords (68, 3)`` of ``landmark_targets`` on ``mesh``.

    Points are located in the (theta, y) parameter plane of the face; the triangle whose
    barycentric coordinates are least negative is chosen (points on an eye rim fall on its
    edge), and the coordinates are clipped to the triangle. Inner-lip points look up just
    above/below the slit so the upper and lower lips get their own triangles.
    """
    targets = landmark_targets()
    y = targets[:, 1]
    theta = np.arcsin(np.clip(targets[:, 0] / half_width(y), -1.0, 1.0))
    lookup = np.stack([theta, y + 0.5 * targets[:, 2]], axis=1)
    exact = np.stack([theta, y], axis=1)
    scale = np.array([60.0, 1.0])  # make theta (rad) comparable to y (mm) near the face
    front = np.flatnonzero((np.cos(mesh.uv[mesh.faces, 0]) > 0).all(axis=1))  # no seam triangles
    triangles = mesh.uv[mesh.faces[front]] * scale
    coords = barycentric_2d((lookup * scale)[:, None, :], triangles[None])  # (68, F_front, 3)
    best = np.argmax(coords.min(axis=2), axis=1)
    face_idx = front[best]
    b_coords = barycentric_2d(exact * scale, triangles[best])
    b_coords = np.clip(b_coords, 0.0, None)
    b_coords /= b_coords.sum(axis=1, keepdims=True)
    return face_idx.astype(np.int64), b_coords
