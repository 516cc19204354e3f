"""Anatomical expression components of the synthetic face (FACS-like action units).

Each component is a smooth displacement field (mm per unit coefficient) built from Gaussian
masks placed on the facial feature it moves; the action-unit numbers follow Ekman & Friesen's
Facial Action Coding System (1978).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fer4d.synth.facemodel.geometry import EYE_CENTRES, MOUTH_Y, FaceMesh, gaussian, smooth_sign, smoothstep

EyeSide = float  # +1: subject's left (+x), -1: right

EXPRESSION_COMPONENTS: tuple[str, ...] = (
    "brow_raise_left",  # AU2 (+AU1)
    "brow_raise_right",
    "inner_brow_raise",  # AU1
    "brow_lower",  # AU4
    "upper_lid_raise",  # AU5
    "lid_tighten_left",  # AU7 / blink
    "lid_tighten_right",
    "cheek_raise",  # AU6
    "nose_wrinkle",  # AU9
    "upper_lip_raise",  # AU10
    "lip_corner_pull_left",  # AU12
    "lip_corner_pull_right",
    "lip_corner_depress",  # AU15
    "lip_stretch",  # AU20
    "lip_press",  # AU24
    "lip_funnel",  # AU22
    "mouth_open",  # AU25 / lower lip drop
    "chin_raise",  # AU17
)
"""Names of the synthetic model's expression columns, in order."""


def _field(mesh: FaceMesh, dx=0.0, dy=0.0, dz=0.0) -> np.ndarray:
    """Stack per-vertex displacement components into (V, 3), limited to the face."""
    n = len(mesh.vertices)
    field = np.stack([np.broadcast_to(np.asarray(d, float), (n,)) for d in (dx, dy, dz)], axis=1)
    return field * mesh.front[:, None]


def _brow_raise(mesh: FaceMesh, side: EyeSide) -> np.ndarray:
    x, y = mesh.vertices[:, 0], mesh.vertices[:, 1]
    lift = gaussian(x, y, 30 * side, 24, 20, 13)
    return _field(mesh, dy=7.0 * lift, dz=-1.0 * lift)


def _inner_brow_raise(mesh: FaceMesh) -> np.ndarray:
    x, y = mesh.vertices[:, 0], mesh.vertices[:, 1]
    lift = gaussian(x, y, 13, 22, 10, 10, mirror=True)
    return _field(mesh, dy=6.0 * lift)


def _brow_lower(mesh: FaceMesh) -> np.ndarray:
    x, y = mesh.vertices[:, 0], mesh.vertices[:, 1]
    brows = gaussian(x, y, 24, 21, 17, 9, mirror=True)
    inner = gaussian(x, y, 14, 19, 9, 8, mirror=True)
    glabella = gaussian(x, y, 0, 16, 7, 6)
    return _field(
        mesh, dx=-3.0 * smooth_sign(x) * inner, dy=-5.0 * brows - 2.0 * inner, dz=2.0 * glabella + 1.0 * brows
    )


def _eyelids(mesh: FaceMesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks (V,) of the upper lids, lower lids, and a smooth sign of x (which eye)."""
    x, y = mesh.vertices[:, 0], mesh.vertices[:, 1]
    around = sum(gaussian(x, y, cx, cy, 12, 5) for cx, cy in EYE_CENTRES)
    upper = smoothstep((y - EYE_CENTRES[0][1] + 2.0) / 4.0)
    return around * upper, around * (1.0 - upper), smooth_sign(x)


def _upper_lid_raise(mesh: FaceMesh) -> np.ndarray:
    upper, _, _ = _eyelids(mesh)
    return _field(mesh, dy=3.5 * upper, dz=-0.5 * upper)


def _lid_tighten(mesh: FaceMesh, side: EyeSide) -> np.ndarray:
    upper, lower, sign = _eyelids(mesh)
    this_eye = 0.5 * (1.0 + side * sign)
    return _field(mesh, dy=this_eye * (-4.0 * upper + 2.0 * lower))


def _cheek_raise(mesh: FaceMesh) -> np.ndarray:
    x, y = mesh.vertices[:, 0], mesh.vertices[:, 1]
    cheeks = gaussian(x, y, 40, -25, 15, 12, mirror=True)
    _, lower_lids, _ = _eyelids(mesh)
    return _field(mesh, dy=4.0 * cheeks + 1.5 * lower_lids, dz=2.0 * cheeks)


def _nose_wrinkle(mesh: FaceMesh) -> np.ndarray:
    x, y = mesh.vertices[:, 0], mesh.vertices[:, 1]
    nose = gaussian(x, y, 0, -10, 14, 16)
    bridge = gaussian(x, y, 0, 6, 8, 6)
    inner_brows = gaussian(x, y, 15, 19, 10, 6, mirror=True)
    upper_lip = gaussian(x, y, 0, -50, 15, 5) * ~mesh.lower_lip_side
    return _field(mesh, dy=3.0 * nose - 2.5 * inner_brows + 1.5 * upper_lip, dz=1.5 * bridge)


def _upper_lip_raise(mesh: FaceMesh) -> np.ndarray:
    x, y = mesh.vertices[:, 0], mesh.vertices[:, 1]
    lip = gaussian(x, y, 0, -53, 17, 6) * ~mesh.lower_lip_side
    nasolabial = gaussian(x, y, 20, -42, 8, 8, mirror=True)
    return _field(mesh, dy=4.0 * lip + 2.0 * nasolabial, dz=1.0 * lip)


def _mouth_corners(mesh: FaceMesh, side: EyeSide | None = None) -> np.ndarray:
    """Mask (V,) around one mouth corner (side ±1) or both (None)."""
    x, y = mesh.vertices[:, 0], mesh.vertices[:, 1]
    if side is None:
        return gaussian(x, y, 25, MOUTH_Y, 12, 10, mirror=True)
    return gaussian(x, y, 25 * side, MOUTH_Y, 12, 10)


def _lip_corner_pull(mesh: FaceMesh, side: EyeSide) -> np.ndarray:
    x, y = mesh.vertices[:, 0], mesh.vertices[:, 1]
    corner = _mouth_corners(mesh, side)
    cheek = gaussian(x, y, 35 * side, -38, 12, 12)
    return _field(mesh, dx=6.0 * side * corner, dy=6.0 * corner + 2.0 * cheek, dz=-3.0 * corner + 2.0 * cheek)


def _lip_corner_depress(mesh: FaceMesh) -> np.ndarray:
    corners = _mouth_corners(mesh)
    return _field(mesh, dy=-5.0 * corners, dz=-1.0 * corners)


def _lip_stretch(mesh: FaceMesh) -> np.ndarray:
    x = mesh.vertices[:, 0]
    corners = _mouth_corners(mesh)
    return _field(mesh, dx=6.0 * smooth_sign(x) * corners, dy=-1.5 * corners, dz=-2.0 * corners)


def _lips(mesh: FaceMesh) -> np.ndarray:
    x, y = mesh.vertices[:, 0], mesh.vertices[:, 1]
    return gaussian(x, y, 0, MOUTH_Y, 22, 9)


def _lip_press(mesh: FaceMesh) -> np.ndarray:
    y = mesh.vertices[:, 1]
    lips = _lips(mesh)
    return _field(mesh, dy=-0.3 * (y - MOUTH_Y) * lips, dz=-3.0 * lips)


def _lip_funnel(mesh: FaceMesh) -> np.ndarray:
    x, y = mesh.vertices[:, 0], mesh.vertices[:, 1]
    corners = gaussian(x, y, 24, MOUTH_Y, 8, 8, mirror=True)
    return _field(mesh, dx=-4.0 * smooth_sign(x) * corners, dz=6.0 * _lips(mesh))


def _mouth_open(mesh: FaceMesh) -> np.ndarray:
    x, y = mesh.vertices[:, 0], mesh.vertices[:, 1]
    lower = gaussian(x, y, 0, -62, 17, 8) * mesh.lower_lip_side
    upper = gaussian(x, y, 0, -55, 17, 6) * ~mesh.lower_lip_side
    return _field(mesh, dy=-7.0 * lower + 1.5 * upper, dz=-1.0 * lower)


def _chin_raise(mesh: FaceMesh) -> np.ndarray:
    x, y = mesh.vertices[:, 0], mesh.vertices[:, 1]
    chin = gaussian(x, y, 0, -88, 18, 12)
    lower_lip = gaussian(x, y, 0, -66, 16, 6) * mesh.lower_lip_side
    return _field(mesh, dy=3.0 * chin + 1.5 * lower_lip, dz=1.0 * chin + 2.0 * lower_lip)


_BUILDERS: dict[str, Callable[[FaceMesh], np.ndarray]] = {
    "brow_raise_left": lambda mesh: _brow_raise(mesh, +1.0),
    "brow_raise_right": lambda mesh: _brow_raise(mesh, -1.0),
    "inner_brow_raise": _inner_brow_raise,
    "brow_lower": _brow_lower,
    "upper_lid_raise": _upper_lid_raise,
    "lid_tighten_left": lambda mesh: _lid_tighten(mesh, +1.0),
    "lid_tighten_right": lambda mesh: _lid_tighten(mesh, -1.0),
    "cheek_raise": _cheek_raise,
    "nose_wrinkle": _nose_wrinkle,
    "upper_lip_raise": _upper_lip_raise,
    "lip_corner_pull_left": lambda mesh: _lip_corner_pull(mesh, +1.0),
    "lip_corner_pull_right": lambda mesh: _lip_corner_pull(mesh, -1.0),
    "lip_corner_depress": _lip_corner_depress,
    "lip_stretch": _lip_stretch,
    "lip_press": _lip_press,
    "lip_funnel": _lip_funnel,
    "mouth_open": _mouth_open,
    "chin_raise": _chin_raise,
}


def expression_directions(mesh: FaceMesh) -> np.ndarray:
    """(V, 3, len(EXPRESSION_COMPONENTS)) displacement fields in mm, columns in name order."""
    return np.stack([_BUILDERS[name](mesh) for name in EXPRESSION_COMPONENTS], axis=2)
