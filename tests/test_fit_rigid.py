"""Rigid initialisation: least-squares steps and the landmark-free search."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from fer4d.fitting.geometry import apply_transform, kabsch, make_transform, point_to_plane_step
from fer4d.fitting.options import FitOptions
from fer4d.fitting.sequence import rigid_from_first_frame, scan_normals
from fer4d.flame.layer import FlameLayer
from test_fit_scans import simulate, small_model  # noqa: F401  (fixture)


def rotation_error_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(Rotation.from_matrix(a[:3, :3] @ b[:3, :3].T).magnitude()))


def test_kabsch_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(50, 3)) * 30
    truth = make_transform(Rotation.random(random_state=1).as_matrix(), [10.0, -200.0, 35.0])
    np.testing.assert_allclose(kabsch(points, apply_transform(truth, points)), truth, atol=1e-9)


def test_point_to_plane_step_solves_a_small_motion_on_a_curved_surface():
    rng = np.random.default_rng(1)
    normals = rng.normal(size=(400, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    sphere = normals * 50.0
    small = make_transform(Rotation.from_rotvec([0.002, -0.001, 0.003]).as_matrix(), [0.1, 0.05, -0.1])
    moved = apply_transform(np.linalg.inv(small), sphere)
    step = point_to_plane_step(moved, sphere, normals, np.ones(len(sphere)))
    # on a sphere about the origin only the translation is observable by point-to-plane
    np.testing.assert_allclose(step[:3, 3], small[:3, 3], atol=0.02)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rigid_init_recovers_any_yaw_tilt_and_offset(small_model, seed):
    """Any rotation about the vertical, ±15° tilt, 200-800 mm offset; the scan has another
    identity and expression than the template, so a few mm and degrees of slack."""
    sequence = simulate(small_model, 1, np.random.default_rng(seed), noise_mm=0.2, jaw=0.0)
    points, faces = sequence.frames[0]
    layer = FlameLayer(small_model, 1, 1)
    found = rigid_from_first_frame(
        points.astype(np.float64), scan_normals(points, faces), layer, FitOptions(), np.random.default_rng(0), None
    )
    assert rotation_error_deg(found, sequence.scan_to_model) < 4.0
    centre = sequence.truth[0].mean(axis=0)
    assert np.linalg.norm(apply_transform(found, centre) - apply_transform(sequence.scan_to_model, centre)) < 5.0


def test_rigid_init_uses_landmarks_when_given(small_model):
    sequence = simulate(small_model, 1, np.random.default_rng(5), noise_mm=0.0, jaw=0.0)
    points, faces = sequence.frames[0]
    layer = FlameLayer(small_model, 1, 1)
    with torch.no_grad():
        template_landmarks = layer(batch_size=1).landmarks[0].double().numpy()
    scan_landmarks = apply_transform(np.linalg.inv(sequence.scan_to_model), template_landmarks)
    found = rigid_from_first_frame(
        points.astype(np.float64),
        scan_normals(points, faces),
        layer,
        FitOptions(rigid_iterations=1),
        np.random.default_rng(0),
        scan_landmarks,
    )
    assert rotation_error_deg(found, sequence.scan_to_model) < 4.0
