"""Landmark-free rigid initialisation: bring a scan in any scanner pose onto the FLAME template.

The scanner's rigid transform is fixed within a recording session, so it is estimated once per
sequence on a representative frame; per-frame head motion is left to the non-rigid fit.

Method: the scan's forward direction comes from its mean vertex normal (both signs are tried,
since scanners differ in triangle orientation); the in-plane roll is searched over a ring of
angles; each candidate is polished by a few trimmed point-to-point ICP steps and scored by a
trimmed one-sided Chamfer distance (scan → template; the scan sees only the face, the template
is the whole head). The best candidates are refined by trimmed point-to-plane ICP
(Chen & Medioni 1992; trimming after Chetverikov et al. 2002, "The Trimmed Iterative Closest
Point algorithm"). With 3D landmarks the start comes from Kabsch on them instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from fer4d.fitting.geometry import apply_transform, kabsch, make_transform, point_to_plane_step, rotation_about
from fer4d.parallel import thread_map

MODEL_FORWARD = np.array([0.0, 0.0, 1.0])
"""FLAME's model frame: y up, the face looks along +z."""

ROLL_STEPS = 24
"""In-plane rotations tried per forward direction (15° apart)."""

SEARCH_POINTS = 300
"""Scan points used to score the coarse candidates."""


@dataclass(frozen=True)
class RigidTarget:
    """The template side of rigid alignment.

    vertices: (V, 3) mm, normals: (V, 3) unit, tree: KD-tree over vertices,
    front_centroid: (3,) mm, centroid of the forward-facing part (what a scanner sees).
    """

    vertices: np.ndarray
    normals: np.ndarray
    tree: cKDTree
    front_centroid: np.ndarray

    @classmethod
    def build(cls, vertices: np.ndarray, normals: np.ndarray) -> RigidTarget:
        front = (normals @ MODEL_FORWARD > 0.5) & (vertices[:, 2] > vertices[:, 2].mean())
        centre = vertices[front].mean(axis=0) if front.any() else vertices.mean(axis=0)
        return cls(vertices, normals, cKDTree(vertices), centre)


def trimmed_mean_distance(distances: np.ndarray, keep: float) -> float:
    """Mean of the smallest ``keep`` fraction of ``distances`` (N,)."""
    n = max(1, int(round(keep * len(distances))))
    return float(np.partition(distances, n - 1)[:n].mean())


def trimmed_icp(
    points: np.ndarray, target: RigidTarget, transform: np.ndarray, iterations: int, keep: float, point_to_plane: bool
) -> tuple[np.ndarray, float]:
    """Refine ``transform`` (4, 4) taking ``points`` (N, 3) onto the target surface.

    Each step pairs every moved point with its nearest template vertex, keeps the ``keep``
    fraction with the smallest distances and solves point-to-plane (or point-to-point, more
    robust far from the optimum) least squares. Returns ``(transform, trimmed mean distance mm)``.
    """
    for _ in range(iterations):
        moved = apply_transform(transform, points)
        distances, index = target.tree.query(moved)
        n = max(6, int(round(keep * len(points))))
        inliers = np.argpartition(distances, n - 1)[:n]
        if point_to_plane:
            step = point_to_plane_step(
                moved[inliers], target.vertices[index[inliers]], target.normals[index[inliers]], np.ones(n)
            )
        else:
            step = kabsch(moved[inliers], target.vertices[index[inliers]])
        transform = step @ transform
        if np.abs(step - np.eye(4)).max() < 1e-6:
            break
    distances, _ = target.tree.query(apply_transform(transform, points))
    return transform, trimmed_mean_distance(distances, keep)


def forward_directions(normals: np.ndarray, points: np.ndarray) -> list[np.ndarray]:
    """Candidate forward directions (unit (3,)) of a scan: ± its mean normal, or ± its axis of
    least spread when the normals cancel out."""
    mean = normals.mean(axis=0)
    if np.linalg.norm(mean) < 0.2:
        centred = points - points.mean(axis=0)
        mean = np.linalg.eigh(centred.T @ centred)[1][:, 0]
    mean = mean / np.linalg.norm(mean)
    return [mean, -mean]


def align_direction(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Smallest rotation (3, 3) taking unit vector ``source`` onto unit vector ``target``."""
    axis = np.cross(source, target)
    if np.linalg.norm(axis) < 1e-9:
        if source @ target > 0:
            return np.eye(3)
        axis = np.cross(source, [1.0, 0.0, 0.0] if abs(source[0]) < 0.9 else [0.0, 1.0, 0.0])
    return rotation_about(axis, float(np.arccos(np.clip(source @ target, -1.0, 1.0))))


def rigid_init(
    points: np.ndarray,
    normals: np.ndarray,
    target: RigidTarget,
    iterations: int,
    keep: float,
    rng: np.random.Generator,
    landmarks: np.ndarray | None = None,
    target_landmarks: np.ndarray | None = None,
) -> np.ndarray:
    """Scan frame → model frame as a (4, 4) rigid transform.

    points: (N, 3) mm scan points (a subsample is enough), normals: (N, 3) their unit normals.
    landmarks / target_landmarks: optional (L, 3) corresponding 3D landmarks on the scan and on
    the template; when given they replace the candidate search.
    """
    if landmarks is not None and target_landmarks is not None:
        start = kabsch(np.asarray(landmarks, float), np.asarray(target_landmarks, float))
        return trimmed_icp(points, target, start, iterations, keep, point_to_plane=True)[0]
    sample = points[rng.choice(len(points), size=min(SEARCH_POINTS, len(points)), replace=False)]
    centroid = points.mean(axis=0)
    starts = []
    for forward in forward_directions(normals, points):
        to_forward = align_direction(forward, MODEL_FORWARD)
        for roll in np.arange(ROLL_STEPS) * (2 * np.pi / ROLL_STEPS):
            rotation = rotation_about(MODEL_FORWARD, roll) @ to_forward
            starts.append(make_transform(rotation, target.front_centroid - rotation @ centroid))
    # on parallel threads: the KD-tree searches and the SVDs release the GIL
    candidates = thread_map(lambda start: trimmed_icp(sample, target, start, 5, keep, point_to_plane=False), starts)
    candidates.sort(key=lambda candidate: candidate[1])
    refined = thread_map(
        lambda candidate: trimmed_icp(points, target, candidate[0], iterations, keep, point_to_plane=True),
        candidates[:3],
    )
    return min(refined, key=lambda candidate: candidate[1])[0]
