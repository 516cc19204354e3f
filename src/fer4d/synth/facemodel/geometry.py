"""The synthetic face surface: a cylindrical grid around the front of the head (±100°: face,
temples, front of the ears, forehead up to the crown) shaped into a face, with eye holes and a
mouth slit. Open at the back like a face mask, so every vertex lies where a frontal scan can
see it. Everything in millimetres; x towards the subject's left, y up, z out of the face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MOUTH_Y = -59.0
"""Height of the mouth slit (lips meet here at rest)."""
MOUTH_HALF_WIDTH = 25.0
EYE_CENTRES = ((33.0, 2.0), (-33.0, 2.0))
"""(x, y) of the left (+x) and right (-x) eye openings."""
EYE_RADII = (13.0, 5.0)
"""Half width and half height of the almond-shaped eye openings."""
THETA_MAX = 1.75
"""The surface wraps ±100° around the vertical axis."""
Y_RANGE = (-115.0, 122.0)
"""Rows from the neck under the chin to the front of the crown."""
CROWN_TOP_Y = 133.0

_CROWN_Y = np.array([70.0, 85.0, 100.0, 112.0, 122.0])
_CROWN = np.sqrt(1.0 - ((_CROWN_Y - 70.0) / (CROWN_TOP_Y - 70.0)) ** 2)  # round top of the head
_KNOT_Y = np.concatenate([[-115, -106, -100, -85, -60, -30, 0, 40], _CROWN_Y])
_HALF_WIDTH = np.concatenate([[48, 50, 52, 58, 66, 71, 73, 72], 68.0 * _CROWN])
_HALF_DEPTH = np.concatenate([[45, 62, 86, 90, 90, 88, 85, 88], 85.0 * _CROWN])


def gaussian(
    x: np.ndarray, y: np.ndarray, x0: float, y0: float, sx: float, sy: float, mirror: bool = False
) -> np.ndarray:
    """Smooth bump of height 1 at (x0, y0); ``mirror`` adds the twin at (-x0, y0). (V,) arrays."""
    bump = np.exp(-0.5 * (((x - x0) / sx) ** 2 + ((y - y0) / sy) ** 2))
    if mirror:
        bump = bump + np.exp(-0.5 * (((x + x0) / sx) ** 2 + ((y - y0) / sy) ** 2))
    return bump


def smooth_sign(x: np.ndarray, width: float = 8.0) -> np.ndarray:
    """tanh(x / width): a sign of x that stays continuous (and fold-free) across x = 0."""
    return np.tanh(x / width)


def smoothstep(u: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, C¹ cubic in between."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def half_width(y: np.ndarray) -> np.ndarray:
    """Head half width (mm) at height y."""
    return np.interp(y, _KNOT_Y, _HALF_WIDTH)


def facial_relief(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Forward offset (mm) of nose, brows, eye sockets, cheekbones, lips and chin at (x, y)."""
    nose_height = np.interp(y, [-47, -43, -37, -30, -12, 4, 18], [0, 9, 22, 21, 12, 5, 0])
    nose_width = np.interp(y, [-44, -30, -10, 18], [13, 10, 7, 6])
    relief = nose_height * np.exp(-0.5 * (x / nose_width) ** 2)
    relief += 6 * gaussian(x, y, 12, -37, 5, 5, mirror=True)  # nostril wings
    relief += -10 * gaussian(x, y, 33, 4, 16, 11, mirror=True)  # eye sockets
    relief += 6 * gaussian(x, y, 33, 2, 11, 6, mirror=True)  # eyelids over the eyeballs
    relief += 4 * gaussian(x, y, 30, 20, 20, 4.5, mirror=True)  # brow ridges
    relief += 2 * gaussian(x, y, 0, 16, 9, 6)  # glabella
    relief += 7 * gaussian(x, y, 44, -22, 13, 11, mirror=True)  # cheekbones
    relief += 7 * gaussian(x, y, 0, -58, 28, 18)  # muzzle
    relief += 4 * gaussian(x, y, 0, -54, 17, 3.5)  # upper lip
    relief += 5 * gaussian(x, y, 0, -65, 15, 4)  # lower lip
    relief += -1.5 * gaussian(x, y, 0, -48, 3, 3)  # philtrum
    relief += -3 * gaussian(x, y, 26, MOUTH_Y, 5, 5, mirror=True)  # mouth corners
    relief += -3 * gaussian(x, y, 0, -76, 14, 4)  # groove under the lower lip
    relief += 5 * gaussian(x, y, 0, -92, 14, 8)  # chin
    return relief


def surface_points(theta: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Points (N, 3) mm of the face surface at cylinder angle ``theta`` (N,) and height ``y`` (N,).

    Horizontal sections are super-ellipses, flatter in front than at the back of the head,
    plus the facial relief in front. theta = 0 faces +z.
    """
    a = half_width(y)
    b = np.interp(y, _KNOT_Y, _HALF_DEPTH)
    cos = np.cos(theta)
    x = a * np.sin(theta)
    section = np.where(cos >= 0, np.abs(cos) ** 0.6, -(np.abs(cos) ** 0.9))
    z = b * section + facial_relief(x, y) * np.clip(cos, 0, 1)
    return np.stack([x, y, z], axis=1)


def frontness(theta: np.ndarray) -> np.ndarray:
    """(N,) 1 on the face (|theta| < 70°), 0 from the ears back: the mask of facial motion."""
    return smoothstep(np.cos(theta) / 0.35)


def in_eye_opening(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """True inside either almond-shaped eye opening (front of the head, z > 0)."""
    inside = np.zeros(x.shape, dtype=bool)
    for x0, y0 in EYE_CENTRES:
        inside |= ((x - x0) / EYE_RADII[0]) ** 2 + ((y - y0) / EYE_RADII[1]) ** 2 < 1.0
    return inside & (z > 0)


def _onto_eye_rims(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(theta, y) (N, 2) of points (x, y) moved radially onto the nearest eye opening's rim."""
    centres = np.asarray(EYE_CENTRES)[np.where(x > 0, 0, 1)]
    dx, dy = (x - centres[:, 0]) / EYE_RADII[0], (y - centres[:, 1]) / EYE_RADII[1]
    radius = np.maximum(np.hypot(dx, dy), 1e-9)
    new_x = centres[:, 0] + dx / radius * EYE_RADII[0]
    new_y = centres[:, 1] + dy / radius * EYE_RADII[1]
    return np.stack([np.arcsin(np.clip(new_x / half_width(new_y), -1, 1)), new_y], axis=1)


@dataclass
class FaceMesh:
    """The template mesh and what the rig needs to know about it.

    vertices: (V, 3) float64 mm. faces: (F, 3) int32.
    uv: (V, 2) (theta, y) surface parameters of each vertex (landmark lookup).
    lower_lip_side: (V,) bool, True for face vertices below the mouth slit (they follow the jaw).
    front: (V,) float in [0, 1], ``frontness``: where facial components may move the skin.
    """

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray
    lower_lip_side: np.ndarray
    front: np.ndarray


def _grid_axis(n: int, low: float, high: float, focus: float, linear_share: float) -> np.ndarray:
    """n increasing samples from ``low`` to ``high``, denser near ``focus``.

    s ∈ [-1, 1] is warped by s ↦ a·s + (1-a)·s³ (a = ``linear_share``; slope a at 0),
    then mapped piecewise-linearly so that s = 0 lands on ``focus``.
    """
    s = np.linspace(-1.0, 1.0, n)
    warped = linear_share * s + (1.0 - linear_share) * s**3
    return np.where(warped < 0, focus + warped * (focus - low), focus + warped * (high - focus))


def _split_side_triangles(faces: np.ndarray, uv: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Add ``count`` vertices by splitting as many triangles at the sides of the head (temples,
    in front of the ears) into three at their (theta, y) centroid, spread evenly over the
    candidates; returns the new faces (F + 2·count, 3) and uv (V + count, 2)."""
    corners = uv[faces]  # (F, 3, 2)
    sides = np.flatnonzero((np.abs(corners[..., 0]) > 1.3).all(axis=1) & (np.abs(corners[..., 1]) < 70).all(axis=1))
    if count > len(sides):
        raise ValueError(f"cannot add {count} vertices: only {len(sides)} side triangles")
    chosen = sides[np.linspace(0, len(sides) - 1, count).round().astype(int)]
    centres = len(uv) + np.arange(count)
    a, b, c = faces[chosen].T
    fans = np.stack(
        [np.stack([a, b, centres], 1), np.stack([b, c, centres], 1), np.stack([c, a, centres], 1)], 1
    ).reshape(-1, 3)
    keep = np.ones(len(faces), dtype=bool)
    keep[chosen] = False
    return np.concatenate([faces[keep], fans]), np.concatenate([uv, corners[chosen].mean(axis=1)])


def build_face_mesh(n_theta: int, n_rows: int, extra_vertices: int = 0) -> FaceMesh:
    """The face on an ``n_theta`` × ``n_rows`` grid with eye holes and a mouth slit;
    ``extra_vertices`` more are added at the sides of the head to meet a vertex count."""
    thetas = _grid_axis(n_theta, -THETA_MAX, THETA_MAX, 0.0, 0.45)
    rows = _grid_axis(n_rows, *Y_RANGE, -25.0, 0.4)
    mouth_row = int(np.argmin(np.abs(rows - MOUTH_Y)))
    rows[mouth_row] = MOUTH_Y
    theta_grid, y_grid = np.meshgrid(thetas, rows)  # (n_rows, n_theta)
    uv = np.stack([theta_grid.ravel(), y_grid.ravel()], axis=1)
    vertices = surface_points(uv[:, 0], uv[:, 1])
    n_grid = n_rows * n_theta
    index = np.arange(n_grid).reshape(n_rows, n_theta)

    # mouth slit: the lower lip gets its own copies of the slit vertices
    mouth = np.abs(vertices[index[mouth_row], 0]) < MOUTH_HALF_WIDTH
    slit = index[mouth_row][mouth]
    lower_index = index.copy()
    lower_index[mouth_row, mouth] = n_grid + np.arange(len(slit))
    vertices = np.concatenate([vertices, vertices[slit]])
    uv = np.concatenate([uv, uv[slit]])

    quads = []
    for row in range(n_rows - 1):
        top = lower_index if row == mouth_row - 1 else index  # band just below the slit
        a, b = index[row, :-1], index[row, 1:]
        c, d = top[row + 1, :-1], top[row + 1, 1:]
        quads.append(np.stack([np.stack([a, b, d], 1), np.stack([a, d, c], 1)], 1).reshape(-1, 3))
    faces = np.concatenate(quads)
    if extra_vertices:
        faces, uv = _split_side_triangles(faces, uv, extra_vertices)
        vertices = np.concatenate([vertices, surface_points(uv[-extra_vertices:, 0], uv[-extra_vertices:, 1])])
    centroids = vertices[faces].mean(axis=1)
    opening = in_eye_opening(*centroids.T)
    rim = np.intersect1d(faces[opening], faces[~opening])
    faces = faces[~opening]
    uv[rim] = _onto_eye_rims(vertices[rim, 0], uv[rim, 1])
    vertices[rim] = surface_points(uv[rim, 0], uv[rim, 1])

    used = np.unique(faces)
    remap = np.full(len(vertices), -1)
    remap[used] = np.arange(len(used))
    number = np.arange(len(vertices))
    is_slit_copy = (number >= n_grid) & (number < n_grid + len(slit))
    lower = (uv[:, 1] < MOUTH_Y) | is_slit_copy
    return FaceMesh(
        vertices=vertices[used],
        faces=remap[faces].astype(np.int32),
        uv=uv[used],
        lower_lip_side=lower[used],
        front=frontness(uv[used, 0]),
    )


def face_mesh_with_about(n_vertices: int) -> FaceMesh:
    """A mesh with exactly ``n_vertices`` vertices (at least ~200): the largest grid (≈ 1.4
    columns per row) that does not exceed it, topped up with vertices at the sides."""
    best = None
    guess_rows = max(int(round(np.sqrt(n_vertices / 1.4))), 10)
    for n_rows in range(guess_rows - 3, guess_rows + 4):
        base = n_vertices / n_rows
        for n_theta in range(max(int(base) - 4, 12), int(base) + 4):
            shortfall = n_vertices - len(build_face_mesh(n_theta, n_rows).vertices)
            if shortfall >= 0 and (best is None or shortfall < best[0]):
                best = (shortfall, n_theta, n_rows)
    if best is None:
        raise ValueError(f"n_vertices={n_vertices} is too small for the synthetic face")
    shortfall, n_theta, n_rows = best
    return build_face_mesh(n_theta, n_rows, extra_vertices=shortfall)
