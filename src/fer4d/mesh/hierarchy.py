"""The mesh hierarchy of the spiral auto-encoder: quadric decimation levels, pooling operators
and spirals (Bouritsas et al. 2019, following Ranjan et al. 2018, "Generating 3D faces using
convolutional mesh autoencoders").

Level 0 is the template; level l+1 is level l decimated by ``factors[l]`` with
fast-simplification, whose collapse replay maps every fine vertex to the coarse vertex it
collapsed into. ``down[l]`` (coarse × fine) averages the fine vertices of each coarse vertex;
``up[l]`` (fine × coarse) places each fine vertex at barycentric coordinates of its projection
on the nearest coarse triangle.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import fast_simplification
import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from fer4d.mesh.options import HierarchyOptions
from fer4d.mesh.spirals import spirals as spiral_indices

log = logging.getLogger(__name__)


@dataclass
class MeshHierarchy:
    """``vertices[l] (V_l, 3)``, ``faces[l] (F_l, 3)``, ``spirals[l] (V_l, S)`` for every level;
    ``down[l]`` (V_{l+1} × V_l) and ``up[l]`` (V_l × V_{l+1}) sparse CSR float32 between levels."""

    vertices: list[np.ndarray]
    faces: list[np.ndarray]
    spirals: list[np.ndarray]
    down: list[sp.csr_matrix]
    up: list[sp.csr_matrix]

    @property
    def sizes(self) -> list[int]:
        return [len(v) for v in self.vertices]

    def digest(self) -> str:
        """A short hash identifying this hierarchy (checkpoints record it)."""
        h = hashlib.sha256()
        for arrays in (self.faces, self.spirals):
            for a in arrays:
                h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]


def decimate(vertices: np.ndarray, faces: np.ndarray, factor: int):
    """→ coarse vertices (V_c, 3), coarse faces (F_c, 3), mapping (V,) fine → coarse index."""
    _, _, collapses = fast_simplification.simplify(
        vertices.astype(np.float64), faces.astype(np.int64), target_reduction=1.0 - 1.0 / factor, return_collapses=True
    )
    coarse, coarse_faces, mapping = fast_simplification.replay_simplification(
        vertices.astype(np.float64), faces.astype(np.int64), collapses
    )
    return coarse.astype(np.float32), coarse_faces.astype(np.int64), mapping.astype(np.int64)


def down_operator(mapping: np.ndarray, n_coarse: int) -> sp.csr_matrix:
    """(V_c × V) averaging each coarse vertex's fine vertices."""
    counts = np.bincount(mapping, minlength=n_coarse).astype(np.float32)
    n_fine = len(mapping)
    return sp.csr_matrix((1.0 / counts[mapping], (mapping, np.arange(n_fine))), shape=(n_coarse, n_fine))


def closest_points_on_triangles(points: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray):
    """Barycentric coordinates (N, 3) of the closest point on triangle (a, b, c) to each point,
    and its distance (N,). All inputs (N, 3); Ericson, "Real-Time Collision Detection", 5.1.5."""
    ab, ac, ap = b - a, c - a, points - a
    d1, d2 = (ab * ap).sum(1), (ac * ap).sum(1)
    bp = points - b
    d3, d4 = (ab * bp).sum(1), (ac * bp).sum(1)
    cp = points - c
    d5, d6 = (ab * cp).sum(1), (ac * cp).sum(1)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = va + vb + vc
        v, w = vb / denom, vc / denom
        bary = np.stack([1 - v - w, v, w], 1)
        regions = [
            ((d1 <= 0) & (d2 <= 0), np.stack([np.ones_like(d1), 0 * d1, 0 * d1], 1)),
            ((d3 >= 0) & (d4 <= d3), np.stack([0 * d1, np.ones_like(d1), 0 * d1], 1)),
            ((d6 >= 0) & (d5 <= d6), np.stack([0 * d1, 0 * d1, np.ones_like(d1)], 1)),
        ]
        t_ab = d1 / (d1 - d3)
        regions.append(((vc <= 0) & (d1 >= 0) & (d3 <= 0), np.stack([1 - t_ab, t_ab, 0 * d1], 1)))
        t_ac = d2 / (d2 - d6)
        regions.append(((vb <= 0) & (d2 >= 0) & (d6 <= 0), np.stack([1 - t_ac, 0 * d1, t_ac], 1)))
        t_bc = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        regions.append(((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0), np.stack([0 * d1, 1 - t_bc, t_bc], 1)))
    for mask, value in reversed(regions):  # earlier regions take precedence
        bary = np.where(mask[:, None], value, bary)
    bary = np.nan_to_num(bary, nan=1.0 / 3.0)
    closest = bary[:, :1] * a + bary[:, 1:2] * b + bary[:, 2:] * c
    return bary, np.linalg.norm(points - closest, axis=1)


def up_operator(fine: np.ndarray, coarse: np.ndarray, coarse_faces: np.ndarray, candidates: int = 8) -> sp.csr_matrix:
    """(V × V_c): each fine vertex as barycentric weights on its nearest coarse triangle
    (searched among the ``candidates`` triangles with the nearest centroids)."""
    centroids = coarse[coarse_faces].mean(1)
    k = min(candidates, len(coarse_faces))
    _, nearest = cKDTree(centroids).query(fine, k=k)
    nearest = nearest.reshape(len(fine), k)
    best_bary = np.zeros((len(fine), 3))
    best_dist = np.full(len(fine), np.inf)
    best_face = np.zeros(len(fine), np.int64)
    for j in range(k):
        tri = coarse_faces[nearest[:, j]]
        bary, dist = closest_points_on_triangles(fine, coarse[tri[:, 0]], coarse[tri[:, 1]], coarse[tri[:, 2]])
        better = dist < best_dist
        best_dist[better], best_bary[better], best_face[better] = dist[better], bary[better], nearest[better, j]
    rows = np.repeat(np.arange(len(fine)), 3)
    cols = coarse_faces[best_face].reshape(-1)
    return sp.csr_matrix((best_bary.reshape(-1).astype(np.float32), (rows, cols)), shape=(len(fine), len(coarse)))


def build_hierarchy(vertices: np.ndarray, faces: np.ndarray, options: HierarchyOptions) -> MeshHierarchy:
    """Decimate the template level by level; operators and spirals for every level."""
    levels_v, levels_f = [np.asarray(vertices, np.float32)], [np.asarray(faces, np.int64)]
    down, up = [], []
    for factor in options.factors:
        coarse, coarse_faces, mapping = decimate(levels_v[-1], levels_f[-1], factor)
        down.append(down_operator(mapping, len(coarse)))
        up.append(up_operator(levels_v[-1], coarse, coarse_faces))
        levels_v.append(coarse)
        levels_f.append(coarse_faces)
    spirals = [spiral_indices(f, len(v), options.spiral_length, options.dilation) for v, f in zip(levels_v, levels_f)]
    log.info("hierarchy: vertices per level %s", [len(v) for v in levels_v])
    return MeshHierarchy(levels_v, levels_f, spirals, down, up)
