"""Correspondences of the non-rigid fit and the per-frame quality measure on a sample of points."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree

from fer4d.fitting import quality
from fer4d.fitting.correspondences import ScanFrame, find_pairs
from fer4d.fitting.options import FitOptions
from fer4d.fitting.sequence import scan_in_model_frame


def plane_grid(side: int, spacing_mm: float) -> np.ndarray:
    """(side², 3) float32 points of a square grid in the z = 0 plane, mm."""
    u, v = np.meshgrid(np.arange(side) * spacing_mm, np.arange(side) * spacing_mm)
    return np.stack([u.ravel(), v.ravel(), np.zeros(side * side)], axis=1).astype(np.float32)


def scan_frame(points: np.ndarray) -> ScanFrame:
    normals = np.tile(np.float32([0.0, 0.0, 1.0]), (len(points), 1))
    return ScanFrame(points, normals, cKDTree(points))


@pytest.mark.parametrize("stride", [1, 3])
def test_model_to_scan_pairs_come_from_every_stride_th_vertex_and_keep_their_weight(stride):
    scan = plane_grid(60, 1.0)
    model = plane_grid(20, 2.5) + np.float32([0.3, 0.2, 0.5])  # every vertex within reach of the scan
    n_frames, options = 2, FitOptions()
    vertices = np.stack([model, model])
    normals = np.tile(np.float32([0.0, 0.0, 1.0]), (n_frames, len(model), 1))
    subsets = [np.arange(0, len(scan), 7)] * n_frames
    _, model_side = find_pairs(
        vertices, normals, [scan_frame(scan)] * n_frames, subsets, 2.0, options, torch.device("cpu"), stride
    )
    frame, vertex = np.divmod(model_side.vertex.numpy(), len(model))
    for b in range(n_frames):
        assert np.array_equal(vertex[frame == b], np.arange(0, len(model), stride))
    total = model_side.weight.sum().item()
    assert total == pytest.approx(options.model_to_scan_weight, rel=1e-5)
    torch.testing.assert_close(model_side.target[:, 2], torch.zeros(len(vertex)))  # paired with the plane


@pytest.mark.parametrize("compatibility", [-1.0, 0.5])
def test_model_to_scan_pairs_skip_a_surface_facing_the_other_way(compatibility):
    """Two lips 1 mm apart facing each other: the model's upper lip (normal down, -z) lies
    nearer the scan's lower lip (normal up) than its own; the normal test pairs it with nothing
    there rather than with the wrong lip."""
    lower = plane_grid(20, 1.0)
    upper = plane_grid(20, 1.0) + np.float32([0.0, 0.0, 1.0])
    scan = ScanFrame(
        np.concatenate([lower, upper]),
        np.concatenate(
            [np.tile(np.float32([0, 0, 1]), (len(lower), 1)), np.tile(np.float32([0, 0, -1]), (len(upper), 1))]
        ),
        cKDTree(np.concatenate([lower, upper])),
    )
    model = plane_grid(5, 2.0) + np.float32([4.0, 4.0, 0.4])  # the model's upper lip, sagging towards the lower
    normals = np.tile(np.float32([0.0, 0.0, -1.0]), (1, len(model), 1))
    options = FitOptions(normal_compatibility=compatibility)
    _, model_side = find_pairs(
        model[None], normals, [scan], [np.arange(len(scan.points))], 2.0, options, torch.device("cpu")
    )
    paired_with_lower = int((model_side.target[:, 2] == 0).sum())
    if compatibility > -1:
        assert len(model_side.vertex) == 0  # the nearest scan point faces away: no pair
    else:
        assert paired_with_lower == len(model)


def test_a_scan_wound_either_way_has_normals_facing_out_of_the_face():
    points = plane_grid(10, 2.0)[:, [0, 2, 1]]  # the scanner's y = 0 plane
    corners = [i for i in range(89) if i % 10 != 9]
    faces = np.array([[i, i + 1, i + 10] for i in corners] + [[i + 1, i + 11, i + 10] for i in corners])
    turn = np.eye(4)
    turn[:3, :3] = [[1, 0, 0], [0, 0, -1], [0, 1, 0]]  # the scanner's y is the model's forward z
    for wound in (faces, faces[:, ::-1]):
        frame = scan_in_model_frame(points, wound, turn)
        np.testing.assert_allclose(frame.normals, np.tile([0.0, 0.0, 1.0], (len(points), 1)), atol=1e-6)
        np.testing.assert_allclose(frame.points, points @ turn[:3, :3].T, atol=1e-5)


def test_quality_on_a_strided_sample_matches_every_point_and_counts_far_points_as_outliers(monkeypatch):
    rng = np.random.default_rng(0)
    vertices = plane_grid(40, 2.0)
    normals = np.tile(np.float32([0.0, 0.0, 1.0]), (len(vertices), 1))
    points = np.concatenate(
        [
            np.column_stack([rng.uniform(0, 78, (20_000, 2)), rng.normal(0, 0.4, 20_000)]),
            np.column_stack([rng.uniform(200, 300, (400, 2)), np.zeros(400)]),  # off the model's edge
        ]
    )
    points = points[np.argsort(points[:, 0], kind="stable")].astype(np.float32)
    options = FitOptions()
    monkeypatch.setattr(quality, "QUALITY_POINTS", 10**9)
    every = quality.frame_quality(points, vertices, normals, 2.0, options)
    monkeypatch.setattr(quality, "QUALITY_POINTS", 4_000)
    sampled = quality.frame_quality(points, vertices, normals, 2.0, options)
    assert every["outlier_fraction"] == pytest.approx(400 / 20_400, abs=1e-4)
    assert sampled["outlier_fraction"] == pytest.approx(every["outlier_fraction"], abs=0.01)
    assert every["residual_median_mm"] == pytest.approx(0.4 * 0.6745, rel=0.05)  # median |N(0, 0.4)|
    assert sampled["residual_median_mm"] == pytest.approx(every["residual_median_mm"], rel=0.05)
    assert sampled["residual_p90_mm"] == pytest.approx(every["residual_p90_mm"], rel=0.05)
