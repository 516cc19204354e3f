"""What a 3D face scanner does to a surface: noise, holes, spikes, stray fragments, its own frame.

``ScanSession`` holds what stays fixed for one recorded sequence (triangulation, the eye and
nostril holes, the rigid transform into scanner coordinates, the units); ``ScanSession.capture``
turns one posed model frame into one raw scan. All geometry is in millimetres in the model
frame (y up, face looking along +z) until the very last step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from fer4d.synth.surface import SurfaceSampling, keep_vertices, vertex_normals

MM_PER_UNIT = {"mm": 1.0, "m": 1000.0}

PATCH_RADIUS_MM = 7.0
"""Radius of one random missing patch (a specular or occluded spot)."""

SPIKE_RANGE_MM = (3.0, 25.0)
"""How far an outlier vertex is thrown along its normal (either side)."""

MAX_STRETCH = 2.0
"""A triangle whose longest edge grows beyond ``MAX_STRETCH`` times its neutral length (plus
1 mm) is not reconstructed: a scanner does not bridge an opening mouth."""


@dataclass(frozen=True)
class ScanSession:
    """The fixed set-up of one recorded sequence.

    ``sampling``: scan triangulation embedded in the model surface; ``rest_edges_mm (F,)``: each
    scan triangle's longest edge on the neutral face; ``always_missing (N,) bool``: scan
    vertices the scanner never sees (eyes, nostrils); ``rotation (3,3)``, ``translation (3,)
    mm``: model frame → scanner frame, ``x_scan = rotation @ x + translation``; ``units``: "mm"
    or "m" for the written scans.
    """

    sampling: SurfaceSampling
    rest_edges_mm: np.ndarray
    always_missing: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    units: str

    def to_scanner(self, points_mm: np.ndarray) -> np.ndarray:
        """Model-frame points ``(..., 3)`` mm → scanner-frame points ``(..., 3)`` mm."""
        return points_mm @ self.rotation.T + self.translation

    def capture(
        self,
        model_vertices: np.ndarray,
        noise_mm: float,
        hole_fraction: float,
        outlier_fraction: float,
        fragments: int,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scan one frame.

        ``model_vertices (V, 3)`` mm, posed (head motion included) in the model frame.
        Returns ``(vertices (N', 3) float32 in self.units, faces (F', 3) int32,
        is_surface (N',) bool)``, where ``is_surface`` is False for spikes and fragment vertices.
        """
        points = self.sampling.sample(model_vertices)
        faces = self.sampling.faces
        faces = faces[longest_edges(points, faces) <= MAX_STRETCH * self.rest_edges_mm + 1.0]
        normals = vertex_normals(points, faces)
        points = points + normals * rng.normal(scale=noise_mm, size=(len(points), 1))

        keep = ~self.always_missing & ~random_patches(points, faces, hole_fraction, rng)
        is_surface = np.ones(len(points), bool)
        n_spikes = int(round(outlier_fraction * len(points)))
        if n_spikes:
            spikes = rng.choice(len(points), size=n_spikes, replace=False)
            throw = rng.uniform(*SPIKE_RANGE_MM, size=n_spikes) * rng.choice([-1.0, 1.0], n_spikes)
            points[spikes] += normals[spikes] * throw[:, None]
            is_surface[spikes] = False
        points, faces, kept = keep_vertices(points, faces, keep)
        is_surface = is_surface[kept]

        for _ in range(fragments):
            frag_points, frag_faces = stray_fragment(points, rng)
            faces = np.concatenate([faces, frag_faces + len(points)])
            points = np.concatenate([points, frag_points])
            is_surface = np.concatenate([is_surface, np.zeros(len(frag_points), bool)])

        scanned = self.to_scanner(points) / MM_PER_UNIT[self.units]
        return scanned.astype(np.float32), faces.astype(np.int32), is_surface


def longest_edges(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``(F,)`` length of the longest edge of each triangle of ``faces (F, 3)`` on ``points``."""
    tri = points[faces]
    return np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=2).max(axis=1)


def random_patches(points: np.ndarray, faces: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """``(N,) bool``: vertices inside random round patches covering ~``fraction`` of the area.

    ``points (N, 3)`` mm, ``faces (F, 3)``.
    """
    missing = np.zeros(len(points), bool)
    if fraction <= 0:
        return missing
    tri = points[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum()
    n_patches = rng.poisson(fraction * area / (np.pi * PATCH_RADIUS_MM**2))
    for centre in points[rng.choice(len(points), size=n_patches)]:
        radius = PATCH_RADIUS_MM * rng.uniform(0.6, 1.4)
        missing |= np.linalg.norm(points - centre, axis=1) < radius
    return missing


def stray_fragment(face_points: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A small disconnected sheet where hair (above the forehead) or a shoulder (below the chin)
    would be: ``(points (n, 3) mm, faces (m, 3))`` in the model frame, near ``face_points``."""
    low, high = face_points.min(axis=0), face_points.max(axis=0)
    size = rng.uniform(15.0, 35.0)
    n = int(rng.integers(5, 11))
    u, v = np.meshgrid(np.linspace(-0.5, 0.5, n) * size, np.linspace(-0.5, 0.5, n) * size)
    bumps = rng.normal(scale=1.5, size=u.shape)
    sheet = np.stack([u.ravel(), v.ravel(), bumps.ravel()], axis=1)
    if rng.random() < 0.5:  # hair, above the top of the scan
        centre = [rng.uniform(low[0], high[0]), high[1] + rng.uniform(5.0, 25.0), rng.uniform(low[2], high[2])]
    else:  # shoulder, below and behind the chin
        centre = [
            rng.choice([low[0], high[0]]) + rng.normal(scale=15.0),
            low[1] - rng.uniform(10.0, 40.0),
            low[2] + rng.uniform(0.0, 30.0),
        ]
    tilt = Rotation.from_rotvec(rng.normal(scale=0.4, size=3)).as_matrix()
    grid = np.arange(n * n).reshape(n, n)
    a, b, c, d = grid[:-1, :-1].ravel(), grid[:-1, 1:].ravel(), grid[1:, :-1].ravel(), grid[1:, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])
    return sheet @ tilt.T + np.asarray(centre), faces.astype(np.int32)


def random_scanner_pose(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A scanner's rigid frame: ``(rotation (3,3), translation (3,) mm)``.

    Any rotation about the vertical axis, a tilt of up to ±15°, an offset of hundreds of mm.
    """
    yaw = rng.uniform(-np.pi, np.pi)
    tilt = rng.uniform(-np.radians(15.0), np.radians(15.0), size=2)
    rotation = Rotation.from_euler("xzy", [tilt[0], tilt[1], yaw]).as_matrix()
    direction = rng.normal(size=3)
    translation = direction / np.linalg.norm(direction) * rng.uniform(200.0, 800.0)
    return rotation, translation
