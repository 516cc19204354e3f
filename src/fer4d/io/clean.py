"""Clean one scan: non-finite, duplicate and unreferenced vertices, degenerate faces, units,
stray fragments, point budget. Every step counts what it removed."""

from __future__ import annotations

import fast_simplification
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from fer4d.io.options import IngestOptions
from fer4d.io.scan import Scan

FACE_SIZE_MM = (80.0, 400.0)
"""Plausible extent (largest bounding-box side) of a face scan in millimetres."""


def guess_scale_to_mm(extent: float) -> float:
    """Units from the largest bounding-box side: ~0.1–0.4 → metres (×1000), ~8–40 → cm (×10), else mm."""
    if extent <= 0 or not np.isfinite(extent):
        return 1.0
    for scale in (1.0, 10.0, 1000.0):
        if FACE_SIZE_MM[0] / 2 <= extent * scale <= FACE_SIZE_MM[1] * 2.5:
            return scale
    return 1.0


UNIT_SCALES = {"mm": 1.0, "cm": 10.0, "m": 1000.0}
"""Millimetres per unit of each unit name a config may give."""


def sequence_scale_to_mm(units: str, frames: list[np.ndarray]) -> float:
    """Millimetres per file unit of one sequence: ``units`` (mm, cm, m), or for ``auto`` the guess
    from the median over ``frames`` (each ``(N, 3)`` vertices) of the largest bounding-box side;
    1 for ``auto`` without frames."""
    if units != "auto":
        return UNIT_SCALES[units]
    return guess_scale_to_mm(float(np.median([extent(v) for v in frames]))) if frames else 1.0


def units_name(scale: float) -> str:
    return {1.0: "mm", 10.0: "cm", 1000.0: "m"}.get(scale, f"x{scale:g}")


def extent(vertices: np.ndarray) -> float:
    """Largest side of the bounding box of the finite vertices."""
    finite = vertices[np.isfinite(vertices).all(1)]
    return float(np.ptp(finite, axis=0).max()) if len(finite) else 0.0


def _keep_vertices(scan: Scan, keep: np.ndarray) -> Scan:
    """Drop vertices where ``keep`` is False, and every face that used one; reindex."""
    new_index = np.cumsum(keep) - 1
    faces = scan.faces[keep[scan.faces].all(1)]
    return Scan(scan.vertices[keep], new_index[faces])


def _largest_component(scan: Scan) -> np.ndarray:
    n = len(scan.vertices)
    edges = np.concatenate([scan.faces[:, [0, 1]], scan.faces[:, [1, 2]], scan.faces[:, [2, 0]]])
    graph = sp.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    area = _face_areas(scan)
    component_area = np.bincount(labels[scan.faces[:, 0]], weights=area, minlength=labels.max() + 1)
    return labels == np.argmax(component_area)


def first_occurrences(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group equal rows (bit for bit) of a (N, 3) 4-byte array, numbered in order of first
    appearance: returns ``first`` (U,) the index of each group's first row, ascending, and
    ``group`` (N,) each row's group. Same groups as ``np.unique(rows, axis=0)``, which sorts
    the rows as opaque byte strings: a stable three-key ``lexsort`` of their bits is 2.5x
    faster (35k vertices: 23 against 56 ms here), and ``clean_scan`` 1.6x."""
    if len(rows) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    bits = np.ascontiguousarray(rows).view(np.uint32).reshape(len(rows), 3)
    order = np.lexsort((bits[:, 2], bits[:, 1], bits[:, 0]))  # stable: each run starts at its first row
    ordered = bits[order]
    starts = np.concatenate([[True], (ordered[1:] != ordered[:-1]).any(axis=1)])
    run = np.cumsum(starts) - 1  # (N,) run of each sorted row
    run_first = order[starts]  # (U,) first row of each run
    by_appearance = np.argsort(run_first)  # runs in order of their first row (all distinct)
    rank = np.empty(len(run_first), np.int64)
    rank[by_appearance] = np.arange(len(run_first))
    group = np.empty(len(rows), np.int64)
    group[order] = rank[run]
    return run_first[by_appearance], group


def _face_areas(scan: Scan) -> np.ndarray:
    a, b, c = (scan.vertices[scan.faces[:, i]] for i in range(3))
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)


def clean_scan(scan: Scan, scale_to_mm: float, options: IngestOptions) -> tuple[Scan, dict]:
    """Return the cleaned scan in millimetres and per-step counts.

    Order: non-finite vertices → millimetres → duplicate vertices (merged) → degenerate and
    repeated faces → unreferenced vertices → crop (largest connected component by area, and/or
    radius around the median point) → point budget (quadric decimation to ``max_points``
    vertices, which keeps a triangle mesh and its normals).
    """
    stats = {"vertices_in": len(scan.vertices), "faces_in": len(scan.faces)}
    finite = np.isfinite(scan.vertices).all(1)
    stats["removed_nonfinite"] = int((~finite).sum())
    scan = _keep_vertices(scan, finite)
    scan = Scan(scan.vertices * np.float32(scale_to_mm), scan.faces)

    first, group = first_occurrences(scan.vertices)  # merged in the file's vertex order
    stats["removed_duplicate"] = len(scan.vertices) - len(first)
    scan = Scan(scan.vertices[first], group[scan.faces])

    f = scan.faces
    degenerate = (f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 0] == f[:, 2])
    degenerate |= _face_areas(scan) <= 1e-12
    first_face, _ = first_occurrences(np.sort(f, axis=1))
    repeated = np.ones(len(f), bool)
    repeated[first_face] = False
    stats["removed_degenerate_faces"] = int((degenerate | repeated).sum())
    scan = Scan(scan.vertices, f[~(degenerate | repeated)])

    referenced = np.zeros(len(scan.vertices), bool)
    referenced[scan.faces.reshape(-1)] = True
    stats["removed_unreferenced"] = int((~referenced).sum())
    scan = _keep_vertices(scan, referenced)

    before_crop = len(scan.vertices)
    if options.crop in ("component", "component+radius") and len(scan.faces):
        scan = _keep_vertices(scan, _largest_component(scan))
    if options.crop in ("radius", "component+radius"):
        centre = np.median(scan.vertices, axis=0)
        scan = _keep_vertices(scan, np.linalg.norm(scan.vertices - centre, axis=1) <= options.crop_radius_mm)
    stats["removed_by_crop"] = before_crop - len(scan.vertices)

    stats["removed_by_budget"] = 0
    if options.max_points and len(scan.vertices) > options.max_points and len(scan.faces):
        reduction = 1.0 - options.max_points / len(scan.vertices)
        points, faces = fast_simplification.simplify(scan.vertices, scan.faces, target_reduction=reduction)
        stats["removed_by_budget"] = len(scan.vertices) - len(points)
        scan = Scan(points, faces)
    stats["vertices_out"], stats["faces_out"] = len(scan.vertices), len(scan.faces)
    return scan, stats
