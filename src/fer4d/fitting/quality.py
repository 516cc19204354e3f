"""Per-frame registration quality: how well the fit explains each scan, and (synthetic data)
how close it is to the truth."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from fer4d.fitting.options import FitOptions


def frame_quality(points: np.ndarray, vertices: np.ndarray, normals: np.ndarray,
                  options: FitOptions) -> dict[str, float]:
    """Scan → fit residual of one frame.

    points: (N, 3) scan points, vertices / normals: (V, 3) fitted model, all in one frame (mm).
    A scan point farther than ``options.outlier_mm`` from every model vertex is an outlier; the
    residual of the others is their point-to-plane distance to the nearest vertex (an estimate of
    the distance to the surface that does not grow with the vertex spacing).
    Returns residual_median_mm, residual_p90_mm, outlier_fraction, flagged (0/1).
    """
    distance, nearest = cKDTree(vertices).query(points, workers=-1)
    inlier = distance <= options.outlier_mm
    residual = np.abs(np.einsum("ij,ij->i", points[inlier] - vertices[nearest[inlier]],
                                normals[nearest[inlier]]))
    median, p90 = (np.percentile(residual, [50, 90]) if len(residual) else (np.inf, np.inf))
    flagged = median > options.flag_median_mm or p90 > options.flag_p90_mm
    return {"residual_median_mm": float(median), "residual_p90_mm": float(p90),
            "outlier_fraction": float(1.0 - inlier.mean()) if len(points) else 1.0,
            "flagged": float(flagged)}


def vertex_errors(fitted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-vertex distances (T, V) mm between fitted and true vertices, both (T, V, 3) mm."""
    return np.linalg.norm(np.asarray(fitted, np.float64) - np.asarray(truth, np.float64), axis=-1)
