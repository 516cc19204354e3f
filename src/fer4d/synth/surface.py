"""Re-sampling a model surface into a scanner-like triangulation, and small mesh utilities.

A scan never shares the model's triangulation: the posed model surface is linearly subdivided,
jittered, decimated with quadric error metrics (Garland & Heckbert 1997, via
``fast_simplification``) to the requested vertex count, and every new vertex is pinned to its
closest point on the model surface by barycentric coordinates. The result is a sparse embedding
``W (N, V)`` with ``scan_vertices = W @ model_vertices``, so that all frames of one session are
sampled consistently and cheaply while the surface follows the face exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import fast_simplification
import numpy as np
import pyvista as pv
import scipy.sparse as sp


@dataclass(frozen=True)
class SurfaceSampling:
    """A scan triangulation embedded in a model surface.

    ``weights``: sparse ``(N, V)`` barycentric weights (three per row) onto model vertices;
    ``faces``: ``(F, 3)`` int32 triangles over the N scan vertices.
    """

    weights: sp.csr_matrix
    faces: np.ndarray

    def sample(self, model_vertices: np.ndarray) -> np.ndarray:
        """``model_vertices (V, 3)`` → scan vertices ``(N, 3)`` (same units)."""
        return np.asarray(self.weights @ model_vertices)


def to_polydata(vertices: np.ndarray, faces: np.ndarray) -> pv.PolyData:
    """A pyvista triangle mesh from ``vertices (V, 3)`` and ``faces (F, 3)``."""
    cells = np.concatenate([np.full((len(faces), 1), 3, np.int64), faces.astype(np.int64)], axis=1)
    return pv.PolyData(np.asarray(vertices, dtype=np.float64), cells.ravel())


def barycentric(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Barycentric coordinates ``(N, 3)`` of ``points (N, 3)`` in ``triangles (N, 3, 3)``.

    Points are assumed to lie in (or are projected onto) the triangle's plane; the result is
    clipped to the triangle and renormalised.
    """
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    v0, v1, v2 = b - a, c - a, points - a
    d00 = np.einsum("ij,ij->i", v0, v0)
    d01 = np.einsum("ij,ij->i", v0, v1)
    d11 = np.einsum("ij,ij->i", v1, v1)
    d20 = np.einsum("ij,ij->i", v2, v0)
    d21 = np.einsum("ij,ij->i", v2, v1)
    denom = np.where(np.abs(d00 * d11 - d01**2) > 1e-18, d00 * d11 - d01**2, 1e-18)
    v = (d11 * d20 - d01 * d21) / denom
    w = (d00 * d21 - d01 * d20) / denom
    coords = np.clip(np.stack([1.0 - v - w, v, w], axis=1), 0.0, None)
    return coords / np.maximum(coords.sum(axis=1, keepdims=True), 1e-12)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals ``(N, 3)`` of a triangle mesh (zero for lone vertices)."""
    tri = vertices[faces]
    face_normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals = np.zeros_like(vertices)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_normals)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.maximum(length, 1e-12)


def resample_surface(
    vertices: np.ndarray, faces: np.ndarray, n_points: int, rng: np.random.Generator
) -> SurfaceSampling:
    """A new triangulation of the surface ``(vertices (V,3), faces (F,3))`` with ~``n_points`` vertices.

    The mesh is subdivided until it has at least twice ``n_points`` vertices, jittered along the
    surface by a third of an edge (so each session triangulates differently), decimated to
    ~``n_points`` vertices, and each decimated vertex is embedded at its closest surface point.
    """
    mesh = to_polydata(vertices, faces)
    levels = max(1, int(np.ceil(np.log(2.0 * n_points / max(len(vertices), 1)) / np.log(4.0))))
    fine = mesh.subdivide(levels, "linear")
    fine_points = np.asarray(fine.points)
    fine_faces = fine.faces.reshape(-1, 4)[:, 1:]
    edge = np.linalg.norm(fine_points[fine_faces[:, 0]] - fine_points[fine_faces[:, 1]], axis=1)
    jitter = rng.normal(scale=np.median(edge) / 3.0, size=fine_points.shape)
    normals = vertex_normals(fine_points, fine_faces)
    jitter -= np.einsum("ij,ij->i", jitter, normals)[:, None] * normals
    # Quadric decimation targets a triangle count; an open sheet has ~2 triangles per vertex.
    coarse_points, coarse_faces = fast_simplification.simplify(
        (fine_points + jitter).astype(np.float32),
        fine_faces.astype(np.int32),
        target_count=int(2 * n_points),
    )
    coarse_faces = drop_degenerate_faces(np.asarray(coarse_faces))
    cell_ids, closest = mesh.find_closest_cell(np.asarray(coarse_points), return_closest_point=True)
    triangle_vertices = faces[cell_ids]
    coords = barycentric(closest, vertices[triangle_vertices])
    n = len(coarse_points)
    weights = sp.csr_matrix(
        (coords.ravel(), (np.repeat(np.arange(n), 3), triangle_vertices.ravel())),
        shape=(n, len(vertices)),
    )
    return SurfaceSampling(weights=weights, faces=coarse_faces.astype(np.int32))


def drop_degenerate_faces(faces: np.ndarray) -> np.ndarray:
    """Faces ``(F, 3)`` without those that repeat a vertex."""
    keep = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])
    return faces[keep]


def keep_vertices(
    vertices: np.ndarray, faces: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Remove vertices where ``keep (N,) bool`` is False, with every face that touches them.

    Also drops vertices no longer used by any face. Returns ``(vertices (N',3), faces (F',3),
    kept_index (N',))`` where ``kept_index`` maps new vertices to old indices.
    """
    faces = faces[keep[faces].all(axis=1)]
    used = np.zeros(len(vertices), bool)
    used[faces.ravel()] = True
    kept_index = np.flatnonzero(used)
    remap = np.full(len(vertices), -1, np.int64)
    remap[kept_index] = np.arange(len(kept_index))
    return vertices[kept_index], remap[faces].astype(np.int32), kept_index
